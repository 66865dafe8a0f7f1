//! The async session: the one API through which the CLI and every running proc's
//! context create, start, run and wait for procs.
//!
//! A [`Session`] owns the pure [`Planner`] behind a mutex, never held across an
//! await. Each call changes the planner, then *pumps*: it launches every proc the
//! planner hands out, each in its own tokio task that runs the proc through the
//! [`ProcRunner`] under a wall-clock timer, and wakes whoever waits for procs that
//! completed. When the planner needs a guest answer (a computed dep or computed
//! choices), the session asks the [`Resolver`] without holding the lock, stores the
//! answer and retries.
//!
//! A proc blocked in a context wait gives its parallel slot back and takes one
//! again, ahead of new launches, when its wait is over; its wall-clock timer keeps
//! running while it waits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::exec::{Budget, Launch, ProcRunner, Resolver, RunReport};
use crate::logsink::LogSink;
use crate::outcome::{Failure, FailureKind, Outcome, ProcStatus};
use crate::plan::{Next, PlanError, PlanOptions, Planner, ProcId};
use crate::report::{Event, ProcRecord, Reporter};
use crate::spec::{Manifest, Value};

/// Budgets and limits the user sets for every proc.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Default fuel per proc.
    pub fuel: u64,
    /// Default wall-clock timeout per proc.
    pub timeout: Option<Duration>,
    /// Default memory cap per proc, in bytes.
    pub memory: u64,
    /// Log bytes kept per proc (head and tail).
    pub log_limit: usize,
    /// Whether procs may ask for interactive input.
    pub input: bool,
    /// Budgets for chosen procs (`--fuel 'build::*=5e10'`), over the defaults above.
    pub rules: crate::policy::BudgetRules,
    /// Deterministic results view: a proc sees only the results of its deps and
    /// of the procs it waited for (`--deterministic`).
    pub deterministic: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            fuel: DEFAULT_FUEL,
            timeout: None,
            memory: DEFAULT_MEMORY,
            log_limit: DEFAULT_LOG_LIMIT,
            input: false,
            rules: crate::policy::BudgetRules::default(),
            deterministic: false,
        }
    }
}

/// Default fuel per proc: about a minute of tight-loop CPU on this class of machine.
pub const DEFAULT_FUEL: u64 = 1_000_000_000_000;
/// Default memory cap per proc: 256 MiB.
pub const DEFAULT_MEMORY: u64 = 256 << 20;
/// Default log bytes kept per proc: 1 MiB.
pub const DEFAULT_LOG_LIMIT: usize = 1 << 20;
/// How many guest answers one call may need before the session gives up.
const MAX_RESOLUTIONS: usize = 10_000_000;

/// The session. Cheap to clone.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    runner: Arc<dyn ProcRunner>,
    resolver: Arc<dyn Resolver>,
    reporter: Arc<dyn Reporter>,
    config: SessionConfig,
    started: Instant,
    cancel: watch::Sender<bool>,
}

#[derive(Default)]
struct Timing {
    started: Option<Instant>,
    ended: Option<Instant>,
    fuel_used: Option<u64>,
    peak_memory: Option<u64>,
    log: Option<LogSink>,
}

struct State {
    planner: Planner,
    /// Completion waiters per proc.
    waiters: HashMap<ProcId, Vec<oneshot::Sender<()>>>,
    /// Blocked procs waiting for a slot to resume.
    resumers: HashMap<ProcId, oneshot::Sender<()>>,
    /// `wait_for_all` callers.
    idle_waiters: Vec<oneshot::Sender<()>>,
    timing: Vec<Timing>,
    /// Procs running in tasks.
    tasks: usize,
    /// Errors raised while pumping (e.g. a missing dep with allow-missing-deps off).
    errors: Vec<String>,
    /// Nothing launches until [`Session::go`] (so bad targets run nothing).
    held: bool,
}

impl Session {
    /// A session over `manifest`: registers its plain procs (asking the resolver
    /// for computed deps as needed). Nothing launches, not even `now` procs, until
    /// [`Session::go`]; creating and starting procs before it only plans them.
    pub async fn new(
        manifest: &Manifest,
        opts: PlanOptions,
        runner: Arc<dyn ProcRunner>,
        resolver: Arc<dyn Resolver>,
        reporter: Arc<dyn Reporter>,
        config: SessionConfig,
    ) -> Result<Session, String> {
        let planner = Planner::new(manifest, opts).map_err(|e| e.to_string())?;
        let (cancel, _) = watch::channel(false);
        let session = Session {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    planner,
                    waiters: HashMap::new(),
                    resumers: HashMap::new(),
                    idle_waiters: Vec::new(),
                    timing: Vec::new(),
                    tasks: 0,
                    errors: Vec::new(),
                    held: true,
                }),
                runner,
                resolver,
                reporter,
                config,
                started: Instant::now(),
                cancel,
            }),
        };
        session.resolving(|p| p.register_procs()).await?;
        Ok(session)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a host bug; keep serving what we can.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` on the planner, answering guest questions until it completes; then pump.
    async fn resolving<T>(
        &self,
        mut f: impl FnMut(&mut Planner) -> Result<T, PlanError>,
    ) -> Result<T, String> {
        for _ in 0..MAX_RESOLUTIONS {
            let need = {
                let mut st = self.lock();
                match f(&mut st.planner) {
                    Ok(v) => {
                        self.pump(&mut st);
                        return Ok(v);
                    }
                    Err(PlanError::User(m)) => {
                        self.pump(&mut st);
                        return Err(m);
                    }
                    Err(PlanError::Need(r)) => r,
                }
            };
            let answer = self.inner.resolver.resolve(need.clone()).await;
            self.lock().planner.provide(need, answer);
        }
        Err(format!(
            "gave up after {MAX_RESOLUTIONS} guest callbacks for one request"
        ))
    }

    /// Let procs launch (see [`Session::new`]).
    pub fn go(&self) {
        let mut st = self.lock();
        st.held = false;
        self.pump(&mut st);
    }

    /// Create procs (see [`Planner::create`]); returns their names.
    pub async fn create(
        &self,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
    ) -> Result<Vec<String>, String> {
        self.resolving(|p| p.create(name, args, proc_name)).await
    }

    /// Schedule procs by name (idle ones become wanted, with their deps).
    pub async fn start(&self, names: &[String]) -> Result<(), String> {
        self.resolving(|p| p.start(names)).await
    }

    /// Create, then start; returns the names.
    pub async fn run(
        &self,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let names = self.create(name, args, proc_name).await?;
        self.start(&names).await?;
        Ok(names)
    }

    /// Merge global params.
    pub fn set_params(&self, params: Vec<(String, serde_json::Value)>) {
        self.lock().planner.set_params(params);
    }

    /// Start the named procs that are idle, then wait until all are complete.
    pub async fn wait(&self, names: &[String]) -> Result<Vec<ProcStatus>, String> {
        let rxs = {
            let mut st = self.lock();
            let ids = resolve_names(&st.planner, names)?;
            st.planner.start(names).map_err(|e| e.to_string())?;
            st.held = false;
            self.pump(&mut st);
            self.completion_receivers(&mut st, &ids)
        };
        for rx in rxs {
            let _ = rx.await;
        }
        let st = self.lock();
        Ok(statuses(&st.planner, names))
    }

    /// Wait until nothing is wanted or running. Returns true when no proc failed.
    pub async fn wait_for_all(&self) -> bool {
        self.go();
        loop {
            let rx = {
                let mut st = self.lock();
                self.pump(&mut st);
                if st.planner.is_idle() && st.tasks == 0 {
                    return !st.planner.any_failed();
                }
                let (tx, rx) = oneshot::channel();
                st.idle_waiters.push(tx);
                rx
            };
            let _ = rx.await;
        }
    }

    /// Errors raised while scheduling in the background (taken once).
    pub fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().errors)
    }

    /// Cancel the run: wanted procs end CANCELLED, running ones are stopped and
    /// end CANCELLED with `reason`; everything finished is kept.
    pub fn cancel(&self, reason: &str) {
        self.inner.cancel.send_replace(true);
        let mut st = self.lock();
        st.planner.cancel_wanted(reason);
        self.after_change(&mut st);
    }

    /// The results map in completion order: name and JSON (`None` = null).
    pub fn results(&self) -> Vec<(String, Option<String>)> {
        let st = self.lock();
        st.planner
            .results()
            .into_iter()
            .map(|(n, r)| (n.to_owned(), r.map(str::to_owned)))
            .collect()
    }

    /// A proc's status, if it exists.
    pub fn status(&self, name: &str) -> Option<ProcStatus> {
        let st = self.lock();
        st.planner.id(name).map(|id| st.planner.status(id))
    }

    /// A record per proc, in registration order.
    pub fn records(&self) -> Vec<ProcRecord> {
        let st = self.lock();
        st.planner.ids().map(|id| self.record(&st, id)).collect()
    }

    /// The most live stores (running plus blocked) at any moment so far.
    pub fn peak_live(&self) -> usize {
        self.lock().planner.peak_live()
    }

    /// Access the planner read-only (for listings and graphs).
    pub fn with_planner<T>(&self, f: impl FnOnce(&Planner) -> T) -> T {
        f(&self.lock().planner)
    }

    fn record(&self, st: &State, id: ProcId) -> ProcRecord {
        let status = st.planner.status(id);
        let t = st.timing.get(id.0 as usize);
        let start = self.inner.started;
        ProcRecord {
            name: status.name,
            state: status.state,
            failure: st.planner.failure(id).cloned(),
            deps: st.planner.deps(id).to_vec(),
            started: t.and_then(|t| t.started).map(|s| s - start),
            duration: t.and_then(|t| Some(t.ended? - t.started?)),
            fuel_used: t.and_then(|t| t.fuel_used),
            peak_memory: t.and_then(|t| t.peak_memory),
            result: st
                .planner
                .result(st.planner.name(id), u64::MAX)
                .map(str::to_owned),
            log: t.and_then(|t| t.log.clone()),
            log_ignore: st.planner.decl_of(id).log_ignore.clone(),
        }
    }

    fn completion_receivers(&self, st: &mut State, ids: &[ProcId]) -> Vec<oneshot::Receiver<()>> {
        let mut rxs = Vec::new();
        for &id in ids {
            if !st.planner.state(id).is_complete() {
                let (tx, rx) = oneshot::channel();
                st.waiters.entry(id).or_default().push(tx);
                rxs.push(rx);
            }
        }
        rxs
    }

    /// Launch what may start, resume what may resume, and tell waiters.
    fn pump(&self, st: &mut State) {
        if st.held {
            return;
        }
        if let Err(e) = st.planner.start_deferred() {
            st.errors.push(e.to_string());
        }
        while let Some(next) = st.planner.next_ready() {
            match next {
                Next::Launch(id) => self.launch(st, id),
                Next::Resume(id) => {
                    if let Some(tx) = st.resumers.remove(&id) {
                        let _ = tx.send(());
                    }
                }
            }
        }
        self.notify(st);
    }

    fn after_change(&self, st: &mut State) {
        self.pump(st);
    }

    fn notify(&self, st: &mut State) {
        for id in st.planner.drain_completed() {
            if let Some(ws) = st.waiters.remove(&id) {
                for w in ws {
                    let _ = w.send(());
                }
            }
            if st
                .timing
                .get(id.0 as usize)
                .is_none_or(|t| t.started.is_none())
            {
                // Completed without running (FAILED_DEP, cancelled while wanted).
                let rec = self.record(st, id);
                self.inner.reporter.event(Event::Finished(&rec));
            }
        }
        if st.planner.is_idle() && st.tasks == 0 {
            for w in st.idle_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }

    fn budget(&self, planner: &Planner, id: ProcId) -> Budget {
        let c = &self.inner.config;
        let decl = planner.decl_of(id);
        let defaults = Budget {
            fuel: c.fuel,
            timeout: c.timeout,
            memory: c.memory,
        };
        let user = c.rules.user_budget(planner.name(id), &decl.name, defaults);
        crate::policy::effective(user, &decl.limits)
    }

    /// The budget `name` runs (or would run) with: the user's limit for it (a
    /// matching rule, else the default), lowered by what its module declares.
    pub fn budget_of(&self, name: &str) -> Option<Budget> {
        let st = self.lock();
        let id = st.planner.id(name)?;
        Some(self.budget(&st.planner, id))
    }

    fn launch(&self, st: &mut State, id: ProcId) {
        let planner = &st.planner;
        let decl = planner.decl_of(id);
        let launch = Launch {
            name: planner.name(id).to_owned(),
            decl: decl.name.clone(),
            args: planner.args(id).to_vec(),
            budget: self.budget(planner, id),
            needs: decl.needs.clone(),
        };
        let view = planner.result_view();
        let ix = id.0 as usize;
        if st.timing.len() <= ix {
            st.timing.resize_with(ix + 1, Timing::default);
        }
        let log = LogSink::new(self.inner.config.log_limit);
        st.timing[ix] = Timing {
            started: Some(Instant::now()),
            log: Some(log.clone()),
            ..Timing::default()
        };
        st.tasks += 1;
        self.inner
            .reporter
            .event(Event::Started { name: &launch.name });
        let ctx = ProcContext {
            session: self.clone(),
            id,
            view: Arc::new(AtomicU64::new(view)),
            awaited: Arc::default(),
        };
        let timeout = launch.budget.timeout;
        let fut = self.inner.runner.run(launch, ctx, log.clone());
        let session = self.clone();
        let mut cancel = self.inner.cancel.subscribe();
        tokio::spawn(async move {
            let run = async {
                match timeout {
                    Some(t) => match tokio::time::timeout(t, fut).await {
                        Ok(r) => r,
                        Err(_) => RunReport {
                            outcome: Outcome::Failed(Failure::new(
                                FailureKind::TimedOut,
                                format!("timed out after {}", fmt_duration(t)),
                            )),
                            fuel_used: None,
                            peak_memory: None,
                        },
                    },
                    None => fut.await,
                }
            };
            let report = tokio::select! {
                r = run => r,
                _ = cancel.wait_for(|c| *c) => RunReport {
                    outcome: Outcome::Failed(Failure::new(FailureKind::Cancelled, "interrupted")),
                    fuel_used: None,
                    peak_memory: None,
                },
            };
            log.finish();
            session.finished(id, report);
        });
    }

    fn finished(&self, id: ProcId, report: RunReport) {
        let mut st = self.lock();
        st.tasks -= 1;
        st.planner.finish(id, report.outcome);
        st.resumers.remove(&id);
        let ix = id.0 as usize;
        if let Some(t) = st.timing.get_mut(ix) {
            t.ended = Some(Instant::now());
            t.fuel_used = report.fuel_used;
            t.peak_memory = report.peak_memory;
        }
        let rec = self.record(&st, id);
        self.inner.reporter.event(Event::Finished(&rec));
        self.pump(&mut st);
    }
}

fn resolve_names(planner: &Planner, names: &[String]) -> Result<Vec<ProcId>, String> {
    names
        .iter()
        .map(|n| planner.id(n).ok_or_else(|| planner.unknown_proc(n)))
        .collect()
}

fn statuses(planner: &Planner, names: &[String]) -> Vec<ProcStatus> {
    names
        .iter()
        .filter_map(|n| planner.id(n).map(|id| planner.status(id)))
        .collect()
}

pub use crate::units::fmt_duration;

/// A running proc's handle on the session: what its context imports call.
#[derive(Clone)]
pub struct ProcContext {
    session: Session,
    id: ProcId,
    /// The end of the results order this proc sees; a wait moves it forward.
    view: Arc<AtomicU64>,
    /// The procs this proc waited for (the deterministic view shows only these
    /// and its deps).
    awaited: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl ProcContext {
    fn view(&self) -> u64 {
        self.view.load(Ordering::Acquire)
    }

    /// Whether `name`'s result may be in this proc's view: always, except in
    /// deterministic mode, where only its deps and the procs it waited for are
    /// (what else has finished depends on timing).
    fn may_see(&self, st: &State, name: &str) -> bool {
        !self.session.inner.config.deterministic
            || st.planner.deps(self.id).iter().any(|d| d == name)
            || self
                .awaited
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(name)
    }

    /// This proc's name.
    pub fn proc_name(&self) -> String {
        self.session.lock().planner.name(self.id).to_owned()
    }

    /// This proc's converted args.
    pub fn args(&self) -> Vec<(String, Value)> {
        self.session.lock().planner.args(self.id).to_vec()
    }

    /// Global params: name and JSON text.
    pub fn params(&self) -> Vec<(String, String)> {
        self.session
            .lock()
            .planner
            .params()
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    }

    /// The JSON result of `name` in this proc's view (`null` for a proc that
    /// finished without a value).
    pub fn result(&self, name: &str) -> Option<String> {
        let st = self.session.lock();
        let view = self.view();
        if !st.planner.has_result(name, view) || !self.may_see(&st, name) {
            return None;
        }
        Some(st.planner.result(name, view).unwrap_or("null").to_owned())
    }

    /// Names with a result in this proc's view.
    pub fn result_names(&self) -> Vec<String> {
        let st = self.session.lock();
        let view = self.view();
        let mut names: Vec<String> = st
            .planner
            .results()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| st.planner.has_result(n, view) && self.may_see(&st, n))
            .map(str::to_owned)
            .collect();
        if self.session.inner.config.deterministic {
            // Completion order depends on timing; names do not.
            names.sort();
        }
        names
    }

    /// Whether any dep ran freshly.
    pub fn deps_changed(&self) -> bool {
        !self.changed_deps().is_empty()
    }

    /// The deps that ran freshly.
    pub fn changed_deps(&self) -> Vec<String> {
        self.session.lock().planner.changed_deps(self.id).to_vec()
    }

    /// Create procs.
    pub async fn create(
        &self,
        name: String,
        args: Vec<(String, Value)>,
        proc_name: Option<String>,
    ) -> Result<Vec<String>, String> {
        self.session
            .create(&name, &args, proc_name.as_deref())
            .await
    }

    /// Start procs.
    pub async fn start(&self, names: Vec<String>) -> Result<(), String> {
        self.session.start(&names).await
    }

    /// Create then start.
    pub async fn run(
        &self,
        name: String,
        args: Vec<(String, Value)>,
        proc_name: Option<String>,
    ) -> Result<Vec<String>, String> {
        self.session.run(&name, &args, proc_name.as_deref()).await
    }

    /// Start the named idle procs, then wait for all; gives the parallel slot back
    /// while waiting. Moves this proc's results view forward.
    pub async fn wait(&self, names: Vec<String>) -> Result<Vec<ProcStatus>, String> {
        let session = &self.session;
        let rxs = {
            let mut st = session.lock();
            let ids = resolve_names(&st.planner, &names)?;
            st.planner.start(&names).map_err(|e| e.to_string())?;
            let pending: Vec<ProcId> = ids
                .iter()
                .copied()
                .filter(|&t| !st.planner.state(t).is_complete())
                .collect();
            if !pending.is_empty() {
                st.planner
                    .block(self.id, &pending)
                    .map_err(|e| e.to_string())?;
            }
            let rxs = session.completion_receivers(&mut st, &pending);
            session.pump(&mut st);
            rxs
        };
        if !rxs.is_empty() {
            for rx in rxs {
                let _ = rx.await;
            }
            let resumed = {
                let mut st = session.lock();
                let (tx, rx) = oneshot::channel();
                st.resumers.insert(self.id, tx);
                st.planner.request_resume(self.id);
                session.pump(&mut st);
                rx
            };
            let _ = resumed.await;
        }
        let st = session.lock();
        self.view.store(st.planner.result_view(), Ordering::Release);
        self.awaited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(names.iter().cloned());
        Ok(statuses(&st.planner, &names))
    }

    /// Ask the user for a line of input.
    pub async fn get_input(&self, prompt: String, password: bool) -> Result<String, String> {
        if !self.session.inner.config.input {
            return Err(
                "interactive input is not granted to this run; pass `--input` to allow it".into(),
            );
        }
        let reporter = self.session.inner.reporter.clone();
        tokio::task::spawn_blocking(move || reporter.prompt(&prompt, password))
            .await
            .map_err(|e| format!("input failed: {e}"))?
    }
}

#[cfg(test)]
mod tests;
