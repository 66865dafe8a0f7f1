//! Job modules written in Python, JavaScript and C/C++ with the SDKs in `guest-sdk/python`,
//! `guest-sdk/js` and `guest-sdk/c`, built into components and run through the
//! `parproc-host` binary.
//!
//! Each module is built once per test binary (and reused while it is newer than its script,
//! the SDK and the WIT) into `CARGO_TARGET_TMPDIR/polyglot`. The builders need
//! componentize-py and componentize-js, and Debian's clang-19 with the wasm32 libraries,
//! which `guest-sdk/install-tools.sh` installs; without them these tests fail with that
//! instruction (they never pass silently).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use serde_json::{Value as Json, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lang {
    Python,
    Js,
    /// C, and C++ (by the file's extension): guest-sdk/c/build.sh.
    C,
}

impl Lang {
    pub(crate) fn ext(self) -> &'static str {
        match self {
            Lang::Python => "py",
            Lang::Js => "js",
            Lang::C => "c",
        }
    }

    /// The line an uncaught `Failure` error (C: `pp_fail(ctx, "Failure")`) ends with in the
    /// summary.
    fn failure(self) -> &'static str {
        match self {
            Lang::Python => "Exception: Failure",
            Lang::Js => "Error: Failure",
            Lang::C => "Failure",
        }
    }

    /// The message of the `crash` proc of the protos fixture (`ValueError('bad value')`).
    fn crash(self) -> &'static str {
        match self {
            Lang::Python | Lang::Js => "Error: bad value",
            Lang::C => "bad value",
        }
    }
}

pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the repository")
}

const INSTALL: &str = "run guest-sdk/install-tools.sh (it installs componentize-py into \
                       .cache/venv and the JavaScript SDK's npm packages)";

/// Fails the test unless the language's build tools are installed.
fn check_tools(lang: Lang) {
    match lang {
        Lang::Python => {
            let venv = repo().join(".cache/venv/bin/componentize-py");
            let found = venv.exists()
                || std::env::var_os("COMPONENTIZE_PY").is_some()
                || Command::new("componentize-py")
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success());
            assert!(found, "componentize-py is not installed: {INSTALL}");
        }
        Lang::Js => {
            let modules = repo().join("guest-sdk/js/node_modules");
            for package in ["@bytecodealliance/componentize-js", "esbuild"] {
                assert!(
                    modules.join(package).exists(),
                    "the npm package {package} is not installed: {INSTALL}"
                );
            }
            let node = Command::new("node").arg("--version").output();
            assert!(
                node.is_ok_and(|o| o.status.success()),
                "node is not on PATH: {INSTALL}"
            );
        }
        Lang::C => {
            let clang = Command::new("clang-19").arg("--version").output();
            assert!(
                clang.is_ok_and(|o| o.status.success()),
                "clang-19 is not on PATH: {INSTALL}"
            );
            assert!(
                Path::new("/usr/include/wasm32-wasi/stdio.h").exists(),
                "Debian's wasi-libc is not installed: {INSTALL}"
            );
        }
    }
}

fn newest_mtime(path: &Path) -> SystemTime {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut newest = meta.modified().expect("file times");
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir").flatten() {
            let name = entry.file_name();
            if name == "node_modules" || name == "__pycache__" {
                continue;
            }
            newest = newest.max(newest_mtime(&entry.path()));
        }
    }
    newest
}

/// Build `script` into `out` with the language's build command.
fn build(lang: Lang, script: &Path, out: &Path) -> Result<(), String> {
    let sdk = repo().join(match lang {
        Lang::Python => "guest-sdk/python",
        Lang::Js => "guest-sdk/js",
        Lang::C => "guest-sdk/c",
    });
    let inputs = [script, sdk.as_path(), &repo().join("wit")];
    let newest = inputs
        .iter()
        .map(|p| newest_mtime(p))
        .max()
        .expect("inputs");
    if std::fs::metadata(out)
        .and_then(|m| m.modified())
        .is_ok_and(|built| built > newest)
    {
        return Ok(());
    }
    let mut cmd = match lang {
        Lang::Python => {
            let mut c = Command::new("bash");
            c.arg(sdk.join("build.sh"));
            c
        }
        Lang::Js => {
            let mut c = Command::new("node");
            c.arg(sdk.join("build.mjs"));
            c
        }
        Lang::C => {
            let mut c = Command::new("bash");
            c.arg(sdk.join("build.sh"))
                .env("PARPROC_HOST", env!("CARGO_BIN_EXE_parproc-host"));
            c
        }
    };
    // Unique per process: two test runs may build the same module at once.
    let partial = out.with_extension(format!("{}.partial.wasm", std::process::id()));
    let o = cmd
        .arg(script)
        .arg(&partial)
        .output()
        .map_err(|e| format!("cannot run the {lang:?} build command: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "building {} failed ({}):\n{}{}",
            script.display(),
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    std::fs::rename(&partial, out).map_err(|e| e.to_string())
}

type Built = Arc<OnceLock<Result<PathBuf, String>>>;

/// The component built from `file` (under the repository) for `lang`, built once.
pub(crate) fn component(lang: Lang, file: &str) -> PathBuf {
    check_tools(lang);
    static CELLS: OnceLock<Mutex<HashMap<String, Built>>> = OnceLock::new();
    let cell = CELLS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(file.to_owned())
        .or_default()
        .clone();
    let built = cell.get_or_init(|| {
        let script = repo().join(file);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("polyglot");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let stem = script.file_stem().expect("a file name").to_string_lossy();
        let out = dir.join(format!("{stem}_{}.wasm", lang.ext()));
        build(lang, &script, &out).map(|()| out)
    });
    match built {
        Ok(path) => path.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn example(lang: Lang, name: &str) -> PathBuf {
    component(
        lang,
        &format!("examples/{}/{name}.{}", dir(lang), lang.ext()),
    )
}

fn dir(lang: Lang) -> &'static str {
    match lang {
        Lang::Python => "python",
        Lang::Js => "js",
        Lang::C => "c",
    }
}

fn host(args: &[&str], module: &Path) -> (Option<i32>, String) {
    let o: Output = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(args)
        .arg(module)
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .output()
        .expect("run parproc-host");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    // With `--results` the human lines are on stderr and stdout is the JSON alone:
    // put them back in the order a terminal shows them.
    let text = match args.contains(&"--results") {
        true => format!("{stderr}{stdout}\n--- stderr ---\n"),
        false => format!("{stdout}\n--- stderr ---\n{stderr}"),
    };
    (o.status.code(), text)
}

/// The static output only (before the `--- stderr ---` marker `host` adds).
fn stdout(out: &str) -> &str {
    out.split("\n--- stderr ---\n").next().unwrap_or(out)
}

/// The summary line of `name`, e.g. `✓ SUCCEEDED  func0  1.00s  -`.
fn summary_line<'a>(out: &'a str, name: &str) -> &'a str {
    let summary = stdout(out)
        .split("\nsummary:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    summary
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(name))
        .unwrap_or_else(|| panic!("no summary line for {name} in:\n{out}"))
}

fn position(out: &str, line: &str) -> usize {
    stdout(out)
        .lines()
        .position(|l| l.starts_with(line))
        .unwrap_or_else(|| panic!("no line starting {line:?} in:\n{out}"))
}

fn results(out: &str) -> Json {
    let out = stdout(out);
    let start = out
        .rfind("\n{")
        .unwrap_or_else(|| panic!("no results JSON in:\n{out}"));
    serde_json::from_str(&out[start..]).expect("valid results JSON")
}

fn readme(lang: Lang) {
    let (code, out) = host(&["run"], &example(lang, "readme"));
    assert_eq!(code, Some(0), "{out}");
    // func0 and func1 both start before either finishes; func2 starts after both finished.
    assert!(
        position(&out, "• func1") < position(&out, "✓ func0"),
        "{out}"
    );
    assert!(
        position(&out, "✓ func0") < position(&out, "• func2"),
        "{out}"
    );
    assert!(
        position(&out, "✓ func1") < position(&out, "• func2"),
        "{out}"
    );
    for p in ["func0", "func1", "func2"] {
        assert!(summary_line(&out, p).contains("SUCCEEDED"), "{out}");
    }
}

fn success(lang: Lang) {
    let (code, out) = host(&["run", "--results"], &example(lang, "success"));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        summary_line(&out, "skipped_task").contains("SKIPPED"),
        "{out}"
    );
    for p in ["func0", "func1", "func2", "func3", "func4"] {
        assert!(summary_line(&out, p).contains("SUCCEEDED"), "{out}");
    }
    assert!(
        position(&out, "✓ func2") < position(&out, "• func3"),
        "{out}"
    );
    assert!(
        position(&out, "✓ func3") < position(&out, "• func4"),
        "{out}"
    );
    let r = results(&out);
    assert_eq!(r.as_object().map(|m| m.len()), Some(6), "{out}");
    assert_eq!(r["skipped_task"], Json::Null);
}

fn error(lang: Lang) {
    let (code, out) = host(&["run"], &example(lang, "error"));
    assert_eq!(code, Some(1), "{out}");
    for (p, printed) in [
        ("func0", "Internal error caused by X"),
        ("func1", "Another internal error message"),
    ] {
        let line = summary_line(&out, p);
        assert!(
            line.contains("FAILED") && line.ends_with(lang.failure()),
            "{line}\n{out}"
        );
        assert!(out.contains(printed), "the log snippet of {p}:\n{out}");
    }
    for p in ["func2", "func3", "func4"] {
        assert!(summary_line(&out, p).contains("SUCCEEDED"), "{out}");
    }
}

fn failed_deps(lang: Lang) {
    let (code, out) = host(&["run", "--results"], &example(lang, "failed_deps"));
    assert_eq!(code, Some(1), "{out}");
    for p in ["a", "a_a", "a_b", "a_a_a", "a_a_b"] {
        assert!(summary_line(&out, p).contains("SUCCEEDED"), "{out}");
    }
    let x = summary_line(&out, "x");
    assert!(x.contains("FAILED") && x.ends_with(lang.failure()), "{x}");
    for (p, cause) in [
        ("x_a", "x"),
        ("x_b", "x"),
        ("x_a_a", "x_a"),
        ("x_a_b", "x_a"),
    ] {
        let line = summary_line(&out, p);
        assert!(line.contains("FAILED_DEP"), "{line}");
        assert!(
            line.ends_with(&format!("canceled due to failure of \"{cause}\"")),
            "{line}"
        );
    }
    let r = results(&out);
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["a", "a_a", "a_a_a", "a_a_b", "a_b", "x"], "{out}");
}

/// tests/polyglot/protos.{py,js}: protos with fixed and computed choices, a glob default
/// target (`test::*::2`), a computed (lambda) dep, a `WhenTargetScheduled` rdep, typed
/// placeholders, params, a proc that creates, starts and waits for children (a glob and
/// a pattern filled from args), an uncaught exception and `NO_FAILURES`.
fn protos(lang: Lang) {
    let module = component(lang, &format!("tests/polyglot/protos.{}", lang.ext()));
    let (code, out) = host(&["run", "--results"], &module);
    assert_eq!(code, Some(1), "crash fails the run:\n{out}");
    let crash = summary_line(&out, "crash");
    assert!(
        crash.contains("FAILED") && crash.ends_with(lang.crash()),
        "{crash}"
    );
    let after = summary_line(&out, "after_crash");
    assert!(
        after.contains("FAILED_DEP") && after.ends_with("canceled due to failure of \"crash\""),
        "{after}"
    );
    let summary = summary_line(&out, "summary");
    assert!(
        summary.ends_with("run aborted: a task has failed"),
        "{summary}"
    );
    let r = results(&out);
    for env in ["dev", "staging", "prod"] {
        let artifact = format!("app-1.2.3-{env}.tar");
        assert_eq!(
            r[format!("build::{env}")],
            json!({ "env": env, "artifact": artifact, "prepared": "ready" }),
            "{out}"
        );
        assert_eq!(
            r[format!("test::{env}::2")],
            json!({ "env": env, "shards": 2, "artifact": artifact, "lint": format!("linted {env}") }),
            "{out}"
        );
        assert!(r.get(format!("test::{env}::1")).is_none(), "{out}");
    }
    assert_eq!(
        r["fanout"],
        json!({
            "artifacts": ["app-1.2.3-dev.tar", "app-1.2.3-prod.tar", "app-1.2.3-staging.tar"],
            "children": [1, 4, 9],
            "proc_name": "fanout",
        }),
        "{out}"
    );
    assert_eq!(r["child::3"], 9, "{out}");
    assert!(r.get("after_crash").is_none() && r.get("summary").is_none());
}

/// A script that does not build: the user's own error comes first (file, line, what is
/// wrong), with no Rust backtrace and no frames of the build tools.
#[test]
fn build_errors_show_the_scripts_own_error_first() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("build-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let cases: [(Lang, &str, &str, &[&str]); 3] = [
        (
            Lang::Python,
            "syntax.py",
            "import parproc as pp\n\ndef f(:\n    pass\n",
            &[
                "line 3",
                "def f(:",
                "SyntaxError: invalid syntax",
                "is not valid Python",
            ],
        ),
        (
            Lang::Python,
            "raises.py",
            "import parproc as pp\n\nnot_defined_anywhere()\n",
            &[
                "Traceback (most recent call last):",
                "raises.py\", line 3, in <module>",
                "NameError: name 'not_defined_anywhere' is not defined",
            ],
        ),
        (
            Lang::Js,
            "syntax.js",
            "import { proc } from 'parproc';\nproc({ name: 'a' }, () => 1 +);\n",
            &["Unexpected \")\"", "syntax.js:2:"],
        ),
    ];
    for (lang, name, text, wanted) in cases {
        let script = dir.join(name);
        std::fs::write(&script, text).expect("write the script");
        let err = build(lang, &script, &dir.join(format!("{name}.wasm")))
            .expect_err("a broken script does not build");
        let first = wanted[0];
        let at = err
            .find(first)
            .unwrap_or_else(|| panic!("{name}: no {first:?} in\n{err}"));
        for w in wanted {
            assert!(err.contains(w), "{name}: no {w:?} in\n{err}");
        }
        for noise in [
            "Stack backtrace",
            "componentize-py\", line",
            "_exports.py",
            "Caused by",
        ] {
            assert!(!err.contains(noise), "{name}: {noise:?} in\n{err}");
        }
        // Only the build tool's status line may come before the user's error.
        let before = &err[..at];
        assert!(
            before.lines().count() <= 3,
            "{name}: before the error:\n{before}"
        );
    }
}

/// parproc's top-level API inside a running proc raises parproc's error in both modes (a
/// deliberate difference from parproc's single mode, README); the context does the work.
fn top_level_inside_a_proc(lang: Lang) {
    let module = component(lang, &format!("tests/polyglot/toplevel.{}", lang.ext()));
    for mode in ["parallel", "single"] {
        let o: Output = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .args(["run", "--mode", mode])
            .arg(&module)
            .args(["top_create", "top_params", "ctx_create"])
            .env("NO_COLOR", "1")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .output()
            .expect("run parproc-host");
        let (code, out) = (
            o.status.code(),
            format!(
                "{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        );
        assert_eq!(code, Some(1), "{mode}: {out}");
        for p in ["top_create", "top_params"] {
            let line = summary_line(&out, p);
            assert!(line.contains("FAILED"), "{mode}: {out}");
            assert!(
                line.contains("Use context when calling parproc from sub-process"),
                "{mode}: {line}\n{out}"
            );
        }
        assert!(
            summary_line(&out, "ctx_create").contains("SUCCEEDED"),
            "{mode}: {out}"
        );
        assert!(
            summary_line(&out, "child::2").contains("SUCCEEDED"),
            "{mode}: {out}"
        );
    }
}

#[test]
fn python_top_level_api_inside_a_proc_raises_in_both_modes() {
    top_level_inside_a_proc(Lang::Python);
}

#[test]
fn js_top_level_api_inside_a_proc_raises_in_both_modes() {
    top_level_inside_a_proc(Lang::Js);
}

/// A first compile says what it is doing (README "Install"): without a terminal, one line
/// on stderr, `compiling `NAME` (SIZE)… compiled in N s; cached for next time`; a cached
/// load and `--quiet` say nothing.
#[test]
fn a_slow_first_compile_is_one_line_and_a_cached_load_says_nothing() {
    let module = example(Lang::Python, "readme");
    let name = module
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("progress-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let list = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .arg("list")
            .args(extra)
            .arg(&module)
            .env("PARPROC_CACHE_DIR", &cache)
            .output()
            .expect("run parproc-host");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = list(&[]);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    let line = lines[0];
    assert!(line.starts_with(&format!("compiling `{name}` (")), "{line}");
    assert!(line.contains(" MB)… compiled in "), "{line}");
    assert!(line.ends_with(" s; cached for next time"), "{line}");
    assert_eq!(list(&[]), "", "a cached load is quiet");
    let _ = std::fs::remove_dir_all(&cache);
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(["run", "--quiet"])
        .arg(&module)
        .env("PARPROC_CACHE_DIR", &cache)
        .output()
        .expect("run parproc-host");
    assert_eq!(o.status.code(), Some(0));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("compiling"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn python_readme_runs_func2_after_func0_and_func1_in_parallel() {
    readme(Lang::Python);
}

#[test]
fn python_success_skips_skipped_task_and_succeeds() {
    success(Lang::Python);
}

#[test]
fn python_error_exits_1_naming_the_failing_procs_and_messages() {
    error(Lang::Python);
}

#[test]
fn python_failed_deps_cancels_only_the_failed_subtree() {
    failed_deps(Lang::Python);
}

#[test]
fn python_protos_globs_computed_deps_and_context_calls() {
    protos(Lang::Python);
}

#[test]
fn js_readme_runs_func2_after_func0_and_func1_in_parallel() {
    readme(Lang::Js);
}

#[test]
fn js_success_skips_skipped_task_and_succeeds() {
    success(Lang::Js);
}

#[test]
fn js_error_exits_1_naming_the_failing_procs_and_messages() {
    error(Lang::Js);
}

#[test]
fn js_failed_deps_cancels_only_the_failed_subtree() {
    failed_deps(Lang::Js);
}

#[test]
fn js_protos_globs_computed_deps_and_context_calls() {
    protos(Lang::Js);
}

#[test]
fn c_readme_runs_func2_after_func0_and_func1_in_parallel() {
    readme(Lang::C);
}

#[test]
fn c_success_skips_skipped_task_and_succeeds() {
    success(Lang::C);
}

#[test]
fn c_error_exits_1_naming_the_failing_procs_and_messages() {
    error(Lang::C);
}

#[test]
fn c_failed_deps_cancels_only_the_failed_subtree() {
    failed_deps(Lang::C);
}

#[test]
fn c_protos_globs_computed_deps_and_context_calls() {
    protos(Lang::C);
}

/// The second run of a Python module loads its compiled code from the cache
/// (the first may too, when another test compiled it already).
#[test]
#[expect(
    clippy::disallowed_macros,
    reason = "the load times are worth seeing with --nocapture"
)]
fn python_second_run_loads_the_compiled_module_from_the_cache() {
    let module = example(Lang::Python, "success");
    let report = std::env::temp_dir().join(format!("pp-py-cache-{}.json", std::process::id()));
    let mut loads = Vec::new();
    for _ in 0..2 {
        let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .args(["run", "-q", "--report", report.to_str().unwrap()])
            .arg(&module)
            .arg("skipped_task")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .output()
            .expect("run parproc-host");
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        let r: Json = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        loads.push((r["compile_cache"].clone(), r["load_s"].clone()));
    }
    let _ = std::fs::remove_file(&report);
    eprintln!("python success.wasm loads (cache, seconds): {loads:?}");
    assert!(
        matches!(loads[0].0.as_str(), Some("miss" | "hit")),
        "{loads:?}"
    );
    assert_eq!(loads[1].0, "hit", "{loads:?}");
}
