//! The one wasmtime [`Engine`] of the process and its configuration.
//!
//! Fuel metering is the only instrumentation (no epochs): every store gets a
//! deterministic CPU budget, and [`YIELD_INTERVAL`] fuel between yield points
//! lets tokio run other tasks while a guest spins, so a wall-clock limit can be
//! a host timer that drops the run future. Code is compiled by Cranelift.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Strategy,
    WasmBacktraceDetails,
};

/// Fuel consumed between two yields to the async executor (about a millisecond
/// of guest compute).
pub(crate) const YIELD_INTERVAL: u64 = 20_000_000;

/// What sets one engine apart from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EngineKind {
    /// Fuel metering on.
    pub(crate) metered: bool,
    /// Component instances of the pooling allocator, or `None` to allocate on
    /// demand.
    pub(crate) pool: Option<u32>,
}

/// The engine of `kind`, created on first use and shared afterwards.
pub(crate) fn shared(kind: EngineKind) -> wasmtime::Result<Engine> {
    static ENGINES: OnceLock<Mutex<HashMap<EngineKind, Result<Engine, String>>>> = OnceLock::new();
    let mut engines = ENGINES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    engines
        .entry(kind)
        .or_insert_with(|| Engine::new(&config(kind)).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| wasmtime::Error::msg(format!("cannot create the wasm engine: {e}")))
}

/// The most core instances, memories and tables one component may have in a
/// pooled engine (a componentize-py component has about a dozen core
/// instances; a Rust one has three or four).
const POOL_CORE_INSTANCES: u32 = 64;
const POOL_MEMORIES: u32 = 8;
const POOL_TABLES: u32 = 16;

/// The engine configuration: fuel, Cranelift, no DWARF lookups on traps,
/// exception handling, and the pooling allocator when asked for.
fn config(kind: EngineKind) -> Config {
    let mut config = Config::new();
    config
        .strategy(Strategy::Cranelift)
        .cranelift_opt_level(OptLevel::Speed)
        .consume_fuel(kind.metered)
        .wasm_backtrace_details(WasmBacktraceDetails::Disable)
        // Existing WASI tools (Yosys and the other YoWASP builds) use the
        // exception-handling proposal; wasmtime has it with its `gc` feature
        // (the deferred reference-counting collector, `gc-drc`).
        .wasm_exceptions(true);
    if let Some(instances) = kind.pool {
        // Slots are reserved address space, not memory: a memory slot can hold
        // a whole 4 GiB wasm32 memory, so any `--max-memory` fits (the store's
        // limiter enforces the cap). Stores beyond `instances` cannot exist:
        // the session keeps live stores under `--max-live`.
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(POOL_CORE_INSTANCES / 4).max(64))
            .total_memories(instances.saturating_mul(2).max(POOL_MEMORIES))
            .total_tables(instances.saturating_mul(4).max(POOL_TABLES))
            .total_stacks(instances)
            .max_core_instances_per_component(POOL_CORE_INSTANCES)
            .max_memories_per_component(POOL_MEMORIES)
            .max_tables_per_component(POOL_TABLES)
            .max_memory_size(1 << 32)
            .table_elements(1 << 16);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}
