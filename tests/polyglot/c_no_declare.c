/* Test fixture for host/tests/all/c_sdk.rs: a module whose declaring function is misspelled,
 * so `parproc_declare` is missing at link time. */
#include "parproc.h"

static pp_ret hello(pp_ctx *ctx) { return pp_ok(ctx, NULL); }

void parproc_declar(void) { pp_proc("hello", hello); }
