//! The harness of the scenario tests (`scenarios_*`): parproc's acceptance scenarios
//! (ported from parproc's own tests, such as `tests/simple.py` and `tests/proto.py`, and from
//! the behaviour `docs/planner.md` describes) run on real guest components through wasmtime.
//!
//! A [`Harness`] loads a fixture (`tests/programs/sc_*`) with [`Runtime::load`] and opens a
//! [`Session`] over the procs and protos of one scenario only: the fixture's manifest is cut
//! down to the names the test lists, in the module's order. That is parproc's `FRESH`
//! followed by the scenario's declarations, so one fixture can hold many scenarios whose
//! names do not clash (and `now` procs of other scenarios stay out of the run).
//!
//! The runner is wrapped to record when each proc's guest run started and ended, which is how
//! the tests check orderings (`a ≺ b`), overlaps and how often a body ran.
//!
//! [`scenario!`] turns `async fn name(mode: Mode)` into the tests `name::parallel` and
//! `name::single`; each runs under a time limit so a hang fails instead of blocking the suite.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parproc_host::exec::{BoxFuture, Launch, ProcChannel, ProcRunner, RunReport};
use parproc_host::outcome::{FailureKind, ProcState, ProcStatus};
use parproc_host::plan::PlanOptions;
use parproc_host::report::NullReporter;
use parproc_host::runtime::{Runtime, RuntimeConfig};
use parproc_host::session::{Session, SessionConfig};
use parproc_host::spec::{Manifest, Mode, Value};
use serde_json::Value as Json;

/// The longest a scenario may take before it counts as hung.
pub(crate) const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// Runs the scenario function `$name(mode)` as two tests, `$name::parallel` and
/// `$name::single`. `scenario!(name, parallel)` runs only the parallel mode.
macro_rules! scenario {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn parallel() {
                $crate::harness::limit(super::$name(parproc_host::spec::Mode::Parallel)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn single() {
                $crate::harness::limit(super::$name(parproc_host::spec::Mode::Single)).await;
            }
        }
    };
    ($name:ident, parallel) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn parallel() {
                $crate::harness::limit(super::$name(parproc_host::spec::Mode::Parallel)).await;
            }
        }
    };
}
pub(crate) use scenario;

/// Await a scenario, failing it when it takes longer than [`SCENARIO_LIMIT`].
pub(crate) async fn limit(scenario: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(SCENARIO_LIMIT, scenario)
        .await
        .is_err()
    {
        panic!("the scenario hung: not done after {SCENARIO_LIMIT:?}");
    }
}

/// One guest run of a proc, as the runner saw it.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) name: String,
    pub(crate) start: Instant,
    /// When the run ended (or its future was dropped: timeout, cancel).
    pub(crate) end: Option<Instant>,
}

type Runs = Arc<Mutex<Vec<Run>>>;

fn lock(runs: &Runs) -> std::sync::MutexGuard<'_, Vec<Run>> {
    runs.lock().unwrap_or_else(|e| e.into_inner())
}

/// The runtime, recording every run.
struct Recording {
    runtime: Runtime,
    runs: Runs,
}

/// Marks a run's end when its future completes or is dropped.
struct EndOfRun {
    runs: Runs,
    index: usize,
}

impl Drop for EndOfRun {
    fn drop(&mut self) {
        if let Some(run) = lock(&self.runs).get_mut(self.index) {
            run.end = Some(Instant::now());
        }
    }
}

impl ProcRunner for Recording {
    fn run(&self, launch: Launch, channel: ProcChannel) -> BoxFuture<'static, RunReport> {
        let index = {
            let mut runs = lock(&self.runs);
            runs.push(Run {
                name: launch.name.clone(),
                start: Instant::now(),
                end: None,
            });
            runs.len() - 1
        };
        let run = ProcRunner::run(&self.runtime, launch, channel);
        let end = EndOfRun {
            runs: Arc::clone(&self.runs),
            index,
        };
        Box::pin(async move {
            let report = run.await;
            drop(end);
            report
        })
    }
}

/// Wait for a read of the session from the sync helpers below (the scenario
/// tests run on a multi-thread runtime, so the driver keeps going meanwhile).
pub(crate) fn on_driver<T>(read: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(read))
}

/// Plan options for `mode` with parproc's defaults otherwise (parallel limit 100).
pub(crate) fn plan(mode: Mode) -> PlanOptions {
    PlanOptions {
        mode,
        ..PlanOptions::default()
    }
}

/// Plan options for `mode` with the parallel limit `parallel`.
pub(crate) fn plan_parallel(mode: Mode, parallel: usize) -> PlanOptions {
    PlanOptions {
        mode,
        parallel,
        ..PlanOptions::default()
    }
}

/// Session settings: the defaults with a generous per-proc timeout, so a stuck guest
/// fails its proc instead of the whole test.
pub(crate) fn config() -> SessionConfig {
    SessionConfig {
        timeout: Some(Duration::from_secs(60)),
        ..SessionConfig::default()
    }
}

/// Load `path` and keep only the declarations named in `jobs` (all of them must exist).
pub(crate) fn load(path: &str, jobs: &[&str]) -> (Runtime, Manifest) {
    let (runtime, mut manifest) = Runtime::load(Path::new(path), RuntimeConfig::default())
        .unwrap_or_else(|e| panic!("cannot load {path}: {e:#}"));
    for name in jobs {
        assert!(
            manifest.jobs.iter().any(|j| j.name == *name),
            "{path} declares no `{name}`"
        );
    }
    manifest.jobs.retain(|j| jobs.contains(&j.name.as_str()));
    manifest.targets.clear();
    (runtime, manifest)
}

/// A session over one scenario's declarations of a fixture.
pub(crate) struct Harness {
    pub(crate) session: Session,
    runs: Runs,
}

impl Harness {
    /// The session over `jobs` of the fixture at `path`, in `mode`, parallel limit 100.
    pub(crate) async fn new(path: &str, jobs: &[&str], mode: Mode) -> Harness {
        Harness::with(path, jobs, plan(mode), Vec::new())
            .await
            .unwrap_or_else(|e| panic!("the session does not start: {e}"))
    }

    /// The session with these plan options and global params (set before anything runs).
    pub(crate) async fn with(
        path: &str,
        jobs: &[&str],
        opts: PlanOptions,
        params: Vec<(String, Json)>,
    ) -> Result<Harness, String> {
        let (runtime, manifest) = load(path, jobs);
        Harness::over(runtime, &manifest, opts, params).await
    }

    /// The session over an already loaded (and possibly edited) manifest.
    pub(crate) async fn over(
        runtime: Runtime,
        manifest: &Manifest,
        opts: PlanOptions,
        params: Vec<(String, Json)>,
    ) -> Result<Harness, String> {
        let runs: Runs = Arc::default();
        let runner = Arc::new(Recording {
            runtime: runtime.clone(),
            runs: Arc::clone(&runs),
        });
        let session = Session::new(
            manifest,
            opts,
            runner,
            Arc::new(runtime),
            Arc::new(NullReporter),
            config(),
        )
        .await
        .map_err(|e| e.to_string())?;
        if !params.is_empty() {
            session.set_params(params);
        }
        Ok(Harness { session, runs })
    }

    // ---- the session API, with `&str` names ---------------------------------------------

    /// parproc's `create(name)`.
    pub(crate) async fn create(&self, name: &str) -> Result<Vec<String>, String> {
        self.session
            .create(name, &[], None)
            .await
            .map_err(|e| e.to_string())
    }

    /// parproc's `create(name, proc_name)`.
    pub(crate) async fn create_as(
        &self,
        name: &str,
        proc_name: &str,
    ) -> Result<Vec<String>, String> {
        self.session
            .create(name, &[], Some(proc_name))
            .await
            .map_err(|e| e.to_string())
    }

    /// parproc's `create(pattern, **kwargs)`.
    pub(crate) async fn create_with(
        &self,
        name: &str,
        args: &[(&str, Value)],
    ) -> Result<Vec<String>, String> {
        let args: Vec<(String, Value)> = args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.session
            .create(name, &args, None)
            .await
            .map_err(|e| e.to_string())
    }

    /// parproc's `start(*names)`.
    pub(crate) async fn start(&self, names: &[&str]) -> Result<(), String> {
        self.session
            .start(&owned(names))
            .await
            .map_err(|e| e.to_string())
    }

    /// parproc's `run(name)`: create, then start; returns the names.
    pub(crate) async fn run(&self, name: &str) -> Result<Vec<String>, String> {
        self.session
            .run(name, &[], None)
            .await
            .map_err(|e| e.to_string())
    }

    /// parproc's `wait(*names)` (ours starts IDLE procs first).
    pub(crate) async fn wait(&self, names: &[&str]) -> Result<Vec<ProcStatus>, String> {
        self.session
            .wait(&owned(names))
            .await
            .map_err(|e| e.to_string())
    }

    /// `wait` on names a call returned.
    pub(crate) async fn wait_names(&self, names: &[String]) -> Result<Vec<ProcStatus>, String> {
        self.session.wait(names).await.map_err(|e| e.to_string())
    }

    /// parproc's `wait_for_all(exception_on_failure=False)`: true when nothing failed.
    pub(crate) async fn wait_for_all(&self) -> bool {
        self.session.wait_for_all().await
    }

    // ---- what happened ---------------------------------------------------------------------

    /// Whether a proc of that name exists.
    pub(crate) fn exists(&self, name: &str) -> bool {
        on_driver(self.session.status(name)).is_some()
    }

    /// The names of every proc, in registration order.
    pub(crate) fn procs(&self) -> Vec<String> {
        on_driver(
            self.session
                .with_planner(|p| p.ids().map(|id| p.name(id).to_owned()).collect()),
        )
        .unwrap_or_default()
    }

    fn status(&self, name: &str) -> ProcStatus {
        on_driver(self.session.status(name))
            .unwrap_or_else(|| panic!("no proc `{name}`; procs: {:?}", self.procs()))
    }

    /// A proc's state.
    pub(crate) fn state(&self, name: &str) -> ProcState {
        self.status(name).state
    }

    /// A proc's failure text (parproc's `more_info`), or "".
    pub(crate) fn message(&self, name: &str) -> String {
        self.status(name).message
    }

    /// A proc's failure kind.
    pub(crate) fn failure(&self, name: &str) -> Option<FailureKind> {
        self.status(name).failure
    }

    /// A proc's dep names.
    pub(crate) fn deps(&self, name: &str) -> Vec<String> {
        let name = name.to_owned();
        on_driver(self.session.with_planner(move |p| {
            let id = p.id(&name).unwrap_or_else(|| panic!("no proc `{name}`"));
            p.deps(id).to_vec()
        }))
        .unwrap_or_default()
    }

    /// A proc's converted args.
    pub(crate) fn args(&self, name: &str) -> Vec<(String, Value)> {
        let name = name.to_owned();
        on_driver(self.session.with_planner(move |p| {
            let id = p.id(&name).unwrap_or_else(|| panic!("no proc `{name}`"));
            p.args(id).to_vec()
        }))
        .unwrap_or_default()
    }

    /// The results map: name → JSON (null for procs that finished without a value), in
    /// completion order.
    pub(crate) fn results(&self) -> Vec<(String, Json)> {
        on_driver(self.session.results())
            .into_iter()
            .map(|(name, json)| {
                let value = match json {
                    None => Json::Null,
                    Some(text) => serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("result of {name} is not JSON: {e}: {text}")),
                };
                (name, value)
            })
            .collect()
    }

    /// The results map as a JSON object (compare it with `json!({...})`).
    pub(crate) fn results_json(&self) -> Json {
        let sorted: BTreeMap<String, Json> = self.results().into_iter().collect();
        Json::Object(sorted.into_iter().collect())
    }

    /// The result entry of `name`: `None` when the results map has no entry.
    pub(crate) fn result(&self, name: &str) -> Option<Json> {
        self.results()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Asserts that the results map has these entries (and maybe others).
    pub(crate) fn assert_results_include(&self, expected: &Json) {
        let results = self.results_json();
        let Json::Object(expected) = expected else {
            panic!("expected results must be an object");
        };
        for (name, value) in expected {
            assert_eq!(
                results.get(name),
                Some(value),
                "result of `{name}`; all results: {results}"
            );
        }
    }

    /// Every guest run so far, in start order.
    pub(crate) fn runs(&self) -> Vec<Run> {
        lock(&self.runs).clone()
    }

    /// How many times the body of `name` ran.
    pub(crate) fn ran(&self, name: &str) -> usize {
        self.runs().iter().filter(|r| r.name == name).count()
    }

    /// The names in the order their bodies started.
    pub(crate) fn start_order(&self) -> Vec<String> {
        self.runs().into_iter().map(|r| r.name).collect()
    }

    /// The start and end of the (only) run of `name`.
    pub(crate) fn span(&self, name: &str) -> (Instant, Instant) {
        let runs: Vec<Run> = self.runs().into_iter().filter(|r| r.name == name).collect();
        assert_eq!(runs.len(), 1, "`{name}` ran {} times", runs.len());
        let run = &runs[0];
        let end = run
            .end
            .unwrap_or_else(|| panic!("`{name}` has not finished running"));
        (run.start, end)
    }

    /// parproc's `a ≺ b`: the body of `a` ended before the body of `b` started.
    pub(crate) fn assert_before(&self, a: &str, b: &str) {
        let (_, end_a) = self.span(a);
        let (start_b, _) = self.span(b);
        assert!(
            end_a <= start_b,
            "`{a}` should have finished before `{b}` started; runs: {:?}",
            self.start_order()
        );
    }

    /// The two bodies ran at the same time (some overlap).
    pub(crate) fn assert_overlap(&self, a: &str, b: &str) {
        let (start_a, end_a) = self.span(a);
        let (start_b, end_b) = self.span(b);
        assert!(
            start_a < end_b && start_b < end_a,
            "`{a}` and `{b}` should have run at the same time"
        );
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Text values for `create_with`.
pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}
