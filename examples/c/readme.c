/*
 * The first example of parproc's README, as a parproc-host job module in C.
 *
 * func0 (1 s) and func1 (3 s) run in parallel; func2 depends on both and sleeps 2 s, so the
 * run takes about 5 s. Build and run (see README.md, "C and C++ quick start"):
 *
 *     guest-sdk/c/build.sh examples/c/readme.c readme.wasm
 *     parproc-host run readme.wasm
 */
#include <unistd.h>

#include "parproc.h"

static pp_ret func0(pp_ctx *ctx) {
    sleep(1);
    return pp_ok(ctx, NULL);
}

static pp_ret func1(pp_ctx *ctx) {
    sleep(3);
    return pp_ok(ctx, NULL);
}

static pp_ret func2(pp_ctx *ctx) {
    sleep(2);
    return pp_ok(ctx, NULL);
}

void parproc_declare(void) {
    pp_now(pp_proc("func0", func0));
    pp_now(pp_proc("func1", func1));
    pp_decl *d = pp_proc("func2", func2);
    pp_deps(d, "func0", "func1");
    pp_now(d);
}
