//! Locks: procs holding the same named lock never overlap, and a proc waiting for a
//! lock never holds back procs that need other locks.
//!
//! `l1` holds `a`, `l2` holds `a` and `b`, `l3` holds `b`, `free` holds nothing. `l1`,
//! `l3` and `free` run together; `l2` runs once both locks are free.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/locks/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/locks.wasm
//! ```

use parproc_guest::prelude::*;

fn work() -> Result<(), Error> {
    std::thread::sleep(std::time::Duration::from_millis(300));
    Ok(())
}

/// Holds lock `a`.
#[proc(now, locks = ["a"])]
fn l1(_ctx: &Context) -> Result<(), Error> {
    work()
}

/// Holds locks `a` and `b`.
#[proc(now, locks = ["a", "b"])]
fn l2(_ctx: &Context) -> Result<(), Error> {
    work()
}

/// Holds lock `b`.
#[proc(now, locks = ["b"])]
fn l3(_ctx: &Context) -> Result<(), Error> {
    work()
}

/// Holds no lock.
#[proc(now)]
fn free(_ctx: &Context) -> Result<(), Error> {
    work()
}

parproc_guest::export_jobs!(l1, l2, l3, free);
