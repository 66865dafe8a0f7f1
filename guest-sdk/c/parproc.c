/*
 * parproc.c — the C SDK's implementation: the `jobs` world's exports (declarations and
 * procs) over the module's `parproc_declare`, and the context calls of parproc.h.
 *
 * Generated bindings (`jobs.h`, `jobs.c`, `jobs_component_type.o`) come from
 * `parproc-host bindgen c` and are written by build.sh; this file is the only one that
 * touches them. Ownership follows the canonical ABI as wit-bindgen's C generator lays it
 * out: an export's arguments belong to us (freed here), what an export returns is freed by
 * the generated post-return function (so every string in it is malloc'd), and what an
 * import returns belongs to us.
 */
#include "parproc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

/* ---------------------------------------------------------------- memory */

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("parproc: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("parproc: out of memory\n", stderr);
        abort();
    }
    return q;
}

#define PUSH(list, item)                                                                  \
    do {                                                                                  \
        (list).ptr = xrealloc((list).ptr, ((list).len + 1) * sizeof(*(list).ptr));        \
        (list).ptr[(list).len++] = (item);                                                \
    } while (0)

/* A malloc'd copy (NULL is the empty string): what the post-return functions free. */
static jobs_string_t str(const char *s) {
    jobs_string_t out = {NULL, 0};
    if (s && *s) {
        out.len = strlen(s);
        out.ptr = xmalloc(out.len);
        memcpy(out.ptr, s, out.len);
    }
    return out;
}

/* A borrowed view, for the arguments of an import (which does not keep them). */
static jobs_string_t view(const char *s) {
    jobs_string_t out = {(uint8_t *)s, s ? strlen(s) : 0};
    return out;
}

static bool str_eq(const jobs_string_t *a, const char *b) {
    size_t n = strlen(b);
    return a->len == n && memcmp(a->ptr, b, n) == 0;
}

static char *cstr_of(const jobs_string_t *s) {
    char *out = xmalloc(s->len + 1);
    if (s->len) memcpy(out, s->ptr, s->len);
    out[s->len] = 0;
    return out;
}

static char *dupc(const char *s) {
    size_t n = s ? strlen(s) : 0;
    char *out = xmalloc(n + 1);
    if (n) memcpy(out, s, n);
    out[n] = 0;
    return out;
}

static char *vformat(const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) n = 0;
    char *out = xmalloc((size_t)n + 1);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    return out;
}

/* ---------------------------------------------------------------- values */

pp_value pp_text(const char *text) {
    pp_value v = {PP_TEXT, text ? text : "", 0, 0.0, false};
    return v;
}
pp_value pp_int(int64_t value) {
    pp_value v = {PP_INT, NULL, value, 0.0, false};
    return v;
}
pp_value pp_float(double value) {
    pp_value v = {PP_FLOAT, NULL, 0, value, false};
    return v;
}
pp_value pp_bool(bool value) {
    pp_value v = {PP_BOOL, NULL, 0, 0.0, value};
    return v;
}

/* An owned WIT value (strings copied). */
static parproc_jobs_types_value_t wit_value(pp_value v) {
    parproc_jobs_types_value_t out;
    memset(&out, 0, sizeof out);
    switch (v.type) {
    case PP_INT:
        out.tag = PARPROC_JOBS_TYPES_VALUE_INTEGER;
        out.val.integer = v.integer;
        break;
    case PP_FLOAT:
        out.tag = PARPROC_JOBS_TYPES_VALUE_FLOAT;
        out.val.float_ = v.number;
        break;
    case PP_BOOL:
        out.tag = PARPROC_JOBS_TYPES_VALUE_BOOLEAN;
        out.val.boolean = v.boolean;
        break;
    default:
        out.tag = PARPROC_JOBS_TYPES_VALUE_TEXT;
        out.val.text = str(v.text);
        break;
    }
    return out;
}

/* A borrowed WIT value (for import arguments). */
static parproc_jobs_types_value_t wit_value_view(pp_value v) {
    if (v.type != PP_TEXT) return wit_value(v);
    parproc_jobs_types_value_t out;
    memset(&out, 0, sizeof out);
    out.tag = PARPROC_JOBS_TYPES_VALUE_TEXT;
    out.val.text = view(v.text ? v.text : "");
    return out;
}

/* ---------------------------------------------------------------- the registry */

typedef struct callback_at {
    uint32_t index;  /* the dep's or input's index, for deps and inputs */
    char *param;     /* the placeholder, for choices (NULL: every placeholder) */
    pp_callback fn;
} callback_at;

typedef struct callbacks {
    callback_at *ptr;
    size_t len;
} callbacks;

struct pp_decl {
    char *name;
    pp_fn fn;
    callbacks deps, inputs, choices;
    parproc_jobs_types_job_decl_t wit;
};

static struct {
    bool declared;
    bool declaring;
    struct {
        pp_decl **ptr;
        size_t len;
    } decls;
    parproc_jobs_types_manifest_t wit; /* targets, options, params (jobs filled at describe) */
} registry;

static void ensure_declared(void) {
    if (registry.declared) return;
    registry.declared = true;
    registry.declaring = true;
    parproc_declare();
    registry.declaring = false;
}

static pp_decl *declare(const char *name, pp_fn fn, uint8_t kind) {
    pp_decl *d = xmalloc(sizeof *d);
    memset(d, 0, sizeof *d);
    d->name = dupc(name);
    d->fn = fn;
    d->wit.kind = kind;
    d->wit.name = str(name);
    PUSH(registry.decls, d);
    return d;
}

pp_decl *pp_proc(const char *name, pp_fn fn) {
    return declare(name, fn, PARPROC_JOBS_TYPES_DECL_KIND_PROC);
}

pp_decl *pp_proto(const char *pattern, pp_fn fn) {
    return declare(pattern, fn, PARPROC_JOBS_TYPES_DECL_KIND_PROTO);
}

static pp_decl *find_decl(const jobs_string_t *name) {
    for (size_t i = 0; i < registry.decls.len; i++) {
        pp_decl *d = registry.decls.ptr[i];
        if (str_eq(name, d->name)) return d;
    }
    return NULL;
}

void pp_dep(pp_decl *d, const char *name) {
    if (!d) return;
    parproc_jobs_types_dep_decl_t dep;
    memset(&dep, 0, sizeof dep);
    dep.tag = PARPROC_JOBS_TYPES_DEP_DECL_NAME;
    dep.val.name = str(name);
    PUSH(d->wit.deps, dep);
}

void pp_deps_(pp_decl *d, ...) {
    va_list ap;
    va_start(ap, d);
    for (const char *name; (name = va_arg(ap, const char *));) pp_dep(d, name);
    va_end(ap);
}

void pp_dep_no_failures(pp_decl *d) {
    if (!d) return;
    parproc_jobs_types_dep_decl_t dep;
    memset(&dep, 0, sizeof dep);
    dep.tag = PARPROC_JOBS_TYPES_DEP_DECL_NO_FAILURES;
    PUSH(d->wit.deps, dep);
}

void pp_dep_computed(pp_decl *d, pp_callback names) {
    if (!d) return;
    callback_at at = {(uint32_t)d->wit.deps.len, NULL, names};
    PUSH(d->deps, at);
    parproc_jobs_types_dep_decl_t dep;
    memset(&dep, 0, sizeof dep);
    dep.tag = PARPROC_JOBS_TYPES_DEP_DECL_COMPUTED;
    PUSH(d->wit.deps, dep);
}

static void rdep(pp_decl *d, uint8_t tag, const char *pattern) {
    if (!d) return;
    parproc_jobs_types_rdep_decl_t r;
    memset(&r, 0, sizeof r);
    r.tag = tag;
    r.val.plain = str(pattern); /* every case is one string at the same place */
    PUSH(d->wit.rdeps, r);
}

void pp_rdep(pp_decl *d, const char *pattern) {
    rdep(d, PARPROC_JOBS_TYPES_RDEP_DECL_PLAIN, pattern);
}
void pp_rdep_when_scheduled(pp_decl *d, const char *pattern) {
    rdep(d, PARPROC_JOBS_TYPES_RDEP_DECL_WHEN_SCHEDULED, pattern);
}
void pp_rdep_when_target_scheduled(pp_decl *d, const char *pattern) {
    rdep(d, PARPROC_JOBS_TYPES_RDEP_DECL_WHEN_TARGET_SCHEDULED, pattern);
}

void pp_lock(pp_decl *d, const char *name) {
    if (d) PUSH(d->wit.locks, str(name));
}

void pp_wave(pp_decl *d, int32_t wave) {
    if (d) d->wit.wave = wave;
}

void pp_now(pp_decl *d) {
    if (d) d->wit.now = true;
}

void pp_param(pp_decl *d, const char *name, pp_type type) {
    if (!d) return;
    parproc_jobs_types_param_decl_t p = {str(name), (uint8_t)type};
    PUSH(d->wit.params, p);
}

void pp_default(pp_decl *d, const char *name, pp_value value) {
    if (!d) return;
    parproc_jobs_types_arg_t a = {str(name), wit_value(value)};
    PUSH(d->wit.defaults, a);
}

/* The fixed choices of `param`, added when missing. */
static parproc_jobs_types_list_value_t *fixed_choices(pp_decl *d, const char *param) {
    for (size_t i = 0; i < d->wit.choices.len; i++) {
        parproc_jobs_types_arg_choices_t *c = &d->wit.choices.ptr[i];
        if (str_eq(&c->param, param) && c->source.tag == PARPROC_JOBS_TYPES_CHOICE_SOURCE_FIXED)
            return &c->source.val.fixed;
    }
    parproc_jobs_types_arg_choices_t c;
    memset(&c, 0, sizeof c);
    c.param = str(param);
    c.source.tag = PARPROC_JOBS_TYPES_CHOICE_SOURCE_FIXED;
    PUSH(d->wit.choices, c);
    return &d->wit.choices.ptr[d->wit.choices.len - 1].source.val.fixed;
}

void pp_choice(pp_decl *d, const char *param, pp_value value) {
    if (!d || !param) return;
    parproc_jobs_types_list_value_t *fixed = fixed_choices(d, param);
    PUSH(*fixed, wit_value(value));
}

void pp_choices_(pp_decl *d, const char *param, ...) {
    va_list ap;
    va_start(ap, param);
    for (const char *v; (v = va_arg(ap, const char *));) pp_choice(d, param, pp_text(v));
    va_end(ap);
}

void pp_choices_computed(pp_decl *d, const char *param, pp_callback values) {
    if (!d || !param) return;
    callback_at at = {0, dupc(param), values};
    PUSH(d->choices, at);
    parproc_jobs_types_arg_choices_t c;
    memset(&c, 0, sizeof c);
    c.param = str(param);
    c.source.tag = PARPROC_JOBS_TYPES_CHOICE_SOURCE_COMPUTED;
    PUSH(d->wit.choices, c);
}

void pp_all_choices_computed(pp_decl *d, pp_callback choices) {
    if (!d) return;
    callback_at at = {0, NULL, choices};
    PUSH(d->choices, at);
    d->wit.choices_computed = true;
}

static void log_ignore(pp_decl *d, uint8_t tag, const char *regex) {
    if (!d) return;
    parproc_jobs_types_log_ignore_t l;
    memset(&l, 0, sizeof l);
    l.tag = tag;
    l.val.always = str(regex);
    PUSH(d->wit.log_ignore, l);
}

void pp_log_ignore(pp_decl *d, const char *regex) {
    log_ignore(d, PARPROC_JOBS_TYPES_LOG_IGNORE_ALWAYS, regex);
}
void pp_log_ignore_if_succeeded(pp_decl *d, const char *regex) {
    log_ignore(d, PARPROC_JOBS_TYPES_LOG_IGNORE_IF_SUCCEEDED, regex);
}

void pp_need_dir(pp_decl *d, const char *guest_path, bool writable) {
    if (!d) return;
    parproc_jobs_types_dir_need_t n = {str(guest_path), writable};
    PUSH(d->wit.needs.dirs, n);
}
void pp_need_env(pp_decl *d, const char *name) {
    if (d) PUSH(d->wit.needs.env, str(name));
}
void pp_need_net(pp_decl *d, const char *host_port) {
    if (d) PUSH(d->wit.needs.network, str(host_port));
}
void pp_need_input(pp_decl *d) {
    if (d) d->wit.needs.input = true;
}
void pp_need_tool(pp_decl *d, const char *name) {
    if (d) PUSH(d->wit.needs.tools, str(name));
}
void pp_need_http(pp_decl *d, const char *origin) {
    if (d) PUSH(d->wit.needs.http, str(origin));
}

void pp_timeout_ms(pp_decl *d, uint64_t ms) {
    if (d) d->wit.limits.timeout_ms = (jobs_option_u64_t){true, ms};
}
void pp_fuel(pp_decl *d, uint64_t fuel) {
    if (d) d->wit.limits.fuel = (jobs_option_u64_t){true, fuel};
}
void pp_memory_bytes(pp_decl *d, uint64_t bytes) {
    if (d) d->wit.limits.memory_bytes = (jobs_option_u64_t){true, bytes};
}

void pp_description(pp_decl *d, const char *text) {
    if (!d) return;
    jobs_string_free(&d->wit.description);
    d->wit.description = str(text);
}

void pp_input(pp_decl *d, const char *path_or_glob) {
    if (!d) return;
    parproc_jobs_types_input_decl_t in;
    memset(&in, 0, sizeof in);
    in.tag = PARPROC_JOBS_TYPES_INPUT_DECL_PATH;
    in.val.path = str(path_or_glob);
    PUSH(d->wit.incremental.inputs, in);
}

void pp_input_regex_files(pp_decl *d, const char *root, const char *regex) {
    if (!d) return;
    parproc_jobs_types_input_decl_t in;
    memset(&in, 0, sizeof in);
    in.tag = PARPROC_JOBS_TYPES_INPUT_DECL_REGEX_FILES;
    in.val.regex_files.root = str(root);
    in.val.regex_files.pattern = str(regex);
    PUSH(d->wit.incremental.inputs, in);
}

void pp_input_computed(pp_decl *d, pp_callback paths) {
    if (!d) return;
    callback_at at = {(uint32_t)d->wit.incremental.inputs.len, NULL, paths};
    PUSH(d->inputs, at);
    parproc_jobs_types_input_decl_t in;
    memset(&in, 0, sizeof in);
    in.tag = PARPROC_JOBS_TYPES_INPUT_DECL_COMPUTED;
    PUSH(d->wit.incremental.inputs, in);
}

void pp_input_ignore(pp_decl *d, const char *path_or_glob) {
    if (d) PUSH(d->wit.incremental.inputs_ignore, str(path_or_glob));
}

void pp_output_max_age(pp_decl *d, const char *path_or_glob, const char *max_age,
                       bool enforce_freshness) {
    if (!d) return;
    parproc_jobs_types_output_decl_t out;
    memset(&out, 0, sizeof out);
    out.path = str(path_or_glob);
    if (max_age) out.max_age = (jobs_option_string_t){true, str(max_age)};
    out.enforce_freshness = enforce_freshness;
    PUSH(d->wit.incremental.outputs, out);
}

void pp_output(pp_decl *d, const char *path_or_glob) {
    pp_output_max_age(d, path_or_glob, NULL, true);
}

void pp_no_skip(pp_decl *d) {
    if (d) d->wit.incremental.no_skip = true;
}

void pp_target(const char *name) {
    PUSH(registry.wit.targets, str(name));
}

void pp_global_param(const char *name, const char *json) {
    jobs_tuple2_string_string_t p = {str(name), str(json ? json : "null")};
    PUSH(registry.wit.params, p);
}

void pp_set_parallel(uint32_t parallel) {
    registry.wit.options.parallel = (jobs_option_u32_t){true, parallel};
}
void pp_set_single_mode(void) {
    registry.wit.options.mode =
        (parproc_jobs_types_option_mode_t){true, PARPROC_JOBS_TYPES_MODE_SINGLE};
}
void pp_set_separator(const char *separator) {
    jobs_option_string_free(&registry.wit.options.separator);
    registry.wit.options.separator = (jobs_option_string_t){true, str(separator)};
}
void pp_set_allow_missing_deps(bool allow) {
    registry.wit.options.allow_missing_deps = (jobs_option_bool_t){true, allow};
}
void pp_set_task_db(bool task_db) {
    registry.wit.options.task_db = (jobs_option_bool_t){true, task_db};
}
void pp_global_inputs_ignore(const char *path_or_glob) {
    PUSH(registry.wit.options.inputs_ignore, str(path_or_glob));
}

/* ---------------------------------------------------------------- declarations exports */

void exports_parproc_jobs_declarations_describe(exports_parproc_jobs_declarations_manifest_t *ret) {
    ensure_declared();
    /* The manifest is handed over (its post-return frees it): the declarations move into it,
     * and the registry keeps only what the callbacks need. */
    *ret = registry.wit;
    memset(&registry.wit, 0, sizeof registry.wit);
    ret->jobs.len = registry.decls.len;
    ret->jobs.ptr = xmalloc(registry.decls.len * sizeof *ret->jobs.ptr);
    for (size_t i = 0; i < registry.decls.len; i++) {
        pp_decl *d = registry.decls.ptr[i];
        ret->jobs.ptr[i] = d->wit;
        memset(&d->wit, 0, sizeof d->wit);
    }
}

struct pp_dep_ctx {
    exports_parproc_jobs_declarations_dep_context_t *wit;
    char *scratch; /* the last string handed out */
};

struct pp_out {
    jobs_list_string_t names;
    exports_parproc_jobs_declarations_list_value_t values;
    exports_parproc_jobs_declarations_list_tuple2_string_list_value_t choices;
    char *error;
};

static const char *dc_lookup(const pp_dep_ctx *dc, const jobs_list_tuple2_string_string_t *list,
                             const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < list->len; i++) {
        if (str_eq(&list->ptr[i].f0, name)) {
            pp_dep_ctx *m = (pp_dep_ctx *)dc;
            free(m->scratch);
            m->scratch = cstr_of(&list->ptr[i].f1);
            return m->scratch;
        }
    }
    return NULL;
}

const char *pp_dc_name(const pp_dep_ctx *dc) {
    pp_dep_ctx *m = (pp_dep_ctx *)dc;
    free(m->scratch);
    m->scratch = cstr_of(&dc->wit->proc_name);
    return m->scratch;
}
const char *pp_dc_arg(const pp_dep_ctx *dc, const char *name) {
    return dc_lookup(dc, &dc->wit->args, name);
}
const char *pp_dc_param(const pp_dep_ctx *dc, const char *name) {
    return dc_lookup(dc, &dc->wit->params, name);
}

void pp_out_name(pp_out *out, const char *name) {
    if (out) PUSH(out->names, str(name));
}
void pp_out_value(pp_out *out, pp_value value) {
    if (out) PUSH(out->values, wit_value(value));
}
void pp_out_choice(pp_out *out, const char *param, pp_value value) {
    if (!out || !param) return;
    for (size_t i = 0; i < out->choices.len; i++) {
        if (str_eq(&out->choices.ptr[i].f0, param)) {
            PUSH(out->choices.ptr[i].f1, wit_value(value));
            return;
        }
    }
    exports_parproc_jobs_declarations_tuple2_string_list_value_t entry;
    memset(&entry, 0, sizeof entry);
    entry.f0 = str(param);
    PUSH(entry.f1, wit_value(value));
    PUSH(out->choices, entry);
}
bool pp_out_fail(pp_out *out, const char *fmt, ...) {
    if (!out) return false;
    va_list ap;
    va_start(ap, fmt);
    free(out->error);
    out->error = vformat(fmt, ap);
    va_end(ap);
    return false;
}

/* Run a callback; true with `out` filled, or false with `err` set. The arguments are ours. */
static bool call_back(jobs_string_t *decl, pp_callback fn, const char *missing,
                      exports_parproc_jobs_declarations_dep_context_t *wit, pp_out *out,
                      jobs_string_t *err) {
    bool ok = false;
    if (!fn) {
        char *name = cstr_of(decl);
        size_t n = strlen(missing) + strlen(name) + 8;
        char *msg = xmalloc(n);
        snprintf(msg, n, "%s of %s", missing, name);
        *err = str(msg);
        free(msg);
        free(name);
    } else {
        pp_dep_ctx dc = {wit, NULL};
        ok = fn(&dc, out);
        free(dc.scratch);
        if (!ok) *err = str(out->error ? out->error : "the callback failed");
    }
    free(out->error);
    jobs_string_free(decl);
    exports_parproc_jobs_declarations_dep_context_free(wit);
    return ok;
}

/* The callback of the computed entry at `index` of a deps or inputs list. */
static pp_callback callback_at_index(const callbacks *list, uint32_t index) {
    for (size_t i = 0; i < list->len; i++)
        if (list->ptr[i].index == index) return list->ptr[i].fn;
    return NULL;
}

/* resolve-deps and resolve-inputs: the names the callback at `index` of the declaration's
 * deps (or inputs) list gives. */
static bool resolve_names(jobs_string_t *decl, bool inputs, uint32_t index,
                          exports_parproc_jobs_declarations_dep_context_t *ctx,
                          jobs_list_string_t *ret, jobs_string_t *err) {
    ensure_declared();
    pp_decl *d = find_decl(decl);
    pp_callback fn = d ? callback_at_index(inputs ? &d->inputs : &d->deps, index) : NULL;
    pp_out out;
    memset(&out, 0, sizeof out);
    if (!call_back(decl, fn,
                   inputs ? "no computed input at this index" : "no computed dep at this index",
                   ctx, &out, err)) {
        jobs_list_string_free(&out.names);
        return false;
    }
    *ret = out.names;
    return true;
}

bool exports_parproc_jobs_declarations_resolve_deps(
    jobs_string_t *decl, uint32_t index, exports_parproc_jobs_declarations_dep_context_t *ctx,
    jobs_list_string_t *ret, jobs_string_t *err) {
    return resolve_names(decl, false, index, ctx, ret, err);
}

bool exports_parproc_jobs_declarations_resolve_inputs(
    jobs_string_t *decl, uint32_t index, exports_parproc_jobs_declarations_dep_context_t *ctx,
    jobs_list_string_t *ret, jobs_string_t *err) {
    return resolve_names(decl, true, index, ctx, ret, err);
}

bool exports_parproc_jobs_declarations_resolve_choices(
    jobs_string_t *decl, jobs_string_t *maybe_param,
    exports_parproc_jobs_declarations_dep_context_t *ctx,
    exports_parproc_jobs_declarations_list_tuple2_string_list_value_t *ret, jobs_string_t *err) {
    ensure_declared();
    pp_decl *d = find_decl(decl);
    char *param = maybe_param ? cstr_of(maybe_param) : NULL;
    pp_callback fn = NULL;
    if (d) {
        for (size_t i = 0; i < d->choices.len; i++) {
            callback_at *at = &d->choices.ptr[i];
            if (param ? (at->param && !strcmp(at->param, param)) : !at->param) fn = at->fn;
        }
    }
    if (maybe_param) jobs_string_free(maybe_param);
    pp_out out;
    memset(&out, 0, sizeof out);
    bool ok = call_back(decl, fn, param ? "no computed choices for this placeholder"
                                        : "no computed choices",
                        ctx, &out, err);
    if (ok) {
        if (param) {
            /* One placeholder: its values under its name. */
            exports_parproc_jobs_declarations_tuple2_string_list_value_t entry = {str(param),
                                                                                  out.values};
            memset(&out.values, 0, sizeof out.values);
            PUSH(out.choices, entry);
        }
        *ret = out.choices;
        memset(&out.choices, 0, sizeof out.choices);
    }
    exports_parproc_jobs_declarations_list_value_free(&out.values);
    exports_parproc_jobs_declarations_list_tuple2_string_list_value_free(&out.choices);
    jobs_list_string_free(&out.names);
    free(param);
    return ok;
}

/* ---------------------------------------------------------------- the running proc */

/* Arena blocks: a header (the next block) padded so that what follows is aligned for any
 * type the SDK stores there (the WIT args hold 64-bit values). */
typedef union block {
    union block *next;
    max_align_t align;
} block;

enum { RET_NONE = 0, RET_OK, RET_FAIL, RET_SKIP, RET_NO_CHANGE };

struct pp_ctx {
    char *name;
    exports_parproc_jobs_procs_list_arg_t *args;
    const pp_decl *decl;
    block *arena;
    const char *error;
    bool have_params;
    jobs_list_tuple2_string_string_t params;
    int kind;
    char *text; /* the result or the message, malloc'd */
};

static void *arena_alloc(pp_ctx *ctx, size_t n) {
    block *b = xmalloc(sizeof(block) + n);
    b->next = ctx->arena;
    ctx->arena = b;
    return b + 1;
}

static const char *arena_str(pp_ctx *ctx, const jobs_string_t *s) {
    char *out = arena_alloc(ctx, s->len + 1);
    if (s->len) memcpy(out, s->ptr, s->len);
    out[s->len] = 0;
    return out;
}

static const char *arena_take(pp_ctx *ctx, char *s) {
    jobs_string_t v = view(s);
    const char *out = arena_str(ctx, &v);
    free(s);
    return out;
}

static void fail_call(pp_ctx *ctx, jobs_string_t *err) {
    ctx->error = arena_str(ctx, err);
    jobs_string_free(err);
}

static pp_names arena_names(pp_ctx *ctx, jobs_list_string_t *list) {
    pp_names out = {arena_alloc(ctx, (list->len + 1) * sizeof(char *)), list->len};
    for (size_t i = 0; i < list->len; i++) out.items[i] = arena_str(ctx, &list->ptr[i]);
    out.items[list->len] = NULL;
    jobs_list_string_free(list);
    return out;
}

const char *pp_name(pp_ctx *ctx) { return ctx->name; }

/* An arg by name. The host gives a proto's proc only its placeholders' values; its other
 * params take the declared defaults, as in the other SDKs. */
static const parproc_jobs_types_value_t *arg(pp_ctx *ctx, const char *name) {
    for (size_t i = 0; name && i < ctx->args->len; i++)
        if (str_eq(&ctx->args->ptr[i].name, name)) return &ctx->args->ptr[i].value;
    const parproc_jobs_types_list_arg_t *defaults = ctx->decl ? &ctx->decl->wit.defaults : NULL;
    for (size_t i = 0; name && defaults && i < defaults->len; i++)
        if (str_eq(&defaults->ptr[i].name, name)) return &defaults->ptr[i].value;
    return NULL;
}

bool pp_has_arg(pp_ctx *ctx, const char *name) { return arg(ctx, name) != NULL; }

const char *pp_arg_text(pp_ctx *ctx, const char *name, const char *fallback) {
    const parproc_jobs_types_value_t *v = arg(ctx, name);
    if (!v || v->tag != PARPROC_JOBS_TYPES_VALUE_TEXT) return fallback;
    return arena_str(ctx, &v->val.text);
}
int64_t pp_arg_int(pp_ctx *ctx, const char *name, int64_t fallback) {
    const parproc_jobs_types_value_t *v = arg(ctx, name);
    return v && v->tag == PARPROC_JOBS_TYPES_VALUE_INTEGER ? v->val.integer : fallback;
}
double pp_arg_float(pp_ctx *ctx, const char *name, double fallback) {
    const parproc_jobs_types_value_t *v = arg(ctx, name);
    return v && v->tag == PARPROC_JOBS_TYPES_VALUE_FLOAT ? v->val.float_ : fallback;
}
bool pp_arg_bool(pp_ctx *ctx, const char *name, bool fallback) {
    const parproc_jobs_types_value_t *v = arg(ctx, name);
    return v && v->tag == PARPROC_JOBS_TYPES_VALUE_BOOLEAN ? v->val.boolean : fallback;
}

const char *pp_param_json(pp_ctx *ctx, const char *name) {
    if (!ctx->have_params) {
        parproc_jobs_context_params(&ctx->params);
        ctx->have_params = true;
    }
    for (size_t i = 0; name && i < ctx->params.len; i++)
        if (str_eq(&ctx->params.ptr[i].f0, name)) return arena_str(ctx, &ctx->params.ptr[i].f1);
    return NULL;
}

const char *pp_result(pp_ctx *ctx, const char *name) {
    jobs_string_t n = view(name), out;
    if (!name || !parproc_jobs_context_result(&n, &out)) return NULL;
    const char *json = arena_str(ctx, &out);
    jobs_string_free(&out);
    return json;
}

pp_names pp_result_names(pp_ctx *ctx) {
    jobs_list_string_t list;
    parproc_jobs_context_result_names(&list);
    return arena_names(ctx, &list);
}

bool pp_deps_changed(pp_ctx *ctx) {
    (void)ctx;
    return parproc_jobs_context_deps_changed();
}

pp_names pp_changed_deps(pp_ctx *ctx) {
    jobs_list_string_t list;
    parproc_jobs_context_changed_deps(&list);
    return arena_names(ctx, &list);
}

typedef bool (*create_like)(jobs_string_t *, parproc_jobs_context_list_arg_t *,
                            jobs_string_t *, jobs_list_string_t *, jobs_string_t *);

static bool create_or_run(create_like call, pp_ctx *ctx, const char *name, const pp_arg *args,
                          size_t nargs, const char *proc_name, pp_names *names) {
    parproc_jobs_context_list_arg_t list = {
        nargs ? arena_alloc(ctx, nargs * sizeof(parproc_jobs_context_arg_t)) : NULL, nargs};
    for (size_t i = 0; i < nargs; i++) {
        list.ptr[i].name = view(args[i].name);
        list.ptr[i].value = wit_value_view(args[i].value);
    }
    jobs_string_t n = view(name), pn = view(proc_name), err;
    jobs_list_string_t out;
    if (!call(&n, &list, proc_name ? &pn : NULL, &out, &err)) {
        fail_call(ctx, &err);
        return false;
    }
    pp_names got = arena_names(ctx, &out);
    if (names) *names = got;
    return true;
}

bool pp_create(pp_ctx *ctx, const char *name, const pp_arg *args, size_t nargs,
               const char *proc_name, pp_names *created) {
    return create_or_run(parproc_jobs_context_create, ctx, name, args, nargs, proc_name, created);
}

bool pp_run(pp_ctx *ctx, const char *name, const pp_arg *args, size_t nargs,
            const char *proc_name, pp_names *started) {
    return create_or_run(parproc_jobs_context_run, ctx, name, args, nargs, proc_name, started);
}

static jobs_list_string_t names_view(pp_ctx *ctx, const char *const *names, size_t n) {
    jobs_list_string_t list = {n ? arena_alloc(ctx, n * sizeof(jobs_string_t)) : NULL, n};
    for (size_t i = 0; i < n; i++) list.ptr[i] = view(names[i]);
    return list;
}

bool pp_start(pp_ctx *ctx, const char *const *names, size_t n) {
    jobs_list_string_t list = names_view(ctx, names, n);
    jobs_string_t err;
    if (!parproc_jobs_context_start(&list, &err)) {
        fail_call(ctx, &err);
        return false;
    }
    return true;
}

bool pp_wait(pp_ctx *ctx, const char *const *names, size_t n, pp_status **statuses) {
    jobs_list_string_t list = names_view(ctx, names, n);
    parproc_jobs_context_list_proc_status_t out;
    jobs_string_t err;
    if (!parproc_jobs_context_wait(&list, &out, &err)) {
        fail_call(ctx, &err);
        return false;
    }
    pp_status *st = arena_alloc(ctx, (out.len + 1) * sizeof *st);
    for (size_t i = 0; i < out.len; i++) {
        st[i].name = arena_str(ctx, &out.ptr[i].name);
        st[i].state = (pp_state)out.ptr[i].state;
        st[i].failure = out.ptr[i].failure.is_some ? (int)out.ptr[i].failure.val : -1;
        st[i].message = arena_str(ctx, &out.ptr[i].message);
    }
    memset(&st[out.len], 0, sizeof *st);
    parproc_jobs_context_list_proc_status_free(&out);
    if (statuses) *statuses = st;
    return true;
}

pp_state pp_wait1(pp_ctx *ctx, const char *name) {
    pp_status *st = NULL;
    if (!pp_wait(ctx, &name, 1, &st)) return PP_WAIT_ERROR;
    return st[0].name ? st[0].state : PP_WAIT_ERROR;
}

const char *pp_get_input(pp_ctx *ctx, const char *prompt, bool password) {
    jobs_string_t p = view(prompt), out, err;
    if (!parproc_jobs_context_get_input(&p, password, &out, &err)) {
        fail_call(ctx, &err);
        return NULL;
    }
    const char *line = arena_str(ctx, &out);
    jobs_string_free(&out);
    return line;
}

/* A copy of `bytes` in the arena, followed by a NUL (so that text output reads as a C
 * string); frees the original. */
static const char *arena_bytes(pp_ctx *ctx, jobs_list_u8_t *bytes) {
    char *out = arena_alloc(ctx, bytes->len + 1);
    if (bytes->len) memcpy(out, bytes->ptr, bytes->len);
    out[bytes->len] = 0;
    jobs_list_u8_free(bytes);
    return out;
}

bool pp_exec(pp_ctx *ctx, const pp_exec_request *req, pp_exec_output *out) {
    if (!req || !req->tool) {
        ctx->error = "pp_exec: no tool named (set req->tool)";
        return false;
    }
    parproc_jobs_context_exec_request_t r;
    memset(&r, 0, sizeof r);
    r.tool = view(req->tool);
    r.args = names_view(ctx, req->args, req->args ? req->nargs : 0);
    size_t nenv = req->env ? req->nenv : 0;
    r.env.len = nenv;
    r.env.ptr = nenv ? arena_alloc(ctx, nenv * sizeof *r.env.ptr) : NULL;
    for (size_t i = 0; i < nenv; i++) {
        const char *var = req->env[i] ? req->env[i] : "";
        const char *eq = strchr(var, '=');
        if (!eq) {
            ctx->error = pp_sprintf(ctx, "pp_exec: env entry `%s` is not NAME=VALUE", var);
            return false;
        }
        r.env.ptr[i].f0 = (jobs_string_t){(uint8_t *)var, (size_t)(eq - var)};
        r.env.ptr[i].f1 = view(eq + 1);
    }
    r.stdin_ = (jobs_list_u8_t){(uint8_t *)req->stdin_data, req->stdin_data ? req->stdin_len : 0};
    size_t ndirs = req->dirs ? req->ndirs : 0;
    r.dirs.len = ndirs;
    r.dirs.ptr = ndirs ? arena_alloc(ctx, ndirs * sizeof *r.dirs.ptr) : NULL;
    for (size_t i = 0; i < ndirs; i++) {
        r.dirs.ptr[i].path = view(req->dirs[i].path);
        r.dirs.ptr[i].writable = req->dirs[i].writable;
    }
    if (req->max_output) r.max_output = (jobs_option_u64_t){true, req->max_output};
    parproc_jobs_context_exec_output_t got;
    jobs_string_t err;
    if (!parproc_jobs_context_exec(&r, &got, &err)) {
        fail_call(ctx, &err);
        return false;
    }
    pp_exec_output result;
    result.exit_code = got.exit_code;
    result.stdout_len = got.stdout_.len;
    result.stdout_data = arena_bytes(ctx, &got.stdout_);
    result.stderr_len = got.stderr_.len;
    result.stderr_data = arena_bytes(ctx, &got.stderr_);
    result.truncated = got.truncated;
    if (out) *out = result;
    return true;
}

const char *pp_error(pp_ctx *ctx) { return ctx->error ? ctx->error : ""; }

void pp_log(pp_ctx *ctx, pp_level level, const char *fmt, ...) {
    (void)ctx;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    jobs_string_t m = view(msg);
    parproc_jobs_context_log((uint8_t)level, &m);
    free(msg);
}

const char *pp_json_string(pp_ctx *ctx, const char *text) {
    if (!text) return "null";
    size_t n = 2;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) n += *p < 0x20 ? 6 : 2;
    char *out = arena_alloc(ctx, n + 1), *o = out;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        switch (*p) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (*p < 0x20) o += sprintf(o, "\\u%04x", *p);
            else *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *o = 0;
    return out;
}

const char *pp_sprintf(pp_ctx *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    return arena_take(ctx, s);
}

static pp_ret finish(pp_ctx *ctx, int kind, char *text) {
    free(ctx->text);
    ctx->kind = kind;
    ctx->text = text;
    pp_ret r = {kind};
    return r;
}

pp_ret pp_ok(pp_ctx *ctx, const char *json) {
    return finish(ctx, RET_OK, dupc(json ? json : "null"));
}

#define FINISH_FORMATTED(ctx, kind, fmt)                                                   \
    va_list ap;                                                                           \
    va_start(ap, fmt);                                                                    \
    char *text = vformat(fmt, ap);                                                        \
    va_end(ap);                                                                           \
    return finish(ctx, kind, text)

pp_ret pp_okf(pp_ctx *ctx, const char *fmt, ...) { FINISH_FORMATTED(ctx, RET_OK, fmt); }
pp_ret pp_fail(pp_ctx *ctx, const char *fmt, ...) { FINISH_FORMATTED(ctx, RET_FAIL, fmt); }
pp_ret pp_skip(pp_ctx *ctx, const char *fmt, ...) { FINISH_FORMATTED(ctx, RET_SKIP, fmt); }
pp_ret pp_no_change(pp_ctx *ctx, const char *fmt, ...) {
    FINISH_FORMATTED(ctx, RET_NO_CHANGE, fmt);
}

bool exports_parproc_jobs_procs_run(jobs_string_t *decl, jobs_string_t *proc_name,
                                    exports_parproc_jobs_procs_list_arg_t *args,
                                    jobs_string_t *ret,
                                    exports_parproc_jobs_procs_proc_error_t *err) {
    ensure_declared();
    pp_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.name = cstr_of(proc_name);
    ctx.args = args;
    pp_decl *d = find_decl(decl);
    ctx.decl = d;
    if (!d || !d->fn) {
        char *name = cstr_of(decl);
        size_t n = strlen(name) + 64;
        char *msg = xmalloc(n);
        snprintf(msg, n, "no proc function is declared for %s", name);
        finish(&ctx, RET_FAIL, msg);
        free(name);
    } else {
        pp_ret r = d->fn(&ctx);
        if (ctx.kind == RET_NONE || r.kind_ != ctx.kind)
            finish(&ctx, RET_FAIL,
                   dupc("the proc function returned without pp_ok, pp_fail, pp_skip or "
                        "pp_no_change"));
    }
    fflush(stdout);
    fflush(stderr);
    bool ok = ctx.kind == RET_OK;
    if (ok) {
        *ret = str(ctx.text);
        if (!ret->len) *ret = str("null");
    } else {
        memset(err, 0, sizeof *err);
        err->tag = ctx.kind == RET_SKIP        ? PARPROC_JOBS_TYPES_PROC_ERROR_SKIPPED
                   : ctx.kind == RET_NO_CHANGE ? PARPROC_JOBS_TYPES_PROC_ERROR_NO_CHANGE
                                               : PARPROC_JOBS_TYPES_PROC_ERROR_FAILED;
        err->val.failed = str(ctx.text);
    }
    while (ctx.arena) {
        block *next = ctx.arena->next;
        free(ctx.arena);
        ctx.arena = next;
    }
    free(ctx.text);
    free(ctx.name);
    if (ctx.have_params) jobs_list_tuple2_string_string_free(&ctx.params);
    jobs_string_free(decl);
    jobs_string_free(proc_name);
    exports_parproc_jobs_procs_list_arg_free(args);
    return ok;
}
