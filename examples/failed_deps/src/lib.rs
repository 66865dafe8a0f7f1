//! parproc's `examples/failed_deps.py`: a failure cancels only its own subtree.
//!
//! Two trees of procs run side by side. In the `a` tree everything succeeds. In the `x` tree
//! the root `x` fails, so `x_a` and `x_b` end as failed-dep (`canceled due to failure of "x"`)
//! and so do `x_a_a` and `x_a_b` (`canceled due to failure of "x_a"`); none of their bodies
//! run. The run fails.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/failed_deps/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/failed_deps.wasm
//! ```

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

fn nap(seconds: u64) {
    sleep(Duration::from_secs(seconds));
}

/// Root of the tree that succeeds.
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

/// Root of the tree that fails.
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

parproc_guest::export_jobs!(a, a_a, a_b, a_a_a, a_a_b, x, x_a, x_b, x_a_a, x_a_b);
