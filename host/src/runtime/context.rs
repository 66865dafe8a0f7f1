//! The `context` import: what a running proc asks of the host. Its name, args
//! and changed deps come with the [`Launch`](crate::exec::Launch); everything
//! else travels to the driver as a [`ContextRequest`] over the proc's
//! [`ProcChannel`].
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

use super::bindings::context::Host;
use super::bindings::types::{self as wit, Host as TypesHost};
use super::bindings::{carry, v0_1};
use super::convert;
use super::state::{CallLimits, HostState, ProcCtx};
use super::trap::{HostStop, size};
use crate::exec::{ContextReply, ContextRequest, ProcChannel, SessionError};
use crate::outcome::{Failure, FailureKind, ProcStatus};
use crate::plan::PlanError;
use crate::spec::Value;

/// Why a context call made from a declarations callback is refused.
pub(crate) const REFUSED: &str = "context calls are not allowed in declaration callbacks";

/// Bytes an argument list entry counts for besides its text.
const ENTRY_BYTES: usize = 16;

impl HostState {
    /// The context, or a trap for infallible calls made from a callback.
    fn context(&self) -> wasmtime::Result<&ProcCtx> {
        self.ctx
            .as_ref()
            .ok_or_else(|| wasmtime::Error::msg(REFUSED))
    }

    /// A handle on the context for fallible (async) calls.
    fn owned_context(&self) -> Result<ProcChannel, String> {
        self.ctx
            .as_ref()
            .map(|c| c.channel.clone())
            .ok_or_else(|| REFUSED.to_owned())
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
    ) -> wasmtime::Result<Result<(ProcChannel, Vec<(String, Value)>), String>> {
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

    /// `create`, or `run` (create then start): the size check, the request
    /// with the proc's remaining creation budget, and the answer.
    async fn create_or_run(
        &mut self,
        run: bool,
        name: String,
        args: Vec<wit::Arg>,
        proc_name: Option<String>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        let call = if run { "run" } else { "create" };
        let (channel, args) = match self.creating(call, &name, args, proc_name.as_deref())? {
            Ok(prepared) => prepared,
            Err(e) => return Ok(Err(e)),
        };
        let max_new = Some(self.may_create());
        let request = match run {
            false => ContextRequest::Create {
                name,
                args,
                proc_name,
                max_new,
            },
            true => ContextRequest::Run {
                name,
                args,
                proc_name,
                max_new,
            },
        };
        let reply = channel.call(request).await;
        self.created(reply)
    }

    /// How many more new procs this proc may create.
    fn may_create(&self) -> usize {
        self.limits.max_created.saturating_sub(self.created)
    }

    /// The answer to a `create` or `run`: the names, with the new procs
    /// counted, or the guest's error; past the cap (refused by the driver
    /// before the proc was created), the proc stops.
    fn created(&mut self, reply: ContextReply) -> wasmtime::Result<Result<Vec<String>, String>> {
        match reply {
            ContextReply::Created { names, new } => {
                self.created = self.created.saturating_add(new);
                Ok(Ok(names))
            }
            ContextReply::Error(SessionError::Plan(PlanError::CreateLimit(_))) => {
                Err(wasmtime::Error::new(HostStop(Failure::new(
                    FailureKind::TooLarge,
                    format!(
                        "created more than {} procs (the limit per proc; raise it with \
                         `--max-created`)",
                        self.limits.max_created
                    ),
                ))))
            }
            ContextReply::Error(e) => Ok(Err(e.to_string())),
            other => Ok(Err(unexpected(other))),
        }
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
        Ok(self.context()?.name.clone())
    }

    fn args(&mut self) -> wasmtime::Result<Vec<wit::Arg>> {
        Ok(convert::args_to_wit(&self.context()?.args))
    }

    async fn params(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        let channel = self.context()?.channel.clone();
        match channel.call(ContextRequest::Params).await {
            ContextReply::Params(p) => Ok(p),
            other => Err(wasmtime::Error::msg(unexpected(other))),
        }
    }

    async fn result(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.check_size("result", name.len())?;
        let channel = self.context()?.channel.clone();
        match channel.call(ContextRequest::Result { name }).await {
            ContextReply::Result(r) => Ok(r),
            other => Err(wasmtime::Error::msg(unexpected(other))),
        }
    }

    async fn result_names(&mut self) -> wasmtime::Result<Vec<String>> {
        let channel = self.context()?.channel.clone();
        match channel.call(ContextRequest::ResultNames).await {
            ContextReply::Names(n) => Ok(n),
            other => Err(wasmtime::Error::msg(unexpected(other))),
        }
    }

    fn deps_changed(&mut self) -> wasmtime::Result<bool> {
        Ok(!self.context()?.changed_deps.is_empty())
    }

    fn changed_deps(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.context()?.changed_deps.clone())
    }

    async fn create(
        &mut self,
        name: String,
        args: Vec<wit::Arg>,
        proc_name: Option<String>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        self.create_or_run(false, name, args, proc_name).await
    }

    async fn start(&mut self, names: Vec<String>) -> wasmtime::Result<Result<(), String>> {
        self.check_size("start", names_bytes(&names))?;
        let channel = match self.owned_context() {
            Ok(channel) => channel,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match channel.call(ContextRequest::Start { names }).await {
            ContextReply::Started => Ok(()),
            ContextReply::Error(e) => Err(e.to_string()),
            other => Err(unexpected(other)),
        })
    }

    async fn run(
        &mut self,
        name: String,
        args: Vec<wit::Arg>,
        proc_name: Option<String>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        self.create_or_run(true, name, args, proc_name).await
    }

    async fn wait(
        &mut self,
        names: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<wit::ProcStatus>, String>> {
        self.check_size("wait", names_bytes(&names))?;
        let channel = match self.owned_context() {
            Ok(channel) => channel,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match channel.call(ContextRequest::Wait { names }).await {
            ContextReply::Statuses(statuses) => Ok(statuses
                .into_iter()
                .map(|s: ProcStatus| convert::status_to_wit(s))
                .collect()),
            ContextReply::Error(e) => {
                if e.is_refused_wait() {
                    self.refused_wait = true;
                }
                Err(e.to_string())
            }
            other => Err(unexpected(other)),
        })
    }

    async fn get_input(
        &mut self,
        prompt: String,
        password: bool,
    ) -> wasmtime::Result<Result<String, String>> {
        self.check_size("get-input", prompt.len())?;
        let channel = match self.owned_context() {
            Ok(channel) => channel,
            Err(e) => return Ok(Err(e)),
        };
        if !self.limits.input {
            return Ok(Err(
                "this proc did not declare `needs(input)`, so it may not ask for input".to_owned(),
            ));
        }
        Ok(
            match channel
                .call(ContextRequest::Input { prompt, password })
                .await
            {
                ContextReply::Input(line) => Ok(line),
                ContextReply::Error(e) => Err(e.to_string()),
                other => Err(unexpected(other)),
            },
        )
    }

    fn exec(
        &mut self,
        _request: wit::ExecRequest,
    ) -> wasmtime::Result<Result<wit::ExecOutput, String>> {
        // `Shared::linker` links `tools::exec` in its place (it needs the store).
        Err(wasmtime::format_err!("`exec` is linked by the tool runner"))
    }

    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        self.context()?;
        // A log record of any size is fine: the sink keeps its head and tail.
        self.log.log(convert::level_from_wit(level), &message);
        Ok(())
    }
}

impl v0_1::parproc::jobs::types::Host for HostState {}

/// The context of a module built against `parproc:jobs@0.1.0`: the same calls,
/// its types carried over; a restored proc is `succeeded` there (0.1.0 has no
/// `up-to-date`), which is what a waiting guest needs to know.
impl v0_1::parproc::jobs::context::Host for HostState {
    fn proc_name(&mut self) -> wasmtime::Result<String> {
        Host::proc_name(self)
    }

    fn args(&mut self) -> wasmtime::Result<Vec<v0_1::parproc::jobs::types::Arg>> {
        carry(&Host::args(self)?)
    }

    async fn params(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Host::params(self).await
    }

    async fn result(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Host::result(self, name).await
    }

    async fn result_names(&mut self) -> wasmtime::Result<Vec<String>> {
        Host::result_names(self).await
    }

    fn deps_changed(&mut self) -> wasmtime::Result<bool> {
        Host::deps_changed(self)
    }

    fn changed_deps(&mut self) -> wasmtime::Result<Vec<String>> {
        Host::changed_deps(self)
    }

    async fn create(
        &mut self,
        name: String,
        args: Vec<v0_1::parproc::jobs::types::Arg>,
        proc_name: Option<String>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        Host::create(self, name, carry(&args)?, proc_name).await
    }

    async fn start(&mut self, names: Vec<String>) -> wasmtime::Result<Result<(), String>> {
        Host::start(self, names).await
    }

    async fn run(
        &mut self,
        name: String,
        args: Vec<v0_1::parproc::jobs::types::Arg>,
        proc_name: Option<String>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        Host::run(self, name, carry(&args)?, proc_name).await
    }

    async fn wait(
        &mut self,
        names: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<v0_1::parproc::jobs::types::ProcStatus>, String>> {
        Ok(match Host::wait(self, names).await? {
            Ok(mut statuses) => {
                for s in &mut statuses {
                    if s.state == wit::ProcState::UpToDate {
                        s.state = wit::ProcState::Succeeded;
                    }
                }
                Ok(carry(&statuses)?)
            }
            Err(e) => Err(e),
        })
    }

    async fn get_input(
        &mut self,
        prompt: String,
        password: bool,
    ) -> wasmtime::Result<Result<String, String>> {
        Host::get_input(self, prompt, password).await
    }

    fn log(
        &mut self,
        level: v0_1::parproc::jobs::types::LogLevel,
        message: String,
    ) -> wasmtime::Result<()> {
        Host::log(self, carry(&level)?, message)
    }
}

/// A reply of the wrong kind is a host bug; the proc sees it as an error.
fn unexpected(reply: ContextReply) -> String {
    format!("host error: unexpected context reply {reply:?}")
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
            max_open_files: 16,
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
