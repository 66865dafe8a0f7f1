//! The seams between the driver and the outside world: how procs run
//! ([`ProcRunner`]) and how guest callbacks are answered ([`Resolver`]).
//!
//! A runner and the driver talk only in typed, serialisable messages: the driver
//! hands a runner a [`Launch`]; the running proc sends [`ContextRequest`]s and
//! gets [`ContextReply`]s back, writes its output as [`LogChunk`]s, and the run
//! ends in a [`RunReport`]. The local runner (the `runtime` module) passes them in
//! memory; a remote worker can carry the same messages over a network. Tests of
//! the driver use fakes, so no wasm is compiled for them (ninja's
//! `CommandRunner`).

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::logsink::{LogLevel, LogSink, Stream};
use crate::outcome::{Outcome, ProcStatus};
use crate::plan::{PlanError, ProcId, ResolveAnswer, ResolveRequest};
use crate::spec::{Needs, Value};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use parproc_core::budget::Budget;

/// Everything a runner needs to run one proc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// The proc name.
    pub name: String,
    /// The declaration (proc name or proto pattern) the guest dispatches on.
    pub decl: String,
    /// Converted args.
    pub args: Vec<(String, Value)>,
    /// Budgets.
    pub budget: Budget,
    /// Capabilities granted to this proc.
    pub needs: Needs,
    /// The deps that ran freshly (not skipped) before this launch.
    pub changed_deps: Vec<String>,
    /// Record what the proc sees of its granted directories (an incremental
    /// run that may cache it).
    #[serde(default)]
    pub trace: bool,
    /// Declared inputs, `[param]`s filled: expanded into the trace when the
    /// proc starts (traced runs only; `crate::declared`).
    #[serde(default)]
    pub inputs: Vec<crate::spec::InputDecl>,
    /// The proc's and the module's `inputs_ignore`.
    #[serde(default)]
    pub inputs_ignore: Vec<String>,
    /// Declared outputs, `[param]`s filled: verified after a successful run.
    #[serde(default)]
    pub outputs: Vec<crate::spec::OutputDecl>,
}

impl Launch {
    /// A launch of the proc or declaration `name` with no args, needs,
    /// changed deps, trace or declared files, under `budget`.
    pub fn new(name: impl Into<String>, budget: Budget) -> Launch {
        let name = name.into();
        Launch {
            decl: name.clone(),
            name,
            args: Vec::new(),
            budget,
            needs: Needs::default(),
            changed_deps: Vec::new(),
            trace: false,
            inputs: Vec::new(),
            inputs_ignore: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

/// What a runner reports for one proc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Fuel consumed, when metered.
    pub fuel_used: Option<u64>,
    /// Peak memory of the store in bytes, when known.
    pub peak_memory: Option<u64>,
    /// What it saw of its granted directories, when [`Launch::trace`] asked.
    #[serde(default)]
    pub trace: crate::trace::Traced,
}

impl RunReport {
    /// The report of a proc the host stopped, or could not start, with `failure`.
    pub fn not_run(failure: crate::outcome::Failure) -> RunReport {
        RunReport {
            outcome: Outcome::Failed(failure),
            fuel_used: None,
            peak_memory: None,
            trace: crate::trace::Traced::No,
        }
    }
}

/// A context call of a running proc that the driver answers (`proc-name`,
/// `args` and `changed-deps` are answered from the [`Launch`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContextRequest {
    /// Global params.
    Params,
    /// The result of a proc, in this proc's view.
    Result {
        /// The proc.
        name: String,
    },
    /// Names with a result in this proc's view.
    ResultNames,
    /// Create procs.
    Create {
        /// A proc name, proto name, pattern or glob.
        name: String,
        /// Args filling the pattern.
        args: Vec<(String, Value)>,
        /// A name for the single created proc.
        proc_name: Option<String>,
        /// The most new procs this call may register (the proc's remaining
        /// `--max-created`); the one past it is refused before it exists.
        max_new: Option<usize>,
    },
    /// Start procs by name.
    Start {
        /// The procs.
        names: Vec<String>,
    },
    /// Create, then start.
    Run {
        /// See [`ContextRequest::Create`].
        name: String,
        /// See [`ContextRequest::Create`].
        args: Vec<(String, Value)>,
        /// See [`ContextRequest::Create`].
        proc_name: Option<String>,
        /// See [`ContextRequest::Create`].
        max_new: Option<usize>,
    },
    /// Start the named idle procs and wait until all are complete (the proc
    /// gives its parallel slot back meanwhile).
    Wait {
        /// The procs.
        names: Vec<String>,
    },
    /// A line of interactive input.
    Input {
        /// What to show.
        prompt: String,
        /// Whether to hide what is typed.
        password: bool,
    },
}

/// The driver's answer to a [`ContextRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContextReply {
    /// Global params: name and JSON text.
    Params(Vec<(String, String)>),
    /// A JSON result (`null` for a proc that finished without a value), or
    /// `None` when there is none in view.
    Result(Option<String>),
    /// Names with results.
    Names(Vec<String>),
    /// The names a `create` or `run` returned, and how many of them are new.
    Created {
        /// The names, in order.
        names: Vec<String>,
        /// How many procs the call registered.
        new: usize,
    },
    /// The procs were started.
    Started,
    /// The states of the procs waited for.
    Statuses(Vec<ProcStatus>),
    /// The line typed.
    Input(String),
    /// The call failed; the proc sees the message.
    Error(SessionError),
}

/// Output of a running proc, as it travels to the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogChunk {
    /// Bytes the guest wrote to stdout or stderr.
    Output {
        /// Which stream.
        stream: Stream,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A `context.log` record.
    Record {
        /// Its level.
        level: LogLevel,
        /// Its text.
        message: String,
    },
}

/// Why a session or context call failed. `Display` keeps parproc's texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SessionError {
    /// The planner refused the call (usage error, failed callback, refused wait).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// One call needed more guest answers than any sane module asks.
    #[error("gave up after {0} guest callbacks for one request")]
    TooManyCallbacks(usize),
    /// `get-input` without `--input`.
    #[error("interactive input is not granted to this run; pass `--input` to allow it")]
    InputNotGranted,
    /// Reading the input failed.
    #[error("input failed: {0}")]
    Input(String),
    /// The session ended before the call was answered.
    #[error("the session is over")]
    Closed,
}

impl SessionError {
    /// Whether this is the planner's refusal of a wait that could never finish.
    pub fn is_refused_wait(&self) -> bool {
        matches!(self, SessionError::Plan(PlanError::WaitRefused(_)))
    }
}

/// One context call on its way to the driver.
#[derive(Debug)]
pub struct ContextCall {
    /// The calling proc.
    pub proc: ProcId,
    /// The call.
    pub request: ContextRequest,
    /// Where the answer goes.
    pub reply: oneshot::Sender<ContextReply>,
}

/// A running proc's link to the driver: context calls out, answers back, and
/// its log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProcChannel {
    proc: ProcId,
    calls: mpsc::UnboundedSender<ContextCall>,
    log: LogSink,
    answers: Option<Answers>,
}

/// The context calls a proc made and the digests of their answers, in order
/// (kept by [`ProcChannel::recording`]).
pub type Answers = std::sync::Arc<std::sync::Mutex<Vec<crate::trace::Answered>>>;

impl ProcChannel {
    /// A channel for `proc` sending its calls on `calls` and its output to `log`.
    pub fn new(proc: ProcId, calls: mpsc::UnboundedSender<ContextCall>, log: LogSink) -> Self {
        ProcChannel {
            proc,
            calls,
            log,
            answers: None,
        }
    }

    /// The same channel, also keeping each call and the digest of its answer
    /// in `answers` (an incremental run replays them on a later lookup).
    pub fn recording(mut self, answers: Answers) -> Self {
        self.answers = Some(answers);
        self
    }

    /// Ask the driver; an ended session answers [`SessionError::Closed`].
    pub async fn call(&self, request: ContextRequest) -> ContextReply {
        let (reply, rx) = oneshot::channel();
        // Params are in the proc's key: not a call to ask again.
        let asked = match (&self.answers, &request) {
            (Some(_), ContextRequest::Params) | (None, _) => None,
            (Some(_), r) => Some(r.clone()),
        };
        let call = ContextCall {
            proc: self.proc,
            request,
            reply,
        };
        if self.calls.send(call).is_err() {
            return ContextReply::Error(SessionError::Closed);
        }
        let reply = rx
            .await
            .unwrap_or(ContextReply::Error(SessionError::Closed));
        if let (Some(answers), Some(asked)) = (&self.answers, asked) {
            answers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(crate::trace::Answered {
                    answer: answer_digest(&reply),
                    asked,
                });
        }
        reply
    }

    /// Send output to the proc's log.
    pub fn log(&self, chunk: LogChunk) {
        match chunk {
            LogChunk::Output { stream, bytes } => self.log.write(stream, &bytes),
            LogChunk::Record { level, message } => self.log.log(level, &message),
        }
    }

    /// Write output without building a [`LogChunk`] (the in-process path).
    pub fn write(&self, stream: Stream, bytes: &[u8]) {
        self.log.write(stream, bytes);
    }

    /// The log as kept so far (the local runner reads a guest's panic message
    /// from it).
    pub fn sink(&self) -> &LogSink {
        &self.log
    }
}

/// Runs procs. One call per proc; the returned future may be dropped at any
/// await point (timeout, cancellation), which must leave the runner usable.
pub trait ProcRunner: Send + Sync + 'static {
    /// Run `launch`, serving its context calls and output through `channel`.
    fn run(&self, launch: Launch, channel: ProcChannel) -> BoxFuture<'static, RunReport>;
}

/// Answers the planner's questions for the guest (computed deps and choices).
pub trait Resolver: Send + Sync + 'static {
    /// Answer one request. A trap or exhausted budget is an `Err` answer, never a panic.
    fn resolve(&self, request: ResolveRequest) -> BoxFuture<'_, ResolveAnswer>;
}

/// What incremental runs remember between runs: the state store behind a seam
/// (docs/incremental.md). The driver computes each proc's key and decides
/// what may be cached; an implementation only stores and finds outcomes.
pub trait ResultCache: Send + Sync + 'static {
    /// The outcome recorded under `key`, as [`Outcome::UpToDate`] with the
    /// result restored, from an entry without a trace or whose trace still
    /// holds on the disk; `Ok(None)` when there is none. A damaged entry is an
    /// `Err` (the driver then runs the proc).
    fn lookup(&self, ask: Lookup) -> BoxFuture<'static, Result<Found, String>>;
    /// Remember `outcome` (a success) of the proc `proc` under `key`. It is
    /// durable when the future completes: the driver releases dependents only
    /// after that.
    fn record(
        &self,
        ask: Lookup,
        outcome: Outcome,
        trace: Option<crate::trace::Trace>,
        duration_ms: i64,
    ) -> BoxFuture<'static, Result<(), String>>;
}

/// A proc's key and what it was made of, for a lookup or a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    /// The key.
    pub key: Key,
    /// The proc's name.
    pub proc: String,
    /// What the key is the digest of (a JSON object), kept with the record so
    /// a later miss can say what changed (`--explain`).
    pub material: String,
    /// The proc's declared outputs: a recorded outcome is not used while one
    /// is missing or older than its `max_age`.
    #[serde(default)]
    pub outputs: Vec<crate::spec::OutputDecl>,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Found {
    /// A recorded outcome whose inputs still hold, restored
    /// ([`Outcome::UpToDate`]).
    Hit(Outcome),
    /// None: why the proc runs (`first run`, ``input `/data/a.txt` changed``, …).
    Miss(String),
    /// A recorded outcome whose reads still hold, made by a proc that called
    /// its context: the driver asks the recorded calls again, in order, and
    /// restores the outcome only when every answer is the one recorded
    /// (docs/incremental.md, "Context calls"); otherwise the proc runs.
    Replay {
        /// The outcome to restore ([`Outcome::UpToDate`]).
        outcome: Outcome,
        /// The calls and the digests of their answers.
        calls: Vec<crate::trace::Answered>,
    },
}

/// The digest (hex) of a context answer as a replay compares it: a proc told
/// `up-to-date` and one told `succeeded` got the same answer (both are a
/// success with the same result; only the label differs).
pub fn answer_digest(reply: &ContextReply) -> String {
    use crate::outcome::ProcState;
    let json = match reply {
        // Only a wait's answer is relabelled (a copy of it); a result, which
        // may be large, is digested as it is.
        ContextReply::Statuses(statuses)
            if statuses.iter().any(|s| s.state == ProcState::UpToDate) =>
        {
            let relabelled: Vec<_> = statuses
                .iter()
                .cloned()
                .map(|mut s| {
                    if s.state == ProcState::UpToDate {
                        s.state = ProcState::Succeeded;
                    }
                    s
                })
                .collect();
            serde_json::to_vec(&ContextReply::Statuses(relabelled))
        }
        other => serde_json::to_vec(other),
    };
    crate::digest::Digest::of(&json.unwrap_or_default()).to_hex()
}

/// A proc's cache key: the BLAKE3 digest of everything that can change its
/// outcome (docs/incremental.md, "What the key covers").
pub type Key = crate::digest::Digest;
