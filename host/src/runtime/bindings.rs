//! Host bindings generated from `wit/parproc.wit`, world `jobs`.
//!
//! The context imports that ask the driver (`params`, `result`,
//! `result-names`, `create`, `start`, `run`, `wait`, `get-input`) are async; every import is trappable (`wasmtime::Result`), so
//! the host can stop a proc that pushes too much at it (a trap the runner
//! classifies) besides answering `Err` to what the guest may handle. Every
//! export is called asynchronously.

wasmtime::component::bindgen!({
    world: "jobs",
    path: "../wit",
    imports: {
        "parproc:jobs/context.create": async | trappable,
        "parproc:jobs/context.start": async | trappable,
        "parproc:jobs/context.run": async | trappable,
        "parproc:jobs/context.wait": async | trappable,
        "parproc:jobs/context.get-input": async | trappable,
        "parproc:jobs/context.params": async | trappable,
        "parproc:jobs/context.result": async | trappable,
        "parproc:jobs/context.result-names": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});

pub(crate) use parproc::jobs::types;

/// The exported interface names, as a component names them.
pub(crate) const DECLARATIONS: &str = "parproc:jobs/declarations@0.1.0";
/// See [`DECLARATIONS`].
pub(crate) const PROCS: &str = "parproc:jobs/procs@0.1.0";
/// The interface a job module may import besides WASI.
pub(crate) const CONTEXT: &str = "parproc:jobs/context@0.1.0";
