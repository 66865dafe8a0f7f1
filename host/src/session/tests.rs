//! Session tests with a fake runner: no wasm. The fake "guest" is a script of
//! steps per proc name, so nested waits, timeouts and the parallel limit are
//! exercised through the real async session.

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::*;
use crate::exec::BoxFuture;
use crate::outcome::{FailureKind, ProcState};
use crate::plan::{ResolveAnswer, ResolveRequest};
use crate::report::NullReporter;
use crate::spec::{DepDecl, JobDecl};

/// What the fake guest does for a proc, by name prefix.
#[derive(Clone)]
enum Script {
    /// Return `"ok"` after sleeping.
    Sleep(Duration),
    /// Never return.
    Forever,
    /// Create and run `n` children of proto `child::[i]`, wait for all, return their count.
    Parent(usize),
    /// Wait for the named proc.
    WaitFor(&'static str),
    /// Fail with a message.
    Fail(&'static str),
}

struct FakeRunner {
    script: fn(&str) -> Script,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl ProcRunner for FakeRunner {
    fn run(
        &self,
        launch: Launch,
        ctx: ProcContext,
        _log: LogSink,
    ) -> BoxFuture<'static, RunReport> {
        let script = (self.script)(&launch.name);
        let running = self.running.clone();
        let peak = self.peak.clone();
        Box::pin(async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let outcome = match script {
                Script::Sleep(d) => {
                    tokio::time::sleep(d).await;
                    Outcome::Succeeded("\"ok\"".into())
                }
                Script::Forever => std::future::pending().await,
                Script::Fail(m) => Outcome::Failed(Failure::new(FailureKind::Failed, m)),
                Script::WaitFor(name) => {
                    running.fetch_sub(1, Ordering::SeqCst);
                    let r = ctx.wait(vec![name.to_string()]).await;
                    running.fetch_add(1, Ordering::SeqCst);
                    match r {
                        Ok(st) if st.iter().all(|s| s.state.is_success()) => {
                            Outcome::Succeeded("\"waited\"".into())
                        }
                        Ok(st) => Outcome::Failed(Failure::new(
                            FailureKind::Failed,
                            format!("{} ended {}", st[0].name, st[0].state),
                        )),
                        Err(e) => Outcome::Failed(Failure::new(FailureKind::Failed, e)),
                    }
                }
                Script::Parent(n) => {
                    let mut names = Vec::new();
                    for i in 0..n {
                        let got = ctx
                            .create(format!("child::{}::{i}", ctx.proc_name()), vec![], None)
                            .await
                            .expect("create child");
                        names.extend(got);
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    let st = ctx.wait(names).await.expect("wait");
                    running.fetch_add(1, Ordering::SeqCst);
                    assert!(st.iter().all(|s| s.state == ProcState::Succeeded));
                    assert!(ctx.result(&st[0].name).is_some(), "wait moves the view");
                    Outcome::Succeeded(st.len().to_string())
                }
            };
            running.fetch_sub(1, Ordering::SeqCst);
            RunReport {
                outcome,
                fuel_used: None,
                peak_memory: None,
            }
        })
    }
}

struct NoResolver;

impl Resolver for NoResolver {
    fn resolve(&self, request: ResolveRequest) -> BoxFuture<'_, ResolveAnswer> {
        Box::pin(async move {
            match request {
                ResolveRequest::Deps { .. } => ResolveAnswer::Deps(Err("no guest".into())),
                ResolveRequest::Choices { .. } => ResolveAnswer::Choices(Err("no guest".into())),
            }
        })
    }
}

fn script(name: &str) -> Script {
    match name {
        n if n.starts_with("parent") => Script::Parent(100),
        n if n.starts_with("child") => Script::Sleep(Duration::from_millis(1)),
        "forever" => Script::Forever,
        "waiter" => Script::WaitFor("forever"),
        "self_waiter" => Script::WaitFor("self_waiter"),
        "bad" => Script::Fail("boom"),
        "waits_bad" => Script::WaitFor("bad"),
        _ => Script::Sleep(Duration::from_millis(5)),
    }
}

async fn session(
    jobs: Vec<JobDecl>,
    parallel: usize,
    timeout: Option<Duration>,
) -> (Session, Arc<AtomicUsize>) {
    let peak = Arc::new(AtomicUsize::new(0));
    let runner = Arc::new(FakeRunner {
        script,
        running: Arc::new(AtomicUsize::new(0)),
        peak: peak.clone(),
    });
    let manifest = Manifest {
        jobs,
        ..Manifest::default()
    };
    let s = Session::new(
        &manifest,
        PlanOptions {
            parallel,
            ..PlanOptions::default()
        },
        runner,
        Arc::new(NoResolver),
        Arc::new(NullReporter),
        SessionConfig {
            timeout,
            ..SessionConfig::default()
        },
    )
    .await
    .expect("session");
    (s, peak)
}

fn now(name: &str) -> JobDecl {
    let mut d = JobDecl::proc(name);
    d.now = true;
    d
}

fn state(s: &Session, name: &str) -> ProcState {
    s.status(name).expect("proc exists").state
}

#[tokio::test]
async fn a_parent_waiting_on_100_children_finishes_with_parallel_1() {
    let (s, peak) = session(
        vec![now("parent"), JobDecl::proto("child::[p]::[i]")],
        1,
        None,
    )
    .await;
    assert!(s.wait_for_all().await);
    assert_eq!(state(&s, "parent"), ProcState::Succeeded);
    assert_eq!(s.results().len(), 101);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        1,
        "never more than one running"
    );
}

#[tokio::test]
async fn nested_parents_with_parallel_1_do_not_deadlock() {
    let (s, _) = session(
        vec![
            now("parent_a"),
            now("parent_b"),
            JobDecl::proto("child::[p]::[i]"),
        ],
        1,
        None,
    )
    .await;
    assert!(s.wait_for_all().await);
    assert_eq!(s.results().len(), 202);
}

#[tokio::test]
async fn timeouts_end_spinning_and_waiting_procs_and_keep_other_results() {
    // The waiter's own (module-declared) limit is shorter than the user's, so
    // it times out while blocked in its wait, before `forever` does.
    let mut waiter = now("waiter");
    waiter.limits.timeout = Some(Duration::from_millis(100));
    let (s, _) = session(
        vec![now("forever"), waiter, now("fine")],
        10,
        Some(Duration::from_millis(300)),
    )
    .await;
    assert!(!s.wait_for_all().await);
    for (name, after) in [("forever", "300ms"), ("waiter", "100ms")] {
        let st = s.status(name).unwrap();
        assert_eq!(st.state, ProcState::Failed, "{name}");
        assert_eq!(st.failure, Some(FailureKind::TimedOut), "{name}");
        assert_eq!(st.message, format!("timed out after {after}"));
    }
    assert_eq!(state(&s, "fine"), ProcState::Succeeded);
    assert_eq!(
        s.results()
            .iter()
            .find(|(n, _)| n == "fine")
            .unwrap()
            .1
            .as_deref(),
        Some("\"ok\"")
    );
}

#[tokio::test]
async fn a_wait_reports_the_failure_it_waited_for() {
    let (s, _) = session(vec![JobDecl::proc("bad"), now("waits_bad")], 4, None).await;
    assert!(!s.wait_for_all().await);
    let st = s.status("waits_bad").unwrap();
    assert_eq!(st.state, ProcState::Failed);
    assert_eq!(st.message, "bad ended FAILED");
}

#[tokio::test]
async fn waiting_on_itself_is_an_error_not_a_hang() {
    let (s, _) = session(vec![now("self_waiter")], 4, None).await;
    assert!(!s.wait_for_all().await);
    let st = s.status("self_waiter").unwrap();
    assert_eq!(
        st.message,
        "wait can never finish: \"self_waiter\" waits for itself"
    );
}

#[tokio::test]
async fn a_failed_computed_dep_fails_only_that_create() {
    let mut lint = JobDecl::proto("lint::[x]");
    lint.deps = vec![DepDecl::Computed];
    let (s, _) = session(vec![lint, now("fine")], 4, None).await;
    let err = s.create("lint::a", &[], None).await.unwrap_err();
    assert_eq!(err, "computed dependency of \"lint::a\" failed: no guest");
    assert!(s.wait_for_all().await);
    assert_eq!(state(&s, "fine"), ProcState::Succeeded);
}

#[tokio::test]
async fn cancel_stops_running_procs_and_keeps_finished_ones() {
    let (s, _) = session(vec![now("fine"), now("forever")], 4, None).await;
    s.go();
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.cancel("interrupted");
    s.wait_for_all().await;
    assert_eq!(state(&s, "fine"), ProcState::Succeeded);
    assert_eq!(state(&s, "forever"), ProcState::Cancelled);
}
