/* Test fixture for host/tests/all/c_sdk.rs: a module whose declarations keep the host
 * busy. `spawner` runs `child::1`, whose computed dep sleeps for an hour in the
 * declarations instance; built with -DSLOW_DECLARE, `parproc_declare` itself sleeps for an
 * hour (so `describe` does). A signal must stop the host within a second either way. */
#include <unistd.h>

#include "parproc.h"

static pp_ret quick(pp_ctx *ctx) { return pp_ok(ctx, "\"quick\""); }

static pp_ret child(pp_ctx *ctx) { return pp_ok(ctx, NULL); }

static bool slow_dep(const pp_dep_ctx *dc, pp_out *out) {
    (void)dc;
    sleep(3600);
    pp_out_name(out, "quick");
    return true;
}

static pp_ret spawner(pp_ctx *ctx) {
    if (!pp_run(ctx, "child::1", NULL, 0, NULL, NULL))
        return pp_fail(ctx, "%s", pp_error(ctx));
    return pp_ok(ctx, NULL);
}

void parproc_declare(void) {
#ifdef SLOW_DECLARE
    sleep(3600);
#endif
    pp_proc("quick", quick);
    pp_proc("spawner", spawner);
    pp_dep_computed(pp_proto("child::[n]", child), slow_dep);
}
