//! The `context` import: what a running proc asks of the host, forwarded to its
//! [`ProcContext`].
//!
//! Inside a declarations callback there is no proc and no context: fallible
//! calls answer `Err(`[`REFUSED`]`)` and infallible ones trap with that text.
//!
//! ## What a guest may push
//!
//! The arguments of one call may hold at most [`CallLimits::max_arg`] bytes (all
//! strings and list entries together), and a proc may create at most
//! [`CallLimits::max_created`] distinct procs. Going past either stops the proc
//! with a [`HostStop`] (`too large`), not an `Err` the guest could retry. The
//! arguments are checked once wasmtime has copied them out of guest memory, so
//! the host holds at most one call's arguments (bounded by the guest's own
//! memory cap) at a time.

use super::bindings::parproc::jobs::context::Host;
use super::bindings::types::{self as wit, Host as TypesHost};
use super::convert;
use super::state::{CallLimits, HostState};
use super::trap::{HostStop, size};
use crate::outcome::{Failure, FailureKind};
use crate::session::ProcContext;

/// Why a context call made from a declarations callback is refused.
pub(crate) const REFUSED: &str = "context calls are not allowed in declaration callbacks";

/// How the planner words a wait it refuses because it could never finish.
pub(crate) const WAIT_REFUSED: &str = "wait can never finish";

/// Bytes an argument list entry counts for besides its text.
const ENTRY_BYTES: usize = 16;

impl HostState {
    /// The context, or a trap for infallible calls made from a callback.
    fn context(&self) -> wasmtime::Result<&ProcContext> {
        self.ctx
            .as_ref()
            .ok_or_else(|| wasmtime::Error::msg(REFUSED))
    }

    /// A handle on the context for fallible (async) calls.
    fn owned_context(&self) -> Result<ProcContext, String> {
        self.ctx.clone().ok_or_else(|| REFUSED.to_owned())
    }

    /// What `create` and `run` check first: the size of their arguments (a trap
    /// past the cap), then that a context exists and the args convert (errors
    /// the guest sees).
    #[expect(
        clippy::type_complexity,
        reason = "trap, guest error, or the prepared call"
    )]
    fn creating(
        &self,
        call: &str,
        name: &str,
        args: Vec<wit::Arg>,
        proc_name: Option<&str>,
    ) -> wasmtime::Result<Result<(ProcContext, Vec<(String, crate::spec::Value)>), String>> {
        let bytes = name
            .len()
            .saturating_add(args_bytes(&args))
            .saturating_add(proc_name.map_or(0, str::len));
        self.check_size(call, bytes)?;
        let ctx = match self.owned_context() {
            Ok(ctx) => ctx,
            Err(e) => return Ok(Err(e)),
        };
        Ok(convert::args_from_wit(args).map(|args| (ctx, args)))
    }

    /// Stop the proc when the arguments of `call` hold more than the cap.
    fn check_size(&self, call: &str, bytes: usize) -> wasmtime::Result<()> {
        check_size(&self.limits, call, bytes)
    }

    /// Count the procs a create returned; stop the proc past the cap.
    fn count_created(&mut self, names: &[String]) -> wasmtime::Result<()> {
        for n in names {
            if self.created.contains(n) {
                continue;
            }
            if self.created.len() >= self.limits.max_created {
                return Err(wasmtime::Error::new(HostStop(Failure::new(
                    FailureKind::TooLarge,
                    format!(
                        "created more than {} procs (the limit per proc; raise it with \
                         `--max-created`)",
                        self.limits.max_created
                    ),
                ))));
            }
            self.created.insert(n.clone());
        }
        Ok(())
    }
}

fn check_size(limits: &CallLimits, call: &str, bytes: usize) -> wasmtime::Result<()> {
    if bytes > limits.max_arg {
        return Err(wasmtime::Error::new(HostStop(Failure::new(
            FailureKind::TooLarge,
            format!(
                "the arguments of `context.{call}` are {bytes} bytes, over the limit of {} \
                 (raise it with `--max-arg`)",
                size(limits.max_arg as u64)
            ),
        ))));
    }
    Ok(())
}

/// Bytes of a list of names.
fn names_bytes(names: &[String]) -> usize {
    names
        .iter()
        .map(|n| n.len().saturating_add(ENTRY_BYTES))
        .fold(0, usize::saturating_add)
}

/// Bytes of a list of args.
fn args_bytes(args: &[wit::Arg]) -> usize {
    args.iter()
        .map(|a| {
            let value = match &a.value {
                wit::Value::Text(t) => t.len(),
                _ => 8,
            };
            a.name
                .len()
                .saturating_add(value)
                .saturating_add(ENTRY_BYTES)
        })
        .fold(0, usize::saturating_add)
}

impl TypesHost for HostState {}

impl Host for HostState {
    fn proc_name(&mut self) -> wasmtime::Result<String> {
        Ok(self.context()?.proc_name())
    }

    fn args(&mut self) -> wasmtime::Result<Vec<wit::Arg>> {
        Ok(convert::args_to_wit(&self.context()?.args()))
    }

    fn params(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.context()?.params())
    }

    fn result(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.check_size("result", name.len())?;
        Ok(self.context()?.result(&name))
    }

    fn result_names(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.context()?.result_names())
    }

    fn deps_changed(&mut self) -> wasmtime::Result<bool> {
        Ok(self.context()?.deps_changed())
    }

    fn changed_deps(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.context()?.changed_deps())
    }

    async fn create(
        &mut self,
        name: String,
        args: Vec<wit::Arg>,
        proc_name: Option<String>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        let (ctx, args) = match self.creating("create", &name, args, proc_name.as_deref())? {
            Ok(prepared) => prepared,
            Err(e) => return Ok(Err(e)),
        };
        let created = ctx.create(name, args, proc_name).await;
        if let Ok(names) = &created {
            self.count_created(names)?;
        }
        Ok(created)
    }

    async fn start(&mut self, names: Vec<String>) -> wasmtime::Result<Result<(), String>> {
        self.check_size("start", names_bytes(&names))?;
        let ctx = match self.owned_context() {
            Ok(ctx) => ctx,
            Err(e) => return Ok(Err(e)),
        };
        Ok(ctx.start(names).await)
    }

    async fn run(
        &mut self,
        name: String,
        args: Vec<wit::Arg>,
        proc_name: Option<String>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        let (ctx, args) = match self.creating("run", &name, args, proc_name.as_deref())? {
            Ok(prepared) => prepared,
            Err(e) => return Ok(Err(e)),
        };
        let created = ctx.run(name, args, proc_name).await;
        if let Ok(names) = &created {
            self.count_created(names)?;
        }
        Ok(created)
    }

    async fn wait(
        &mut self,
        names: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<wit::ProcStatus>, String>> {
        self.check_size("wait", names_bytes(&names))?;
        let ctx = match self.owned_context() {
            Ok(ctx) => ctx,
            Err(e) => return Ok(Err(e)),
        };
        match ctx.wait(names).await {
            Ok(statuses) => Ok(Ok(statuses
                .into_iter()
                .map(convert::status_to_wit)
                .collect())),
            Err(e) => {
                if e.starts_with(WAIT_REFUSED) {
                    self.refused_wait = Some(e.clone());
                }
                Ok(Err(e))
            }
        }
    }

    async fn get_input(
        &mut self,
        prompt: String,
        password: bool,
    ) -> wasmtime::Result<Result<String, String>> {
        self.check_size("get-input", prompt.len())?;
        let ctx = match self.owned_context() {
            Ok(ctx) => ctx,
            Err(e) => return Ok(Err(e)),
        };
        if !self.limits.input {
            return Ok(Err(
                "this proc did not declare `needs(input)`, so it may not ask for input".to_owned(),
            ));
        }
        Ok(ctx.get_input(prompt, password).await)
    }

    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        self.context()?;
        // A log record of any size is fine: the sink keeps its head and tail.
        self.log.log(convert::level_from_wit(level), &message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_sizes_are_capped() {
        let limits = CallLimits {
            max_arg: 100,
            max_created: 2,
            input: false,
        };
        assert!(check_size(&limits, "create", 100).is_ok());
        let err = check_size(&limits, "create", 101).expect_err("too large");
        let stop = err.downcast_ref::<HostStop>().expect("a host stop");
        assert_eq!(stop.0.kind, FailureKind::TooLarge);
        assert_eq!(
            stop.0.message,
            "the arguments of `context.create` are 101 bytes, over the limit of 100 bytes \
             (raise it with `--max-arg`)"
        );
        assert_eq!(names_bytes(&["ab".into(), "c".into()]), 3 + 2 * ENTRY_BYTES);
    }
}
