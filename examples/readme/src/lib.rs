//! The first example of parproc's README: three procs, the third waiting for the other two.
//!
//! `func0` sleeps 1 s and `func1` 3 s, in parallel; `func2` depends on both, sleeps 2 s and
//! returns a summary built from their results. All three are `now`, so a plain run starts
//! them (about 5 s in total).
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/readme/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/readme.wasm
//! ```

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

/// Sleeps one second.
#[proc(now)]
fn func0(_ctx: &Context) -> Result<u64, Error> {
    sleep(Duration::from_secs(1));
    Ok(1)
}

/// Sleeps three seconds.
#[proc(now)]
fn func1(_ctx: &Context) -> Result<u64, Error> {
    sleep(Duration::from_secs(3));
    Ok(3)
}

/// Runs after func0 and func1, then sleeps two seconds.
#[proc(now, deps = ["func0", "func1"])]
fn func2(ctx: &Context) -> Result<String, Error> {
    let slept: u64 = ["func0", "func1"]
        .iter()
        .filter_map(|dep| ctx.result::<u64>(dep))
        .sum();
    sleep(Duration::from_secs(2));
    Ok(format!("func0 and func1 slept {slept} s, func2 slept 2 s"))
}

parproc_guest::export_jobs!(func0, func1, func2);
