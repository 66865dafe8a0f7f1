/* Test fixture for host/tests/all/polyglot.rs: protos, choices, globs, computed deps, rdeps,
 * NO_FAILURES and context calls through the C SDK. protos.py and protos.js are the same
 * module in Python and JavaScript; all three must give the same results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parproc.h"

static const char *const ENVS[] = {"dev", "staging", "prod"};

/* The text of the string field `key` of a JSON object (the fixture's results only), or "". */
static const char *field(pp_ctx *ctx, const char *json, const char *key) {
    const char *quoted = pp_sprintf(ctx, "\"%s\"", key);
    const char *at = json ? strstr(json, quoted) : NULL;
    if (!at) return "";
    at += strlen(quoted);
    while (*at == ' ' || *at == ':') at++;
    if (*at != '"') return "";
    const char *end = strchr(at + 1, '"');
    return end ? pp_sprintf(ctx, "%.*s", (int)(end - at - 1), at + 1) : "";
}

static pp_ret setup(pp_ctx *ctx) {
    const char *release = pp_param_json(ctx, "release");
    return pp_okf(ctx, "{\"release\": %s}", release ? release : "null");
}

static pp_ret prepare(pp_ctx *ctx) { return pp_ok(ctx, "\"ready\""); }

static pp_ret build(pp_ctx *ctx) {
    const char *env = pp_arg_text(ctx, "env", "?");
    const char *release = field(ctx, pp_result(ctx, "setup"), "release");
    const char *prepared = pp_result(ctx, "prepare");
    return pp_okf(ctx, "{\"env\": \"%s\", \"artifact\": \"app-%s-%s.tar\", \"prepared\": %s}", env,
                  release, env, prepared ? prepared : "null");
}

static pp_ret lint(pp_ctx *ctx) {
    return pp_okf(ctx, "\"linted %s\"", pp_arg_text(ctx, "env", "?"));
}

static bool lint_dep(const pp_dep_ctx *dc, pp_out *out) {
    const char *env = pp_dc_arg(dc, "env");
    if (!env) return pp_out_fail(out, "no env in %s", pp_dc_name(dc));
    char name[64];
    snprintf(name, sizeof name, "lint::%s", env);
    pp_out_name(out, name);
    return true;
}

static bool env_choices(const pp_dep_ctx *dc, pp_out *out) {
    (void)dc;
    for (size_t i = 0; i < 3; i++) pp_out_value(out, pp_text(ENVS[i]));
    return true;
}

static pp_ret test(pp_ctx *ctx) {
    if (!pp_has_arg(ctx, "shards") || pp_arg_int(ctx, "shards", -1) < 0)
        return pp_fail(ctx, "shards is not an integer");
    const char *env = pp_arg_text(ctx, "env", "?");
    int64_t shards = pp_arg_int(ctx, "shards", 0);
    const char *build = pp_result(ctx, pp_sprintf(ctx, "build::%s", env));
    const char *linted = pp_result(ctx, pp_sprintf(ctx, "lint::%s", env));
    return pp_okf(ctx, "{\"env\": \"%s\", \"shards\": %lld, \"artifact\": \"%s\", \"lint\": %s}",
                  env, (long long)shards, field(ctx, build, "artifact"),
                  linted ? linted : "null");
}

static pp_ret child(pp_ctx *ctx) {
    int64_t n = pp_arg_int(ctx, "n", 0);
    return pp_okf(ctx, "%lld", (long long)(n * n));
}

static int by_text(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static pp_ret fanout(pp_ctx *ctx) {
    pp_names builds;
    if (!pp_create(ctx, "build::*", NULL, 0, NULL, &builds) ||
        !pp_start(ctx, builds.items, builds.len) ||
        !pp_wait(ctx, builds.items, builds.len, NULL))
        return pp_fail(ctx, "builds: %s", pp_error(ctx));
    const char *children[3];
    for (int i = 1; i <= 3; i++) {
        pp_arg n = {"n", pp_int(i)};
        pp_names started;
        if (!pp_run(ctx, "child::[n]", &n, 1, NULL, &started) || started.len != 1)
            return pp_fail(ctx, "child %d: %s", i, pp_error(ctx));
        children[i - 1] = started.items[0];
    }
    pp_status *statuses;
    if (!pp_wait(ctx, children, 3, &statuses)) return pp_fail(ctx, "wait: %s", pp_error(ctx));
    for (int i = 0; i < 3; i++)
        if (statuses[i].state != PP_SUCCEEDED) return pp_fail(ctx, "%s failed", statuses[i].name);
    const char **artifacts = malloc(builds.len * sizeof *artifacts);
    for (size_t i = 0; i < builds.len; i++)
        artifacts[i] = field(ctx, pp_result(ctx, builds.items[i]), "artifact");
    qsort(artifacts, builds.len, sizeof *artifacts, by_text);
    const char *list = "";
    for (size_t i = 0; i < builds.len; i++)
        list = pp_sprintf(ctx, "%s%s\"%s\"", list, i ? ", " : "", artifacts[i]);
    free(artifacts);
    return pp_okf(ctx, "{\"artifacts\": [%s], \"children\": [%s, %s, %s], \"proc_name\": %s}",
                  list, pp_result(ctx, children[0]), pp_result(ctx, children[1]),
                  pp_result(ctx, children[2]), pp_json_string(ctx, pp_name(ctx)));
}

static pp_ret crash(pp_ctx *ctx) { return pp_fail(ctx, "bad value"); }

static pp_ret never(pp_ctx *ctx) { return pp_ok(ctx, "\"never\""); }

void parproc_declare(void) {
    pp_proc("setup", setup);
    pp_rdep_when_target_scheduled(pp_proc("prepare", prepare), "build::[env]");

    pp_decl *d = pp_proto("build::[env]", build);
    pp_dep(d, "setup");
    pp_param(d, "env", PP_TEXT);
    for (size_t i = 0; i < 3; i++) pp_choice(d, "env", pp_text(ENVS[i]));

    pp_param(pp_proto("lint::[env]", lint), "env", PP_TEXT);

    d = pp_proto("test::[env]::[shards]", test);
    pp_dep(d, "build::[env]");
    pp_dep_computed(d, lint_dep);
    pp_param(d, "env", PP_TEXT);
    pp_param(d, "shards", PP_INT);
    pp_choices_computed(d, "env", env_choices);
    pp_choice(d, "shards", pp_int(1));
    pp_choice(d, "shards", pp_int(2));

    pp_param(pp_proto("child::[n]", child), "n", PP_INT);
    pp_proc("fanout", fanout);
    pp_proc("crash", crash);
    pp_dep(pp_proc("after_crash", never), "crash");
    pp_dep_no_failures(pp_proc("summary", never));

    pp_global_param("release", "\"1.2.3\"");
    pp_target("test::*::2");
    pp_target("fanout");
    pp_target("after_crash");
    pp_target("summary");
}
