//! The session and its driver: the one loop that owns the planner.
//!
//! A [`Session`] is a handle. Every call, and every context call of a running
//! proc, becomes a message to the driver task, which alone changes the planner
//! (cargo's `DrainState::drain_the_queue`). The driver launches what the planner
//! hands out, each proc in its own task that runs it through the [`ProcRunner`]
//! under a wall-clock timer and sends the [`RunReport`] back; it answers context
//! calls, wakes waiters and sends the reporter its events, holding no lock.
//!
//! When the planner needs a guest answer (a computed dep or computed choices),
//! the driver parks the call, asks the [`Resolver`] in a task of its own and
//! retries the call when the answer arrives; other calls go on meanwhile.
//!
//! A proc's life, all in the (private) `Driver`: `launch` (RUNNING, a task), context calls
//! (`on_call`), a wait (`begin_wait` → the proc gives its slot back → `wake` →
//! the planner resumes it → `end_wait`), and `finished` (its outcome recorded,
//! dependents released, the reporter told).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::exec::{
    Budget, ContextCall, ContextReply, ContextRequest, Launch, ProcChannel, ProcRunner, Resolver,
    RunReport, SessionError,
};
use crate::logsink::LogSink;
use crate::outcome::{Failure, FailureKind, Outcome, ProcState, ProcStatus};
use crate::plan::{
    Next, PlanError, PlanOptions, Planner, ProcId, ResolveAnswer, ResolveRequest, Step,
};
use crate::report::{Event, LiveCounts, ProcRecord, Reporter};
use crate::spec::{Manifest, Needs, Value};

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
    pub rules: crate::budget::BudgetRules,
    /// Deterministic results view: a proc sees only the results of its deps and
    /// of the procs it waited for (`--deterministic`).
    pub deterministic: bool,
    /// The state store of an incremental run, if any.
    pub memo: Option<Memo>,
    /// The most bytes of results the run holds in all (`--max-results-total`);
    /// a result past it fails its proc `too large`. `None`: no total.
    pub max_results_total: Option<u64>,
}

/// An incremental run: where outcomes are remembered and what every key starts with.
#[derive(Clone)]
pub struct Memo {
    /// The store.
    pub cache: Arc<dyn crate::exec::ResultCache>,
    /// The component's BLAKE3 digest, in hex (in every key: any rebuild of the
    /// module re-runs every proc).
    pub module: String,
    /// parproc's `full` flag (`--full`): run everything, cache nothing.
    pub full: bool,
    /// The run's directory grants (guest path, canonical host path, writable),
    /// in every key: a trace is only reused with the directories it was made in.
    pub grants: Vec<(String, String, bool)>,
    /// The environment variables granted (`--env`): name and value. A proc's
    /// key covers the values of those it declares.
    pub env: Vec<(String, String)>,
    /// The module's `inputs_ignore`, removed from every proc's declared inputs.
    pub inputs_ignore: Vec<String>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("module", &self.module)
            .field("full", &self.full)
            .finish_non_exhaustive()
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            fuel: DEFAULT_FUEL,
            timeout: None,
            memory: DEFAULT_MEMORY,
            log_limit: DEFAULT_LOG_LIMIT,
            input: false,
            rules: crate::budget::BudgetRules::default(),
            deterministic: false,
            memo: None,
            max_results_total: None,
        }
    }
}

/// Default fuel per proc: about a minute of tight-loop CPU on this class of machine.
pub const DEFAULT_FUEL: u64 = 1_000_000_000_000;
/// Default memory cap per proc: 256 MiB.
pub const DEFAULT_MEMORY: u64 = 256 << 20;
/// Default log bytes kept per proc: 1 MiB.
pub const DEFAULT_LOG_LIMIT: usize = 1 << 20;
/// The version of what a cache key covers; bump it when that changes.
const KEY_VERSION: u32 = 1;
/// How many guest answers one call may need before the session gives up.
const MAX_RESOLUTIONS: usize = 10_000_000;
/// How many WANTED names the live view gets (its time estimate uses them).
const LIVE_NAMES: usize = 10_000;
/// How often the driver refreshes those names at most (counts are always fresh).
const LIVE_NAMES_EVERY: Duration = Duration::from_millis(250);

pub use crate::units::fmt_duration;

/// One proc that would run, as `--dry-run` lists it.
#[derive(Debug, Clone)]
pub struct PlannedProc {
    /// Its name.
    pub name: String,
    /// The budget it would run with.
    pub budget: Budget,
    /// What it declared it needs.
    pub needs: Needs,
}

/// The session. Cheap to clone; the driver runs while a handle (or a running
/// proc) exists.
#[derive(Clone)]
pub struct Session {
    ctl: mpsc::UnboundedSender<Ctl>,
    cancel: Arc<watch::Sender<bool>>,
    live: Arc<Mutex<LiveCounts>>,
}

/// A planner call that may need guest answers.
#[derive(Debug)]
enum Op {
    Register,
    Create {
        name: String,
        args: Vec<(String, Value)>,
        proc_name: Option<String>,
        limit: Limit,
    },
    Start(Vec<String>),
    Run {
        name: String,
        args: Vec<(String, Value)>,
        proc_name: Option<String>,
        limit: Limit,
        created: Option<Vec<String>>,
    },
    /// Start, then wait (for a proc: `Some(waiter)`).
    Wait {
        waiter: Option<ProcId>,
        names: Vec<String>,
    },
    StartDeferred,
}

/// The most new procs a create may register over all its attempts (a call
/// parked for guest answers is tried again), and how many it has so far.
#[derive(Debug, Default, Clone, Copy)]
struct Limit {
    max: Option<usize>,
    made: usize,
}

impl Limit {
    fn of(max: Option<usize>) -> Self {
        Limit { max, made: 0 }
    }

    /// Create under the limit, counting what the attempt registered.
    fn create(
        &mut self,
        p: &mut Planner,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
    ) -> Result<Step<Vec<String>>, PlanError> {
        let r = match self.max {
            Some(max) => p.create_at_most(name, args, proc_name, max.saturating_sub(self.made)),
            None => p.create(name, args, proc_name),
        };
        self.made += p.created_in_last_call();
        r
    }
}

/// What a completed [`Op`] gives.
enum Done {
    Unit,
    /// Names, and how many procs are new.
    Created(Vec<String>, usize),
    Statuses(Vec<ProcStatus>),
}

/// Where an [`Op`]'s answer goes.
type Reply = Box<dyn FnOnce(Result<Done, SessionError>) + Send>;

/// A query run on the driver (reads, and taking the error list).
type Query = Box<dyn FnOnce(&mut Driver) + Send>;

enum Ctl {
    Op(Op, Reply),
    Go,
    SetParams(Vec<(String, serde_json::Value)>),
    Cancel(String),
    WaitAll(oneshot::Sender<bool>),
    Query(Query),
    Finished(ProcId, RunReport),
    /// The state store answered the lookup of a proc about to launch.
    Looked(ProcId, crate::exec::Found),
    /// A proc's outcome is durable in the state store.
    Recorded(ProcId, RunReport),
    Answer(ResolveRequest, ResolveAnswer),
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
    ) -> Result<Session, SessionError> {
        let planner = Planner::new(manifest, opts)?;
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let (calls, calls_rx) = mpsc::unbounded_channel();
        let (cancel, cancelled) = watch::channel(false);
        let live = Arc::new(Mutex::new(LiveCounts::default()));
        let driver = Driver {
            planner,
            runner,
            resolver,
            reporter,
            config,
            started: Instant::now(),
            ctl: ctl.downgrade(),
            calls,
            cancelled,
            live: live.clone(),
            held: true,
            timing: Vec::new(),
            tasks: 0,
            errors: Vec::new(),
            slots: HashMap::new(),
            waits: HashMap::new(),
            next_wait: 0,
            watchers: HashMap::new(),
            resumers: HashMap::new(),
            idle_waiters: Vec::new(),
            parked: HashMap::new(),
            deferred_parked: false,
            names_published: None,
            results_held: 0,
            why: HashMap::new(),
            result_digests: HashMap::new(),
        };
        tokio::spawn(driver.drive(ctl_rx, calls_rx));
        let session = Session {
            ctl,
            cancel: Arc::new(cancel),
            live,
        };
        session.op(Op::Register).await?;
        Ok(session)
    }

    async fn op(&self, op: Op) -> Result<Done, SessionError> {
        let (tx, rx) = oneshot::channel();
        let reply: Reply = Box::new(move |r| {
            let _ = tx.send(r);
        });
        if self.ctl.send(Ctl::Op(op, reply)).is_err() {
            return Err(SessionError::Closed);
        }
        rx.await.unwrap_or(Err(SessionError::Closed))
    }

    /// Run `f` on the driver and give back what it returns.
    async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Driver) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let q: Query = Box::new(move |d| {
            let _ = tx.send(f(d));
        });
        self.ctl.send(Ctl::Query(q)).ok()?;
        rx.await.ok()
    }

    /// Let procs launch (see [`Session::new`]).
    pub fn go(&self) {
        let _ = self.ctl.send(Ctl::Go);
    }

    /// Create procs (see [`Planner::create`]); returns their names.
    pub async fn create(
        &self,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        let op = Op::Create {
            name: name.to_owned(),
            args: args.to_vec(),
            proc_name: proc_name.map(str::to_owned),
            limit: Limit::default(),
        };
        names(self.op(op).await?)
    }

    /// Schedule procs by name (idle ones become wanted, with their deps).
    pub async fn start(&self, names: &[String]) -> Result<(), SessionError> {
        self.op(Op::Start(names.to_vec())).await.map(|_| ())
    }

    /// Create, then start; returns the names.
    pub async fn run(
        &self,
        name: &str,
        args: &[(String, Value)],
        proc_name: Option<&str>,
    ) -> Result<Vec<String>, SessionError> {
        let op = Op::Run {
            name: name.to_owned(),
            args: args.to_vec(),
            proc_name: proc_name.map(str::to_owned),
            limit: Limit::default(),
            created: None,
        };
        names(self.op(op).await?)
    }

    /// Merge global params.
    pub fn set_params(&self, params: Vec<(String, serde_json::Value)>) {
        let _ = self.ctl.send(Ctl::SetParams(params));
    }

    /// Start the named procs that are idle, let procs launch, then wait until
    /// all named are complete.
    pub async fn wait(&self, names: &[String]) -> Result<Vec<ProcStatus>, SessionError> {
        self.go();
        let op = Op::Wait {
            waiter: None,
            names: names.to_vec(),
        };
        match self.op(op).await? {
            Done::Statuses(s) => Ok(s),
            _ => Ok(Vec::new()),
        }
    }

    /// Let procs launch and wait until nothing is wanted or running. Returns
    /// true when no proc failed.
    pub async fn wait_for_all(&self) -> bool {
        self.go();
        let (tx, rx) = oneshot::channel();
        if self.ctl.send(Ctl::WaitAll(tx)).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Errors raised while scheduling in the background (taken once).
    pub async fn take_errors(&self) -> Vec<SessionError> {
        self.query(|d| std::mem::take(&mut d.errors))
            .await
            .unwrap_or_default()
    }

    /// Cancel the run: wanted procs end CANCELLED, running ones are stopped and
    /// end CANCELLED with `reason`; everything finished is kept.
    pub fn cancel(&self, reason: &str) {
        self.cancel.send_replace(true);
        let _ = self.ctl.send(Ctl::Cancel(reason.to_owned()));
    }

    /// The results map in completion order: name and JSON (`None` = null).
    pub async fn results(&self) -> Vec<(String, Option<std::sync::Arc<str>>)> {
        self.query(|d| {
            d.planner
                .results()
                .into_iter()
                .map(|(n, r)| (n.to_owned(), r))
                .collect()
        })
        .await
        .unwrap_or_default()
    }

    /// A proc's status, if it exists.
    pub async fn status(&self, name: &str) -> Option<ProcStatus> {
        let name = name.to_owned();
        self.query(move |d| d.planner.id(&name).map(|id| d.planner.status(id)))
            .await
            .flatten()
    }

    /// A record per proc, in registration order.
    pub async fn records(&self) -> Vec<ProcRecord> {
        self.query(|d| d.planner.ids().map(|id| d.record(id)).collect())
            .await
            .unwrap_or_default()
    }

    /// The most live stores (running plus blocked) at any moment so far.
    pub async fn peak_live(&self) -> usize {
        self.query(|d| d.planner.peak_live()).await.unwrap_or(0)
    }

    /// Read the planner (for listings and graphs).
    pub async fn with_planner<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Planner) -> T + Send + 'static,
    ) -> Option<T> {
        self.query(move |d| f(&d.planner)).await
    }

    /// The procs `--dry-run` lists: every WANTED proc, in registration order,
    /// with its budget and needs.
    pub async fn planned(&self) -> Vec<PlannedProc> {
        self.query(|d| {
            d.planner
                .ids()
                .filter(|&id| d.planner.state(id) == ProcState::Wanted)
                .map(|id| PlannedProc {
                    name: d.planner.name(id).to_owned(),
                    budget: d.budget(id),
                    needs: d.planner.decl_of(id).needs.clone(),
                })
                .collect()
        })
        .await
        .unwrap_or_default()
    }

    /// The budget `name` runs (or would run) with: the user's limit for it (a
    /// matching rule, else the default), lowered by what its module declares.
    pub async fn budget_of(&self, name: &str) -> Option<Budget> {
        let name = name.to_owned();
        self.query(move |d| d.planner.id(&name).map(|id| d.budget(id)))
            .await
            .flatten()
    }

    /// The live view's counts as of the driver's last batch. O(1).
    pub fn live(&self) -> LiveCounts {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn names(done: Done) -> Result<Vec<String>, SessionError> {
    match done {
        Done::Created(n, _) => Ok(n),
        _ => Ok(Vec::new()),
    }
}

#[derive(Default)]
struct Timing {
    started: Option<Instant>,
    ended: Option<Instant>,
    fuel_used: Option<u64>,
    peak_memory: Option<u64>,
    log: Option<LogSink>,
}

/// What the driver keeps for a running proc.
#[derive(Default)]
struct Slot {
    /// The end of the results order this proc sees; a wait moves it forward.
    view: u64,
    /// The procs this proc waited for (the deterministic view shows only these
    /// and its deps).
    awaited: HashSet<String>,
    /// Its cache key, when the run is incremental and the proc may be cached.
    ask: Option<crate::exec::Lookup>,
    /// Why its outcome may depend on more than its key (the first context
    /// call that made it so; see `Driver::note_call`).
    uncacheable: Option<String>,
    /// The context calls its run made and their answers' digests (recorded
    /// with its outcome and asked again on a later hit).
    answers: crate::exec::Answers,
}

/// A wait in progress.
struct Wait {
    waiter: Option<ProcId>,
    names: Vec<String>,
    /// Targets not complete yet.
    remaining: usize,
    reply: Reply,
}

/// A call parked until the guest answers.
struct Parked {
    op: Op,
    reply: Reply,
    tries: usize,
}

/// The driver: owns the planner and everything that changes with it.
struct Driver {
    /// Bytes of results held (see [`SessionConfig::max_results_total`]).
    results_held: u64,
    planner: Planner,
    runner: Arc<dyn ProcRunner>,
    resolver: Arc<dyn Resolver>,
    reporter: Arc<dyn Reporter>,
    config: SessionConfig,
    started: Instant,
    /// For proc and resolver tasks to report back (weak: the driver ends when
    /// every handle and task is gone).
    ctl: mpsc::WeakUnboundedSender<Ctl>,
    /// Handed to each proc's channel (the driver ends with `ctl`, so holding
    /// this keeps nothing alive).
    calls: mpsc::UnboundedSender<ContextCall>,
    cancelled: watch::Receiver<bool>,
    live: Arc<Mutex<LiveCounts>>,
    /// Nothing launches until [`Session::go`] (so bad targets run nothing).
    held: bool,
    timing: Vec<Timing>,
    /// Procs running in tasks.
    tasks: usize,
    /// Errors raised while scheduling in the background (e.g. a missing dep
    /// with allow-missing-deps off, a failed callback of a `now` proc).
    errors: Vec<SessionError>,
    slots: HashMap<ProcId, Slot>,
    waits: HashMap<u64, Wait>,
    next_wait: u64,
    /// Waits per incomplete target.
    watchers: HashMap<ProcId, Vec<u64>>,
    /// Blocked procs whose wait is over, waiting for the planner to resume them.
    resumers: HashMap<ProcId, u64>,
    idle_waiters: Vec<oneshot::Sender<bool>>,
    /// Calls waiting for a guest answer, by question.
    parked: HashMap<ResolveRequest, Vec<Parked>>,
    /// Starting deferred procs waits for a guest answer.
    deferred_parked: bool,
    /// When the live view's names were last refreshed.
    names_published: Option<Instant>,
    /// In an incremental run, why each proc ran or was not remembered.
    why: HashMap<ProcId, String>,
    /// See `Driver::result_digest`.
    result_digests: HashMap<String, Option<String>>,
}

impl Driver {
    async fn drive(
        mut self,
        mut ctl: mpsc::UnboundedReceiver<Ctl>,
        mut calls: mpsc::UnboundedReceiver<ContextCall>,
    ) {
        // `ctl` closes when every handle and every proc or resolver task is
        // gone; no context call can come after that.
        loop {
            tokio::select! {
                biased;
                m = ctl.recv() => match m {
                    Some(m) => self.on_ctl(m),
                    None => return,
                },
                Some(c) = calls.recv() => self.on_call(c),
            }
            // Take whatever else is queued before launching and publishing.
            while let Ok(m) = ctl.try_recv() {
                self.on_ctl(m);
            }
            while let Ok(c) = calls.try_recv() {
                self.on_call(c);
            }
            self.pump();
            self.publish();
        }
    }

    fn on_ctl(&mut self, m: Ctl) {
        match m {
            Ctl::Op(op, reply) => self.submit(op, reply, 0),
            Ctl::Go => self.held = false,
            Ctl::SetParams(p) => self.planner.set_params(p),
            Ctl::Cancel(reason) => self.planner.cancel_wanted(&reason),
            Ctl::WaitAll(tx) => self.idle_waiters.push(tx),
            Ctl::Query(q) => q(self),
            Ctl::Finished(id, report) => self.ended(id, report),
            Ctl::Looked(id, found) => self.looked(id, found),
            Ctl::Recorded(id, report) => self.finished(id, report),
            Ctl::Answer(req, answer) => {
                self.planner.provide(req.clone(), answer);
                for p in self.parked.remove(&req).unwrap_or_default() {
                    self.submit(p.op, p.reply, p.tries);
                }
            }
        }
    }

    /// Try a planner call; park it on a guest question, answer it when done.
    fn submit(&mut self, mut op: Op, reply: Reply, tries: usize) {
        if matches!(op, Op::StartDeferred) {
            self.deferred_parked = false;
            return self.start_deferred();
        }
        match self.attempt(&mut op) {
            Ok(Step::Done(done)) => match op {
                Op::Wait { waiter, names } => self.begin_wait(waiter, names, reply),
                _ => reply(Ok(done)),
            },
            Ok(Step::Need(req)) if tries >= MAX_RESOLUTIONS => {
                let _ = req;
                reply(Err(SessionError::TooManyCallbacks(MAX_RESOLUTIONS)));
            }
            Ok(Step::Need(req)) => self.ask(
                req,
                Parked {
                    op,
                    reply,
                    tries: tries + 1,
                },
            ),
            Err(e) => reply(Err(e.into())),
        }
    }

    fn attempt(&mut self, op: &mut Op) -> Result<Step<Done>, PlanError> {
        let p = &mut self.planner;
        Ok(match op {
            Op::Register => unit(p.register_procs()?),
            Op::StartDeferred => unit(p.start_deferred()?),
            Op::Start(names) => unit(p.start(names)?),
            Op::Wait { names, .. } => unit(p.start(names)?),
            Op::Create {
                name,
                args,
                proc_name,
                limit,
            } => match limit.create(p, name, args, proc_name.as_deref())? {
                Step::Done(n) => Step::Done(Done::Created(n, limit.made)),
                Step::Need(r) => Step::Need(r),
            },
            Op::Run {
                name,
                args,
                proc_name,
                limit,
                created,
            } => {
                if created.is_none() {
                    match limit.create(p, name, args, proc_name.as_deref())? {
                        Step::Done(n) => *created = Some(n),
                        Step::Need(r) => return Ok(Step::Need(r)),
                    }
                }
                let names = created.clone().unwrap_or_default();
                match p.start(&names)? {
                    Step::Done(()) => Step::Done(Done::Created(names, limit.made)),
                    Step::Need(r) => Step::Need(r),
                }
            }
        })
    }

    /// Ask the guest `req` (once, however many calls wait for it).
    fn ask(&mut self, req: ResolveRequest, parked: Parked) {
        let waiting = self.parked.entry(req.clone()).or_default();
        waiting.push(parked);
        if waiting.len() > 1 {
            return;
        }
        let Some(ctl) = self.ctl.upgrade() else {
            return;
        };
        let resolver = self.resolver.clone();
        tokio::spawn(async move {
            let answer = resolver.resolve(req.clone()).await;
            let _ = ctl.send(Ctl::Answer(req, answer));
        });
    }

    /// The targets of a wait are started; block the waiter until they complete.
    fn begin_wait(&mut self, waiter: Option<ProcId>, names: Vec<String>, reply: Reply) {
        let mut pending: Vec<ProcId> = names
            .iter()
            .filter_map(|n| self.planner.id(n))
            .filter(|&t| !self.planner.state(t).is_complete())
            .collect();
        pending.sort_unstable();
        pending.dedup();
        if pending.is_empty() {
            return self.end_wait(waiter, &names, reply);
        }
        if let Some(w) = waiter
            && let Err(e) = self.planner.block(w, &pending)
        {
            return reply(Err(e.into()));
        }
        let key = self.next_wait;
        self.next_wait += 1;
        for &t in &pending {
            self.watchers.entry(t).or_default().push(key);
        }
        self.waits.insert(
            key,
            Wait {
                waiter,
                names,
                remaining: pending.len(),
                reply,
            },
        );
    }

    /// A target completed: a wait with nothing left asks the planner to resume
    /// its proc (or, for the CLI, answers at once).
    fn wake(&mut self, target: ProcId) {
        for key in self.watchers.remove(&target).unwrap_or_default() {
            let Some(w) = self.waits.get_mut(&key) else {
                continue;
            };
            w.remaining -= 1;
            if w.remaining > 0 {
                continue;
            }
            match w.waiter {
                Some(p) => {
                    self.resumers.insert(p, key);
                    self.planner.request_resume(p);
                }
                None => {
                    if let Some(w) = self.waits.remove(&key) {
                        self.end_wait(None, &w.names, w.reply);
                    }
                }
            }
        }
    }

    /// The wait is over (and the proc holds a slot again): move its view
    /// forward and answer with the targets' states.
    fn end_wait(&mut self, waiter: Option<ProcId>, names: &[String], reply: Reply) {
        if let Some(slot) = waiter.and_then(|w| self.slots.get_mut(&w)) {
            slot.view = self.planner.result_view();
            slot.awaited.extend(names.iter().cloned());
        }
        let statuses = names
            .iter()
            .filter_map(|n| self.planner.id(n).map(|id| self.planner.status(id)))
            .collect();
        reply(Ok(Done::Statuses(statuses)));
    }

    fn on_call(&mut self, c: ContextCall) {
        let ContextCall {
            proc: id,
            request,
            reply,
        } = c;
        self.note_call(id, &request);
        match request {
            ContextRequest::Params => {
                let params = self
                    .planner
                    .params()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect();
                let _ = reply.send(ContextReply::Params(params));
            }
            ContextRequest::Result { name } => {
                let r = self.visible_result(id, &name);
                let _ = reply.send(ContextReply::Result(r));
            }
            ContextRequest::ResultNames => {
                let names = self.visible_names(id);
                let _ = reply.send(ContextReply::Names(names));
            }
            ContextRequest::Create {
                name,
                args,
                proc_name,
                max_new,
            } => self.submit(
                Op::Create {
                    name,
                    args,
                    proc_name,
                    limit: Limit::of(max_new),
                },
                answer(reply),
                0,
            ),
            ContextRequest::Start { names } => self.submit(Op::Start(names), answer(reply), 0),
            ContextRequest::Run {
                name,
                args,
                proc_name,
                max_new,
            } => self.submit(
                Op::Run {
                    name,
                    args,
                    proc_name,
                    limit: Limit::of(max_new),
                    created: None,
                },
                answer(reply),
                0,
            ),
            ContextRequest::Wait { names } => self.submit(
                Op::Wait {
                    waiter: Some(id),
                    names,
                },
                answer(reply),
                0,
            ),
            ContextRequest::Input { prompt, password } => {
                if !self.config.input {
                    let _ = reply.send(ContextReply::Error(SessionError::InputNotGranted));
                    return;
                }
                // The prompt blocks on the terminal: never in the driver.
                let reporter = self.reporter.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = reply.send(match reporter.prompt(&prompt, password) {
                        Ok(line) => ContextReply::Input(line),
                        Err(e) => ContextReply::Error(SessionError::Input(e)),
                    });
                });
            }
        }
    }

    /// Whether `name`'s result may be in `id`'s view: always, except in
    /// deterministic mode, where only its deps and the procs it waited for are
    /// (what else has finished depends on timing).
    fn may_see(&self, id: ProcId, slot: &Slot, name: &str) -> bool {
        !self.config.deterministic
            || self.planner.deps(id).iter().any(|d| d == name)
            || slot.awaited.contains(name)
    }

    fn visible_result(&self, id: ProcId, name: &str) -> Option<String> {
        let slot = self.slots.get(&id)?;
        if !self.planner.has_result(name, slot.view) || !self.may_see(id, slot, name) {
            return None;
        }
        Some(
            self.planner
                .result(name, slot.view)
                .unwrap_or("null")
                .to_owned(),
        )
    }

    fn visible_names(&self, id: ProcId) -> Vec<String> {
        let Some(slot) = self.slots.get(&id) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self
            .planner
            .results()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| self.planner.has_result(n, slot.view) && self.may_see(id, slot, n))
            .map(str::to_owned)
            .collect();
        if self.config.deterministic {
            // Completion order depends on timing; names do not.
            names.sort();
        }
        names
    }

    /// Launch what may start, resume what may resume, and tell waiters.
    fn pump(&mut self) {
        if self.held {
            return;
        }
        if !self.deferred_parked {
            self.start_deferred();
        }
        loop {
            while let Some(next) = self.planner.next_ready() {
                match next {
                    Next::Launch(id) => self.launch(id),
                    Next::Resume(id) => {
                        if let Some(key) = self.resumers.remove(&id)
                            && let Some(w) = self.waits.remove(&key)
                        {
                            self.end_wait(Some(id), &w.names, w.reply);
                        }
                    }
                }
            }
            // Completions may end waits, which may let blocked procs resume.
            if !self.notify() {
                break;
            }
        }
    }

    /// Start `now` procs and procs whose name was a missing dep. This may need
    /// guest answers like any other call: then it is parked and resumes when the
    /// answer comes; its errors are the run's.
    fn start_deferred(&mut self) {
        match self.planner.start_deferred() {
            Ok(Step::Done(())) => {}
            Ok(Step::Need(req)) => {
                self.deferred_parked = true;
                let parked = Parked {
                    op: Op::StartDeferred,
                    reply: Box::new(|_| {}),
                    tries: 1,
                };
                self.ask(req, parked);
            }
            Err(e) => self.errors.push(e.into()),
        }
    }

    /// Tell waiters and the reporter about completed procs; true if any wait
    /// asked for a resume.
    fn notify(&mut self) -> bool {
        let mut resumed = false;
        for id in self.planner.drain_completed() {
            let before = self.resumers.len();
            self.wake(id);
            resumed |= self.resumers.len() > before;
            if self
                .timing
                .get(id.0 as usize)
                .is_none_or(|t| t.started.is_none())
            {
                // Completed without running (FAILED_DEP, UP_TO_DATE, cancelled
                // while wanted).
                let rec = self.record(id);
                self.reporter.event(Event::Finished(&rec));
            }
        }
        if self.planner.is_idle() && self.tasks == 0 && self.parked.is_empty() {
            let ok = !self.planner.any_failed();
            for w in self.idle_waiters.drain(..) {
                let _ = w.send(ok);
            }
        }
        resumed
    }

    /// Publish the live counts: O(1), plus the first WANTED names at most
    /// every [`LIVE_NAMES_EVERY`].
    fn publish(&mut self) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.counts = self.planner.counts();
        live.parallel = self.planner.options().parallel;
        if self
            .names_published
            .is_none_or(|t| t.elapsed() >= LIVE_NAMES_EVERY)
        {
            self.names_published = Some(Instant::now());
            live.waiting_names.clear();
            live.waiting_names.extend(
                self.planner
                    .first_wanted(LIVE_NAMES)
                    .map(|id| self.planner.name(id).to_owned()),
            );
        }
    }

    fn budget(&self, id: ProcId) -> Budget {
        let c = &self.config;
        let decl = self.planner.decl_of(id);
        let defaults = Budget {
            fuel: c.fuel,
            timeout: c.timeout,
            memory: c.memory,
        };
        let user = c
            .rules
            .user_budget(self.planner.name(id), &decl.name, defaults);
        crate::budget::effective(user, &decl.limits)
    }

    fn record(&self, id: ProcId) -> ProcRecord {
        let status = self.planner.status(id);
        let t = self.timing.get(id.0 as usize);
        let start = self.started;
        ProcRecord {
            name: status.name,
            state: status.state,
            failure: self.planner.failure(id).cloned(),
            deps: self.planner.deps(id).to_vec(),
            started: t.and_then(|t| t.started).map(|s| s - start),
            duration: t.and_then(|t| Some(t.ended? - t.started?)),
            fuel_used: t.and_then(|t| t.fuel_used),
            peak_memory: t.and_then(|t| t.peak_memory),
            result: self.planner.result_shared(id),
            log: t.and_then(|t| t.log.clone()),
            log_ignore: self.planner.decl_of(id).log_ignore.clone(),
            locks: self.planner.decl_of(id).locks.clone(),
            why: self.why.get(&id).cloned(),
        }
    }

    /// A proc the planner made RUNNING: in an incremental run, look its key up
    /// first (`looked`); otherwise start its task.
    fn launch(&mut self, id: ProcId) {
        let ask = match self.cache_key(id) {
            Some(Ok(ask)) => Some(ask),
            Some(Err(why)) => {
                self.why.insert(id, why);
                None
            }
            None => None,
        };
        self.slots.insert(
            id,
            Slot {
                view: self.planner.result_view(),
                awaited: HashSet::new(),
                uncacheable: None,
                ask: ask.clone(),
                answers: crate::exec::Answers::default(),
            },
        );
        let (Some(ask), Some(memo), Some(ctl)) = (ask, &self.config.memo, self.ctl.upgrade())
        else {
            self.start_task(id);
            return;
        };
        self.tasks += 1;
        let mut lookup = memo.cache.lookup(ask);
        // Most answers come from memory (the store's index): taken at once,
        // without a task and a message.
        if let Some(found) = now_or_never(&mut lookup) {
            let found = found.unwrap_or_else(|e| {
                tracing::warn!("{e}; the proc runs");
                crate::exec::Found::Miss(e)
            });
            self.looked(id, found);
            return;
        }
        tokio::spawn(async move {
            let found = match lookup.await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!("{e}; the proc runs");
                    crate::exec::Found::Miss(e)
                }
            };
            let _ = ctl.send(Ctl::Looked(id, found));
        });
    }

    /// The state store answered: restore the outcome, or run the proc.
    fn looked(&mut self, id: ProcId, found: crate::exec::Found) {
        self.tasks -= 1;
        match found {
            crate::exec::Found::Hit(outcome) => {
                // Reported by `notify`, as every proc completed without running.
                let outcome = self.admit_result(outcome);
                self.planner.finish(id, outcome);
                self.slots.remove(&id);
            }
            crate::exec::Found::Miss(why) => {
                self.why.insert(id, why);
                self.start_task(id);
            }
            crate::exec::Found::Replay { outcome, calls } => self.replay(id, outcome, calls),
        }
    }

    /// A hit of a proc that called its context: ask its recorded calls again,
    /// in order, as the proc would (creating and starting its children, giving
    /// its slot back while it waits); restore it only when every answer is
    /// the recorded one, else run it (docs/incremental.md, "Context calls").
    fn replay(&mut self, id: ProcId, outcome: Outcome, calls: Vec<crate::trace::Answered>) {
        let Some(ctl) = self.ctl.upgrade() else {
            self.start_task(id);
            return;
        };
        self.tasks += 1;
        let chan = ProcChannel::new(id, self.calls.clone(), LogSink::new(self.config.log_limit));
        tokio::spawn(async move {
            let mut found = crate::exec::Found::Hit(outcome);
            for call in calls {
                let got = chan.call(call.asked.clone()).await;
                if crate::exec::answer_digest(&got) != call.answer {
                    found = crate::exec::Found::Miss(call.changed());
                    break;
                }
            }
            let _ = ctl.send(Ctl::Looked(id, found));
        });
    }

    /// The key of a proc that may be cached (`Some(Ok)`), why it may not
    /// (`Some(Err)`), or `None` outside an incremental run
    /// (docs/incremental.md): never under `--full`, and never for procs
    /// granted a network address or input (what a proc reads of its
    /// directories is traced and checked on lookup; the values of its
    /// environment variables are in the key).
    fn cache_key(&mut self, id: ProcId) -> Option<Result<crate::exec::Lookup, String>> {
        self.config.memo.as_ref()?;
        let view = self.planner.result_view();
        let deps: Vec<(String, Option<String>)> = self
            .planner
            .deps(id)
            .to_vec()
            .into_iter()
            .map(|d| {
                let digest = self.result_digest(&d, view);
                (d, digest)
            })
            .collect();
        let memo = self.config.memo.as_ref()?;
        let planner = &self.planner;
        let decl = planner.decl_of(id);
        let needs = &decl.needs;
        if memo.full {
            return Some(Err("--full".into()));
        }
        if !needs.network.is_empty() {
            return Some(Err("not cacheable: it is granted the network".into()));
        }
        if needs.input {
            return Some(Err("not cacheable: it is granted input".into()));
        }
        if decl.incremental.no_skip {
            return Some(Err("not cacheable: no_skip".into()));
        }
        let env: Vec<_> = needs
            .env
            .iter()
            .map(|n| (n, memo.env.iter().find(|(g, _)| g == n).map(|(_, v)| v)))
            .collect();
        // Serialised straight from borrowed fields, in this order (no JSON
        // tree per proc): the text is the same as the object's would be.
        let material = serde_json::to_string(&Material {
            key: KEY_VERSION,
            module: &memo.module,
            decl: &decl.name,
            proc: planner.name(id),
            args: planner.args(id),
            params: planner.params(),
            budget: &self.budget(id),
            deterministic: self.config.deterministic,
            deps: &deps,
            grants: &memo.grants,
            env: &env,
        })
        .unwrap_or_default();
        let (_, _, outputs) = declared(decl, planner.args(id), None);
        Some(Ok(crate::exec::Lookup {
            key: crate::digest::Digest::of(material.as_bytes()),
            proc: planner.name(id).to_owned(),
            material,
            outputs,
        }))
    }

    /// The digest of the result of the finished proc `name` (hashed once: a
    /// result never changes, and a proc may have many dependents).
    fn result_digest(&mut self, name: &str, view: u64) -> Option<String> {
        if let Some(d) = self.result_digests.get(name) {
            return d.clone();
        }
        let d = self
            .planner
            .result(name, view)
            .map(|r| crate::digest::Digest::of(r.as_bytes()).to_hex());
        self.result_digests.insert(name.to_owned(), d.clone());
        d
    }

    /// A context call whose answer depends on timing makes the proc not
    /// cacheable: reading the result of a proc that is neither a dep nor one
    /// it waited for, or listing the results (outside `--deterministic`, whose
    /// view shows only those), and asking for input. Every other call is
    /// recorded with its answer by the proc's channel and asked again before
    /// a hit is restored (docs/incremental.md, "Context calls").
    fn note_call(&mut self, id: ProcId, request: &ContextRequest) {
        let settled = |d: &Self, name: &str| {
            d.config.deterministic
                || d.planner.deps(id).iter().any(|n| n == name)
                || d.slots.get(&id).is_some_and(|s| s.awaited.contains(name))
        };
        let why = match request {
            ContextRequest::Result { name } if settled(self, name) => return,
            ContextRequest::Result { name } => {
                format!("it read the result of `{name}`, neither a dep nor a proc it waited for")
            }
            ContextRequest::ResultNames if self.config.deterministic => return,
            ContextRequest::ResultNames => "it listed the results".to_owned(),
            ContextRequest::Input { .. } => "it asked for input".to_owned(),
            _ => return,
        };
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.uncacheable.get_or_insert(why);
        }
    }

    /// A proc's task ended: in an incremental run, make a cacheable success
    /// durable first (`Ctl::Recorded`), then finish it.
    fn ended(&mut self, id: ProcId, mut report: RunReport) {
        let Some(slot) = self.slots.get(&id) else {
            self.finished(id, report);
            return;
        };
        let (Some(ask), Some(memo)) = (slot.ask.clone(), &self.config.memo) else {
            self.finished(id, report);
            return;
        };
        let traced = !self.planner.decl_of(id).needs.dirs.is_empty();
        let success = matches!(
            report.outcome,
            Outcome::Succeeded(_) | Outcome::Skipped { .. }
        );
        let trace = if !success {
            Err("failures are not remembered".to_owned())
        } else if let Some(why) = &slot.uncacheable {
            Err(why.clone())
        } else {
            // The trace goes to the store; the report needs it no more.
            match (std::mem::take(&mut report.trace), traced) {
                (crate::trace::Traced::Yes(t), true) => Ok(Some(t)),
                (crate::trace::Traced::No, false) => Ok(None),
                (crate::trace::Traced::Unusable(why), _) => Err(why),
                // A granted proc without a trace (or a trace of a proc
                // granted nothing) is not what this run asked for.
                _ => Err("its trace is missing".to_owned()),
            }
        };
        // Its context calls go with its trace.
        let calls: Vec<crate::trace::Answered> =
            std::mem::take(&mut *slot.answers.lock().unwrap_or_else(|p| p.into_inner()));
        let trace = trace.map(|t| match (t, calls.is_empty()) {
            (t, true) => t,
            (Some(mut t), false) => {
                t.calls = calls;
                Some(t)
            }
            (None, false) => Some(crate::trace::Trace {
                calls,
                ..Default::default()
            }),
        });
        let trace = match trace {
            Ok(t) => t,
            Err(why) => {
                let line = match self.why.remove(&id) {
                    Some(ran) => format!("{ran}; not remembered: {why}"),
                    None => format!("not remembered: {why}"),
                };
                self.why.insert(id, line);
                self.finished(id, report);
                return;
            }
        };
        let Some(ctl) = self.ctl.upgrade() else {
            self.finished(id, report);
            return;
        };
        let duration_ms = self
            .timing
            .get(id.0 as usize)
            .and_then(|t| t.started)
            .map_or(0, |s| {
                i64::try_from(s.elapsed().as_millis()).unwrap_or(i64::MAX)
            });
        let mut record = memo
            .cache
            .record(ask, report.outcome.clone(), trace, duration_ms);
        // An entry without blobs is durable when `record` returns.
        if let Some(done) = now_or_never(&mut record) {
            if let Err(e) = done {
                tracing::warn!("{e}; the outcome is not remembered");
            }
            self.finished(id, report);
            return;
        }
        tokio::spawn(async move {
            if let Err(e) = record.await {
                tracing::warn!("{e}; the outcome is not remembered");
            }
            let _ = ctl.send(Ctl::Recorded(id, report));
        });
    }

    /// Start a RUNNING proc's task.
    fn start_task(&mut self, id: ProcId) {
        let planner = &self.planner;
        let decl = planner.decl_of(id);
        let trace = self.slots.get(&id).is_some_and(|s| s.ask.is_some());
        let (inputs, inputs_ignore, outputs) = declared(
            decl,
            planner.args(id),
            self.config
                .memo
                .as_ref()
                .map(|m| m.inputs_ignore.as_slice()),
        );
        let launch = Launch {
            name: planner.name(id).to_owned(),
            decl: decl.name.clone(),
            args: planner.args(id).to_vec(),
            budget: self.budget(id),
            needs: decl.needs.clone(),
            changed_deps: planner.changed_deps(id).to_vec(),
            trace,
            inputs: match trace {
                true => inputs,
                false => Vec::new(),
            },
            inputs_ignore,
            outputs,
        };
        let ix = id.0 as usize;
        if self.timing.len() <= ix {
            self.timing.resize_with(ix + 1, Timing::default);
        }
        let log = LogSink::new(self.config.log_limit);
        self.timing[ix] = Timing {
            started: Some(Instant::now()),
            log: Some(log.clone()),
            ..Timing::default()
        };
        self.reporter.event(Event::Started { name: &launch.name });
        let Some(ctl) = self.ctl.upgrade() else {
            // Every handle is gone: nobody is left to run for.
            self.planner.finish(id, Outcome::Failed(interrupted()));
            return;
        };
        self.tasks += 1;
        let timeout = launch.budget.timeout;
        let mut chan = ProcChannel::new(id, self.calls.clone(), log.clone());
        if let Some(slot) = self.slots.get(&id)
            && slot.ask.is_some()
        {
            chan = chan.recording(slot.answers.clone());
        }
        let fut = self.runner.run(launch, chan);
        let mut cancelled = self.cancelled.clone();
        tokio::spawn(async move {
            let run = async {
                match timeout {
                    Some(t) => match tokio::time::timeout(t, fut).await {
                        Ok(r) => r,
                        Err(_) => RunReport::not_run(Failure::new(
                            FailureKind::TimedOut,
                            format!("timed out after {}", fmt_duration(t)),
                        )),
                    },
                    None => fut.await,
                }
            };
            let report = tokio::select! {
                r = run => r,
                _ = cancelled.wait_for(|c| *c) => RunReport::not_run(interrupted()),
            };
            log.finish();
            let _ = ctl.send(Ctl::Finished(id, report));
        });
    }

    /// Count a result against `--max-results-total`: one that would pass it
    /// fails its proc `too large` (the run goes on; nothing held is lost).
    fn admit_result(&mut self, outcome: Outcome) -> Outcome {
        let json = match &outcome {
            Outcome::Succeeded(j) | Outcome::UpToDate(j) => j,
            _ => return outcome,
        };
        let len = json.len() as u64;
        match self.config.max_results_total {
            Some(max) if self.results_held.saturating_add(len) > max => {
                Outcome::Failed(Failure::new(
                    FailureKind::TooLarge,
                    format!(
                        "its result ({}) would take the run's results past {} in all; raise \
                         `--max-results-total` (now {} held)",
                        crate::units::fmt_size(len),
                        crate::units::fmt_size(max),
                        crate::units::fmt_size(self.results_held)
                    ),
                ))
            }
            _ => {
                self.results_held += len;
                outcome
            }
        }
    }

    /// A proc's task ended: record its outcome (dependents are released by the
    /// next pump) and tell the reporter.
    fn finished(&mut self, id: ProcId, report: RunReport) {
        self.tasks -= 1;
        let outcome = self.admit_result(report.outcome);
        self.planner.finish(id, outcome);
        self.slots.remove(&id);
        // A proc stopped in the middle of a wait: its wait is void.
        if let Some(key) = self.resumers.remove(&id) {
            self.waits.remove(&key);
        }
        self.waits.retain(|_, w| w.waiter != Some(id));
        if let Some(t) = self.timing.get_mut(id.0 as usize) {
            t.ended = Some(Instant::now());
            t.fuel_used = report.fuel_used;
            t.peak_memory = report.peak_memory;
        }
        let rec = self.record(id);
        self.reporter.event(Event::Finished(&rec));
    }
}

/// A proc's declared inputs and outputs with their `[param]`s filled from
/// `args`, and the `inputs_ignore` entries that apply (its own, then the
/// module's).
fn declared(
    decl: &crate::spec::JobDecl,
    args: &[(String, crate::spec::Value)],
    global_ignore: Option<&[String]>,
) -> (
    Vec<crate::spec::InputDecl>,
    Vec<String>,
    Vec<crate::spec::OutputDecl>,
) {
    use crate::declared::fill;
    use crate::spec::InputDecl;
    let inc = &decl.incremental;
    let inputs = inc
        .inputs
        .iter()
        .map(|i| match i {
            InputDecl::Path(p) => InputDecl::Path(fill(p, args)),
            InputDecl::RegexFiles { root, pattern } => InputDecl::RegexFiles {
                root: fill(root, args),
                pattern: pattern.clone(),
            },
            InputDecl::Computed => InputDecl::Computed,
        })
        .collect();
    let ignore = inc
        .inputs_ignore
        .iter()
        .chain(global_ignore.unwrap_or_default())
        .map(|i| fill(i, args))
        .collect();
    let outputs = inc
        .outputs
        .iter()
        .map(|o| crate::spec::OutputDecl {
            path: fill(&o.path, args),
            ..o.clone()
        })
        .collect();
    (inputs, ignore, outputs)
}

/// A [`Reply`] that answers a context call.
fn answer(reply: oneshot::Sender<ContextReply>) -> Reply {
    Box::new(move |r| {
        let _ = reply.send(match r {
            Ok(Done::Unit) => ContextReply::Started,
            Ok(Done::Created(names, new)) => ContextReply::Created { names, new },
            Ok(Done::Statuses(s)) => ContextReply::Statuses(s),
            Err(e) => ContextReply::Error(e),
        });
    })
}

fn unit(step: Step<()>) -> Step<Done> {
    match step {
        Step::Done(()) => Step::Done(Done::Unit),
        Step::Need(r) => Step::Need(r),
    }
}

fn interrupted() -> Failure {
    Failure::new(FailureKind::Cancelled, "interrupted")
}

#[cfg(test)]
mod tests;

/// The output of `fut` if it is ready at the first poll (a store answer from
/// memory); otherwise it is left to be awaited.
fn now_or_never<T>(fut: &mut crate::exec::BoxFuture<'static, T>) -> Option<T> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// What a proc's key is made of, as JSON (docs/incremental.md, "What the key
/// covers"); the field order is part of the key.
#[derive(serde::Serialize)]
struct Material<'a, K, M, A: ?Sized, P: ?Sized, B, D: ?Sized, G, E: ?Sized> {
    key: K,
    module: &'a M,
    decl: &'a str,
    proc: &'a str,
    args: &'a A,
    params: &'a P,
    budget: &'a B,
    deterministic: bool,
    deps: &'a D,
    grants: &'a G,
    env: &'a E,
}
