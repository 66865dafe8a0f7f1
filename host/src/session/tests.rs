//! Driver tests with a fake runner: no wasm. The fake "guest" is a script of
//! steps per proc name, so nested waits, timeouts and the parallel limit are
//! exercised through the real driver. Every message between the fake runner
//! and the driver (the launch, context requests and replies, log chunks, the
//! report) crosses a serde wire, as it would to a remote worker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::exec::{BoxFuture, LogChunk};
use crate::logsink::{LogLevel, Stream};
use crate::outcome::{FailureKind, ProcState};
use crate::plan::{ResolveAnswer, ResolveRequest};
use crate::report::NullReporter;
use crate::spec::{DepDecl, JobDecl, RdepDecl};

/// `v` after a trip through JSON (what a network runner would do to it).
fn wire<T: Serialize + DeserializeOwned + std::fmt::Debug + PartialEq>(v: T) -> T {
    let text = serde_json::to_string(&v).expect("every message serialises");
    let back: T = serde_json::from_str(&text).expect("every message deserialises");
    assert_eq!(back, v, "the wire keeps the message");
    back
}

/// The fake runner's end of the channel: everything goes over the wire.
struct Wire(ProcChannel);

impl Wire {
    async fn call(&self, request: ContextRequest) -> ContextReply {
        wire(self.0.call(wire(request)).await)
    }

    fn log(&self, chunk: LogChunk) {
        self.0.log(wire(chunk));
    }

    async fn wait(&self, names: Vec<String>) -> Result<Vec<ProcStatus>, SessionError> {
        match self.call(ContextRequest::Wait { names }).await {
            ContextReply::Statuses(s) => Ok(s),
            ContextReply::Error(e) => Err(e),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    async fn create(&self, name: String) -> Vec<String> {
        let request = ContextRequest::Create {
            name,
            args: vec![],
            proc_name: None,
            max_new: Some(10),
        };
        match self.call(request).await {
            ContextReply::Created { names, .. } => names,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    async fn result(&self, name: &str) -> Option<String> {
        let request = ContextRequest::Result { name: name.into() };
        match self.call(request).await {
            ContextReply::Result(r) => r,
            other => panic!("unexpected reply {other:?}"),
        }
    }
}

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
    /// Make every kind of context call and log a line of each kind.
    Everything,
}

struct FakeRunner {
    script: fn(&str) -> Script,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl ProcRunner for FakeRunner {
    fn run(&self, launch: Launch, channel: ProcChannel) -> BoxFuture<'static, RunReport> {
        let launch = wire(launch);
        let ctx = Wire(channel);
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
                        Err(e) => Outcome::Failed(Failure::new(FailureKind::Failed, e.to_string())),
                    }
                }
                Script::Parent(n) => {
                    let mut names = Vec::new();
                    for i in 0..n {
                        let got = ctx.create(format!("child::{}::{i}", launch.name)).await;
                        names.extend(got);
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    let st = ctx.wait(names).await.expect("wait");
                    running.fetch_add(1, Ordering::SeqCst);
                    assert!(st.iter().all(|s| s.state == ProcState::Succeeded));
                    assert!(
                        ctx.result(&st[0].name).await.is_some(),
                        "wait moves the view"
                    );
                    Outcome::Succeeded(st.len().to_string())
                }
                Script::Everything => everything(&ctx).await,
            };
            running.fetch_sub(1, Ordering::SeqCst);
            wire(RunReport {
                outcome,
                fuel_used: Some(7),
                peak_memory: None,
                trace: crate::trace::Traced::No,
            })
        })
    }
}

/// Every kind of context call, checked; the result lists what came back.
async fn everything(ctx: &Wire) -> Outcome {
    ctx.log(LogChunk::Output {
        stream: Stream::Stdout,
        bytes: b"to stdout\n".to_vec(),
    });
    ctx.log(LogChunk::Record {
        level: LogLevel::Warn,
        message: "a record".into(),
    });
    let mut seen = Vec::new();
    let ContextReply::Params(p) = ctx.call(ContextRequest::Params).await else {
        panic!("params");
    };
    seen.push(format!("params={}", p.len()));
    let created = ctx.create("child::e::1".into()).await;
    assert_eq!(created, ["child::e::1"]);
    assert_eq!(
        ctx.call(ContextRequest::Start {
            names: created.clone()
        })
        .await,
        ContextReply::Started
    );
    let run = ctx
        .call(ContextRequest::Run {
            name: "child::e::2".into(),
            args: vec![("unused".into(), Value::Integer(1))],
            proc_name: None,
            max_new: None,
        })
        .await;
    assert_eq!(
        run,
        ContextReply::Created {
            names: vec!["child::e::2".into()],
            new: 1
        }
    );
    let st = ctx
        .wait(vec!["child::e::1".into(), "child::e::2".into()])
        .await
        .expect("wait");
    assert!(st.iter().all(|s| s.state == ProcState::Succeeded), "{st:?}");
    assert_eq!(ctx.result("child::e::1").await.as_deref(), Some("\"ok\""));
    let ContextReply::Names(mut names) = ctx.call(ContextRequest::ResultNames).await else {
        panic!("result names");
    };
    names.sort();
    seen.push(format!("results={}", names.join(",")));
    let input = ctx
        .call(ContextRequest::Input {
            prompt: "pw".into(),
            password: true,
        })
        .await;
    assert_eq!(input, ContextReply::Error(SessionError::InputNotGranted));
    let bad = ctx.wait(vec!["nope".into()]).await.unwrap_err();
    seen.push(bad.to_string());
    Outcome::Succeeded(serde_json::to_string(&seen).expect("json"))
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
        "everything" => Script::Everything,
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

async fn state(s: &Session, name: &str) -> ProcState {
    s.status(name).await.expect("proc exists").state
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
    assert_eq!(state(&s, "parent").await, ProcState::Succeeded);
    assert_eq!(s.results().await.len(), 101);
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
    assert_eq!(s.results().await.len(), 202);
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
        let st = s.status(name).await.unwrap();
        assert_eq!(st.state, ProcState::Failed, "{name}");
        assert_eq!(st.failure, Some(FailureKind::TimedOut), "{name}");
        assert_eq!(st.message, format!("timed out after {after}"));
    }
    assert_eq!(state(&s, "fine").await, ProcState::Succeeded);
    assert_eq!(
        s.results()
            .await
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
    let st = s.status("waits_bad").await.unwrap();
    assert_eq!(st.state, ProcState::Failed);
    assert_eq!(st.message, "bad ended FAILED");
}

#[tokio::test]
async fn waiting_on_itself_is_an_error_not_a_hang() {
    let (s, _) = session(vec![now("self_waiter")], 4, None).await;
    assert!(!s.wait_for_all().await);
    let st = s.status("self_waiter").await.unwrap();
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
    assert_eq!(
        err,
        SessionError::Plan(PlanError::Callback(
            "computed dependency of \"lint::a\" failed: no guest".into()
        ))
    );
    assert!(s.wait_for_all().await);
    assert_eq!(state(&s, "fine").await, ProcState::Succeeded);
}

#[tokio::test]
async fn cancel_stops_running_procs_and_keeps_finished_ones() {
    let (s, _) = session(vec![now("fine"), now("forever")], 4, None).await;
    s.go();
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.cancel("interrupted");
    s.wait_for_all().await;
    assert_eq!(state(&s, "fine").await, ProcState::Succeeded);
    assert_eq!(state(&s, "forever").await, ProcState::Cancelled);
}

#[tokio::test]
async fn every_message_kind_crosses_the_wire_and_is_answered() {
    let (s, _) = session(
        vec![now("everything"), JobDecl::proto("child::[p]::[i]")],
        4,
        None,
    )
    .await;
    assert!(s.wait_for_all().await);
    let records = s.records().await;
    let rec = records.iter().find(|r| r.name == "everything").unwrap();
    assert_eq!(rec.state, ProcState::Succeeded, "{:?}", rec.failure);
    assert_eq!(
        rec.result.as_deref(),
        Some(
            "[\"params=0\",\"results=child::e::1,child::e::2\",\
             \"unknown proc \\\"nope\\\"\"]"
        )
    );
    assert_eq!(rec.fuel_used, Some(7), "the report crossed back");
    let log = rec.log.as_ref().expect("a log").render();
    assert!(log.contains("to stdout"), "{log}");
    assert!(log.contains("warning: a record"), "{log}");
}

/// Answers every computed dep with no names, counting the questions.
struct EmptyDeps(AtomicUsize);

impl Resolver for EmptyDeps {
    fn resolve(&self, request: ResolveRequest) -> BoxFuture<'_, ResolveAnswer> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match request {
                ResolveRequest::Deps { .. } => ResolveAnswer::Deps(Ok(vec![])),
                ResolveRequest::Choices { .. } => ResolveAnswer::Choices(Ok(vec![])),
            }
        })
    }
}

#[tokio::test]
async fn a_now_proc_whose_scheduling_needs_a_guest_answer_runs() {
    // Starting `test::1` injects `prep::1` (its rdep), whose computed deps
    // only the guest can tell: the start of `now` procs must wait for the
    // answer and go on, not drop the question.
    let mut prep = JobDecl::proto("prep::[i]");
    prep.rdeps = vec![RdepDecl::Plain("test::[i]".into())];
    prep.deps = vec![DepDecl::Computed];
    let resolver = Arc::new(EmptyDeps(AtomicUsize::new(0)));
    let s = Session::new(
        &Manifest {
            jobs: vec![prep, now("test::1")],
            ..Manifest::default()
        },
        PlanOptions::default(),
        Arc::new(FakeRunner {
            script,
            running: Arc::default(),
            peak: Arc::default(),
        }),
        resolver.clone(),
        Arc::new(NullReporter),
        SessionConfig::default(),
    )
    .await
    .expect("session");
    assert!(s.wait_for_all().await);
    assert!(s.take_errors().await.is_empty());
    assert_eq!(state(&s, "test::1").await, ProcState::Succeeded);
    assert_eq!(state(&s, "prep::1").await, ProcState::Succeeded);
    let order: Vec<String> = s.results().await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(order, ["prep::1", "test::1"]);
    assert_eq!(resolver.0.load(Ordering::SeqCst), 1);
}
