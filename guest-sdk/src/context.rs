//! [`Context`]: what a running proc can ask of the host (parproc's `ProcContext`).

use std::fmt::Write as _;

use serde::de::DeserializeOwned;

use crate::bindings::parproc::jobs::context as host;
use crate::bindings::parproc::jobs::types::{
    Arg, FailureKind, LogLevel, ProcState, ProcStatus, Value,
};
use crate::value::{FromValue, to_args};
use crate::{Error, Exec, json};

/// The running proc's view of the run: its name and args, the global params, the results of
/// other procs, and the calls that create, start and wait for procs (parproc's
/// `ProcContext`).
///
/// A job function receives it as an optional first parameter `&Context`. Every method other
/// than [`proc_name`](Self::proc_name), [`args`](Self::args), [`arg`](Self::arg) and
/// [`exec`](Self::exec) (which builds an [`Exec`]; its `run` calls the host) calls the host.
/// The results view is as of the proc's start; [`wait`](Self::wait) moves it
/// forward to include everything finished when the wait returns.
///
/// # Examples
///
/// ```no_run
/// use parproc_guest::prelude::*;
///
/// #[proto(name = "test::[env]", deps = ["build::[env]"])]
/// fn test(ctx: &Context, env: String) -> Result<String, Error> {
///     let build: Option<String> = ctx.result(&format!("build::{env}"));
///     ctx.info(&format!("testing {build:?}"));
///     // Make and run another proc, then wait for it like parproc's `context.wait`.
///     let names = ctx.run(&format!("lint::{env}"))?;
///     ctx.wait(&names)?;
///     Ok(format!("tested {env}"))
/// }
/// # #[proto(name = "build::[env]")] fn build(env: String) -> Result<String, Error> { Ok(env) }
/// # #[proto(name = "lint::[env]")] fn lint(env: String) {}
/// # parproc_guest::export_jobs!(test, build, lint);
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    proc_name: String,
    args: Vec<Arg>,
}

impl Context {
    /// The context of the proc `proc_name` running with `args` (used by the export glue).
    #[doc(hidden)]
    pub fn __new(proc_name: String, args: Vec<Arg>) -> Self {
        Self { proc_name, args }
    }

    /// This proc's name (a filled-out name for a proc created from a proto).
    pub fn proc_name(&self) -> &str {
        &self.proc_name
    }

    /// This proc's args, converted to their declared types: the placeholder values for a
    /// proc created from a proto, and the `args(...)` defaults for parameters a name does
    /// not supply.
    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    /// The arg `name` converted to `T`; `None` if there is no such arg or it does not
    /// convert (see [`FromValue`]).
    pub fn arg<T: FromValue>(&self, name: &str) -> Option<T> {
        self.args
            .iter()
            .find(|arg| arg.name == name)
            .and_then(|arg| T::from_value(&arg.value).ok())
    }

    /// The global params as a JSON map (module defaults overridden by `--param`).
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        json::params_map(host::params())
    }

    /// The global param `name` deserialised as `T`; `None` if absent or not a `T`.
    pub fn param<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let (_, text) = host::params().into_iter().find(|(key, _)| key == name)?;
        serde_json::from_str(&text).ok()
    }

    /// The result of the finished proc `name`, deserialised as `T`; `None` if it has no
    /// result in this proc's view or the result is not a `T`.
    ///
    /// A proc that returned `()` or was skipped has the result `null`: ask for `()` or
    /// `Option<T>` to see it.
    pub fn result<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        serde_json::from_str(&host::result(name)?).ok()
    }

    /// The result of the finished proc `name` as JSON text, if any.
    pub fn result_json(&self, name: &str) -> Option<String> {
        host::result(name)
    }

    /// The names of every proc with a result in this proc's view.
    pub fn result_names(&self) -> Vec<String> {
        host::result_names()
    }

    /// True if any dependency ran freshly (was not skipped) before this proc.
    pub fn deps_changed(&self) -> bool {
        host::deps_changed()
    }

    /// The dependencies that ran freshly.
    pub fn changed_deps(&self) -> Vec<String> {
        host::changed_deps()
    }

    /// Creates procs (or finds an existing one): `name` is a proc name, a filled-out proto
    /// name (`build::prod`) or a glob (`build::*`). Returns the names created or found: a
    /// filled-out name is kept as asked (`n::007` creates `n::007` for an integer
    /// placeholder, where parproc makes `n::7`; the repository's docs/planner.md), a glob
    /// gives every name it expanded to.
    pub fn create(&self, name: &str) -> Result<Vec<String>, Error> {
        host::create(name, &[], None).map_err(Error::failed)
    }

    /// Like [`create`](Self::create), with `args` filling the `[placeholders]` of a pattern
    /// `name` (`("env", "prod")` for `build::[env]`) and an explicit `proc_name` naming the
    /// proc when one is created, `args` or not (parproc drops it when `args` are given); a
    /// glob ignores it.
    ///
    /// ```no_run
    /// # use parproc_guest::{Context, Error, Value};
    /// # fn f(ctx: &Context) -> Result<(), Error> {
    /// let names = ctx.create_with("build::[env]", [("env", "prod")], None)?;
    /// let mixed = ctx.create_with("shard::[n]::[env]", [("n", Value::from(3)), ("env", "dev".into())], None)?;
    /// # Ok(()) }
    /// ```
    pub fn create_with<K, V>(
        &self,
        name: &str,
        args: impl IntoIterator<Item = (K, V)>,
        proc_name: Option<&str>,
    ) -> Result<Vec<String>, Error>
    where
        K: Into<String>,
        V: Into<Value>,
    {
        host::create(name, &to_args(args), proc_name).map_err(Error::failed)
    }

    /// Schedules existing procs (a no-op for procs already scheduled).
    pub fn start(&self, names: impl IntoIterator<Item = impl AsRef<str>>) -> Result<(), Error> {
        host::start(&owned(names)).map_err(Error::failed)
    }

    /// Creates procs like [`create`](Self::create), then starts them; returns the names.
    pub fn run(&self, name: &str) -> Result<Vec<String>, Error> {
        host::run(name, &[], None).map_err(Error::failed)
    }

    /// Creates procs like [`create_with`](Self::create_with), then starts them; returns the
    /// names.
    pub fn run_with<K, V>(
        &self,
        name: &str,
        args: impl IntoIterator<Item = (K, V)>,
        proc_name: Option<&str>,
    ) -> Result<Vec<String>, Error>
    where
        K: Into<String>,
        V: Into<Value>,
    {
        host::run(name, &to_args(args), proc_name).map_err(Error::failed)
    }

    /// Starts the named procs that are idle and waits until all are complete (parproc's
    /// `context.wait`). While waiting, this proc gives its parallel slot back.
    ///
    /// Succeeds when every proc succeeded or was skipped. Otherwise returns a failure whose
    /// message starts with parproc's `Process error [3]` and names each proc that did not
    /// succeed with its state and reason, e.g.
    /// `Process error [3]: "x" failed: Failure; "y" failed-dep: canceled due to failure of "x"`.
    /// Use [`wait_status`](Self::wait_status) to inspect the states instead.
    pub fn wait(&self, names: impl IntoIterator<Item = impl AsRef<str>>) -> Result<(), Error> {
        judge(&self.wait_status(names)?)
    }

    /// Like [`wait`](Self::wait), but returns each proc's final state instead of judging
    /// them. An error means the wait itself was refused (an unknown name, or a wait that
    /// could never finish).
    pub fn wait_status(
        &self,
        names: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Vec<ProcStatus>, Error> {
        host::wait(&owned(names)).map_err(Error::failed)
    }

    /// Asks the user for one line of input (the proc must declare `needs(input)`). The
    /// trailing newline is kept, as in parproc.
    pub fn get_input(&self, prompt: &str) -> Result<String, Error> {
        host::get_input(prompt, false).map_err(Error::failed)
    }

    /// Asks the user for a password without echoing it (needs `needs(input)`).
    pub fn get_password(&self, prompt: &str) -> Result<String, Error> {
        host::get_input(prompt, true).map_err(Error::failed)
    }

    /// Starts building a run of the WASI tool `tool`, which the proc declares with
    /// `needs(tools = [...])`: the same as [`Exec::new`]; see there.
    ///
    /// ```no_run
    /// # use parproc_guest::{Context, Error};
    /// # fn f(ctx: &Context) -> Result<(), Error> {
    /// let out = ctx.exec("yosys").arg("-V").run()?;
    /// ctx.info(&out.stdout_text());
    /// # Ok(()) }
    /// ```
    pub fn exec(&self, tool: impl Into<String>) -> Exec {
        Exec::new(tool)
    }

    /// Writes a record to this proc's log. (Plain `println!`/`eprintln!` output is captured
    /// too.)
    pub fn log(&self, level: LogLevel, message: &str) {
        host::log(level, message);
    }

    /// Writes a `trace` record to this proc's log.
    pub fn trace(&self, message: &str) {
        self.log(LogLevel::Trace, message);
    }

    /// Writes a `debug` record to this proc's log.
    pub fn debug(&self, message: &str) {
        self.log(LogLevel::Debug, message);
    }

    /// Writes an `info` record to this proc's log.
    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    /// Writes a `warn` record to this proc's log.
    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message);
    }

    /// Writes an `error` record to this proc's log.
    pub fn error(&self, message: &str) {
        self.log(LogLevel::Error, message);
    }
}

fn owned(names: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<String> {
    names
        .into_iter()
        .map(|name| name.as_ref().to_owned())
        .collect()
}

/// `Ok` if every waited proc succeeded or was skipped, else parproc's `Process error [3]`
/// naming the others.
fn judge(statuses: &[ProcStatus]) -> Result<(), Error> {
    let mut message = String::new();
    for status in statuses.iter().filter(|s| !succeeded(s.state)) {
        message.push_str(if message.is_empty() {
            "Process error [3]: "
        } else {
            "; "
        });
        let _ = write!(message, "\"{}\" {}", status.name, state_name(status.state));
        if !status.message.is_empty() {
            let _ = write!(message, ": {}", status.message);
        } else if let Some(kind) = status.failure {
            let _ = write!(message, ": {}", failure_name(kind));
        }
    }
    if message.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(message))
    }
}

/// Whether a completed proc counts as a success for its waiters.
fn succeeded(state: ProcState) -> bool {
    matches!(
        state,
        ProcState::Succeeded | ProcState::Skipped | ProcState::UpToDate
    )
}

/// The WIT spelling of a failure kind, for failures that come without a message.
fn failure_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Failed => "failed",
        FailureKind::DepFailed => "dep-failed",
        FailureKind::DepMissing => "dep-missing",
        FailureKind::NoFailures => "no-failures",
        FailureKind::TimedOut => "timed-out",
        FailureKind::OutOfFuel => "out-of-fuel",
        FailureKind::MemoryLimit => "memory-limit",
        FailureKind::Trapped => "trapped",
        FailureKind::TooLarge => "too-large",
        FailureKind::Deadlock => "deadlock",
        FailureKind::NotGranted => "not-granted",
        FailureKind::Cancelled => "cancelled",
        FailureKind::HostError => "host-error",
    }
}

/// The WIT spelling of a state, used in wait failure messages.
fn state_name(state: ProcState) -> &'static str {
    match state {
        ProcState::Idle => "idle",
        ProcState::Wanted => "wanted",
        ProcState::Running => "running",
        ProcState::Succeeded => "succeeded",
        ProcState::Failed => "failed",
        ProcState::FailedDep => "failed-dep",
        ProcState::Skipped => "skipped",
        ProcState::Cancelled => "cancelled",
        ProcState::UpToDate => "up-to-date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, state: ProcState, message: &str) -> ProcStatus {
        ProcStatus {
            name: name.into(),
            state,
            failure: None,
            message: message.into(),
        }
    }

    #[test]
    fn wait_succeeds_when_all_succeeded_or_skipped() {
        let statuses = [
            status("a", ProcState::Succeeded, ""),
            status("b", ProcState::Skipped, ""),
        ];
        assert!(judge(&statuses).is_ok());
    }

    #[test]
    fn wait_failure_names_every_proc_and_reason() {
        let mut dep = status(
            "y",
            ProcState::FailedDep,
            "canceled due to failure of \"x\"",
        );
        dep.failure = Some(FailureKind::DepFailed);
        let statuses = [
            status("a", ProcState::Succeeded, ""),
            status("x", ProcState::Failed, "Failure"),
            dep,
            ProcStatus {
                failure: Some(FailureKind::TimedOut),
                ..status("t", ProcState::Failed, "")
            },
        ];
        let err = judge(&statuses).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Failed);
        assert_eq!(
            err.message(),
            "Process error [3]: \"x\" failed: Failure; \"y\" failed-dep: canceled due to \
             failure of \"x\"; \"t\" failed: timed-out"
        );
    }
}
