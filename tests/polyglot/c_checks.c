/* Test fixture for host/tests/all/c_sdk.rs: C procs that succeed with typed args and
 * defaults, trap, run out of fuel, return without saying how they ended, wait on a proc that
 * does not exist, log through the context, skip, and return
 * deeply nested results; run through the real host. */
#include <stdio.h>
#include <stdlib.h>

#include "parproc.h"

/* sum::[a]::[b]: a + b (typed from the name) + c (a default of a param that is not a
 * placeholder). */
static pp_ret sum(pp_ctx *ctx) {
    int64_t a = pp_arg_int(ctx, "a", -1000), b = pp_arg_int(ctx, "b", -1000);
    int64_t c = pp_arg_int(ctx, "c", -1000);
    return pp_okf(ctx, "{\"sum\": %lld, \"name\": %s}", (long long)(a + b + c),
                  pp_json_string(ctx, pp_name(ctx)));
}

/* defaults: a plain proc's params come from its defaults. */
static pp_ret defaults(pp_ctx *ctx) {
    return pp_okf(ctx, "{\"c\": %lld, \"flag\": %s, \"ratio\": %g, \"who\": %s}",
                  (long long)pp_arg_int(ctx, "c", -1), pp_arg_bool(ctx, "flag", false) ? "true" : "false",
                  pp_arg_float(ctx, "ratio", -1.0), pp_json_string(ctx, pp_arg_text(ctx, "who", "?")));
}

static pp_ret trap(pp_ctx *ctx) {
    (void)ctx;
    printf("about to trap\n");
    fflush(stdout);
    __builtin_trap();
}

static pp_ret spin(pp_ctx *ctx) {
    volatile unsigned long n = 0;
    for (;;) n++;
    return pp_ok(ctx, NULL);
}

static pp_ret forgot(pp_ctx *ctx) {
    (void)ctx;
    pp_ret nothing = {0};
    return nothing;
}

static pp_ret bad_wait(pp_ctx *ctx) {
    if (pp_wait1(ctx, "nope") != PP_WAIT_ERROR) return pp_ok(ctx, "\"waited?\"");
    return pp_fail(ctx, "wait refused: %s", pp_error(ctx));
}

static pp_ret logs(pp_ctx *ctx) {
    pp_log(ctx, PP_WARN, "careful: %d widgets", 7);
    printf("quote \" and tab\t in a result\n");
    return pp_ok(ctx, pp_json_string(ctx, "quote \" and tab\t and newline\n"));
}

static pp_ret skips(pp_ctx *ctx) { return pp_skip(ctx, "nothing to do"); }

/* deep::[n]: a valid JSON result of n nested arrays. */
static pp_ret deep(pp_ctx *ctx) {
    int64_t n = pp_arg_int(ctx, "n", 1);
    char *json = malloc((size_t)n * 2 + 1);
    for (int64_t i = 0; i < n; i++) {
        json[i] = '[';
        json[n + i] = ']';
    }
    json[2 * n] = 0;
    pp_ret r = pp_ok(ctx, json);
    free(json);
    return r;
}

void parproc_declare(void) {
    pp_decl *d = pp_proto("sum::[a]::[b]", sum);
    pp_param(d, "a", PP_INT);
    pp_param(d, "b", PP_INT);
    pp_param(d, "c", PP_INT);
    pp_default(d, "c", pp_int(100));
    pp_description(d, "adds a, b and c");
    d = pp_proc("defaults", defaults);
    pp_param(d, "c", PP_INT);
    pp_param(d, "flag", PP_BOOL);
    pp_param(d, "ratio", PP_FLOAT);
    pp_param(d, "who", PP_TEXT);
    pp_default(d, "c", pp_int(100));
    pp_default(d, "flag", pp_bool(true));
    pp_default(d, "ratio", pp_float(0.5));
    pp_default(d, "who", pp_text("world"));
    pp_proc("trap", trap);
    pp_proc("spin", spin);
    pp_proc("forgot", forgot);
    pp_proc("bad_wait", bad_wait);
    pp_proc("logs", logs);
    pp_proc("skips", skips);
    pp_param(pp_proto("deep::[n]", deep), "n", PP_INT);
}
