//! The wasmtime runtime on real components: loading, the declarations
//! instance, and running procs alone and through a session.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parproc_host::exec::{Budget, Launch, RunReport};
use parproc_host::logsink::{LogSink, Stream};
use parproc_host::outcome::{Failure, FailureKind, Outcome, ProcState};
use parproc_host::plan::{DepContext, PlanOptions, ResolveAnswer, ResolveRequest};
use parproc_host::report::NullReporter;
use parproc_host::runtime::{Runtime, RuntimeConfig};
use parproc_host::session::{Session, SessionConfig};
use parproc_host::spec::{DeclKind, DepDecl, Manifest, Value};
use parproc_test_artifacts::{RAW_BAD_DESCRIBE, RAW_BAD_WORLD, RAW_BASIC};

/// A file in the test's scratch dir with `bytes` in it.
fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("runtime-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write scratch file");
    path
}

fn load_err(path: &Path) -> String {
    let err = Runtime::load(path, RuntimeConfig::default()).expect_err("load should fail");
    let text = format!("{err}");
    assert_eq!(
        text,
        format!("{err:#}"),
        "the reason is in the message itself"
    );
    assert!(!text.contains('\n'), "not one line: {text}");
    assert!(
        text.contains(&format!("`{}`", path.display())),
        "no file name: {text}"
    );
    text
}

fn basic() -> (Runtime, Manifest) {
    basic_with(RuntimeConfig::default())
}

fn basic_with(config: RuntimeConfig) -> (Runtime, Manifest) {
    Runtime::load(Path::new(RAW_BASIC), config).expect("raw_basic loads")
}

fn launch(name: &str) -> Launch {
    Launch::new(
        name,
        Budget {
            fuel: 1_000_000_000,
            timeout: None,
            memory: 64 << 20,
        },
    )
}

async fn run(rt: &Runtime, launch: Launch) -> (RunReport, LogSink) {
    let log = LogSink::new(1 << 20);
    let report = rt.run_without_context(launch, log.clone()).await;
    (report, log)
}

fn failure(report: &RunReport) -> &Failure {
    match &report.outcome {
        Outcome::Failed(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn dep_ctx(proc_name: &str) -> DepContext {
    DepContext {
        proc_name: proc_name.to_owned(),
        args: vec![(
            "env".to_owned(),
            proc_name.rsplit("::").next().unwrap_or("").to_owned(),
        )],
        params: Vec::new(),
    }
}

fn deps_request(proc_name: &str) -> ResolveRequest {
    ResolveRequest::Deps {
        decl: "build::[env]".to_owned(),
        index: 0,
        ctx: dep_ctx(proc_name),
    }
}

async fn resolve_deps(rt: &Runtime, proc_name: &str) -> Result<Vec<String>, String> {
    use parproc_host::exec::Resolver;
    match rt.resolve(deps_request(proc_name)).await {
        ResolveAnswer::Deps(answer) => answer,
        other => panic!("expected a deps answer, got {other:?}"),
    }
}

// ---- loading ---------------------------------------------------------------

#[tokio::test]
async fn missing_file_is_a_load_error() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-module.wasm");
    let err = load_err(&path);
    assert_eq!(
        err,
        format!(
            "cannot read `{}`: No such file or directory (os error 2)",
            path.display()
        )
    );
}

#[tokio::test]
async fn random_bytes_are_not_wasm() {
    let path = scratch_file("random.wasm", b"this is not a wasm file at all");
    let err = load_err(&path);
    assert_eq!(
        err,
        format!(
            "cannot read `{}`: not a WebAssembly file (it does not start with `\\0asm`)",
            path.display()
        )
    );
}

#[tokio::test]
async fn a_core_module_is_not_a_component() {
    let path = scratch_file("core.wasm", b"\0asm\x01\0\0\0");
    let err = load_err(&path);
    assert_eq!(
        err,
        format!(
            "cannot read `{}`: not a WebAssembly component (it is a core module); build it for wasm32-wasip2",
            path.display()
        )
    );
}

#[tokio::test]
async fn an_empty_component_is_not_a_job_module() {
    let path = scratch_file("empty.wasm", b"\0asm\x0d\0\x01\0");
    let err = load_err(&path);
    assert_eq!(
        err,
        format!(
            "cannot load `{}`: it is not a parproc job module: it does not export `parproc:jobs/declarations@0.2.0`",
            path.display()
        )
    );
}

#[tokio::test]
async fn a_broken_component_is_a_load_error() {
    let path = scratch_file("broken.wasm", b"\0asm\x0d\0\x01\0\x07\x05garbage");
    let err = load_err(&path);
    assert!(
        err.starts_with(&format!(
            "cannot load `{}`: not a valid component: ",
            path.display()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_import_is_a_load_error() {
    let err = load_err(Path::new(RAW_BAD_WORLD));
    assert_eq!(
        err,
        format!(
            "cannot load `{RAW_BAD_WORLD}`: it imports `test:bad/missing`, which the host does not \
             provide (a job module may import only WASI 0.2 and `parproc:jobs/context@0.2.0`)"
        )
    );
}

#[tokio::test]
async fn a_trapping_describe_is_a_load_error() {
    let err = load_err(Path::new(RAW_BAD_DESCRIBE));
    let prefix = format!(
        "cannot load `{RAW_BAD_DESCRIBE}`: `describe` failed: panicked at \
         tests/programs/raw_bad_describe/src/lib.rs:"
    );
    assert!(err.starts_with(&prefix), "{err}");
    assert!(err.ends_with(": describe is broken"), "{err}");
}

#[tokio::test]
async fn describe_returns_the_manifest() {
    let (rt, manifest) = basic();
    assert_eq!(rt.manifest(), &manifest);
    assert_eq!(rt.path(), Path::new(RAW_BASIC));
    let names: Vec<&str> = manifest.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names[..3], ["hello", "quiet", "partial"]);
    assert_eq!(manifest.jobs[0].description, "says hi");
    let build = manifest.jobs.last().expect("a proto");
    assert_eq!(build.name, "build::[env]");
    assert_eq!(build.kind, DeclKind::Proto);
    assert_eq!(
        build.deps,
        [DepDecl::Computed, DepDecl::Name("quiet".into())]
    );
    assert_eq!(manifest.targets, ["hello"]);
    assert_eq!(manifest.options.parallel, Some(4));
    assert_eq!(
        manifest.params,
        [("level".to_owned(), serde_json::json!(3))]
    );
}

// ---- the declarations instance -----------------------------------------------

#[tokio::test]
async fn resolves_deps_and_choices() {
    use parproc_host::exec::Resolver;
    let (rt, _) = basic();
    assert_eq!(
        resolve_deps(&rt, "build::dev").await,
        Ok(vec!["quiet".to_owned()])
    );
    let answer = rt
        .resolve(ResolveRequest::Choices {
            decl: "build::[env]".to_owned(),
            param: Some("env".to_owned()),
            ctx: dep_ctx("build::*"),
        })
        .await;
    let ResolveAnswer::Choices(Ok(choices)) = answer else {
        panic!("expected choices, got {answer:?}");
    };
    assert_eq!(
        choices,
        [(
            "env".to_owned(),
            ["dev", "prod", "boom"]
                .map(|v| Value::Text(v.into()))
                .to_vec()
        )]
    );
    assert_eq!(
        resolve_deps(&rt, "build::err").await,
        Err("no deps for `build::[env]` at 0".to_owned())
    );
}

#[tokio::test]
async fn a_trapping_callback_fails_only_its_request() {
    let (rt, _) = basic();
    let err = resolve_deps(&rt, "build::boom")
        .await
        .expect_err("it panics");
    assert!(
        err.starts_with(
            "`resolve-deps` of `build::[env]` failed: panicked at tests/programs/raw_basic/src/lib.rs:"
        ),
        "{err}"
    );
    assert!(err.ends_with(": callback boom"), "{err}");
    // A fresh instance answers the next request.
    assert_eq!(
        resolve_deps(&rt, "build::dev").await,
        Ok(vec!["quiet".to_owned()])
    );
}

#[tokio::test]
async fn a_looping_callback_runs_out_of_fuel() {
    let (rt, _) = basic_with(RuntimeConfig {
        decl_fuel: 200_000_000,
        ..RuntimeConfig::default()
    });
    let err = resolve_deps(&rt, "build::loop")
        .await
        .expect_err("it loops");
    assert_eq!(
        err,
        "`resolve-deps` of `build::[env]` failed: out of fuel after 200000000 fuel"
    );
    assert_eq!(
        resolve_deps(&rt, "build::dev").await,
        Ok(vec!["quiet".to_owned()])
    );
}

#[tokio::test]
async fn a_looping_callback_runs_out_of_time() {
    let (rt, _) = basic_with(RuntimeConfig {
        decl_fuel: u64::MAX / 2,
        decl_timeout: Duration::from_millis(300),
        ..RuntimeConfig::default()
    });
    let start = Instant::now();
    let err = resolve_deps(&rt, "build::loop")
        .await
        .expect_err("it loops");
    assert_eq!(
        err,
        "`resolve-deps` of `build::[env]` timed out after 300ms"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(
        resolve_deps(&rt, "build::dev").await,
        Ok(vec!["quiet".to_owned()])
    );
}

#[tokio::test]
async fn garbage_from_a_callback_is_an_error_answer() {
    let (rt, _) = basic();
    let err = resolve_deps(&rt, "build::many")
        .await
        .expect_err("too many");
    assert_eq!(
        err,
        "`resolve-deps` of `build::[env]` returned garbage: the computed deps: 1000001 entries \
         (the limit is 1000000)"
    );
}

// ---- running procs without a session ---------------------------------------------

#[tokio::test]
async fn runs_a_proc_and_reports_its_costs() {
    let (rt, _) = basic();
    let (report, log) = run(&rt, launch("quiet")).await;
    assert_eq!(report.outcome, Outcome::Succeeded("42".into()));
    assert!(report.fuel_used.is_some_and(|f| f > 0), "{report:?}");
    assert!(report.peak_memory.is_some_and(|m| m > 0), "{report:?}");
    assert!(log.is_empty());
}

#[tokio::test]
async fn context_calls_without_a_context_are_refused() {
    let (rt, _) = basic();
    let (report, log) = run(&rt, launch("hello")).await;
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::Trapped);
    assert_eq!(
        f.message,
        "context calls are not allowed in declaration callbacks"
    );
    // Output written before the refused call is kept.
    assert_eq!(log.render(), "hello from stdout\nhello from stderr\n");
    let (report, _) = run(&rt, launch("ctx_create")).await;
    assert_eq!(
        failure(&report),
        &Failure::new(
            FailureKind::Failed,
            "context calls are not allowed in declaration callbacks"
        )
    );
}

#[tokio::test]
async fn maps_guest_errors() {
    let (rt, _) = basic();
    let (report, _) = run(&rt, launch("fail")).await;
    assert_eq!(failure(&report), &Failure::new(FailureKind::Failed, "nope"));
    let (report, _) = run(&rt, launch("skip")).await;
    assert_eq!(
        report.outcome,
        Outcome::Skipped {
            no_change: false,
            message: "nothing to do".into()
        }
    );
    let (report, _) = run(&rt, launch("no_change")).await;
    assert_eq!(
        report.outcome,
        Outcome::Skipped {
            no_change: true,
            message: "up to date".into()
        }
    );
    let (report, _) = run(&rt, launch("bad_json")).await;
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::Failed);
    assert!(
        f.message.starts_with("result is not valid JSON: "),
        "{}",
        f.message
    );
    let (report, _) = run(&rt, launch("nonexistent")).await;
    assert_eq!(
        failure(&report),
        &Failure::new(FailureKind::Failed, "unknown proc `nonexistent`")
    );
}

#[tokio::test]
async fn passes_args() {
    let (rt, _) = basic();
    let mut l = launch("echo_args");
    l.args = vec![
        ("env".into(), Value::Text("prod".into())),
        ("n".into(), Value::Integer(3)),
    ];
    let (report, _) = run(&rt, l).await;
    assert_eq!(report.outcome, Outcome::Succeeded("[2, \"env\"]".into()));
    let mut l = launch("build::prod");
    l.decl = "build::[env]".into();
    l.args = vec![("env".into(), Value::Text("prod".into()))];
    let (report, _) = run(&rt, l).await;
    assert_eq!(report.outcome, Outcome::Succeeded("\"prod\"".into()));
}

#[tokio::test]
async fn a_panic_is_a_trap_with_the_panic_line() {
    let (rt, _) = basic();
    let (report, log) = run(&rt, launch("panic")).await;
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::Trapped);
    assert!(
        f.message
            .starts_with("panicked at tests/programs/raw_basic/src/lib.rs:"),
        "{}",
        f.message
    );
    assert!(f.message.ends_with(": boom"), "{}", f.message);
    assert!(log.render().contains("boom"));
}

#[tokio::test]
async fn a_spinning_proc_runs_out_of_fuel() {
    let (rt, _) = basic();
    let mut l = launch("spin");
    l.budget.fuel = 100_000_000;
    let (report, _) = run(&rt, l).await;
    assert_eq!(
        failure(&report),
        &Failure::new(FailureKind::OutOfFuel, "out of fuel after 100000000 fuel")
    );
    assert_eq!(report.fuel_used, Some(100_000_000));
}

#[tokio::test]
async fn the_memory_cap_is_told_apart_from_a_panic() {
    let (rt, _) = basic();
    let (report, _) = run(&rt, launch("alloc")).await;
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::MemoryLimit, "{f:?}");
    assert!(
        f.message.starts_with("memory limit of 64 MiB reached"),
        "{}",
        f.message
    );
    assert!(
        report.peak_memory.is_some_and(|m| m <= 64 << 20),
        "{report:?}"
    );

    let mut l = launch("alloc");
    l.budget.memory = 512 << 20;
    let (report, _) = run(&rt, l).await;
    assert_eq!(
        report.outcome,
        Outcome::Succeeded((200u64 << 20).to_string())
    );
    assert!(
        report.peak_memory.is_some_and(|m| m > 200 << 20),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_huge_result_is_too_large() {
    let (rt, _) = basic();
    let mut l = launch("huge_result");
    l.budget.memory = 256 << 20;
    let (report, _) = run(&rt, l).await;
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::TooLarge);
    assert_eq!(
        f.message,
        format!(
            "result is {} bytes, over the limit of 16 MiB",
            (17 << 20) + 2
        )
    );
}

#[tokio::test]
async fn output_is_bounded_and_never_fails_the_guest() {
    let (rt, _) = basic();
    let log = LogSink::new(4096);
    let report = rt.run_without_context(launch("chatty"), log.clone()).await;
    assert_eq!(report.outcome, Outcome::Succeeded("null".into()));
    assert!(log.truncated());
    let records = log.records();
    assert_eq!(records[0].text, "line 0");
    assert_eq!(records.last().map(|r| r.text.as_str()), Some("line 99999"));
    assert!(
        records
            .iter()
            .any(|r| r.text.ends_with("bytes of output cut ...]"))
    );

    let (report, log) = run(&rt, launch("partial")).await;
    assert_eq!(report.outcome, Outcome::Succeeded("null".into()));
    let records = log.records();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].stream, records[0].text.as_str()),
        (Stream::Stdout, "no newline")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_run_is_safe() {
    let (rt, _) = basic();
    for name in ["sleep_forever", "spin"] {
        let mut l = launch(name);
        l.budget.fuel = u64::MAX / 2;
        let start = Instant::now();
        let run = rt.run_without_context(l, LogSink::new(1024));
        let timed_out = tokio::time::timeout(Duration::from_millis(200), run).await;
        assert!(timed_out.is_err(), "{name} finished");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{name} did not yield"
        );
    }
    // The runtime is still usable.
    let (report, _) = run(&rt, launch("quiet")).await;
    assert_eq!(report.outcome, Outcome::Succeeded("42".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_proc_does_not_starve_others() {
    let (rt, _) = basic();
    let mut spinners = Vec::new();
    for _ in 0..3 {
        let mut l = launch("spin");
        l.budget.fuel = u64::MAX / 2;
        spinners.push(tokio::spawn(rt.run_without_context(l, LogSink::new(1024))));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    let (report, _) = run(&rt, launch("quiet")).await;
    assert_eq!(report.outcome, Outcome::Succeeded("42".into()));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    for s in spinners {
        s.abort();
    }
}

// ---- through a session -----------------------------------------------------------

async fn session(rt: &Runtime, manifest: &Manifest) -> Session {
    let runtime = Arc::new(rt.clone());
    Session::new(
        manifest,
        PlanOptions::default(),
        runtime.clone(),
        runtime,
        Arc::new(NullReporter),
        SessionConfig {
            timeout: Some(Duration::from_secs(30)),
            ..SessionConfig::default()
        },
    )
    .await
    .expect("session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_procs_through_a_session() {
    let (rt, manifest) = basic();
    let s = session(&rt, &manifest).await;
    let names: Vec<String> = ["hello", "ctx_name", "ctx_create"]
        .map(String::from)
        .to_vec();
    s.start(&names).await.expect("start");
    let statuses = s.wait(&names).await.expect("wait");
    for st in &statuses {
        assert_eq!(st.state, ProcState::Succeeded, "{st:?}");
    }
    let records = s.records().await;
    let record = |name: &str| {
        records
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no record for {name}"))
    };
    let hello = record("hello");
    assert_eq!(hello.result.as_deref(), Some("\"hi\""));
    assert_eq!(
        hello.log.as_ref().map(LogSink::render).as_deref(),
        Some("hello from stdout\nhello from stderr\ninfo: hello from log\n")
    );
    assert!(hello.fuel_used.is_some_and(|f| f > 0));
    assert_eq!(record("ctx_name").result.as_deref(), Some("\"ctx_name\""));
    assert_eq!(record("ctx_create").result.as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_protos_with_computed_deps_through_a_session() {
    let (rt, manifest) = basic();
    let s = session(&rt, &manifest).await;
    let names = s.run("build::dev", &[], None).await.expect("run");
    assert_eq!(names, ["build::dev"]);
    let statuses = s.wait(&names).await.expect("wait");
    assert_eq!(statuses[0].state, ProcState::Succeeded, "{statuses:?}");
    let results = s.results().await;
    assert!(
        results.contains(&("quiet".to_owned(), Some("42".into()))),
        "{results:?}"
    );
    assert!(
        results.contains(&("build::dev".to_owned(), Some("\"dev\"".into()))),
        "{results:?}"
    );

    let err = s
        .run("build::boom", &[], None)
        .await
        .expect_err("callback panics");
    assert!(err.to_string().contains("callback boom"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_timeout_stops_a_sleeping_proc() {
    let (rt, manifest) = basic();
    let runtime = Arc::new(rt.clone());
    let s = Session::new(
        &manifest,
        PlanOptions::default(),
        runtime.clone(),
        runtime,
        Arc::new(NullReporter),
        SessionConfig {
            timeout: Some(Duration::from_millis(300)),
            ..SessionConfig::default()
        },
    )
    .await
    .expect("session");
    let names = vec!["sleep_forever".to_owned()];
    let start = Instant::now();
    let statuses = s.wait(&names).await.expect("wait");
    assert_eq!(statuses[0].state, ProcState::Failed);
    assert_eq!(statuses[0].failure, Some(FailureKind::TimedOut));
    assert!(start.elapsed() < Duration::from_secs(5));
}
