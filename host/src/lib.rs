//! parproc-host: runs parproc-style job graphs, every job in its own wasmtime store.
//!
//! ## Map
//!
//! The pure part lives in the `parproc-core` crate (no wasmtime, no tokio, no
//! I/O; re-exported here): [`spec`], [`plan`], [`outcome`], [`budget`] and
//! [`units`]. See `docs/architecture.md` for who imports whom.
//!
//! - [`session`]: the session handle and the driver loop that owns the planner.
//! - [`exec`]: the seams ([`exec::ProcRunner`], [`exec::Resolver`]) and the
//!   serialisable messages a runner exchanges with the driver.
//! - [`policy`]: budgets per proc (defaults, pattern rules, the module's lower
//!   limits) and capability grants; what `--dry-run` prints.
//! - [`runtime`]: the only module that names wasmtime.
//! - [`logsink`]: the bounded per-proc log; [`jsontext`]: the one check of
//!   JSON text from a guest or the command line (syntax and depth).
//! - [`store`]: the state store of incremental runs (SQLite and a
//!   content-addressed blob directory); [`trace`]: what a proc saw of its
//!   granted directories, checked again against the disk; [`statcache`]: file
//!   digests remembered by identity and stamp, so that check reads only what
//!   changed.
//! - [`watch`]: what `watch` watches after a run, and which procs a change
//!   makes dirty.
//! - [`report`]: events to people and machines; [`report::terminal`] is the only
//!   module that prints.
//! - [`componentize`]: C bindings and components from preview1 core modules
//!   (other languages than our SDKs').
//! - [`interrupt`]: SIGINT/SIGTERM from the start of every command;
//!   [`fdlimit`]: the descriptor limit and each proc's share of it.
//! - [`cli`] and [`main_with`]: the command line.
//!
//! A proc's failure is a value ([`outcome::Outcome`]), never an `Err`: only host
//! problems (an unreadable module, a bad target) travel as errors (exit status 2).

#![warn(missing_docs)]

pub mod cli;
mod commands;
pub mod componentize;
pub mod declared;
pub mod digest;
pub mod exec;
pub mod fdlimit;
pub mod interrupt;
pub mod policy;
mod privdir;
pub mod remote;
pub mod report;
pub mod runtime;
pub mod session;
pub mod statcache;
pub mod store;
pub mod trace;
pub mod watch;

pub use parproc_core::{budget, jsontext, logsink, outcome, plan, spec, units};

pub use commands::{ExitStatus, main_with, render_list, run};
