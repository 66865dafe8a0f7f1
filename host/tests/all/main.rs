//! The one integration-test binary of the host (wasmtime's `tests/all` layout).
//!
//! Guests are built by `parproc-test-artifacts` (`tests/programs/*`) and found
//! through its path constants.

/// The compile cache every `parproc-host` the tests start shares (so a module
/// compiles once per test run, and the user's own cache is left alone).
pub fn test_cache_dir() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"))
}

/// A fresh, empty directory `NAME-PID` under the test target dir (a test's own
/// scratch space; the pid keeps concurrent test runs apart).
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

mod c_sdk;
mod certs;
mod cli;
mod distributed;
mod fpga;
mod harness;
mod hostile;
mod http;
mod incremental;
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
mod scenarios_incremental;
mod scenarios_locks;
mod scenarios_proto;
mod scenarios_rdeps;
mod scenarios_ws;
mod sdk_incremental;
mod state_cli;
mod tools;
mod watch;
