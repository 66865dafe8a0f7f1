//! The one integration-test binary of the host (wasmtime's `tests/all` layout).
//!
//! Guests are built by `parproc-test-artifacts` (`tests/programs/*`) and found
//! through its path constants.

mod cli;
mod harness;
mod hostile;
mod live;
mod polyglot;
mod report;
mod runtime;
mod sandbox_cli;
mod scenarios_argc;
mod scenarios_basic;
mod scenarios_context;
mod scenarios_decl;
mod scenarios_examples;
mod scenarios_locks;
mod scenarios_proto;
mod scenarios_rdeps;
mod scenarios_ws;
