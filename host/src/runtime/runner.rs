//! Run one proc: a fresh store, its budgets, one call of `procs.run`, and the
//! mapping of how it ended to an [`Outcome`].
//!
//! The returned future owns the store. Dropping it at any await point (the
//! session's wall-clock timeout, a cancel) is safe: wasmtime resumes the
//! guest's fiber with an error so it unwinds, and the store is thrown away.
//! Partial lines are flushed to the log only when the run completes; after a
//! drop the caller calls [`LogSink::finish`] itself.

use std::time::SystemTime;
use wasmtime::component::Linker;
use wasmtime::{Engine, Store};

use super::bindings::JobsPre;
use super::bindings::types::ProcError;
use super::engine::YIELD_INTERVAL;
use super::pool::MemoryPool;
use super::state::{CallLimits, HostState, ProcCtx};
use super::{RuntimeConfig, convert, sandbox, trap};
use crate::exec::ProcChannel;
use crate::exec::{Budget, Launch, RunReport};
use crate::logsink::LogSink;
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::policy::Grants;

/// What every proc run shares: the engine, the pre-instantiated component, the
/// configuration, the user's grants and the host-wide memory pool.
pub(crate) struct Shared {
    /// The engine.
    pub(crate) engine: Engine,
    /// Imports resolved once; instantiated per proc.
    pub(crate) pre: JobsPre,
    /// The runtime's configuration.
    pub(crate) config: RuntimeConfig,
    /// What the user granted (each proc gets the part it declared).
    pub(crate) grants: Grants,
    /// The host-wide memory total of proc stores.
    pub(crate) pool: MemoryPool,
    /// The WASI tools procs may run.
    pub(crate) tools: std::sync::Arc<super::tools::Toolbox>,
    /// The TLS client of `wasi:http` (when the user granted an origin).
    pub(crate) http_tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Shared {
    /// A linker with WASI 0.2 (its filesystem through `wasifs`),
    /// `wasi:http` (checked by each store's hooks) and the `context` import.
    pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
        let mut linker = Linker::new(engine);
        super::wasifs::add_to_linker(&mut linker, HostState::fs_view, HostState::sockets_view)?;
        super::bindings::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        // `context.exec` needs the store (the proc's fuel): it replaces the
        // generated binding, which cannot reach it.
        linker.allow_shadowing(true);
        linker.instance(super::bindings::CONTEXT)?.func_wrap_async(
            "exec",
            |mut caller, (request,): (super::bindings::types::ExecRequest,)| {
                Box::new(async move { Ok((super::tools::exec(&mut caller, request).await?,)) })
            },
        )?;
        linker.allow_shadowing(false);
        Ok(linker)
    }

    /// A fresh store around `state` with `fuel` fuel, yielding regularly.
    pub(crate) fn store(&self, state: HostState, fuel: u64) -> wasmtime::Result<Store<HostState>> {
        let mut store = state.into_store(&self.engine);
        if self.config.fuel_metering {
            store.set_fuel(fuel)?;
            store.fuel_async_yield_interval(Some(YIELD_INTERVAL))?;
        }
        Ok(store)
    }
}

/// Run `launch` in a fresh store; guest output and context logs go to `log`.
///
/// Before any guest code runs: the proc's needs are checked against the grants
/// (an ungranted need fails it, `not granted`), and its memory cap is reserved
/// in the host-wide pool (waiting while it does not fit).
pub(crate) async fn run(
    shared: &Shared,
    launch: Launch,
    channel: Option<ProcChannel>,
    log: LogSink,
) -> RunReport {
    let Budget { fuel, memory, .. } = launch.budget;
    let granted = match shared.grants.resolve(&launch.needs) {
        Ok(granted) => granted,
        Err(failure) => return RunReport::not_run(failure),
    };
    let admission = match shared.pool.admit(memory).await {
        Ok(admission) => admission,
        Err(message) => return RunReport::not_run(Failure::new(FailureKind::MemoryLimit, message)),
    };
    let seed = shared
        .config
        .deterministic
        .then(|| sandbox::seed(&launch.decl, &launch.name, &launch.args));
    let wasi = match sandbox::wasi_ctx(&log, &granted, seed) {
        Ok(wasi) => wasi,
        Err(message) => return RunReport::not_run(Failure::new(FailureKind::HostError, message)),
    };
    let limits = CallLimits {
        max_arg: shared.config.max_arg,
        max_created: shared.config.max_created,
        input: granted.input,
        max_open_files: shared.config.max_open_files,
    };
    let params_channel = channel.clone();
    let ctx = channel.map(|channel| ProcCtx {
        channel,
        name: launch.name.clone(),
        args: launch.args.clone(),
        changed_deps: launch.changed_deps.clone(),
    });
    let mut roots = crate::trace::Roots(
        granted
            .dirs
            .iter()
            .map(|d| (d.guest.clone(), d.host.clone()))
            .collect(),
    );
    // The data directories of the tools it may run are in its trace too.
    roots.0.extend(shared.tools.roots(&granted.tools));
    // Declared inputs of a proc granted no directory cannot be anywhere: the
    // recorder says so when it expands them.
    let recorder = (launch.trace
        && (!granted.dirs.is_empty() || !launch.inputs.is_empty() || !granted.tools.is_empty()))
    .then(|| super::recorder::Recorder::new(roots.clone()));
    let mut state = HostState::new(ctx, log.clone(), memory, wasi, limits, Some(admission));
    if let Some(r) = &recorder {
        state.fs.set_observer(Some(Box::new(r.clone())));
    }
    if let (false, Some(tls)) = (granted.http.is_empty(), &shared.http_tls) {
        state.http_hooks = super::http::HttpHooks::new(
            granted.http.clone(),
            std::sync::Arc::clone(tls),
            log.clone(),
        );
        // What a server answers is not in a trace: never cached.
        if let Some(r) = &recorder {
            r.spoil("it may reach HTTP origins");
        }
    }
    if !granted.tools.is_empty() {
        state.tools = Some(std::sync::Arc::new(super::tools::ToolAccess {
            toolbox: std::sync::Arc::clone(&shared.tools),
            allowed: granted.tools.clone(),
            dirs: granted.dirs.clone(),
            fuel,
            seed,
            recorder: recorder.clone(),
        }));
    }
    let mut store = match shared.store(state, fuel) {
        Ok(store) => store,
        Err(e) => {
            return RunReport::not_run(Failure::new(
                FailureKind::HostError,
                format!(
                    "cannot create a store for `{}`: {}",
                    launch.name,
                    trap::one_line(&format!("{e:#}"))
                ),
            ));
        }
    };
    let args = convert::args_to_wit(&launch.args);
    let result = async {
        let jobs = shared.pre.instantiate_async(&mut store).await?;
        if let Some(r) = &recorder
            && !launch.inputs.is_empty()
            && let Err(why) =
                declare_inputs(&jobs, &mut store, &launch, r, params_channel.as_ref()).await?
        {
            return Ok(Err(ProcError::Failed(why)));
        }
        jobs.run(&mut store, &launch.decl, &launch.name, &args)
            .await
    }
    .await;
    log.finish();
    let fuel_used = store.get_fuel().ok().map(|left| fuel.saturating_sub(left));
    let state = store.data();
    let limiter = &state.limiter;
    let outcome = match result {
        Ok(Ok(json)) => check_result(json, shared.config.result_limit),
        Ok(Err(ProcError::Failed(message))) => {
            // A proc that fails after the host refused a wait of it (one that
            // could never finish) deadlocked.
            let kind = match state.refused_wait {
                true => FailureKind::Deadlock,
                false => FailureKind::Failed,
            };
            Outcome::Failed(Failure::new(kind, cap_message(&log, message)))
        }
        Ok(Err(ProcError::Skipped(message))) => Outcome::Skipped {
            no_change: false,
            message: cap_message(&log, message),
        },
        Ok(Err(ProcError::NoChange(message))) => Outcome::Skipped {
            no_change: true,
            message: cap_message(&log, message),
        },
        Err(e) => {
            tracing::debug!(proc = %launch.name, error = %format!("{e:#}"), "proc trapped");
            Outcome::Failed(trap::classify(&e, fuel, limiter, &log))
        }
    };
    let outcome = match outcome {
        Outcome::Succeeded(json) if !launch.outputs.is_empty() => {
            match crate::declared::verify_outputs(&roots, &launch.outputs, SystemTime::now()) {
                Ok(()) => Outcome::Succeeded(json),
                Err(why) => Outcome::Failed(Failure::new(FailureKind::Failed, why)),
            }
        }
        other => other,
    };
    let trace = match &recorder {
        Some(r) => r.finish(),
        None => crate::trace::Traced::No,
    };
    RunReport {
        outcome,
        fuel_used,
        peak_memory: Some(limiter.peak()),
        trace,
    }
}

/// Expand the proc's declared inputs into its trace, asking the guest for
/// the computed ones (`resolve-inputs`, in the proc's own instance and
/// budget). `Ok(Err)` says why the proc fails (an input outside the grants,
/// a `regex_files` root that is not a directory, a failed callback).
async fn declare_inputs(
    jobs: &super::bindings::Jobs,
    store: &mut Store<HostState>,
    launch: &Launch,
    recorder: &super::recorder::Recorder,
    channel: Option<&ProcChannel>,
) -> wasmtime::Result<Result<(), String>> {
    use crate::declared::Matcher;
    use crate::spec::InputDecl;
    let mut matchers = Vec::new();
    let mut params = None;
    for (index, input) in launch.inputs.iter().enumerate() {
        match input {
            InputDecl::Path(p) => matchers.push(Matcher::of_path(p.clone())),
            InputDecl::RegexFiles { root, pattern } => matchers.push(Matcher::Regex {
                root: root.clone(),
                pattern: pattern.clone(),
            }),
            InputDecl::Computed => {
                // The params are asked for once, by the first computed input.
                if params.is_none() {
                    params = Some(match channel {
                        Some(c) => match c.call(crate::exec::ContextRequest::Params).await {
                            crate::exec::ContextReply::Params(p) => p,
                            _ => Vec::new(),
                        },
                        None => Vec::new(),
                    });
                }
                let ctx = super::bindings::types::DepContext {
                    proc_name: launch.name.clone(),
                    args: launch
                        .args
                        .iter()
                        .map(|(n, v)| (n.clone(), v.to_string()))
                        .collect(),
                    params: params.clone().unwrap_or_default(),
                };
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                let what = format!("`resolve-inputs` of `{}`", launch.decl);
                let paths = match jobs
                    .resolve_inputs(store, &launch.decl, index, &ctx)
                    .await?
                {
                    Ok(paths) => paths,
                    Err(e) => return Ok(Err(format!("{what} failed: {e}"))),
                };
                match convert::inputs_from_wit(paths) {
                    Ok(paths) => matchers.extend(paths.into_iter().map(Matcher::of_path)),
                    Err(e) => return Ok(Err(format!("{what} returned garbage: {e}"))),
                }
            }
        }
    }
    Ok(recorder.declare(matchers, &launch.inputs_ignore))
}

/// A returned result: at most `limit` bytes of valid JSON.
/// The most bytes of a guest's failure or skip message an outcome keeps (the
/// summary, the reports and the state store carry it; README "Security model").
pub(crate) const MAX_MESSAGE: usize = 4096;

/// A guest message as the outcome keeps it: stripped of surrounding
/// whitespace (as parproc strips a `ProcFailedError`'s; one of whitespace only
/// is empty), then whole up to [`MAX_MESSAGE`]; longer, cut at a character
/// boundary with a note, and written whole to the proc's log (within the log's
/// own limit), so nothing is lost to the user but nothing huge is copied
/// through every report.
pub(crate) fn cap_message(log: &LogSink, message: String) -> String {
    let message = match message.trim() {
        t if t.len() == message.len() => message,
        t => t.to_owned(),
    };
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    log.log(crate::logsink::LogLevel::Error, &message);
    let mut cut = MAX_MESSAGE;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}… (cut at {} of {}; the whole message is in the log)",
        &message[..cut],
        trap::size(MAX_MESSAGE as u64),
        trap::size(message.len() as u64)
    )
}

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
    match crate::jsontext::check(&json) {
        Ok(()) => Outcome::Succeeded(json),
        Err(e @ crate::jsontext::JsonError::TooDeep(_)) => Outcome::Failed(Failure::new(
            FailureKind::Failed,
            format!("invalid result: {e}"),
        )),
        Err(crate::jsontext::JsonError::Syntax(e)) => Outcome::Failed(Failure::new(
            FailureKind::Failed,
            format!("result is not valid JSON: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_guest_messages_are_cut_and_logged_whole() {
        let log = LogSink::new(1 << 20);
        assert_eq!(cap_message(&log, "short".into()), "short");
        assert_eq!(cap_message(&log, "  two\nlines \n".into()), "two\nlines");
        assert_eq!(cap_message(&log, " \n\t".into()), "");
        assert!(log.records().is_empty());
        let long = "é".repeat(3000); // 6000 bytes, two per character
        let capped = cap_message(&log, long.clone());
        assert!(capped.starts_with(&"é".repeat(2048)), "{capped}");
        assert!(
            capped
                .ends_with("… (cut at 4096 bytes of 6000 bytes; the whole message is in the log)"),
            "{capped}"
        );
        assert_eq!(log.records()[0].text, long);
    }

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
