/*
 * parproc's examples/error.py as a parproc-host job module in C: two procs fail at different
 * times, and the independent ones still run.
 *
 * func0 and func1 print a line and fail after 1 s and 3 s; func2, func3 and func4 succeed.
 * The run fails (exit status 1) after about 5 s, naming func0 and func1 and their messages.
 */
#include <stdio.h>
#include <unistd.h>

#include "parproc.h"

static pp_ret func0(pp_ctx *ctx) {
    sleep(1);
    printf("Internal error caused by X\n");
    return pp_fail(ctx, "Failure");
}

static pp_ret func1(pp_ctx *ctx) {
    sleep(3);
    printf("Another internal error message\n");
    return pp_fail(ctx, "Failure");
}

static pp_ret sleeper(pp_ctx *ctx) {
    /* func2, func3 and func4 share one function: the seconds come from the name. */
    const char *name = pp_name(ctx);
    sleep(name[4] == '2' ? 2 : name[4] == '3' ? 1 : 5);
    return pp_ok(ctx, NULL);
}

void parproc_declare(void) {
    pp_now(pp_proc("func0", func0));
    pp_now(pp_proc("func1", func1));
    pp_now(pp_proc("func2", sleeper));
    pp_now(pp_proc("func3", sleeper));
    pp_now(pp_proc("func4", sleeper));
}
