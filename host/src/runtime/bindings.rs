//! Host bindings generated from `wit/parproc.wit` (`parproc:jobs@0.2.0`,
//! world `jobs`), and from `wit/compat/parproc-0.1.0.wit` for modules built
//! against 0.1.0 ([`v0_1`]).
//!
//! The context imports that ask the driver (`params`, `result`,
//! `result-names`, `create`, `start`, `run`, `wait`, `get-input`) are async; every import is trappable (`wasmtime::Result`), so
//! the host can stop a proc that pushes too much at it (a trap the runner
//! classifies) besides answering `Err` to what the guest may handle. Every
//! export is called asynchronously.
//!
//! A module is either version ([`JobsPre`] / [`Jobs`] hide which): 0.1.0 has
//! no incremental options, no `resolve-inputs` and no `up-to-date` state, and
//! its types are otherwise the same, so its values are carried over to the
//! current ones through serde ([`carry`]).

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::state::HostState;

/// The bindings of the `jobs` world of the WIT at `$path`, with the same
/// async and trappable imports for every version.
macro_rules! jobs_bindings {
    ($path:literal $(, $with:tt)?) => {
        wasmtime::component::bindgen!({
            world: "jobs",
            path: $path,
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
            additional_derives: [serde::Serialize, serde::Deserialize],
            $(with: $with,)?
        });
    };
}

mod current {
    // `wasi:http/outgoing-handler` and what it uses are wasmtime-wasi-http's
    // and wasmtime-wasi's own types, linked by `http::add_to_linker`.
    jobs_bindings!("../wit", {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    });
}

/// The bindings of `parproc:jobs@0.1.0`, for modules built against it.
pub(crate) mod v0_1 {
    jobs_bindings!("../wit/compat/parproc-0.1.0.wit");
}

pub(crate) use current::parproc::jobs::{context, types};

/// The exported interface names, as a component names them.
pub(crate) const DECLARATIONS: &str = "parproc:jobs/declarations@0.2.0";
/// See [`DECLARATIONS`].
pub(crate) const PROCS: &str = "parproc:jobs/procs@0.2.0";
/// The interface a job module may import besides WASI.
pub(crate) const CONTEXT: &str = "parproc:jobs/context@0.2.0";
/// [`DECLARATIONS`] of a module built against 0.1.0.
pub(crate) const DECLARATIONS_0_1: &str = "parproc:jobs/declarations@0.1.0";
/// [`CONTEXT`] of a module built against 0.1.0.
pub(crate) const CONTEXT_0_1: &str = "parproc:jobs/context@0.1.0";

/// A value of one version's type as the same value of the other's: the types
/// differ only by what 0.2.0 added, which [`upgrade_manifest`] fills in.
pub(crate) fn carry<T: Serialize, U: DeserializeOwned>(value: &T) -> wasmtime::Result<U> {
    let json = serde_json::to_value(value)?;
    Ok(serde_json::from_value(json)?)
}

/// A 0.1.0 manifest as the current one: no incremental options, tools or HTTP.
fn upgrade_manifest(
    old: &v0_1::parproc::jobs::types::Manifest,
) -> wasmtime::Result<types::Manifest> {
    let mut json = serde_json::to_value(old)?;
    let none = serde_json::to_value(types::Incremental {
        inputs: Vec::new(),
        inputs_ignore: Vec::new(),
        outputs: Vec::new(),
        no_skip: false,
    })?;
    if let Some(jobs) = json.get_mut("jobs").and_then(|j| j.as_array_mut()) {
        for job in jobs {
            if let Some(job) = job.as_object_mut() {
                job.insert("incremental".into(), none.clone());
                if let Some(needs) = job.get_mut("needs").and_then(|n| n.as_object_mut()) {
                    needs.insert("tools".into(), serde_json::Value::Array(Vec::new()));
                    needs.insert("http".into(), serde_json::Value::Array(Vec::new()));
                }
            }
        }
    }
    if let Some(options) = json.get_mut("options").and_then(|o| o.as_object_mut()) {
        options.insert("task_db".into(), serde_json::Value::Null);
        options.insert("inputs_ignore".into(), serde_json::Value::Array(Vec::new()));
    }
    Ok(serde_json::from_value(json)?)
}

/// A module pre-instantiated against either version.
pub(crate) enum JobsPre {
    /// `parproc:jobs@0.2.0`.
    Current(current::JobsPre<HostState>),
    /// `parproc:jobs@0.1.0`.
    V0_1(v0_1::JobsPre<HostState>),
}

impl JobsPre {
    /// Type-check `pre` against the version the component exports.
    pub(crate) fn new(pre: InstancePre<HostState>, old: bool) -> wasmtime::Result<JobsPre> {
        Ok(match old {
            false => JobsPre::Current(current::JobsPre::new(pre)?),
            true => JobsPre::V0_1(v0_1::JobsPre::new(pre)?),
        })
    }

    /// A fresh instance in `store`.
    pub(crate) async fn instantiate_async(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Jobs> {
        Ok(match self {
            JobsPre::Current(pre) => Jobs::Current(pre.instantiate_async(store).await?),
            JobsPre::V0_1(pre) => Jobs::V0_1(pre.instantiate_async(store).await?),
        })
    }
}

/// An instance of a module of either version; its calls speak the current types.
pub(crate) enum Jobs {
    /// `parproc:jobs@0.2.0`.
    Current(current::Jobs),
    /// `parproc:jobs@0.1.0`.
    V0_1(v0_1::Jobs),
}

impl Jobs {
    /// `declarations.describe`.
    pub(crate) async fn describe(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<types::Manifest> {
        match self {
            Jobs::Current(j) => j.parproc_jobs_declarations().call_describe(store).await,
            Jobs::V0_1(j) => {
                let old = j.parproc_jobs_declarations().call_describe(store).await?;
                upgrade_manifest(&old)
            }
        }
    }

    /// `declarations.resolve-deps`.
    pub(crate) async fn resolve_deps(
        &self,
        store: &mut Store<HostState>,
        decl: &str,
        index: u32,
        ctx: &types::DepContext,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        match self {
            Jobs::Current(j) => {
                j.parproc_jobs_declarations()
                    .call_resolve_deps(store, decl, index, ctx)
                    .await
            }
            Jobs::V0_1(j) => {
                j.parproc_jobs_declarations()
                    .call_resolve_deps(store, decl, index, &carry(ctx)?)
                    .await
            }
        }
    }

    /// `declarations.resolve-choices`.
    pub(crate) async fn resolve_choices(
        &self,
        store: &mut Store<HostState>,
        decl: &str,
        param: Option<&str>,
        ctx: &types::DepContext,
    ) -> wasmtime::Result<Result<Vec<(String, Vec<types::Value>)>, String>> {
        match self {
            Jobs::Current(j) => {
                j.parproc_jobs_declarations()
                    .call_resolve_choices(store, decl, param, ctx)
                    .await
            }
            Jobs::V0_1(j) => {
                let answer = j
                    .parproc_jobs_declarations()
                    .call_resolve_choices(store, decl, param, &carry(ctx)?)
                    .await?;
                Ok(match answer {
                    Ok(choices) => Ok(carry(&choices)?),
                    Err(e) => Err(e),
                })
            }
        }
    }

    /// `declarations.resolve-inputs` (a 0.1.0 module declares no computed
    /// inputs, so the host never asks it).
    pub(crate) async fn resolve_inputs(
        &self,
        store: &mut Store<HostState>,
        decl: &str,
        index: u32,
        ctx: &types::DepContext,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        match self {
            Jobs::Current(j) => {
                j.parproc_jobs_declarations()
                    .call_resolve_inputs(store, decl, index, ctx)
                    .await
            }
            Jobs::V0_1(_) => Ok(Err(
                "a module built against parproc:jobs@0.1.0 has no computed inputs".to_owned(),
            )),
        }
    }

    /// `procs.run`.
    pub(crate) async fn run(
        &self,
        store: &mut Store<HostState>,
        decl: &str,
        name: &str,
        args: &[types::Arg],
    ) -> wasmtime::Result<Result<String, types::ProcError>> {
        match self {
            Jobs::Current(j) => {
                j.parproc_jobs_procs()
                    .call_run(store, decl, name, args)
                    .await
            }
            Jobs::V0_1(j) => {
                let args: Vec<v0_1::parproc::jobs::types::Arg> = carry(&args)?;
                Ok(
                    match j
                        .parproc_jobs_procs()
                        .call_run(store, decl, name, &args)
                        .await?
                    {
                        Ok(json) => Ok(json),
                        Err(e) => Err(carry(&e)?),
                    },
                )
            }
        }
    }
}

/// Add both versions' `context` to `linker`.
pub(crate) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<HostState>,
) -> wasmtime::Result<()> {
    // Only `context`: the world's `wasi:http` is linked with the rest of WASI.
    current::parproc::jobs::context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
        linker,
        |state| state,
    )?;
    v0_1::Jobs::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |state| state)?;
    Ok(())
}
