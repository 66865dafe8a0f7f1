//! Scenario fixture: parproc's `examples/success.py` (S-EX-01) and `examples/failed_deps.py`
//! (S-EX-03) with every sleep scaled by 0.1 (the scenarios allow one common factor; only the
//! ordering matters).

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

/// parproc's `sleep(s)` scaled by 0.1: `tenths` is the original number of seconds.
fn nap(tenths: u64) {
    sleep(Duration::from_millis(100 * tenths));
}

// ---- S-EX-01: success.py ----------------------------------------------------------------

#[proc(now)]
fn skipped_task() -> Result<(), Error> {
    Err(Error::skipped("Nothing to do for this run"))
}

#[proc(now)]
fn func0() {
    nap(1);
}

#[proc(now)]
fn func1() {
    println!("some output");
    nap(3);
}

#[proc(now, deps = ["func0", "func1"])]
fn func2() {
    nap(2);
}

#[proc(now, deps = ["func2"])]
fn func3() {
    nap(1);
}

#[proc(now, deps = ["func2", "func3"])]
fn func4() {
    nap(5);
}

// ---- S-EX-03: failed_deps.py ---------------------------------------------------------------

#[proc(now)]
fn a() {
    nap(1);
}

#[proc(now, deps = ["a"])]
fn a_a() {
    nap(3);
}

#[proc(now, deps = ["a"])]
fn a_b() {
    nap(2);
}

#[proc(now, deps = ["a_a"])]
fn a_a_a() {
    nap(1);
}

#[proc(now, deps = ["a_a"])]
fn a_a_b() {
    nap(1);
}

#[proc(now)]
fn x() -> Result<(), Error> {
    nap(1);
    println!("Internal error caused by x");
    Err(Error::failed("Failure"))
}

#[proc(now, deps = ["x"])]
fn x_a() {
    nap(3);
}

#[proc(now, deps = ["x"])]
fn x_b() {
    nap(2);
}

#[proc(now, deps = ["x_a"])]
fn x_a_a() {
    nap(1);
}

#[proc(now, deps = ["x_a"])]
fn x_a_b() {
    nap(1);
}

parproc_guest::export_jobs!(
    skipped_task,
    func0,
    func1,
    func2,
    func3,
    func4,
    a,
    a_a,
    a_b,
    a_a_a,
    a_a_b,
    x,
    x_a,
    x_b,
    x_a_a,
    x_a_b,
);
