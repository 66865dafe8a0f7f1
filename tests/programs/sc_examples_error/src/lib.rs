//! Scenario fixture: parproc's `examples/error.py` (S-EX-02) with every sleep scaled by 0.1:
//! two procs fail, the other three still run to the end.

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

/// parproc's `sleep(s)` scaled by 0.1: `tenths` is the original number of seconds.
fn nap(tenths: u64) {
    sleep(Duration::from_millis(100 * tenths));
}

#[proc(now)]
fn func0() -> Result<(), Error> {
    nap(1);
    println!("Internal error caused by X");
    Err(Error::failed("Failure"))
}

#[proc(now)]
fn func1() -> Result<(), Error> {
    nap(3);
    println!("Another internal error message");
    Err(Error::failed("Failure"))
}

#[proc(now)]
fn func2() {
    nap(2);
}

#[proc(now)]
fn func3() {
    nap(1);
}

#[proc(now)]
fn func4() {
    nap(5);
}

parproc_guest::export_jobs!(func0, func1, func2, func3, func4);
