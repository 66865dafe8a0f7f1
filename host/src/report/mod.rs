//! Events out of the session, and what people and machines see of them.
//!
//! The session sends [`Event`]s to a [`Reporter`] (ninja's `Status`). The run's
//! reporter, [`RunReporter`], turns them into:
//!
//! - per-proc log files ([`logs`]) and the parts of them worth showing
//!   ([`snippet`], parproc's snippet extraction);
//! - terminal output ([`terminal`], the only module of the host that prints,
//!   with the text built by [`render`]): static lines or a live view whose
//!   estimate of the time left comes from earlier runs ([`history`]);
//! - machine-readable reports: JSON ([`json`], schema in `report.schema.json`)
//!   and JUnit XML ([`junit`]).
//!
//! [`graph`] renders the planned graph for `parproc-host graph`.

pub mod clock;
pub mod graph;
pub mod history;
pub mod json;
pub mod junit;
pub mod logs;
pub mod options;
pub mod render;
pub mod run;
pub mod snippet;
pub mod terminal;
pub mod timings;
pub mod trace;

pub use options::ReportArgs;
pub use run::RunReporter;

use std::time::Duration;

use crate::logsink::LogSink;
use crate::outcome::{Failure, ProcState};
use crate::spec::LogIgnore;

/// Everything known about one proc at the end (or so far).
#[derive(Debug, Clone)]
pub struct ProcRecord {
    /// The proc name.
    pub name: String,
    /// Its state.
    pub state: ProcState,
    /// Why it failed, if it did.
    pub failure: Option<Failure>,
    /// Its dep names.
    pub deps: Vec<String>,
    /// When it started, from the start of the run.
    pub started: Option<Duration>,
    /// How long it ran.
    pub duration: Option<Duration>,
    /// Fuel consumed.
    pub fuel_used: Option<u64>,
    /// Peak memory of its store.
    pub peak_memory: Option<u64>,
    /// Its JSON result, shared with the planner (held once).
    pub result: Option<std::sync::Arc<str>>,
    /// Its output.
    pub log: Option<LogSink>,
    /// The log-ignore rules of its declaration (they only affect what is shown).
    pub log_ignore: Vec<LogIgnore>,
    /// The locks it held while it ran (its declaration's).
    pub locks: Vec<String>,
    /// In an incremental run, why it ran, or was not remembered (`--explain`).
    pub why: Option<String>,
}

#[cfg(test)]
impl ProcRecord {
    /// A record of `name` in `state` with nothing else known (for tests).
    pub(crate) fn bare(name: &str, state: ProcState) -> Self {
        ProcRecord {
            name: name.into(),
            state,
            failure: None,
            deps: Vec::new(),
            started: None,
            duration: None,
            fuel_used: None,
            peak_memory: None,
            result: None,
            log: None,
            log_ignore: Vec::new(),
            locks: Vec::new(),
            why: None,
        }
    }
}

/// Something that happened in a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// A proc started.
    Started {
        /// Its name.
        name: &'a str,
    },
    /// A proc completed (ran, failed a dependency, or was cancelled).
    Finished(&'a ProcRecord),
}

/// Receives a run's events. Implementations must not block for long: the session
/// calls them while it holds its lock.
pub trait Reporter: Send + Sync + 'static {
    /// One event.
    fn event(&self, event: Event<'_>);

    /// Ask the user for one line of input (called on a blocking thread).
    fn prompt(&self, prompt: &str, password: bool) -> Result<String, String> {
        let _ = (prompt, password);
        Err("no terminal to ask for input".into())
    }
}

/// What the live view shows, published by the driver after every batch of
/// messages (reading it is O(1)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveCounts {
    /// Procs per state.
    pub counts: crate::plan::StateCounts,
    /// The parallel limit.
    pub parallel: usize,
    /// The first few WANTED procs.
    pub waiting_names: Vec<String>,
}

/// A reporter that ignores everything (tests, `--quiet` with no summary).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn event(&self, _event: Event<'_>) {}
}
