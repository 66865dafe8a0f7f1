//! The pure planner: which procs exist, which are wanted, which may start next.
//!
//! No I/O, no wasmtime, no tokio: every method is a synchronous state change that
//! unit tests drive in microseconds (ninja's `Plan`, cargo's `DependencyQueue`).
//!
//! ## Overview
//!
//! 1. [`Planner::new`] registers the module's plain procs (registration order =
//!    [`ProcId`] order) and keeps its protos.
//! 2. [`Planner::create`] stamps procs out of protos from filled-out names, patterns
//!    or globs over arg choices, resolving their deps (which may create further
//!    procs). When a computed dep or computed choices are needed it stops with
//!    [`Step::Need`]; the caller answers with [`Planner::provide`] and calls
//!    again. Creation is idempotent, so the retry resumes where it stopped.
//! 3. [`Planner::start`] moves IDLE procs to WANTED, together with every IDLE proc
//!    they depend on. Each WANTED proc counts its incomplete deps; when the count
//!    reaches zero it joins the ready set.
//! 4. [`Planner::next_ready`] hands out the next proc to launch (or a blocked proc to
//!    resume), honouring waves, locks and the parallel limit.
//! 5. [`Planner::finish`] records an outcome and its result, releases locks and
//!    propagates: dependents count down, or become FAILED_DEP at once when a dep
//!    failed (naming it, in parproc's words).
//! 6. A running proc that waits in its context calls [`Planner::block`] (it gives
//!    its parallel slot back; waits that could never finish are refused) and
//!    [`Planner::request_resume`] when what it waited for is complete; resumes take
//!    priority over new launches so nested waits cannot starve.
//!
//! ## Scheduling and costs
//!
//! The ready set is ordered by registration, so single mode (a parallel limit of
//! one) runs procs in a deterministic order. With N procs and E dep edges:
//!
//! - [`Planner::start`] costs O(procs scheduled + their edges), plus rdep
//!   matching: O(rdep rules) per proc made WANTED.
//! - [`Planner::finish`] touches only the proc's dependents: O(its out-degree).
//! - [`Planner::next_ready`] scans the ready set from its front: O(log N) per
//!   proc handed out, plus one step per ready proc held back by a lock, a wave
//!   or the live-store limit.
//! - While a `NO_FAILURES` proc is ready, a [`Planner::next_ready`] call that
//!   reaches it checks [`Planner::no_failures_may_start`]: O(N + E).
//! - [`Planner::counts`] is O(1); [`Planner::first_wanted`] O(n + log N).
//!
//! So a graph without `NO_FAILURES` procs is planned in O((N + E) log N).

mod create;
mod resolve;
#[cfg(test)]
mod tests;
mod wait;
mod want;

pub use resolve::{DepContext, ResolveAnswer, ResolveRequest};
pub use want::closest;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::outcome::{Failure, FailureKind, Outcome, ProcState, ProcStatus};
use crate::spec::name::Pattern;
use crate::spec::{DeclKind, DepDecl, JobDecl, Manifest, Mode, RdepDecl, Value};

/// parproc's default parallel limit.
pub const DEFAULT_PARALLEL: usize = 100;
/// Default limit on live stores (running plus blocked in a wait).
pub const DEFAULT_MAX_LIVE: usize = 1024;
/// How deep proto deps may nest while one proc is created.
pub const MAX_CREATE_DEPTH: usize = 256;

/// A proc's index; registration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcId(pub u32);

impl ProcId {
    fn ix(self) -> usize {
        self.0 as usize
    }
}

/// A declaration's index in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeclId(pub u32);

/// Why a planner call failed: the texts are parproc's where parproc has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum PlanError {
    /// A usage error (unknown name, bad arg, wave inversion, ...).
    #[error("{0}")]
    Usage(String),
    /// A guest callback (computed deps or choices) answered with an error.
    #[error("{0}")]
    Callback(String),
    /// A context wait that could never finish (the reason follows the prefix).
    #[error("wait can never finish: {0}")]
    WaitRefused(String),
    /// A create would make more new procs than the caller allowed
    /// ([`Planner::create_at_most`]); nothing past the limit was created.
    #[error("creating would pass the limit of {0} new procs")]
    CreateLimit(usize),
    /// Wanted procs depend on names that are not procs while missing deps are
    /// not allowed: parproc's sentence for each, one per line.
    #[error("{}", missing_text(.0))]
    MissingDeps(Vec<MissingDep>),
}

/// A dep that names no proc (see [`PlanError::MissingDeps`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MissingDep {
    /// The proc that depends on it.
    pub proc: String,
    /// The name it depends on.
    pub dep: String,
}

impl MissingDep {
    /// parproc's sentence for it (docs/planner.md).
    pub fn text(&self) -> String {
        format!(
            "Proc \"{}\" depends on \"{}\" which does not exist. Set allow_missing_deps=True to allow missing dependencies.",
            self.proc, self.dep
        )
    }
}

fn missing_text(missing: &[MissingDep]) -> String {
    let lines: Vec<String> = missing.iter().map(MissingDep::text).collect();
    lines.join("\n")
}

/// How a planner call that may need the guest ended: done, or stopped for an
/// answer (give it with [`Planner::provide`] and call again; the call resumes
/// where it stopped).
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    /// The call completed.
    Done(T),
    /// The guest must answer this first.
    Need(ResolveRequest),
}

/// Inside the planner: `?` carries a guest question or an error out of a call.
#[derive(Debug)]
pub(crate) enum Stop {
    /// See [`Step::Need`].
    Need(ResolveRequest),
    /// The call failed.
    Error(PlanError),
}

impl From<PlanError> for Stop {
    fn from(e: PlanError) -> Self {
        Stop::Error(e)
    }
}

/// The public form of an internal result.
fn step<T>(r: Result<T, Stop>) -> Result<Step<T>, PlanError> {
    match r {
        Ok(v) => Ok(Step::Done(v)),
        Err(Stop::Need(req)) => Ok(Step::Need(req)),
        Err(Stop::Error(e)) => Err(e),
    }
}

/// A usage error.
pub(crate) fn usage(msg: impl Into<String>) -> PlanError {
    PlanError::Usage(msg.into())
}

/// How parproc's messages name a declaration of `kind`: `Proc "x"`, `Proto "y"`.
fn kind_word(kind: DeclKind) -> &'static str {
    match kind {
        DeclKind::Proc => "Proc",
        DeclKind::Proto => "Proto",
    }
}

/// The longest name the planner creates a proc under: an rdep or dep that keeps
/// growing names matching its own proto stops here instead of creating procs
/// without end (found by the `manifest` fuzz target: the rdep
/// `WhenScheduled("x[n]:[n]")` on a `now` proto `[n]` doubled the name with
/// every proc until memory ran out).
pub const MAX_NAME_BYTES: usize = 4096;

/// Default [`PlanOptions::max_name_bytes`]: 64 MiB of names, enough for a
/// million procs of 60-byte names. Found by the `manifest` fuzz target: rdeps
/// that each inject two longer names matching their own proto filled a million
/// procs with names of kilobytes, past 2 GiB; with this bound the same module
/// peaks at 767 MiB (the planner keeps several copies of each name).
pub const DEFAULT_MAX_NAME_BYTES: usize = 64 << 20;

/// A usage error, as an internal stop.
pub(crate) fn user(msg: impl Into<String>) -> Stop {
    Stop::Error(usage(msg))
}

/// Options the planner needs (already merged: CLI over module).
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Most procs running at once.
    pub parallel: usize,
    /// Execution mode; single forces a parallel limit of one.
    pub mode: Mode,
    /// Name separator.
    pub separator: String,
    /// parproc's `allow_missing_deps`.
    pub allow_missing_deps: bool,
    /// Most procs a run may hold (a guest cannot exhaust the host by creating).
    pub max_procs: usize,
    /// Most bytes of proc names a run may hold, all procs together: with
    /// names up to [`MAX_NAME_BYTES`], `max_procs` alone would allow gigabytes.
    pub max_name_bytes: usize,
    /// Most live stores (running plus blocked in a wait), separate from `parallel`.
    pub max_live: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            parallel: DEFAULT_PARALLEL,
            mode: Mode::Parallel,
            separator: "::".into(),
            allow_missing_deps: true,
            max_procs: 1_000_000,
            max_name_bytes: DEFAULT_MAX_NAME_BYTES,
            max_live: DEFAULT_MAX_LIVE,
        }
    }
}

/// What [`Planner::next_ready`] hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Launch this proc (now RUNNING, holding a slot and its locks).
    Launch(ProcId),
    /// This blocked proc may resume (it holds a slot again).
    Resume(ProcId),
}

#[derive(Debug)]
struct Proc {
    name: String,
    decl: DeclId,
    args: Vec<(String, Value)>,
    /// Dep names, resolved at creation, looked up when the proc is wanted.
    deps: Vec<String>,
    no_failures: bool,
    state: ProcState,
    failure: Option<Failure>,
    /// Known incomplete deps while WANTED.
    pending: u32,
    /// Deps that did not exist when the proc was wanted.
    missing: u32,
    /// Blocked in a context wait (RUNNING, slot given back).
    blocked: bool,
    /// What a blocked proc waits for.
    waiting_on: Vec<ProcId>,
    /// Position in the results order, once finished with a result entry.
    result_seq: Option<u64>,
    /// Its JSON result, held once: the records, the results view and the
    /// reports share it.
    result: Option<std::sync::Arc<str>>,
    /// Deps that ran freshly (not skipped) when this proc launched.
    changed_deps: Vec<String>,
    /// The text each placeholder had in the name (conditional rdeps fill from it).
    texts: Vec<(String, String)>,
    /// Pending deps counted (the proc was settled after becoming WANTED).
    settled: bool,
    /// A blocked proc waits for it (it gets a store first when stores are scarce).
    awaited: bool,
}

/// The planner. See the module docs.
///
/// Its state is in cohesive parts, each changed by the module named beside it:
/// the declarations (`Registry`, read-only after [`Planner::new`]), the procs
/// and their edges (`Graph`), the rdep indexes (`RdepIndex`, `want.rs`),
/// what may start (`Gate`, `next_ready`/`finish`/`wait.rs`), the scheduling
/// worklist (`Worklist`, `want.rs`) and creation in progress (`Creation`,
/// `create.rs`).
#[derive(Debug)]
pub struct Planner {
    reg: Registry,
    graph: Graph,
    rdeps: RdepIndex,
    gate: Gate,
    work: Worklist,
    creation: Creation,
    opts: PlanOptions,
    params: Vec<(String, serde_json::Value)>,
    /// Procs completed since the last [`Planner::drain_completed`].
    completed: Vec<ProcId>,
    any_failed: bool,
    result_seq: u64,
}

/// The module's declarations, by index and by name.
#[derive(Debug, Default)]
struct Registry {
    decls: Vec<JobDecl>,
    patterns: Vec<Pattern>,
    decl_by_name: HashMap<String, DeclId>,
    protos: Vec<DeclId>,
}

/// The procs, their names and their dep edges.
#[derive(Debug, Default)]
struct Graph {
    procs: Vec<Proc>,
    /// The bytes of every proc's name, together.
    name_bytes: usize,
    by_name: HashMap<String, ProcId>,
    /// Reverse dep edges: who waits (as a WANTED dependent) on each proc.
    dependents: Vec<Vec<ProcId>>,
    /// WANTED procs waiting on a name that does not exist yet.
    missing_waiters: HashMap<String, Vec<ProcId>>,
    /// Names once recorded as missing deps (registering one schedules it).
    missing_names: BTreeSet<String>,
    /// Procs that gained a dep after they were counted (cycle check roots).
    edge_targets: Vec<ProcId>,
}

/// Who injects itself where (docs/planner.md §9, §10).
#[derive(Debug, Default)]
struct RdepIndex {
    /// Protos with plain or `WhenTargetScheduled` rdeps.
    rdep_protos: Vec<DeclId>,
    /// Procs by the concrete name their rdep names.
    rdep_exact: HashMap<String, Vec<ProcId>>,
    /// Procs whose rdep still has placeholders.
    rdep_patterns: Vec<(Pattern, ProcId)>,
    /// WANTED declarers by their `WhenScheduled` target.
    ws_exact: HashMap<String, Vec<ProcId>>,
}

/// What may start: the ready set, waves, locks, slots, stores and the counts.
#[derive(Debug, Default)]
struct Gate {
    ready: BTreeSet<ProcId>,
    /// Procs ready or running, per wave (the wave gate).
    active_waves: BTreeMap<i32, u32>,
    locks: HashMap<String, ProcId>,
    running: usize,
    /// Procs blocked in a wait (live stores = running + blocked).
    blocked: usize,
    peak_live: usize,
    /// Procs WANTED or RUNNING.
    active: usize,
    resume: VecDeque<ProcId>,
    /// `NO_FAILURES` procs whose deps are complete.
    nf_ready: BTreeSet<ProcId>,
    nf_running: usize,
    /// Procs per state, kept as states change (see [`Planner::counts`]).
    counts: StateCounts,
    /// WANTED procs, in registration order (the live view names the first few).
    wanted: BTreeSet<ProcId>,
}

impl Gate {
    /// Live stores: procs running plus procs blocked in a wait. O(1).
    fn live(&self) -> usize {
        self.running + self.blocked
    }

    /// A proc of `wave` became ready or running. O(log waves).
    fn enter_wave(&mut self, wave: i32) {
        *self.active_waves.entry(wave).or_default() += 1;
    }

    /// A proc of `wave` stopped being ready or running. O(log waves).
    fn leave_wave(&mut self, wave: i32) {
        if let Some(n) = self.active_waves.get_mut(&wave) {
            *n -= 1;
            if *n == 0 {
                self.active_waves.remove(&wave);
            }
        }
    }

    /// The lowest wave with a ready or running proc (the wave gate). O(log waves).
    fn lowest_wave(&self) -> Option<i32> {
        self.active_waves.keys().next().copied()
    }

    /// Keep the counts and the WANTED set as `id` moves from `from` to `to`. O(log N).
    fn moved(&mut self, id: ProcId, from: Option<ProcState>, to: ProcState) {
        self.counts.moved(from, to);
        if from == Some(ProcState::Wanted) {
            self.wanted.remove(&id);
        }
        if to == ProcState::Wanted {
            self.wanted.insert(id);
        }
    }
}

/// The scheduling worklist (see `want.rs`).
#[derive(Debug, Default)]
struct Worklist {
    /// Procs whose start was deferred (`now`, or once-missing names).
    deferred: Vec<ProcId>,
    mark_queue: VecDeque<ProcId>,
    want_queue: VecDeque<ProcId>,
    unsettled: Vec<ProcId>,
    /// Usage errors collected while scheduling.
    errors: Vec<String>,
    /// The missing deps among them.
    missing: Vec<MissingDep>,
}

/// Creation in progress (see `create.rs`).
#[derive(Debug, Default)]
struct Creation {
    answers: HashMap<ResolveRequest, ResolveAnswer>,
    /// Names being created up the current stack (cycle detection).
    creating: Vec<String>,
    /// Glob expansions interrupted by a guest question, by requested name, so
    /// the retry resumes where it stopped instead of starting over.
    glob_resume: HashMap<String, create::GlobProgress>,
    /// New procs the current create may still register, and its limit.
    new_budget: Option<(usize, usize)>,
    /// New procs the last create registered.
    new_in_call: usize,
}

/// How many procs are in each state; kept as states change, so reading it is O(1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    by_state: [usize; 9],
}

impl StateCounts {
    fn slot(state: ProcState) -> usize {
        match state {
            ProcState::Idle => 0,
            ProcState::Wanted => 1,
            ProcState::Running => 2,
            ProcState::Succeeded => 3,
            ProcState::Failed => 4,
            ProcState::FailedDep => 5,
            ProcState::Skipped => 6,
            ProcState::Cancelled => 7,
            ProcState::UpToDate => 8,
        }
    }

    /// Procs in `state`.
    pub fn get(&self, state: ProcState) -> usize {
        self.by_state[Self::slot(state)]
    }

    /// Procs in a complete state.
    pub fn complete(&self) -> usize {
        self.by_state[3..].iter().sum()
    }

    fn moved(&mut self, from: Option<ProcState>, to: ProcState) {
        if let Some(f) = from {
            self.by_state[Self::slot(f)] -= 1;
        }
        self.by_state[Self::slot(to)] += 1;
    }
}

impl Planner {
    /// A planner for `manifest`, registering its plain procs in order.
    pub fn new(manifest: &Manifest, opts: PlanOptions) -> Result<Planner, PlanError> {
        let mut p = Planner {
            reg: Registry::default(),
            graph: Graph::default(),
            rdeps: RdepIndex::default(),
            gate: Gate::default(),
            work: Worklist::default(),
            creation: Creation::default(),
            params: manifest.params.clone(),
            opts,
            completed: Vec::new(),
            any_failed: false,
            result_seq: 0,
        };
        if p.opts.mode == Mode::Single {
            p.opts.parallel = 1;
        }
        p.opts.parallel = p.opts.parallel.max(1);
        p.opts.max_live = p.opts.max_live.max(1);
        for decl in &manifest.jobs {
            p.add_decl(decl.clone())?;
        }
        Ok(p)
    }

    /// Register the module's plain procs in declaration order. Their deps may
    /// create procs from protos (declared anywhere in the module) and may need
    /// guest answers, so this can stop with [`Step::Need`]; calling it again
    /// after [`Planner::provide`] continues (it is idempotent).
    pub fn register_procs(&mut self) -> Result<Step<()>, PlanError> {
        for i in 0..self.reg.decls.len() {
            if self.reg.decls[i].kind == DeclKind::Proc {
                let name = self.reg.decls[i].name.clone();
                if let Step::Need(req) = self.create(&name, &[], None)? {
                    return Ok(Step::Need(req));
                }
            }
        }
        Ok(Step::Done(()))
    }

    fn add_decl(&mut self, decl: JobDecl) -> Result<(), PlanError> {
        let pattern = match decl.kind {
            DeclKind::Proto => Pattern::parse_proto(&decl.name, &self.opts.separator),
            DeclKind::Proc => Pattern::parse(&decl.name),
        }
        .map_err(|e| usage(e.to_string()))?;
        if decl.kind == DeclKind::Proc && pattern.has_placeholders() {
            return Err(usage(format!(
                "Proc name \"{}\" contains proto pattern placeholders. Proc names must be fully resolved (no [param] placeholders).",
                decl.name
            )));
        }
        if self.reg.decl_by_name.contains_key(&decl.name) {
            let what = kind_word(decl.kind);
            return Err(usage(format!("{what} \"{}\" already created", decl.name)));
        }
        for (key, _) in &decl.choices {
            if !pattern.placeholders().iter().any(|p| p == key) {
                return Err(usage(format!(
                    "Proto arg_choices key \"{key}\" is not a parameter in pattern \"{}\". Pattern parameters: [{}]",
                    decl.name,
                    quoted_list(pattern.placeholders())
                )));
            }
        }
        self.check_rdeps(&decl)?;
        let id = DeclId(self.reg.decls.len() as u32);
        self.reg.decl_by_name.insert(decl.name.clone(), id);
        if decl.kind == DeclKind::Proto {
            self.reg.protos.push(id);
            if decl
                .rdeps
                .iter()
                .any(|r| matches!(r, RdepDecl::Plain(_) | RdepDecl::WhenTargetScheduled(_)))
            {
                self.rdeps.rdep_protos.push(id);
            }
        }
        self.reg.decls.push(decl);
        self.reg.patterns.push(pattern);
        Ok(())
    }

    /// Refuse rdeps that cannot work (docs/planner.md §4.4): a pattern that does not parse,
    /// one matching every name (`[x]`), and one onto the declaration itself; each would make
    /// the declarer its own dependency or fail later, proc by proc.
    fn check_rdeps(&self, decl: &JobDecl) -> Result<(), PlanError> {
        let what = kind_word(decl.kind);
        for rdep in &decl.rdeps {
            let (RdepDecl::Plain(p)
            | RdepDecl::WhenScheduled(p)
            | RdepDecl::WhenTargetScheduled(p)) = rdep;
            let pattern = Pattern::parse(p)
                .map_err(|e| usage(format!("{what} \"{}\" has an invalid rdep: {e}", decl.name)))?;
            let matched = !matches!(rdep, RdepDecl::WhenScheduled(_));
            if matched && pattern.matches_every_name() {
                return Err(usage(format!(
                    "{what} \"{}\" has rdep \"{p}\", which matches every name, its own too: a proc cannot be its own dependency; name the procs it must run before (e.g. \"build::[env]\")",
                    decl.name
                )));
            }
            let onto_itself = *p == decl.name
                || (matched
                    && pattern
                        .match_rdep(&decl.name, &self.opts.separator)
                        .is_some());
            if onto_itself {
                return Err(usage(format!(
                    "{what} \"{}\" has rdep \"{p}\" onto itself: a proc cannot be its own dependency",
                    decl.name
                )));
            }
        }
        Ok(())
    }

    /// Every state change goes through here, keeping [`StateCounts`] and the
    /// WANTED set. O(log N).
    fn set_state(&mut self, id: ProcId, state: ProcState) {
        let p = &mut self.graph.procs[id.ix()];
        self.gate.moved(id, Some(p.state), state);
        p.state = state;
    }

    /// How many procs are in each state. O(1).
    pub fn counts(&self) -> StateCounts {
        self.gate.counts
    }

    /// The first `n` WANTED procs in registration order. O(n + log N).
    pub fn first_wanted(&self, n: usize) -> impl Iterator<Item = ProcId> + '_ {
        self.gate.wanted.iter().copied().take(n)
    }

    /// The options in force.
    pub fn options(&self) -> &PlanOptions {
        &self.opts
    }

    /// The declarations.
    pub fn decls(&self) -> &[JobDecl] {
        &self.reg.decls
    }

    /// Store the guest's answer to a request.
    pub fn provide(&mut self, request: ResolveRequest, answer: ResolveAnswer) {
        self.creation.answers.insert(request, answer);
    }

    /// Merge global params (`--param` and context `set-params`).
    pub fn set_params(&mut self, params: impl IntoIterator<Item = (String, serde_json::Value)>) {
        for (k, v) in params {
            match self.params.iter_mut().find(|(n, _)| *n == k) {
                Some(slot) => slot.1 = v,
                None => self.params.push((k, v)),
            }
        }
    }

    /// Global params.
    pub fn params(&self) -> &[(String, serde_json::Value)] {
        &self.params
    }

    /// Look a proc up by name.
    pub fn id(&self, name: &str) -> Option<ProcId> {
        self.graph.by_name.get(name).copied()
    }

    /// A proc's name.
    pub fn name(&self, id: ProcId) -> &str {
        &self.graph.procs[id.ix()].name
    }

    /// A proc's state.
    pub fn state(&self, id: ProcId) -> ProcState {
        self.graph.procs[id.ix()].state
    }

    /// A proc's failure, if it failed (for a SKIPPED proc that said nothing
    /// changed, the reason [`FailureKind::NoChange`]).
    pub fn failure(&self, id: ProcId) -> Option<&Failure> {
        self.graph.procs[id.ix()].failure.as_ref()
    }

    /// The declaration a proc was made from.
    pub fn decl_of(&self, id: ProcId) -> &JobDecl {
        &self.reg.decls[self.graph.procs[id.ix()].decl.0 as usize]
    }

    /// A proc's converted args.
    pub fn args(&self, id: ProcId) -> &[(String, Value)] {
        &self.graph.procs[id.ix()].args
    }

    /// A proc's dep names.
    pub fn deps(&self, id: ProcId) -> &[String] {
        &self.graph.procs[id.ix()].deps
    }

    /// The deps that ran freshly before this proc launched.
    pub fn changed_deps(&self, id: ProcId) -> &[String] {
        &self.graph.procs[id.ix()].changed_deps
    }

    /// Number of procs.
    pub fn len(&self) -> usize {
        self.graph.procs.len()
    }

    /// True when no proc exists.
    pub fn is_empty(&self) -> bool {
        self.graph.procs.is_empty()
    }

    /// Every proc id in registration order.
    pub fn ids(&self) -> impl Iterator<Item = ProcId> + '_ {
        (0..self.graph.procs.len() as u32).map(ProcId)
    }

    /// A proc's status as a wait reports it.
    pub fn status(&self, id: ProcId) -> ProcStatus {
        let p = &self.graph.procs[id.ix()];
        ProcStatus {
            name: p.name.clone(),
            state: p.state,
            failure: p.failure.as_ref().map(|f| f.kind),
            message: p
                .failure
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default(),
        }
    }

    /// The JSON result of `name` if it finished with one at or before `view`
    /// (a position in the results order; `u64::MAX` sees everything).
    pub fn result(&self, name: &str, view: u64) -> Option<&str> {
        let p = &self.graph.procs[self.id(name)?.ix()];
        match p.result_seq {
            Some(seq) if seq <= view => p.result.as_deref(),
            _ => None,
        }
    }

    /// Whether `name` has an entry (possibly null) in the results map within `view`.
    pub fn has_result(&self, name: &str, view: u64) -> bool {
        self.id(name)
            .and_then(|id| self.graph.procs[id.ix()].result_seq)
            .is_some_and(|seq| seq <= view)
    }

    /// The current end of the results order: a view that sees every result so far.
    pub fn result_view(&self) -> u64 {
        self.result_seq
    }

    /// The result of the proc `id`, shared (not copied).
    pub fn result_shared(&self, id: ProcId) -> Option<std::sync::Arc<str>> {
        self.graph.procs[id.ix()].result.clone()
    }

    /// The results map in completion order: name and JSON (`None` = null),
    /// shared (not copied).
    pub fn results(&self) -> Vec<(&str, Option<std::sync::Arc<str>>)> {
        let mut out: Vec<(u64, &str, Option<std::sync::Arc<str>>)> = self
            .graph
            .procs
            .iter()
            .filter_map(|p| p.result_seq.map(|s| (s, p.name.as_str(), p.result.clone())))
            .collect();
        out.sort_by_key(|(s, ..)| *s);
        out.into_iter().map(|(_, n, r)| (n, r)).collect()
    }

    /// Procs running and not blocked.
    pub fn running(&self) -> usize {
        self.gate.running
    }

    /// Live stores now: procs running plus procs blocked in a wait.
    pub fn live(&self) -> usize {
        self.gate.live()
    }

    /// The most live stores at any moment so far.
    pub fn peak_live(&self) -> usize {
        self.gate.peak_live
    }

    /// True when nothing is wanted or running and no start is deferred.
    pub fn is_idle(&self) -> bool {
        self.work.deferred.is_empty() && self.gate.active == 0
    }

    /// Procs that completed (in any way) since the last call, in order.
    pub fn drain_completed(&mut self) -> Vec<ProcId> {
        std::mem::take(&mut self.completed)
    }

    /// True if any proc failed (FAILED, FAILED_DEP or CANCELLED).
    pub fn any_failed(&self) -> bool {
        self.any_failed
    }

    fn make_ready(&mut self, id: ProcId) {
        if self.graph.procs[id.ix()].no_failures {
            self.gate.nf_ready.insert(id);
        } else {
            self.gate.ready.insert(id);
        }
        let wave = self.decl_of(id).wave;
        self.gate.enter_wave(wave);
    }

    fn leave_active(&mut self, id: ProcId) {
        let wave = self.decl_of(id).wave;
        self.gate.leave_wave(wave);
    }

    /// Mark a WANTED proc FAILED_DEP with parproc's message, and propagate.
    fn fail_dep(&mut self, id: ProcId) {
        let mut failure = Failure::new(FailureKind::DepFailed, "");
        for d in &self.graph.procs[id.ix()].deps {
            match self.graph.by_name.get(d) {
                None => {
                    failure = Failure::new(
                        FailureKind::DepMissing,
                        format!("dependency \"{d}\" missing{}", self.did_you_mean(d)),
                    );
                    break;
                }
                Some(&dep) if self.graph.procs[dep.ix()].state.is_failure() => {
                    failure = Failure::new(
                        FailureKind::DepFailed,
                        format!("canceled due to failure of \"{d}\""),
                    );
                }
                Some(_) => {}
            }
        }
        self.complete_without_running(id, ProcState::FailedDep, failure);
    }

    fn did_you_mean(&self, name: &str) -> String {
        match self.suggest(name) {
            Some(s) => format!("; did you mean \"{s}\"?"),
            None => String::new(),
        }
    }

    fn complete_without_running(&mut self, id: ProcId, state: ProcState, failure: Failure) {
        if self.gate.ready.remove(&id) | self.gate.nf_ready.remove(&id) {
            self.leave_active(id);
        }
        if self.graph.procs[id.ix()].state == ProcState::Wanted {
            self.gate.active -= 1;
        }
        self.set_state(id, state);
        let p = &mut self.graph.procs[id.ix()];
        p.failure = Some(failure);
        self.any_failed = true;
        self.completed.push(id);
        self.propagate(id);
    }

    /// Tell the WANTED dependents of a just-completed proc.
    fn propagate(&mut self, done: ProcId) {
        let mut work = vec![done];
        while let Some(q) = work.pop() {
            let failed = self.graph.procs[q.ix()].state.is_failure();
            for dep in std::mem::take(&mut self.graph.dependents[q.ix()]) {
                if self.graph.procs[dep.ix()].state != ProcState::Wanted {
                    continue;
                }
                if failed {
                    self.mark_failed_dep_quiet(dep);
                    work.push(dep);
                    continue;
                }
                let p = &mut self.graph.procs[dep.ix()];
                p.pending -= 1;
                if p.pending == 0 {
                    if p.missing > 0 {
                        self.mark_failed_dep_quiet(dep);
                        work.push(dep);
                    } else {
                        self.make_ready(dep);
                    }
                }
            }
        }
    }

    /// `fail_dep` without recursion into `propagate` (the caller's worklist does it).
    fn mark_failed_dep_quiet(&mut self, id: ProcId) {
        let saved = std::mem::take(&mut self.graph.dependents[id.ix()]);
        self.fail_dep(id);
        self.graph.dependents[id.ix()] = saved;
    }

    // ----------------------------------------------------------------- launch

    /// The next proc to launch or resume, if any may start now.
    ///
    /// Resumes go first. A proc launches when its wave is the lowest among ready
    /// and running procs, none of its locks is held, a parallel slot is free and a
    /// live store is free: a proc that no blocked proc waits for leaves one store
    /// in reserve for those that are waited for. When every live store is blocked
    /// and a waited-for proc cannot get one, that proc fails with the reason
    /// instead of deadlocking. `NO_FAILURES` procs launch last, one at a time (see
    /// [`Planner::no_failures_may_start`]).
    pub fn next_ready(&mut self) -> Option<Next> {
        loop {
            if self.gate.running >= self.opts.parallel {
                return None;
            }
            if let Some(id) = self.gate.resume.pop_front() {
                self.gate.running += 1;
                self.gate.blocked -= 1;
                self.graph.procs[id.ix()].blocked = false;
                return Some(Next::Resume(id));
            }
            let live = self.live();
            let reserve = usize::from(self.opts.max_live > 1);
            let lowest_wave = self.gate.lowest_wave();
            let mut cursor = self.gate.ready.iter().next().copied();
            let mut starved: Option<ProcId> = None;
            while let Some(id) = cursor {
                cursor = self.gate.ready.range(ProcId(id.0 + 1)..).next().copied();
                let decl = self.decl_of(id);
                if lowest_wave.is_some_and(|w| w < decl.wave)
                    || decl.locks.iter().any(|l| self.gate.locks.contains_key(l))
                {
                    continue;
                }
                let awaited = self.graph.procs[id.ix()].awaited;
                if live >= self.opts.max_live || (!awaited && live + reserve >= self.opts.max_live)
                {
                    if awaited && starved.is_none() {
                        starved = Some(id);
                    }
                    continue;
                }
                return Some(self.launch(id));
            }
            if let Some(id) = starved
                && self.gate.running == 0
            {
                let max = self.opts.max_live;
                self.fail_unrunnable(
                    id,
                    FailureKind::Deadlock,
                    format!(
                        "no sandbox store free: all {max} live stores are blocked in waits (raise --max-live)"
                    ),
                );
                continue;
            }
            let first_nf = self.gate.nf_ready.iter().next().copied();
            if let Some(id) = first_nf
                && self.gate.nf_running == 0
                && live < self.opts.max_live
                && self.no_failures_may_start(id)
            {
                if self.any_failed {
                    self.complete_without_running(
                        id,
                        ProcState::FailedDep,
                        Failure::new(FailureKind::NoFailures, "run aborted: a task has failed"),
                    );
                    continue;
                }
                self.gate.nf_ready.remove(&id);
                self.gate.nf_running += 1;
                return Some(self.launch(id));
            }
            return None;
        }
    }

    /// Mark a ready proc RUNNING: take its slot, its store and its locks.
    fn launch(&mut self, id: ProcId) -> Next {
        self.gate.ready.remove(&id);
        for l in self.decl_of(id).locks.clone() {
            self.gate.locks.insert(l, id);
        }
        let changed: Vec<String> = self.graph.procs[id.ix()]
            .deps
            .iter()
            .filter(|d| {
                self.graph
                    .by_name
                    .get(*d)
                    .is_some_and(|q| self.graph.procs[q.ix()].state == ProcState::Succeeded)
            })
            .cloned()
            .collect();
        self.set_state(id, ProcState::Running);
        let p = &mut self.graph.procs[id.ix()];
        p.changed_deps = changed;
        self.gate.running += 1;
        self.gate.peak_live = self.gate.peak_live.max(self.live());
        Next::Launch(id)
    }

    /// A ready `NO_FAILURES` proc may start only when every other wanted proc has
    /// finished, except those that cannot finish before it: its transitive
    /// dependents, procs waiting (transitively) on it, procs in a higher wave and
    /// other `NO_FAILURES` procs. So whether it runs does not depend on timing.
    /// O(N + E): one pass over the procs and a walk over the reverse edges.
    pub fn no_failures_may_start(&self, p: ProcId) -> bool {
        let wave = self.decl_of(p).wave;
        let lower = |id: &ProcId| self.decl_of(*id).wave <= wave;
        if self.gate.ready.iter().any(lower) {
            return false;
        }
        // What waits for `p`, through pending deps and context waits: a walk
        // over the reverse edges (dependents, and blocked procs by target).
        let mut waiters: HashMap<ProcId, Vec<ProcId>> = HashMap::new();
        for (i, q) in self.graph.procs.iter().enumerate() {
            if q.state == ProcState::Running && q.blocked {
                for &t in &q.waiting_on {
                    waiters.entry(t).or_default().push(ProcId(i as u32));
                }
            }
        }
        let mut after: std::collections::HashSet<ProcId> = std::collections::HashSet::new();
        after.insert(p);
        let mut stack = vec![p];
        while let Some(x) = stack.pop() {
            let wanted = self.graph.dependents[x.ix()]
                .iter()
                .filter(|q| self.graph.procs[q.ix()].state == ProcState::Wanted);
            let blocked = waiters.get(&x).into_iter().flatten();
            for &q in wanted.chain(blocked) {
                if after.insert(q) {
                    stack.push(q);
                }
            }
        }
        self.graph.procs.iter().enumerate().all(|(i, q)| {
            let id = ProcId(i as u32);
            !matches!(q.state, ProcState::Wanted | ProcState::Running)
                || after.contains(&id)
                || q.no_failures
                || self.decl_of(id).wave > wave
        })
    }

    /// Record how a RUNNING proc ended. Ignored for a proc that is not running.
    pub fn finish(&mut self, id: ProcId, outcome: Outcome) {
        if self.graph.procs[id.ix()].state != ProcState::Running {
            return;
        }
        let p = &mut self.graph.procs[id.ix()];
        if p.blocked {
            p.blocked = false;
            p.waiting_on.clear();
            self.gate.blocked -= 1;
            self.gate.resume.retain(|r| *r != id);
        } else {
            self.gate.running -= 1;
        }
        if p.no_failures {
            self.gate.nf_running -= 1;
        }
        let (state, failure, result) = match outcome {
            Outcome::Succeeded(json) => (ProcState::Succeeded, None, Some(json)),
            Outcome::Skipped {
                no_change: false, ..
            } => (ProcState::Skipped, None, None),
            Outcome::Skipped {
                no_change: true, ..
            } => (
                ProcState::Skipped,
                Some(Failure::new(FailureKind::NoChange, "")),
                None,
            ),
            Outcome::UpToDate(json) => (ProcState::UpToDate, None, Some(json)),
            Outcome::Failed(f) if f.kind == FailureKind::Cancelled => {
                (ProcState::Cancelled, Some(f), None)
            }
            Outcome::Failed(f) => (ProcState::Failed, Some(f), None),
        };
        self.result_seq += 1;
        self.set_state(id, state);
        let p = &mut self.graph.procs[id.ix()];
        p.failure = failure;
        p.result = result.map(std::sync::Arc::from);
        p.result_seq = Some(self.result_seq);
        if state.is_failure() {
            self.any_failed = true;
        }
        self.gate.active -= 1;
        self.completed.push(id);
        let locks = &self.reg.decls[self.graph.procs[id.ix()].decl.0 as usize].locks;
        for l in locks {
            if self.gate.locks.get(l) == Some(&id) {
                self.gate.locks.remove(l);
            }
        }
        self.leave_active(id);
        self.propagate(id);
    }

    /// End every WANTED proc as CANCELLED (for an interrupted run). Running procs
    /// are finished by their owners.
    pub fn cancel_wanted(&mut self, reason: &str) {
        for i in 0..self.graph.procs.len() {
            let id = ProcId(i as u32);
            if self.graph.procs[i].state == ProcState::Wanted {
                let saved = std::mem::take(&mut self.graph.dependents[i]);
                self.complete_without_running(
                    id,
                    ProcState::Cancelled,
                    Failure::new(FailureKind::Cancelled, reason),
                );
                self.graph.dependents[i] = saved;
            }
        }
        self.work.deferred.clear();
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Collect a decl's `NO_FAILURES` flag.
fn has_no_failures(decl: &JobDecl) -> bool {
    decl.deps.iter().any(|d| matches!(d, DepDecl::NoFailures))
}
