/* Test fixture for host/tests/all/c_sdk.rs: a log_ignore rule that is not a regular
 * expression (the C SDK checks nothing itself, so the host's load checks see it). */
#include "parproc.h"

static pp_ret noop(pp_ctx *ctx) { return pp_ok(ctx, NULL); }

void parproc_declare(void) {
    pp_proc("fine", noop);
    pp_log_ignore(pp_proc("noisy", noop), "warning: (unclosed");
}
