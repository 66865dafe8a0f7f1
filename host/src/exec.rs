//! The seams between the session and the outside world: how procs run
//! ([`ProcRunner`]) and how guest callbacks are answered ([`Resolver`]).
//!
//! The real implementations live in [`crate::runtime`]; tests of the session use
//! fakes, so no wasm is compiled for them (ninja's `CommandRunner`).

use std::future::Future;
use std::pin::Pin;

use crate::logsink::LogSink;
use crate::outcome::Outcome;
use crate::plan::{ResolveAnswer, ResolveRequest};
use crate::session::ProcContext;
use crate::spec::{Needs, Value};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use parproc_core::budget::Budget;

/// Everything a runner needs to run one proc.
#[derive(Debug, Clone)]
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
}

/// What a runner reports for one proc.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Fuel consumed, when metered.
    pub fuel_used: Option<u64>,
    /// Peak memory of the store in bytes, when known.
    pub peak_memory: Option<u64>,
}

/// Runs procs. One call per proc; the returned future may be dropped at any
/// await point (timeout, cancellation), which must leave the runner usable.
pub trait ProcRunner: Send + Sync + 'static {
    /// Run `launch`; `ctx` serves the proc's context calls; guest output goes to `log`.
    fn run(&self, launch: Launch, ctx: ProcContext, log: LogSink) -> BoxFuture<'static, RunReport>;
}

/// Answers the planner's questions for the guest (computed deps and choices).
pub trait Resolver: Send + Sync + 'static {
    /// Answer one request. A trap or exhausted budget is an `Err` answer, never a panic.
    fn resolve(&self, request: ResolveRequest) -> BoxFuture<'_, ResolveAnswer>;
}
