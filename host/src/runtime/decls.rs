//! The declarations instance: serves `describe` and the `resolve-deps` /
//! `resolve-choices` callbacks, one call at a time.
//!
//! ## Budgets and recovery
//!
//! The instance lives in its own store, with no proc context (context calls are
//! refused). Each call gets a fresh fuel budget and a wall-clock limit. While a
//! call runs, the instance is taken out of its slot; it goes back only when the
//! call returns. After a trap, an exhausted budget, a timeout or a dropped
//! request it is gone, and the next call instantiates a fresh one (wasmtime
//! refuses to re-enter a trapped instance), so only the request that broke it
//! gets an `Err` answer.

use std::time::Duration;

use tokio::sync::Mutex;
use wasmtime::Store;

use super::bindings::Jobs;
use super::bindings::types as wit;
use super::runner::Shared;
use super::state::{CallLimits, HostState};
use super::{convert, sandbox, trap};
use crate::logsink::LogSink;
use crate::plan::{ResolveAnswer, ResolveRequest};
use crate::policy::Granted;

/// The budgets of each declarations call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallBudget {
    /// Fuel per call.
    pub(crate) fuel: u64,
    /// Wall-clock limit per call (instantiation included).
    pub(crate) timeout: Duration,
    /// Memory cap of the instance's store.
    pub(crate) memory: u64,
    /// Bytes of guest output kept per call (for trap messages and tracing).
    pub(crate) log_limit: usize,
}

/// A live declarations instance.
struct Live {
    store: Store<HostState>,
    jobs: Jobs,
}

/// One call to the declarations interface.
enum Call {
    Describe,
    Deps {
        decl: String,
        index: u32,
        ctx: wit::DepContext,
    },
    Choices {
        decl: String,
        param: Option<String>,
        ctx: wit::DepContext,
    },
}

/// What a call answered, as the guest said it.
enum Reply {
    Describe(wit::Manifest),
    Deps(Result<Vec<String>, String>),
    Choices(Result<Vec<(String, Vec<wit::Value>)>, String>),
}

impl Call {
    fn what(&self) -> String {
        match self {
            Call::Describe => "`describe`".to_owned(),
            Call::Deps { decl, .. } => format!("`resolve-deps` of `{decl}`"),
            Call::Choices { decl, .. } => format!("`resolve-choices` of `{decl}`"),
        }
    }
}

/// The declarations instance of a module.
pub(crate) struct Declarations {
    budget: CallBudget,
    slot: Mutex<Option<Live>>,
}

impl Declarations {
    /// No instance yet; the first call creates it.
    pub(crate) fn new(budget: CallBudget) -> Self {
        Declarations {
            budget,
            slot: Mutex::new(None),
        }
    }

    /// Drop the live instance, if any; the next call starts a fresh one.
    pub(crate) fn clear(&mut self) {
        *self.slot.get_mut() = None;
    }

    /// Everything the module declares, as the guest returned it.
    pub(crate) async fn describe(&self, shared: &Shared) -> Result<wit::Manifest, String> {
        match self.call(shared, Call::Describe).await? {
            Reply::Describe(manifest) => Ok(manifest),
            _ => Err("`describe` got the answer of another call".to_owned()),
        }
    }

    /// Answer a planner's question; a broken guest is an `Err` answer.
    pub(crate) async fn resolve(&self, shared: &Shared, request: ResolveRequest) -> ResolveAnswer {
        match request {
            ResolveRequest::Deps { decl, index, ctx } => {
                let call = Call::Deps {
                    decl,
                    index,
                    ctx: convert::dep_context_to_wit(&ctx),
                };
                let what = call.what();
                ResolveAnswer::Deps(match self.call(shared, call).await {
                    Ok(Reply::Deps(Ok(names))) => convert::deps_from_wit(names)
                        .map_err(|e| format!("{what} returned garbage: {e}")),
                    Ok(Reply::Deps(Err(message))) => Err(message),
                    Ok(_) => Err(format!("{what} got the answer of another call")),
                    Err(message) => Err(message),
                })
            }
            ResolveRequest::Choices { decl, param, ctx } => {
                let call = Call::Choices {
                    decl,
                    param,
                    ctx: convert::dep_context_to_wit(&ctx),
                };
                let what = call.what();
                ResolveAnswer::Choices(match self.call(shared, call).await {
                    Ok(Reply::Choices(Ok(choices))) => convert::choices_from_wit(choices)
                        .map_err(|e| format!("{what} returned garbage: {e}")),
                    Ok(Reply::Choices(Err(message))) => Err(message),
                    Ok(_) => Err(format!("{what} got the answer of another call")),
                    Err(message) => Err(message),
                })
            }
        }
    }

    /// Run one call under its budgets; `Err` says why it did not return.
    async fn call(&self, shared: &Shared, call: Call) -> Result<Reply, String> {
        let mut slot = self.slot.lock().await;
        let what = call.what();
        let budget = self.budget;
        let taken = slot.take();
        let attempt = async move {
            let mut live = match taken {
                Some(live) => live,
                None => match instantiate(shared, budget).await {
                    Ok(live) => live,
                    Err(e) => return (Err(e), None),
                },
            };
            live.store.data().log.reset();
            if shared.config.fuel_metering
                && let Err(e) = live.store.set_fuel(budget.fuel)
            {
                return (Err(e), Some(live));
            }
            let reply = invoke(&live.jobs, &mut live.store, call).await;
            (reply, Some(live))
        };
        // A signal drops the call mid-guest (the instance goes with it): the
        // module cannot hold off Ctrl-C for as long as its budget.
        let bounded = tokio::time::timeout(budget.timeout, attempt);
        let finished = tokio::select! {
            r = bounded => r,
            _ = crate::interrupt::signalled() => return Err(format!("{what} interrupted")),
        };
        match finished {
            Err(_elapsed) => Err(format!("{what} timed out after {:?}", budget.timeout)),
            Ok((Ok(reply), live)) => {
                if let Some(live) = &live {
                    trace_output(&what, &live.store.data().log);
                }
                *slot = live;
                Ok(reply)
            }
            Ok((Err(e), live)) => {
                tracing::debug!(call = %what, error = %format!("{e:#}"), "declarations call failed");
                let reason = match &live {
                    Some(live) => {
                        let state = live.store.data();
                        state.log.finish();
                        trace_output(&what, &state.log);
                        trap::classify(&e, budget.fuel, &state.limiter, &state.log).to_string()
                    }
                    None => trap::one_line(&format!("{e:#}")),
                };
                // `live` is dropped here: the next call starts a fresh instance.
                Err(format!("{what} failed: {reason}"))
            }
        }
    }
}

/// A fresh declarations instance.
async fn instantiate(shared: &Shared, budget: CallBudget) -> wasmtime::Result<Live> {
    let log = LogSink::new(budget.log_limit);
    // No grants: callbacks see no files, environment or network.
    let seed = shared
        .config
        .deterministic
        .then(|| sandbox::seed("", "declarations", &[]));
    let wasi = sandbox::wasi_ctx(&log, &Granted::default(), seed).map_err(wasmtime::Error::msg)?;
    let limits = CallLimits {
        max_arg: shared.config.max_arg,
        max_created: 0,
        input: false,
        max_open_files: shared.config.max_open_files,
    };
    let state = HostState::new(None, log, budget.memory, wasi, limits, None);
    let mut store = shared.store(state, budget.fuel)?;
    let jobs = shared.pre.instantiate_async(&mut store).await?;
    Ok(Live { store, jobs })
}

/// Make one call on a live instance.
async fn invoke(jobs: &Jobs, store: &mut Store<HostState>, call: Call) -> wasmtime::Result<Reply> {
    Ok(match call {
        Call::Describe => Reply::Describe(jobs.describe(&mut *store).await?),
        Call::Deps { decl, index, ctx } => {
            Reply::Deps(jobs.resolve_deps(&mut *store, &decl, index, &ctx).await?)
        }
        Call::Choices { decl, param, ctx } => Reply::Choices(
            jobs.resolve_choices(&mut *store, &decl, param.as_deref(), &ctx)
                .await?,
        ),
    })
}

/// Guest output of a declarations call goes to the host's diagnostics.
fn trace_output(what: &str, log: &LogSink) {
    if !log.is_empty() {
        tracing::debug!(call = %what, output = %log.render(), "declarations output");
    }
}
