//! Waves: every scheduled proc of a lower wave completes before a higher wave starts,
//! whatever the registration order (parproc's waves example: A, B, D, C).
//!
//! `a` (wave 0), `b` (wave 0, deps `a`), `c` (wave 2, deps `b`), `d` (wave 1). Starting
//! `c` and `d` runs `a`, `b`, then `d`, then `c`.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/waves/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/waves.wasm
//! ```

use parproc_guest::prelude::*;

fn stamp(name: &str) -> Result<String, Error> {
    std::thread::sleep(std::time::Duration::from_millis(100));
    Ok(name.to_owned())
}

/// Wave 0.
#[proc]
fn a(_ctx: &Context) -> Result<String, Error> {
    stamp("a")
}

/// Wave 0, after `a`.
#[proc(deps = ["a"])]
fn b(_ctx: &Context) -> Result<String, Error> {
    stamp("b")
}

/// Wave 2, after `b` (and after every wave-1 proc).
#[proc(deps = ["b"], wave = 2)]
fn c(_ctx: &Context) -> Result<String, Error> {
    stamp("c")
}

/// Wave 1: waits for the wave-0 procs although it has no deps.
#[proc(wave = 1)]
fn d(_ctx: &Context) -> Result<String, Error> {
    stamp("d")
}

parproc_guest::export_jobs!(a, b, c, d; targets = ["c", "d"]);
