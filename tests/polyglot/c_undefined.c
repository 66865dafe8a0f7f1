/* Test fixture for host/tests/all/c_sdk.rs: a proc calls a function that is declared but
 * never defined, so the link fails on it. */
#include "parproc.h"

pp_ret build_step(pp_ctx *ctx);

void parproc_declare(void) { pp_proc("build", build_step); }
