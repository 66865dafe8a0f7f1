//! parproc's `examples/success.py`: a small dependency chain where every proc succeeds, and a
//! skipped proc counts as a success.
//!
//! `skipped_task`, `func0` and `func1` start together; `func2` waits for `func0` and `func1`,
//! `func3` for `func2`, and `func4` for `func2` and `func3` (about 3 + 2 + 1 + 5 = 11 s).
//! The run succeeds; `skipped_task` ends as skipped.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/success/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/success.wasm
//! ```

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

/// Skips itself: nothing to do in this run.
#[proc(now)]
fn skipped_task() -> Result<(), Error> {
    Err(Error::skipped("Nothing to do for this run"))
}

/// Sleeps one second.
#[proc(now)]
fn func0() {
    sleep(Duration::from_secs(1));
}

/// Prints a line, then sleeps three seconds.
#[proc(now)]
fn func1() {
    println!("some output");
    sleep(Duration::from_secs(3));
}

/// Runs after func0 and func1; sleeps two seconds.
#[proc(now, deps = ["func0", "func1"])]
fn func2() {
    sleep(Duration::from_secs(2));
}

/// Runs after func2; sleeps one second.
#[proc(now, deps = ["func2"])]
fn func3() {
    sleep(Duration::from_secs(1));
}

/// Runs after func2 and func3; sleeps five seconds.
#[proc(now, deps = ["func2", "func3"])]
fn func4() {
    sleep(Duration::from_secs(5));
}

parproc_guest::export_jobs!(skipped_task, func0, func1, func2, func3, func4);
