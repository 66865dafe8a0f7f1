//! Run one proc: a fresh store, its budgets, one call of `procs.run`, and the
//! mapping of how it ended to an [`Outcome`].
//!
//! The returned future owns the store. Dropping it at any await point (the
//! session's wall-clock timeout, a cancel) is safe: wasmtime resumes the
//! guest's fiber with an error so it unwinds, and the store is thrown away.
//! Partial lines are flushed to the log only when the run completes; after a
//! drop the caller calls [`LogSink::finish`] itself.

use wasmtime::component::Linker;
use wasmtime::{Engine, Store};

use super::bindings::JobsPre;
use super::bindings::types::ProcError;
use super::engine::YIELD_INTERVAL;
use super::state::HostState;
use super::{convert, trap};
use crate::exec::{Budget, Launch, RunReport};
use crate::logsink::LogSink;
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::session::ProcContext;

/// What every proc run shares: the engine and the pre-instantiated component.
pub(crate) struct Shared {
    /// The engine.
    pub(crate) engine: Engine,
    /// Imports resolved once; instantiated per proc.
    pub(crate) pre: JobsPre<HostState>,
    /// The largest JSON result accepted, in bytes.
    pub(crate) result_limit: usize,
}

impl Shared {
    /// A linker with WASI 0.2 and the `context` import.
    pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        super::bindings::Jobs::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state| state,
        )?;
        Ok(linker)
    }

    /// A fresh store with `memory` bytes and `fuel` fuel, yielding regularly.
    pub(crate) fn store(
        &self,
        ctx: Option<ProcContext>,
        log: LogSink,
        memory: u64,
        fuel: u64,
    ) -> wasmtime::Result<Store<HostState>> {
        let mut store = HostState::new(ctx, log, memory).into_store(&self.engine);
        store.set_fuel(fuel)?;
        store.fuel_async_yield_interval(Some(YIELD_INTERVAL))?;
        Ok(store)
    }
}

/// Run `launch` in a fresh store; guest output and context logs go to `log`.
pub(crate) async fn run(
    shared: &Shared,
    launch: Launch,
    ctx: Option<ProcContext>,
    log: LogSink,
) -> RunReport {
    let Budget { fuel, memory, .. } = launch.budget;
    let mut store = match shared.store(ctx, log.clone(), memory, fuel) {
        Ok(store) => store,
        Err(e) => {
            return RunReport {
                outcome: Outcome::Failed(Failure::new(
                    FailureKind::HostError,
                    format!(
                        "cannot create a store for `{}`: {}",
                        launch.name,
                        trap::one_line(&format!("{e:#}"))
                    ),
                )),
                fuel_used: None,
                peak_memory: None,
            };
        }
    };
    let args = convert::args_to_wit(&launch.args);
    let result = async {
        let jobs = shared.pre.instantiate_async(&mut store).await?;
        jobs.parproc_jobs_procs()
            .call_run(&mut store, &launch.decl, &launch.name, &args)
            .await
    }
    .await;
    log.finish();
    let fuel_used = store.get_fuel().ok().map(|left| fuel.saturating_sub(left));
    let limiter = &store.data().limiter;
    let outcome = match result {
        Ok(Ok(json)) => check_result(json, shared.result_limit),
        Ok(Err(ProcError::Failed(message))) => {
            Outcome::Failed(Failure::new(FailureKind::Failed, message))
        }
        Ok(Err(ProcError::Skipped(message))) => Outcome::Skipped {
            no_change: false,
            message,
        },
        Ok(Err(ProcError::NoChange(message))) => Outcome::Skipped {
            no_change: true,
            message,
        },
        Err(e) => {
            tracing::debug!(proc = %launch.name, error = %format!("{e:#}"), "proc trapped");
            Outcome::Failed(trap::classify(&e, fuel, limiter, &log))
        }
    };
    RunReport {
        outcome,
        fuel_used,
        peak_memory: Some(limiter.peak()),
    }
}

/// A returned result: at most `limit` bytes of valid JSON.
fn check_result(json: String, limit: usize) -> Outcome {
    if json.len() > limit {
        return Outcome::Failed(Failure::new(
            FailureKind::TooLarge,
            format!(
                "result is {} bytes, over the limit of {}",
                json.len(),
                trap::size(limit as u64)
            ),
        ));
    }
    match serde_json::from_str::<serde::de::IgnoredAny>(&json) {
        Ok(_) => Outcome::Succeeded(json),
        Err(e) => Outcome::Failed(Failure::new(
            FailureKind::Failed,
            format!("result is not valid JSON: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_results() {
        assert_eq!(
            check_result("[1]".into(), 10),
            Outcome::Succeeded("[1]".into())
        );
        let Outcome::Failed(f) = check_result("[1,2,3,4,5]".into(), 10) else {
            panic!("expected a failure");
        };
        assert_eq!(f.kind, FailureKind::TooLarge);
        assert_eq!(f.message, "result is 11 bytes, over the limit of 10 bytes");
        let Outcome::Failed(f) = check_result("nope".into(), 10) else {
            panic!("expected a failure");
        };
        assert_eq!(f.kind, FailureKind::Failed);
        assert!(
            f.message.starts_with("result is not valid JSON: "),
            "{}",
            f.message
        );
    }
}
