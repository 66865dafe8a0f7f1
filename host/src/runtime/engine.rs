//! The one wasmtime [`Engine`] of the process and its configuration.
//!
//! Fuel metering is the only instrumentation (no epochs): every store gets a
//! deterministic CPU budget, and [`YIELD_INTERVAL`] fuel between yield points
//! lets tokio run other tasks while a guest spins, so a wall-clock limit can be
//! a host timer that drops the run future. Code is compiled by Cranelift.

use std::sync::OnceLock;

use wasmtime::{Config, Engine, OptLevel, Strategy, WasmBacktraceDetails};

/// Fuel consumed between two yields to the async executor (about a millisecond
/// of guest compute).
pub(crate) const YIELD_INTERVAL: u64 = 20_000_000;

/// The shared engine, created on first use.
pub(crate) fn shared() -> wasmtime::Result<Engine> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Engine::new(&config()).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| wasmtime::Error::msg(format!("cannot create the wasm engine: {e}")))
}

/// The engine configuration: fuel, Cranelift, no DWARF lookups on traps.
fn config() -> Config {
    let mut config = Config::new();
    config
        .strategy(Strategy::Cranelift)
        .cranelift_opt_level(OptLevel::Speed)
        .consume_fuel(true)
        .wasm_backtrace_details(WasmBacktraceDetails::Disable);
    config
}
