//! The benchmark graphs (`bench/`, `host/benches/scale.rs`), sized by the `n` param:
//!
//! - fan-out: `t::0` … `t::{n-1}` (no deps) and `sink`, which depends on `t::*`;
//! - chain: `c::0` … `c::{n-1}`, `c::i` depending on `c::{i-1}`; target `c::*` (every
//!   link, created in order);
//! - lattice: `l::d::w` for `d < n/100`, `w < 100`, each depending on `l::{d-1}::w` and
//!   `l::{d-1}::{(w+1)%100}`, and `lsink` depending on the last layer; targets `l::*::*`
//!   (layer by layer) and `lsink`.
//!
//! (Targeting `c::{n-1}` alone would create the chain by recursion through the deps, which
//! the host bounds at 256 levels.)
//!
//! Every proc of the graphs is a no-op. `spin::[k]` is CPU-bound: `k` rounds of an
//! xorshift step, for the cost of fuel metering.
//!
//! `read::[i]` (for `i < n`, target `read::*`) reads the granted directory `/data`:
//! the files `/data/<i>/0.bin` … `/data/<i>/99.bin`, for the cost of traced reads in an
//! incremental run (`bench/incremental.sh`).

use parproc_guest::prelude::*;

/// Lattice width.
const WIDTH: u32 = 100;

fn n(d: &DepContext) -> u32 {
    d.param("n").unwrap_or(1000)
}

fn arg(d: &DepContext, name: &str) -> u32 {
    d.arg(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn fan_choices(d: &DepContext) -> Vec<u32> {
    (0..n(d)).collect()
}

/// A fan-out leaf.
#[proto(name = "t::[i]", choices(i = fan_choices))]
fn t(_i: u32) {}

/// The fan-out sink (a proto without placeholders, so that it and its deps are created only
/// when a run targets it: a plain proc's deps are created when the module is loaded).
#[proto(name = "sink", deps = ["t::*"])]
fn sink() {}

fn chain_dep(d: &DepContext) -> Option<String> {
    let i = arg(d, "i");
    (i > 0).then(|| format!("c::{}", i - 1))
}

/// A chain link.
#[proto(name = "c::[i]", deps = [chain_dep], choices(i = fan_choices))]
fn c(_i: u32) {}

fn lattice_deps(d: &DepContext) -> Vec<String> {
    let (layer, w) = (arg(d, "d"), arg(d, "w"));
    if layer == 0 {
        return Vec::new();
    }
    vec![
        format!("l::{}::{w}", layer - 1),
        format!("l::{}::{}", layer - 1, (w + 1) % WIDTH),
    ]
}

fn layers(d: &DepContext) -> Vec<u32> {
    (0..n(d) / WIDTH).collect()
}

fn columns(_d: &DepContext) -> Vec<u32> {
    (0..WIDTH).collect()
}

/// A lattice node.
#[proto(name = "l::[d]::[w]", deps = [lattice_deps], choices(d = layers, w = columns))]
fn l(_d: u32, _w: u32) {}

fn lsink_deps(d: &DepContext) -> Vec<String> {
    let last = (n(d) / WIDTH).saturating_sub(1);
    (0..WIDTH).map(|w| format!("l::{last}::{w}")).collect()
}

/// The lattice sink (a proto, like `sink`).
#[proto(name = "lsink", deps = [lsink_deps])]
fn lsink() {}

/// CPU-bound: `k` xorshift rounds; returns the final state so nothing is optimised away.
#[proto(name = "spin::[k]")]
fn spin(k: u64) -> Result<u64, Error> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..k {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    Ok(x)
}

/// Files each `read::[i]` reads.
const FILES_PER_READ: u32 = 100;

/// Reads `/data/<i>/0.bin` … `/data/<i>/99.bin`; returns the total byte count.
#[proto(name = "read::[i]", choices(i = fan_choices), needs(dirs = ["/data"]))]
fn read(i: u32) -> Result<u64, Error> {
    let mut total = 0;
    for j in 0..FILES_PER_READ {
        let path = format!("/data/{i}/{j}.bin");
        let bytes = std::fs::read(&path).map_err(|e| Error::failed(format!("{path}: {e}")))?;
        total += bytes.len() as u64;
    }
    Ok(total)
}

/// Returns a text of the param `bytes` bytes (default 1): what holding results costs the
/// host (`--param n=40 --param bytes=15728640 --parallel 4 'big::*'`).
#[proto(name = "big::[i]", choices(i = fan_choices))]
fn big(ctx: &Context, _i: u32) -> Result<String, Error> {
    let n: usize = ctx.param("bytes").unwrap_or(1);
    Ok("x".repeat(n))
}

parproc_guest::export_jobs!(t, sink, c, l, lsink, spin, read, big; params(n = 1000));
