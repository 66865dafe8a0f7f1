//! The `context` import: what a running proc asks of the host, forwarded to its
//! [`ProcContext`].
//!
//! Inside a declarations callback there is no proc and no context: fallible
//! calls answer `Err(`[`REFUSED`]`)` and infallible ones trap with that text.

use super::bindings::parproc::jobs::context::Host;
use super::bindings::types::{self as wit, Host as TypesHost};
use super::convert;
use super::state::HostState;
use crate::session::ProcContext;

/// Why a context call made from a declarations callback is refused.
pub(crate) const REFUSED: &str = "context calls are not allowed in declaration callbacks";

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
    ) -> Result<Vec<String>, String> {
        let ctx = self.owned_context()?;
        let args = convert::args_from_wit(args)?;
        ctx.create(name, args, proc_name).await
    }

    async fn start(&mut self, names: Vec<String>) -> Result<(), String> {
        let ctx = self.owned_context()?;
        ctx.start(names).await
    }

    async fn run(
        &mut self,
        name: String,
        args: Vec<wit::Arg>,
        proc_name: Option<String>,
    ) -> Result<Vec<String>, String> {
        let ctx = self.owned_context()?;
        let args = convert::args_from_wit(args)?;
        ctx.run(name, args, proc_name).await
    }

    async fn wait(&mut self, names: Vec<String>) -> Result<Vec<wit::ProcStatus>, String> {
        let ctx = self.owned_context()?;
        let statuses = ctx.wait(names).await?;
        Ok(statuses.into_iter().map(convert::status_to_wit).collect())
    }

    async fn get_input(&mut self, prompt: String, password: bool) -> Result<String, String> {
        let ctx = self.owned_context()?;
        ctx.get_input(prompt, password).await
    }

    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        self.context()?;
        self.log.log(convert::level_from_wit(level), &message);
        Ok(())
    }
}
