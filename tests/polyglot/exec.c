/*
 * Test fixture for host/tests/all/tools.rs: pp_exec through the C SDK, running the preview1
 * test tool `p1` (tests/tools/tool_p1.c); the same module as exec.py and exec.js.
 */
#include <string.h>

#include "parproc.h"

static pp_ret answer(pp_ctx *ctx, const pp_exec_request *req) {
    pp_exec_output out;
    if (!pp_exec(ctx, req, &out)) return pp_okf(ctx, "{\"err\": %s}", pp_json_string(ctx, pp_error(ctx)));
    return pp_okf(ctx, "{\"exit\": %u, \"stdout\": %s, \"stderr\": %s, \"truncated\": %s}",
                  out.exit_code, pp_json_string(ctx, out.stdout_data),
                  pp_json_string(ctx, out.stderr_data), out.truncated ? "true" : "false");
}

static const char *const ECHO[] = {"echo", "a", "b"};
static const char *const GREETING[] = {"GREETING=hi"};
static const char *const STDIN[] = {"stdin"};
static const char *const CAT[] = {"cat", "/data/in.txt"};

static pp_ret echo(pp_ctx *ctx) {
    pp_exec_request req = {.tool = "p1", .args = ECHO, .nargs = 3, .env = GREETING, .nenv = 1};
    return answer(ctx, &req);
}

static pp_ret cut(pp_ctx *ctx) {
    pp_exec_request req = {.tool = "p1", .args = ECHO, .nargs = 3, .max_output = 4};
    return answer(ctx, &req);
}

static pp_ret stdin_(pp_ctx *ctx) {
    const char *in = "piped in";
    pp_exec_request req = {.tool = "p1", .args = STDIN, .nargs = 1, .stdin_data = in,
                           .stdin_len = strlen(in)};
    return answer(ctx, &req);
}

static pp_ret cat(pp_ctx *ctx) {
    pp_exec_dir dirs[] = {{"/data", false}};
    pp_exec_request req = {.tool = "p1", .args = CAT, .nargs = 2, .dirs = dirs, .ndirs = 1};
    return answer(ctx, &req);
}

/* Has /data but does not pass it on. */
static pp_ret unpassed(pp_ctx *ctx) {
    pp_exec_request req = {.tool = "p1", .args = CAT, .nargs = 2};
    return answer(ctx, &req);
}

static pp_ret undeclared(pp_ctx *ctx) {
    pp_exec_request req = {.tool = "p2", .args = ECHO, .nargs = 1};
    return answer(ctx, &req);
}

static void needs(pp_decl *d) {
    pp_need_tool(d, "p1");
    pp_need_dir(d, "/data", false);
}

void parproc_declare(void) {
    needs(pp_proc("echo", echo));
    needs(pp_proc("cut", cut));
    needs(pp_proc("stdin", stdin_));
    needs(pp_proc("cat", cat));
    needs(pp_proc("unpassed", unpassed));
    needs(pp_proc("undeclared", undeclared));
}
