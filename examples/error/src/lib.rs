//! parproc's `examples/error.py`: two procs fail, and the independent ones still run.
//!
//! `func0` and `func1` print a line and fail with `Failure` after 1 s and 3 s; `func2`,
//! `func3` and `func4` succeed. The run fails (exit status 1) after about 5 s.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/error/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/error.wasm
//! ```

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

/// Fails after one second.
#[proc(now)]
fn func0() -> Result<(), Error> {
    sleep(Duration::from_secs(1));
    println!("Internal error caused by X");
    Err(Error::failed("Failure"))
}

/// Fails after three seconds.
#[proc(now)]
fn func1() -> Result<(), Error> {
    sleep(Duration::from_secs(3));
    println!("Another internal error message");
    Err(Error::failed("Failure"))
}

/// Sleeps two seconds.
#[proc(now)]
fn func2() {
    sleep(Duration::from_secs(2));
}

/// Sleeps one second.
#[proc(now)]
fn func3() {
    sleep(Duration::from_secs(1));
}

/// Sleeps five seconds.
#[proc(now)]
fn func4() {
    sleep(Duration::from_secs(5));
}

parproc_guest::export_jobs!(func0, func1, func2, func3, func4);
