//! How procs end: states, failures and outcomes. A failure is a value, never an `Err`.

use std::fmt;

/// Why a proc did not succeed (mirrors the WIT `failure-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FailureKind {
    /// The proc returned `failed`.
    Failed,
    /// A dependency failed.
    DepFailed,
    /// A dependency does not exist.
    DepMissing,
    /// `NO_FAILURES` tripped.
    NoFailures,
    /// The wall-clock timeout passed.
    TimedOut,
    /// The fuel budget ran out.
    OutOfFuel,
    /// The memory cap was reached.
    MemoryLimit,
    /// The guest trapped.
    Trapped,
    /// Something went past a host size limit.
    TooLarge,
    /// A wait that could never finish.
    Deadlock,
    /// A capability was not granted.
    NotGranted,
    /// Stopped by the host.
    Cancelled,
    /// The host could not run the proc.
    HostError,
    /// Not a failure: the proc ended SKIPPED saying nothing changed
    /// (parproc's NO_CHANGE, code 8); kept as its record's reason so the
    /// terminal, the report and JUnit tell it from a plain skip.
    NoChange,
}

impl FailureKind {
    /// A short lowercase label (`out of fuel`) for summaries.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Failed => "failed",
            FailureKind::DepFailed => "dependency failed",
            FailureKind::DepMissing => "dependency missing",
            FailureKind::NoFailures => "run aborted",
            FailureKind::TimedOut => "timed out",
            FailureKind::OutOfFuel => "out of fuel",
            FailureKind::MemoryLimit => "memory limit exceeded",
            FailureKind::Trapped => "trapped",
            FailureKind::TooLarge => "too large",
            FailureKind::Deadlock => "deadlock",
            FailureKind::NotGranted => "not granted",
            FailureKind::Cancelled => "cancelled",
            FailureKind::HostError => "host error",
            FailureKind::NoChange => "no change",
        }
    }
}

/// A failure: its kind and parproc's message text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// The kind.
    pub kind: FailureKind,
    /// The message (`canceled due to failure of "x"`), possibly empty.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` with `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.kind.label())
        } else {
            f.write_str(&self.message)
        }
    }
}

/// How a proc that ran (or was stopped) ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// Finished with a JSON result.
    Succeeded(String),
    /// Skipped itself (`no_change` for parproc's `ProcNoChangeError`); success downstream.
    Skipped {
        /// True for "no change", false for "skipped".
        no_change: bool,
        /// The guest's message (parproc discards it; we keep it for the log).
        message: String,
    },
    /// Failed.
    Failed(Failure),
    /// Did not run: the state store held an outcome for exactly these inputs,
    /// and its JSON result was restored (docs/incremental.md).
    UpToDate(String),
}

/// A proc's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ProcState {
    /// Exists, not scheduled.
    Idle,
    /// Scheduled, not yet running.
    Wanted,
    /// Running or blocked in a wait.
    Running,
    /// Finished with a result.
    Succeeded,
    /// Ran and failed.
    Failed,
    /// Never ran because of a dependency.
    FailedDep,
    /// Skipped or no change.
    Skipped,
    /// Stopped by the host.
    Cancelled,
    /// Did not run: its cached outcome was restored (parproc's `UP_TO_DATE`).
    UpToDate,
}

impl ProcState {
    /// True for every finished state.
    pub fn is_complete(self) -> bool {
        !matches!(
            self,
            ProcState::Idle | ProcState::Wanted | ProcState::Running
        )
    }

    /// True for states dependents treat as success.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            ProcState::Succeeded | ProcState::Skipped | ProcState::UpToDate
        )
    }

    /// True for states dependents treat as failure.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            ProcState::Failed | ProcState::FailedDep | ProcState::Cancelled
        )
    }

    /// parproc's upper-case state name (`FAILED_DEP`).
    pub fn name(self) -> &'static str {
        match self {
            ProcState::Idle => "IDLE",
            ProcState::Wanted => "WANTED",
            ProcState::Running => "RUNNING",
            ProcState::Succeeded => "SUCCEEDED",
            ProcState::Failed => "FAILED",
            ProcState::FailedDep => "FAILED_DEP",
            ProcState::Skipped => "SKIPPED",
            ProcState::Cancelled => "CANCELLED",
            ProcState::UpToDate => "UP_TO_DATE",
        }
    }
}

impl fmt::Display for ProcState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One proc's state as a wait reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcStatus {
    /// The proc name.
    pub name: String,
    /// Its state.
    pub state: ProcState,
    /// The failure kind, for failure states.
    pub failure: Option<FailureKind>,
    /// parproc's message text, or "".
    pub message: String,
}
