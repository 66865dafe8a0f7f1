/*
 * parproc's examples/failed_deps.py as a parproc-host job module in C: a failure cancels only
 * its own subtree.
 *
 * In the `a` tree everything succeeds. In the `x` tree the root `x` fails, so x_a and x_b end
 * FAILED_DEP (`canceled due to failure of "x"`), and so do x_a_a and x_a_b (`canceled due to
 * failure of "x_a"`); none of their bodies run. The run fails (exit status 1).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "parproc.h"

static pp_ret x(pp_ctx *ctx) {
    sleep(1);
    printf("Internal error caused by x\n");
    return pp_fail(ctx, "Failure");
}

static pp_ret work(pp_ctx *ctx) {
    /* a: 1 s, a_a: 3 s, a_b: 2 s, the leaves 1 s (the x subtree never runs). */
    const char *name = pp_name(ctx);
    unsigned seconds = !strcmp(name, "a_a") ? 3 : !strcmp(name, "a_b") ? 2 : 1;
    sleep(seconds);
    return pp_okf(ctx, "%u", seconds);
}

static void tree(const char *root, pp_fn root_fn) {
    char a[16], b[16], aa[16], ab[16];
    snprintf(a, sizeof a, "%s_a", root);
    snprintf(b, sizeof b, "%s_b", root);
    snprintf(aa, sizeof aa, "%s_a_a", root);
    snprintf(ab, sizeof ab, "%s_a_b", root);
    pp_now(pp_proc(root, root_fn));
    pp_decl *d = pp_proc(a, work);
    pp_dep(d, root);
    pp_now(d);
    pp_now(d = pp_proc(b, work));
    pp_dep(d, root);
    pp_now(d = pp_proc(aa, work));
    pp_dep(d, a);
    pp_now(d = pp_proc(ab, work));
    pp_dep(d, a);
}

void parproc_declare(void) {
    tree("a", work);
    tree("x", x);
}
