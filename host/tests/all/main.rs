//! The one integration-test binary of the host (wasmtime's `tests/all` layout).
//!
//! Guests are built by `parproc-test-artifacts` (`tests/programs/*`) and found
//! through its path constants.

mod cli;
mod live;
mod runtime;
