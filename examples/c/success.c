/*
 * parproc's examples/success.py as a parproc-host job module in C: every proc succeeds, and a
 * skipped proc counts as a success.
 *
 * skipped_task, func0 and func1 start together; func2 waits for func0 and func1, func3 for
 * func2, and func4 for func2 and func3 (about 3 + 2 + 1 + 5 = 11 s).
 */
#include <stdio.h>
#include <unistd.h>

#include "parproc.h"

static pp_ret skipped_task(pp_ctx *ctx) {
    return pp_skip(ctx, "Nothing to do for this run");
}

static pp_ret func0(pp_ctx *ctx) {
    sleep(1);
    return pp_ok(ctx, NULL);
}

static pp_ret func1(pp_ctx *ctx) {
    printf("some output\n");
    sleep(3);
    return pp_ok(ctx, NULL);
}

static pp_ret func2(pp_ctx *ctx) {
    sleep(2);
    return pp_ok(ctx, NULL);
}

static pp_ret func3(pp_ctx *ctx) {
    sleep(1);
    return pp_ok(ctx, NULL);
}

static pp_ret func4(pp_ctx *ctx) {
    sleep(5);
    return pp_ok(ctx, NULL);
}

void parproc_declare(void) {
    pp_now(pp_proc("skipped_task", skipped_task));
    pp_now(pp_proc("func0", func0));
    pp_now(pp_proc("func1", func1));
    pp_decl *d = pp_proc("func2", func2);
    pp_deps(d, "func0", "func1");
    pp_now(d);
    pp_now(d = pp_proc("func3", func3));
    pp_dep(d, "func2");
    pp_now(d = pp_proc("func4", func4));
    pp_deps(d, "func2", "func3");
}
