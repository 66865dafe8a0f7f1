//! parproc-core: the pure heart of parproc.
//!
//! Everything here is a synchronous computation on values: no wasmtime, no
//! tokio, no filesystem, environment, process or network use (clippy's
//! `disallowed-methods` in this crate's `clippy.toml` enforces the last four).
//! Its tests run in milliseconds without building a wasm engine.
//!
//! - [`spec`]: what a job module declares, in host terms; name patterns.
//! - [`plan`]: the planner (states, deps, rdeps, waves, locks, NO_FAILURES,
//!   `now`, the parallel and live-store limits); see `docs/planner.md`.
//! - [`outcome`]: how a proc ended, and its reported state.
//! - [`budget`]: per-proc budgets: defaults, pattern rules and the module's own
//!   lower limits.
//! - [`units`]: the one place sizes, counts and durations are parsed and shown.
//! - [`logsink`]: a proc's bounded log; [`jsontext`]: the one JSON check for
//!   results and params; [`text`]: the terminal sanitiser for guest text (the
//!   fuzz targets, `fuzz/`, build on this crate alone).

#![warn(missing_docs)]

pub mod budget;
pub mod jsontext;
pub mod logsink;
pub mod outcome;
pub mod plan;
pub mod spec;
pub mod text;
pub mod units;
