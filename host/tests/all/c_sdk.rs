//! Job modules in C and C++ (guest-sdk/c) and by hand against the raw WIT, built with the
//! real toolchain (Debian's clang-19, `parproc-host bindgen` and `componentize`) and run
//! through the real host: outcomes, results, args, a trap, a fuel limit, the build script's
//! errors and a hand-written WebAssembly text module (docs/any-language.md).
//!
//! The examples shared with Python and JavaScript (readme, success, error, failed_deps,
//! protos) are in `polyglot.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

use crate::polyglot::{Lang, component, repo};
use crate::scenarios_incremental::{Proc, read_report};

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-sdk");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(format!("{}-{name}", std::process::id()))
}

fn host() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_parproc-host"));
    c.env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir());
    c
}

/// `parproc-host run [FLAGS] MODULE [TARGETS]` with a report: exit code, output and procs.
fn run(
    module: &Path,
    flags: &[&str],
    targets: &[&str],
    tag: &str,
) -> (Option<i32>, String, BTreeMap<String, Proc>) {
    let report = tmp(&format!("{tag}.json"));
    let o = host()
        .arg("run")
        .args(flags)
        .arg("--report")
        .arg(&report)
        .arg(module)
        .args(targets)
        .output()
        .expect("run parproc-host");
    read_report(&o, &report)
}

fn report_kind(report: &Path, name: &str) -> String {
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    r["procs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["reason"]["kind"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default()
}

#[test]
fn c_procs_get_typed_args_and_defaults_and_each_failure_stays_with_its_proc() {
    let module = component(Lang::C, "tests/polyglot/c_checks.c");
    let targets = [
        "sum::1::2",
        "defaults",
        "trap",
        "spin",
        "forgot",
        "bad_wait",
        "logs",
        "skips",
        "deep::100",
        "deep::100000",
    ];
    let flags = ["--fuel", "spin=20000000", "--progress", "static"];
    let (code, text, p) = run(&module, &flags, &targets, "checks");
    assert_eq!(code, Some(1), "{text}");
    let report = tmp("checks.json");

    assert_eq!(p["sum::1::2"].state, "SUCCEEDED", "{text}");
    assert_eq!(
        p["sum::1::2"].result,
        json!({ "sum": 103, "name": "sum::1::2" }),
        "ints from the name, and a default for a param that is not a placeholder"
    );
    assert_eq!(
        p["defaults"].result,
        json!({ "c": 100, "flag": true, "ratio": 0.5, "who": "world" }),
        "a plain proc's typed defaults"
    );

    assert_eq!(p["trap"].state, "FAILED", "{text}");
    assert_eq!(report_kind(&report, "trap"), "trapped", "{text}");
    assert_eq!(p["spin"].state, "FAILED", "{text}");
    assert_eq!(report_kind(&report, "spin"), "out_of_fuel", "{text}");
    assert_eq!(p["spin"].message, "out of fuel after 20000000 fuel");

    assert_eq!(p["forgot"].state, "FAILED", "{text}");
    assert_eq!(
        p["forgot"].message,
        "the proc function returned without pp_ok, pp_fail, pp_skip or pp_no_change"
    );
    assert_eq!(p["bad_wait"].state, "FAILED", "{text}");
    assert!(
        p["bad_wait"].message.starts_with("wait refused: ")
            && p["bad_wait"].message.contains("nope"),
        "{}",
        p["bad_wait"].message
    );

    assert_eq!(p["logs"].state, "SUCCEEDED", "{text}");
    assert_eq!(p["logs"].result, json!("quote \" and tab\t and newline\n"));
    assert_eq!(p["skips"].state, "SKIPPED", "{text}");
    // One depth limit for results: 100 levels is a result (the report shows the JSON
    // value, not a string); 100000 fails the proc, not the report.
    assert_eq!(p["deep::100"].state, "SUCCEEDED", "{text}");
    let mut value = &p["deep::100"].result;
    for _ in 0..99 {
        value = &value[0];
    }
    assert_eq!(*value, json!([]), "a JSON array 100 deep");
    assert_eq!(p["deep::100000"].state, "FAILED", "{text}");
    assert_eq!(
        p["deep::100000"].message,
        "invalid result: nested 100000 levels deep, over the limit of 100"
    );
    // The trap's line reached its log before it trapped.
    assert!(text.contains("about to trap"), "{text}");
}

#[test]
fn c_module_lists_its_declarations() {
    let module = component(Lang::C, "tests/polyglot/c_checks.c");
    let o = host().arg("list").arg(&module).output().expect("list");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{o:?}");
    assert!(out.contains("sum::[a]::[b]  — adds a, b and c"), "{out}");
    for name in [
        "defaults", "trap", "spin", "forgot", "bad_wait", "logs", "skips",
    ] {
        assert!(out.lines().any(|l| l.trim() == name), "{name} in:\n{out}");
    }
}

#[test]
fn cpp_pipeline_runs_protos_through_the_context() {
    let module = component(Lang::C, "examples/c/pipeline.cpp");
    let (code, text, p) = run(&module, &[], &[], "pipeline");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        p["package"].result,
        json!({ "started": 1, "objects": ["ahpla.o", "ateb.o", "ammag.o"] }),
        "{text}"
    );
    for unit in ["alpha", "beta", "gamma"] {
        assert_eq!(p[&format!("compile::{unit}")].state, "SUCCEEDED", "{text}");
    }
}

fn build_sh(src: &str) -> Output {
    Command::new("bash")
        .arg(repo().join("guest-sdk/c/build.sh"))
        .arg(repo().join(src))
        .arg(tmp("broken.wasm"))
        .env("PARPROC_HOST", env!("CARGO_BIN_EXE_parproc-host"))
        .output()
        .expect("run build.sh")
}

#[test]
fn build_sh_names_the_users_file_and_the_missing_symbol() {
    let mut errors = Vec::new();
    for (src, expected) in [
        (
            "tests/polyglot/c_no_declare.c",
            "c_no_declare.c does not define `void parproc_declare(void)`",
        ),
        (
            "tests/polyglot/c_undefined.c",
            "c_undefined.c: undefined symbol `build_step`",
        ),
    ] {
        let o = build_sh(src);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(expected), "{err}");
        errors.push(err);
    }
    for e in errors {
        assert!(
            !e.contains("jobs.c") && !e.contains("parproc.o") && !e.contains("wasm-ld"),
            "the generated bindings stay out of it:\n{e}"
        );
    }
}

fn componentize(wat: &str, tag: &str) -> (Output, PathBuf) {
    let core = tmp(&format!("{tag}.core.wasm"));
    std::fs::write(&core, wat::parse_str(wat).expect("valid WAT")).unwrap();
    let out = tmp(&format!("{tag}.wasm"));
    let o = host()
        .arg("componentize")
        .arg(&core)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("componentize");
    (o, out)
}

#[test]
fn a_hand_written_wat_module_becomes_a_job_component() {
    let wat = std::fs::read_to_string(repo().join("tests/polyglot/raw.wat")).unwrap();
    let (o, module) = componentize(&wat, "raw");
    assert!(o.status.success(), "{o:?}");
    let list = host().arg("list").arg(&module).output().expect("list");
    assert_eq!(String::from_utf8_lossy(&list.stdout), "procs:\n  hello\n");
    let (code, text, p) = run(&module, &[], &["hello"], "raw");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(p["hello"].result, json!("hi from WAT"), "{text}");
    // Its preview1 `fd_write` went through the adapter into the proc's log.
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp("raw.json")).unwrap()).unwrap();
    let log = r["procs"][0]["log_path"].as_str().expect("a log path");
    assert_eq!(
        std::fs::read_to_string(log).unwrap(),
        "hello from a hand-written module\n"
    );
}

#[test]
fn componentize_names_a_missing_export_in_the_contracts_words() {
    let wat = std::fs::read_to_string(repo().join("tests/polyglot/raw.wat")).unwrap();
    let broken = wat.replace(
        "parproc:jobs/procs@0.2.0#run",
        "parproc:jobs/procs@0.2.0#rnu",
    );
    let (o, out) = componentize(&broken, "broken");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not export `run` of `parproc:jobs/procs@0.2.0`"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Build `src` with extra compiler flags into its own component.
fn build_with(src: &str, cflags: &[&str], tag: &str) -> PathBuf {
    let out = tmp(&format!("{tag}.wasm"));
    let o = Command::new("bash")
        .arg(repo().join("guest-sdk/c/build.sh"))
        .arg(repo().join(src))
        .arg(&out)
        .arg("--")
        .args(cflags)
        .env("PARPROC_HOST", env!("CARGO_BIN_EXE_parproc-host"))
        .output()
        .expect("run build.sh");
    assert!(o.status.success(), "{o:?}");
    out
}

#[test]
fn declarations_the_host_cannot_honour_are_refused_at_load_naming_them() {
    for (i, (src, cflags, expected)) in [
        (
            "tests/polyglot/c_bad_log_ignore.c",
            &[][..],
            "declaration 2 (`noisy`): log_ignore: invalid regular expression `warning: (unclosed`: ",
        ),
        (
            "tests/polyglot/c_self_rdep.c",
            &[],
            "Proc \"setup\" has rdep \"setup\" onto itself: a proc cannot be its own dependency",
        ),
        (
            "tests/polyglot/c_self_rdep.c",
            &["-DEVERY_NAME"],
            "Proc \"setup\" has rdep \"[anything]\", which matches every name, its own too",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let tag = format!("refused-{i}");
        let module = build_with(src, cflags, &tag);
        let o = host()
            .args(["run", "--progress", "static"])
            .arg(&module)
            .arg("fine")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{src}: {o:?}");
        assert!(err.contains(expected), "{src}:\n{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line:\n{err}");
    }
}

// ---- signals while the module's declarations are busy ------------------------------

/// Wait up to `secs` for `child` to exit; a child still running is killed and the test
/// fails (before the fix it waited for `--decl-timeout`).
#[cfg(unix)]
fn exits_within(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the host was still running {secs} s after the signal");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(unix)]
fn signal(child: &std::process::Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// SIGINT while a computed-deps callback sleeps in the declarations instance: the run
/// stops at once with 130, and the summary and the report keep what had finished.
#[cfg(unix)]
#[test]
fn sigint_during_a_computed_deps_callback_stops_the_run_and_keeps_finished_procs() {
    use std::io::{BufRead, BufReader};
    let module = component(Lang::C, "tests/polyglot/c_slow.c");
    let report = tmp("slow.json");
    let mut child = host()
        .args([
            "run",
            "--progress",
            "static",
            "--decl-timeout",
            "600s",
            "--report",
        ])
        .arg(&report)
        .arg(&module)
        .args(["quick", "spawner"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let (mut quick, mut spawner) = (false, false);
    while !(quick && spawner) {
        let line = rx.recv().expect("the host printed both lines");
        quick |= line.starts_with("✓ quick");
        spawner |= line == "• spawner";
    }
    // `spawner` asked for child::1, whose dep callback now sleeps.
    std::thread::sleep(std::time::Duration::from_millis(500));
    signal(&child, libc::SIGINT);
    let status = exits_within(&mut child, 10);
    let out = reader.join().expect("reader");
    assert_eq!(status.code(), Some(130), "{out}");
    let summary = out.split("\nsummary:\n").nth(1).expect("a summary");
    assert!(
        summary
            .lines()
            .any(|l| l.contains("SUCCEEDED") && l.contains(" quick ")),
        "{out}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let quick = r["procs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "quick")
        .expect("quick in the report");
    assert_eq!(quick["state"], "SUCCEEDED");
    assert_eq!(quick["result"], "quick");
}

/// SIGINT or SIGTERM while the module's `describe` sleeps: `list`, `graph`, `run
/// --dry-run` and `run` print one `interrupted` line and exit 130 (143) at once.
#[cfg(unix)]
#[test]
fn a_signal_during_describe_stops_every_command_with_one_line() {
    let module = build_with(
        "tests/polyglot/c_slow.c",
        &["-DSLOW_DECLARE"],
        "slow-declare",
    );
    let module = module.to_str().unwrap();
    for (args, sig, code) in [
        (vec!["list", module], libc::SIGINT, 130),
        (vec!["graph", module], libc::SIGINT, 130),
        (vec!["run", "--dry-run", module], libc::SIGINT, 130),
        (vec!["run", module], libc::SIGTERM, 143),
    ] {
        let mut child = host()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // Long enough to be inside `describe` (the module is compiled and cached).
        std::thread::sleep(std::time::Duration::from_millis(1500));
        signal(&child, sig);
        let status = exits_within(&mut child, 10);
        let o = child.wait_with_output().expect("output");
        assert_eq!(status.code(), Some(code), "{args:?}: {o:?}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            "interrupted\n",
            "{args:?}"
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), "", "{args:?}");
    }
}
