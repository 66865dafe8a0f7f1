/* Test fixture for host/tests/all/c_sdk.rs: rdeps the host refuses at load, chosen at build
 * time: -DEVERY_NAME for an rdep matching every name, else an rdep onto the proc itself. */
#include "parproc.h"

static pp_ret noop(pp_ctx *ctx) { return pp_ok(ctx, NULL); }

void parproc_declare(void) {
    pp_proc("fine", noop);
#ifdef EVERY_NAME
    pp_rdep(pp_proc("setup", noop), "[anything]");
#else
    pp_rdep(pp_proc("setup", noop), "setup");
#endif
}
