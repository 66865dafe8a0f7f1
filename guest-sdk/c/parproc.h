/*
 * parproc.h — the C SDK of parproc-host job modules (C, and C++ through `extern "C"`).
 *
 * A job module defines one function, `void parproc_declare(void)`, that declares its procs
 * and protos with the `pp_proc` / `pp_proto` calls below; each proc is a function taking the
 * running proc's context and returning what `pp_ok`, `pp_fail`, `pp_skip` or `pp_no_change`
 * return:
 *
 *     #include "parproc.h"
 *
 *     static pp_ret hello(pp_ctx *ctx) {
 *         pp_log(ctx, PP_INFO, "hello from %s", pp_name(ctx));
 *         return pp_ok(ctx, "\"hello\"");          // the JSON result
 *     }
 *
 *     void parproc_declare(void) {
 *         pp_decl *d = pp_proc("hello", hello);
 *         pp_now(d);
 *     }
 *
 * `guest-sdk/c/build.sh jobs.c jobs.wasm` builds the component. The calls mirror parproc's
 * decorators and context (guest-sdk/c/README.md lists them next to the Rust, Python and
 * JavaScript SDKs). Names in the WIT contract (`wit/parproc.wit`) are given in brackets.
 *
 * Memory: every string the SDK hands to a proc function (args, results, names, errors)
 * stays valid until the proc returns and is freed then; copy what must live longer.
 * Strings given to the SDK are copied. Declarations are made once per instance.
 */
#ifndef PARPROC_H
#define PARPROC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define PP_SENTINEL __attribute__((sentinel))
#else
#define PP_PRINTF(fmt, args)
#define PP_SENTINEL
#endif

/* ---------------------------------------------------------------- values */

/** The declared type of a parameter or placeholder [value-type]. */
typedef enum pp_type { PP_TEXT = 0, PP_INT = 1, PP_FLOAT = 2, PP_BOOL = 3 } pp_type;

/** A typed value [value]: build one with pp_text, pp_int, pp_float or pp_bool. */
typedef struct pp_value {
    pp_type type;
    const char *text;
    int64_t integer;
    double number;
    bool boolean;
} pp_value;

pp_value pp_text(const char *text);
pp_value pp_int(int64_t value);
pp_value pp_float(double value);
pp_value pp_bool(bool value);

/** A named argument for pp_create / pp_run [arg]. */
typedef struct pp_arg {
    const char *name;
    pp_value value;
} pp_arg;

/* ---------------------------------------------------------------- declarations */

/** One proc or proto being declared [job-decl]. */
typedef struct pp_decl pp_decl;
/** The context of a running proc [context]. */
typedef struct pp_ctx pp_ctx;
/** What a computed dep, input or choice callback is told [dep-context]. */
typedef struct pp_dep_ctx pp_dep_ctx;
/** Where a callback puts what it computes. */
typedef struct pp_out pp_out;

/** What a proc function returns: the value of pp_ok, pp_fail, pp_skip or pp_no_change. */
typedef struct pp_ret {
    int kind_;
} pp_ret;

/** A proc function. */
typedef pp_ret (*pp_fn)(pp_ctx *ctx);
/**
 * A callback computing deps or inputs (names with pp_out_name) or choices (values with
 * pp_out_value, or pp_out_choice for every placeholder). Return true, or pp_out_fail(...).
 */
typedef bool (*pp_callback)(const pp_dep_ctx *dc, pp_out *out);

/** Defined by the module: declares its procs, protos, targets, options and params. */
void parproc_declare(void);

/** A proc (a name without placeholders) run by `fn`. */
pp_decl *pp_proc(const char *name, pp_fn fn);
/** A proto: a name pattern with `[placeholder]`s (`build::[env]`) stamped out into procs. */
pp_decl *pp_proto(const char *pattern, pp_fn fn);

/** A dependency: a proc name, a filled-out or pattern proto name, or a glob [dep-decl.name]. */
void pp_dep(pp_decl *d, const char *name);
/** Several deps: pp_deps(d, "a", "b"). */
#define pp_deps(d, ...) pp_deps_((d), __VA_ARGS__, (const char *)0)
void pp_deps_(pp_decl *d, ...) PP_SENTINEL;
/** parproc's NO_FAILURES: run only if no other proc failed [dep-decl.no-failures]. */
void pp_dep_no_failures(pp_decl *d);
/** A dep computed when the proc is created (parproc's lambda deps) [dep-decl.computed]. */
void pp_dep_computed(pp_decl *d, pp_callback names);
/** Reverse deps [rdep-decl]: plain, WhenScheduled, WhenTargetScheduled. */
void pp_rdep(pp_decl *d, const char *pattern);
void pp_rdep_when_scheduled(pp_decl *d, const char *pattern);
void pp_rdep_when_target_scheduled(pp_decl *d, const char *pattern);
/** A named lock held while the proc runs. */
void pp_lock(pp_decl *d, const char *name);
/** The wave: every scheduled proc of a lower wave completes first. */
void pp_wave(pp_decl *d, int32_t wave);
/** Schedule the proc as soon as it exists (parproc's `now=True`). */
void pp_now(pp_decl *d);
/** A parameter (a placeholder of a proto, or an arg given to pp_create) and its type. */
void pp_param(pp_decl *d, const char *name, pp_type type);
/** A default value of a parameter. */
void pp_default(pp_decl *d, const char *name, pp_value value);
/** One allowed value of a placeholder [arg-choices.fixed]; repeat for more. */
void pp_choice(pp_decl *d, const char *param, pp_value value);
/** Text choices: pp_choices(d, "env", "dev", "prod"). */
#define pp_choices(d, param, ...) pp_choices_((d), (param), __VA_ARGS__, (const char *)0)
void pp_choices_(pp_decl *d, const char *param, ...) PP_SENTINEL;
/** The choices of one placeholder, computed (values with pp_out_value). */
void pp_choices_computed(pp_decl *d, const char *param, pp_callback values);
/** Every placeholder's choices, computed (pp_out_choice) [job-decl.choices-computed]. */
void pp_all_choices_computed(pp_decl *d, pp_callback choices);
/** Hide log lines matching a regular expression from snippets (always / if succeeded). */
void pp_log_ignore(pp_decl *d, const char *regex);
void pp_log_ignore_if_succeeded(pp_decl *d, const char *regex);
/**
 * Capabilities [needs]: a directory (guest path), an env var, a network address, input, a
 * WASI tool run with pp_exec (the user maps the name with `--tool NAME=PATH.wasm`) [tools],
 * an origin reached over wasi:http (`https://api.example.com`; `--allow-http`) [http].
 */
void pp_need_dir(pp_decl *d, const char *guest_path, bool writable);
void pp_need_env(pp_decl *d, const char *name);
void pp_need_net(pp_decl *d, const char *host_port);
void pp_need_input(pp_decl *d);
void pp_need_tool(pp_decl *d, const char *name);
void pp_need_http(pp_decl *d, const char *origin);
/** Budgets [limits]; each can only lower the user's limit. */
void pp_timeout_ms(pp_decl *d, uint64_t ms);
void pp_fuel(pp_decl *d, uint64_t fuel);
void pp_memory_bytes(pp_decl *d, uint64_t bytes);
/** Free text shown by `parproc-host list`. */
void pp_description(pp_decl *d, const char *text);
/** Incremental runs [incremental]: declared inputs, ignored inputs, outputs, no_skip. */
void pp_input(pp_decl *d, const char *path_or_glob);
void pp_input_regex_files(pp_decl *d, const char *root, const char *regex);
void pp_input_computed(pp_decl *d, pp_callback paths);
void pp_input_ignore(pp_decl *d, const char *path_or_glob);
void pp_output(pp_decl *d, const char *path_or_glob);
/** An output with parproc's max_age ("90", "4s", "1h", "2 days") and enforce_freshness. */
void pp_output_max_age(pp_decl *d, const char *path_or_glob, const char *max_age,
                       bool enforce_freshness);
void pp_no_skip(pp_decl *d);

/** What runs when no target is given (names, filled-out names or globs), in order. */
void pp_target(const char *name);
/** A global param (name and JSON value); `--param` overrides it. */
void pp_global_param(const char *name, const char *json);
/** Run options [run-options]; CLI flags override them. */
void pp_set_parallel(uint32_t parallel);
void pp_set_single_mode(void);
void pp_set_separator(const char *separator);
void pp_set_allow_missing_deps(bool allow);
void pp_set_task_db(bool task_db);
void pp_global_inputs_ignore(const char *path_or_glob);

/* ---------------------------------------------------------------- callbacks */

/** The name being created (for choices it may still contain globs). */
const char *pp_dc_name(const pp_dep_ctx *dc);
/** An arg of the proc being created, as text (not yet converted), or NULL. */
const char *pp_dc_arg(const pp_dep_ctx *dc, const char *name);
/** A global param's JSON text, or NULL. */
const char *pp_dc_param(const pp_dep_ctx *dc, const char *name);
/** Add a name (deps) or path (inputs). */
void pp_out_name(pp_out *out, const char *name);
/** Add an allowed value (pp_choices_computed). */
void pp_out_value(pp_out *out, pp_value value);
/** Add an allowed value of `param` (pp_all_choices_computed). */
void pp_out_choice(pp_out *out, const char *param, pp_value value);
/** Fail the callback with a message: `return pp_out_fail(out, "no %s", x);`. */
bool pp_out_fail(pp_out *out, const char *fmt, ...) PP_PRINTF(2, 3);

/* ---------------------------------------------------------------- the running proc */

/** Proc states as pp_wait reports them [proc-state]. */
typedef enum pp_state {
    PP_IDLE = 0,
    PP_WANTED = 1,
    PP_RUNNING = 2,
    PP_SUCCEEDED = 3,
    PP_FAILED = 4,
    PP_FAILED_DEP = 5,
    PP_SKIPPED = 6,
    PP_CANCELLED = 7,
    PP_UP_TO_DATE = 8,
    /** pp_wait1 could not wait: pp_error(ctx) says why. */
    PP_WAIT_ERROR = -1
} pp_state;

/** One proc's state after a wait [proc-status]. */
typedef struct pp_status {
    const char *name;
    pp_state state;
    /** The failure kind (the WIT's failure-kind order), or -1. */
    int failure;
    /** parproc's message (`canceled due to failure of "x"`), or "". */
    const char *message;
} pp_status;

/** A list of names, valid until the proc returns. */
typedef struct pp_names {
    const char **items;
    size_t len;
} pp_names;

/** Log levels [log-level]. */
typedef enum pp_level { PP_TRACE = 0, PP_DEBUG = 1, PP_INFO = 2, PP_WARN = 3, PP_ERROR = 4 } pp_level;

/** This proc's name. */
const char *pp_name(pp_ctx *ctx);
/** Whether the proc has the arg `name`. */
bool pp_has_arg(pp_ctx *ctx, const char *name);
/** Args by name, converted to their declared types; `fallback` when absent or of another type. */
const char *pp_arg_text(pp_ctx *ctx, const char *name, const char *fallback);
int64_t pp_arg_int(pp_ctx *ctx, const char *name, int64_t fallback);
double pp_arg_float(pp_ctx *ctx, const char *name, double fallback);
bool pp_arg_bool(pp_ctx *ctx, const char *name, bool fallback);
/** A global param's JSON text, or NULL. */
const char *pp_param_json(pp_ctx *ctx, const char *name);
/** The JSON result of a finished proc in this proc's view, or NULL [result]. */
const char *pp_result(pp_ctx *ctx, const char *name);
/** Every proc with a result in this proc's view [result-names]. */
pp_names pp_result_names(pp_ctx *ctx);
/** Whether any dep ran freshly, and which [deps-changed, changed-deps]. */
bool pp_deps_changed(pp_ctx *ctx);
pp_names pp_changed_deps(pp_ctx *ctx);
/**
 * Create procs from a proto (or find an existing proc): a name, a filled-out name, a glob,
 * or a pattern filled from `args` (`nargs` of them; NULL, 0 for none). `proc_name` names a
 * single created proc explicitly (or NULL). False on error (pp_error says why).
 */
bool pp_create(pp_ctx *ctx, const char *name, const pp_arg *args, size_t nargs,
               const char *proc_name, pp_names *created);
/** Schedule existing procs. */
bool pp_start(pp_ctx *ctx, const char *const *names, size_t n);
/** Create, then start. */
bool pp_run(pp_ctx *ctx, const char *name, const pp_arg *args, size_t nargs,
            const char *proc_name, pp_names *started);
/**
 * Start the named procs that are idle and wait until every one is complete; the statuses,
 * in order, go to `statuses` (may be NULL). False when the wait is refused (an unknown
 * name, a wait that can never finish): pp_error says why.
 */
bool pp_wait(pp_ctx *ctx, const char *const *names, size_t n, pp_status **statuses);
/** Wait for one proc: its state, or PP_WAIT_ERROR. */
pp_state pp_wait1(pp_ctx *ctx, const char *name);
/** Ask the user for a line (needs pp_need_input); NULL on error. */
const char *pp_get_input(pp_ctx *ctx, const char *prompt, bool password);

/** A directory of this proc passed to a tool, at the same guest path [exec-dir]. */
typedef struct pp_exec_dir {
    /** One of this proc's granted directories, or a directory below one. */
    const char *path;
    /** Whether the tool may write to it (only where this proc may). */
    bool writable;
} pp_exec_dir;

/**
 * What pp_exec runs [exec-request]; zero-initialise it and set what is needed:
 *
 *     const char *args[] = {"-q", "-p", "synth", "/design/top.v"};
 *     pp_exec_dir dirs[] = {{"/design", true}};
 *     pp_exec_request req = {.tool = "yosys", .args = args, .nargs = 4, .dirs = dirs, .ndirs = 1};
 */
typedef struct pp_exec_request {
    /** The tool's name, as declared with pp_need_tool (it is also its argv[0]). */
    const char *tool;
    /** The arguments after argv[0]. */
    const char *const *args;
    size_t nargs;
    /** The tool's whole environment, as "NAME=VALUE" strings. */
    const char *const *env;
    size_t nenv;
    /** What the tool reads on stdin (stdin_len bytes), then end of file. */
    const void *stdin_data;
    size_t stdin_len;
    /** The only directories of this proc the tool sees. */
    const pp_exec_dir *dirs;
    size_t ndirs;
    /** The most bytes of stdout and of stderr returned; 0: the host's default and cap (1 MiB). */
    uint64_t max_output;
} pp_exec_request;

/** How a tool ended [exec-output]; the bytes are valid until the proc returns. */
typedef struct pp_exec_output {
    /** 0 for success; 134 when the tool trapped (the host's reason ends stderr). */
    uint32_t exit_code;
    /** The first max_output bytes of stdout and of stderr, each followed by a NUL. */
    const char *stdout_data;
    size_t stdout_len;
    const char *stderr_data;
    size_t stderr_len;
    /** Whether stdout or stderr was longer (the whole of both went to the proc's log). */
    bool truncated;
} pp_exec_output;

/**
 * Run a WASI command-line tool the proc declared with pp_need_tool to its end [exec]. The
 * tool sees only the directories in `req->dirs` (a subset of this proc's), its own read-only
 * data directories and a private writable /tmp; its fuel and memory come out of this proc's
 * budget, and a tool that uses up the fuel ends this proc. True with `*out` filled when the
 * tool ran (whatever its exit code); false when it could not start (not declared, a directory
 * not granted or writable where this proc's is not, a tool that does not load): pp_error says
 * why.
 */
bool pp_exec(pp_ctx *ctx, const pp_exec_request *req, pp_exec_output *out);
/** The message of the last failed context call. */
const char *pp_error(pp_ctx *ctx);
/** Write a record to the proc's log (printf to stdout works too). */
void pp_log(pp_ctx *ctx, pp_level level, const char *fmt, ...) PP_PRINTF(3, 4);
/** A JSON string literal of `text` (quoted and escaped), valid until the proc returns. */
const char *pp_json_string(pp_ctx *ctx, const char *text);
/** printf into memory valid until the proc returns. */
const char *pp_sprintf(pp_ctx *ctx, const char *fmt, ...) PP_PRINTF(2, 3);

/** Succeed with a JSON result (NULL: `null`). */
pp_ret pp_ok(pp_ctx *ctx, const char *json);
/** Succeed with a JSON result built by printf: pp_okf(ctx, "{\"n\": %d}", n). */
pp_ret pp_okf(pp_ctx *ctx, const char *fmt, ...) PP_PRINTF(2, 3);
/** Fail with a message (parproc's ProcFailedError). */
pp_ret pp_fail(pp_ctx *ctx, const char *fmt, ...) PP_PRINTF(2, 3);
/** Skip (parproc's ProcSkippedError): success downstream, no result. */
pp_ret pp_skip(pp_ctx *ctx, const char *fmt, ...) PP_PRINTF(2, 3);
/** Nothing changed (parproc's ProcNoChangeError): success downstream. */
pp_ret pp_no_change(pp_ctx *ctx, const char *fmt, ...) PP_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif

#endif /* PARPROC_H */
