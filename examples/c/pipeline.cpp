// A C++ job module: protos stamped out per target, a proc that creates and waits for them,
// and results built with the standard library. C++ builds with -fno-exceptions (Debian's
// wasm32 libc++ has no exception support), so failures travel as return values: a proc
// returns pp_fail(...) instead of throwing.
//
//     guest-sdk/c/build.sh examples/c/pipeline.cpp pipeline.wasm
//     parproc-host run pipeline.wasm --results
#include <string>
#include <vector>

#include "parproc.h"

namespace {

// compile::[unit]: the "object" of one unit (its name, reversed), a JSON string.
pp_ret compile(pp_ctx *ctx) {
    std::string unit = pp_arg_text(ctx, "unit", "");
    if (unit.empty()) return pp_fail(ctx, "no unit given");
    std::string object(unit.rbegin(), unit.rend());
    return pp_ok(ctx, pp_json_string(ctx, (object + ".o").c_str()));
}

// link: depends on every compile::* proc and lists their objects in order.
pp_ret link(pp_ctx *ctx) {
    std::vector<std::string> objects;
    for (const char *unit : {"alpha", "beta", "gamma"}) {
        const char *json = pp_result(ctx, ("compile::" + std::string(unit)).c_str());
        if (!json) return pp_fail(ctx, "no object for %s", unit);
        objects.emplace_back(json);
    }
    std::string out = "[";
    for (size_t i = 0; i < objects.size(); i++) out += (i ? ", " : "") + objects[i];
    return pp_ok(ctx, (out + "]").c_str());
}

// package: runs `link` through the context and reports what it waited for.
pp_ret package(pp_ctx *ctx) {
    pp_names started;
    if (!pp_run(ctx, "link", nullptr, 0, nullptr, &started))
        return pp_fail(ctx, "cannot start link: %s", pp_error(ctx));
    if (pp_wait1(ctx, "link") != PP_SUCCEEDED) return pp_fail(ctx, "link did not succeed");
    std::string objects = pp_result(ctx, "link");
    return pp_okf(ctx, "{\"started\": %zu, \"objects\": %s}", started.len, objects.c_str());
}

}  // namespace

extern "C" void parproc_declare(void) {
    pp_decl *c = pp_proto("compile::[unit]", compile);
    pp_choices(c, "unit", "alpha", "beta", "gamma");
    pp_deps(pp_proc("link", link), "compile::*");
    pp_target("package");
    pp_proc("package", package);
}
