//! Write parproc job modules in Rust.
//!
//! A job module is a WASI 0.2 component that the parproc host loads and runs in a sandbox.
//! It declares *procs* (named jobs) and *protos* (templates whose names contain
//! `[placeholders]`, such as `build::[env]`), each with its deps, rdeps, locks, wave and
//! budgets, and runs them when the host asks. This crate is the only dependency such a
//! module needs: it wraps the `parproc:jobs` WIT world ([`bindings`]) behind three macros.
//!
//! - [`#[proc(...)]`](macro@proc) turns a function into a proc.
//! - [`#[proto(...)]`](macro@proto) turns a function into a proto; each `[placeholder]` of
//!   the name is a parameter of the function.
//! - [`export_jobs!(...)`](export_jobs) lists the module's jobs, sets module defaults
//!   (targets, parallelism, params) and exports everything to the host.
//!
//! A running proc talks to the host through its [`Context`]; computed deps and choices get a
//! [`DepContext`]. A proc ends by returning a result (any `serde::Serialize` value, sent as
//! JSON) or an [`Error`] (failed, skipped or no change).
//!
//! # Example
//!
//! The first example of parproc's README, with a proto added:
//!
//! ```no_run
//! use parproc_guest::prelude::*;
//!
//! /// Sleeps a second.
//! #[proc(now)]
//! fn func0(_ctx: &Context) -> Result<(), Error> {
//!     std::thread::sleep(std::time::Duration::from_secs(1));
//!     Ok(())
//! }
//!
//! #[proc(now)]
//! fn func1() -> Result<String, Error> {
//!     Ok("one".to_owned())
//! }
//!
//! #[proc(now, deps = ["func0", "func1"])]
//! fn func2(ctx: &Context) -> Result<String, Error> {
//!     Ok(format!("after {:?}", ctx.result::<String>("func1")))
//! }
//!
//! #[proto(name = "build::[env]", choices(env = ["dev", "prod"]))]
//! fn build(_ctx: &Context, env: String) -> Result<String, Error> {
//!     Ok(format!("built {env}"))
//! }
//!
//! parproc_guest::export_jobs!(func0, func1, func2, build; targets = ["build::*"]);
//! # fn main() {}
//! ```
//!
//! Build it as a component and run it with the host:
//!
//! ```text
//! cargo build --release --target wasm32-wasip2
//! parproc-host run target/wasm32-wasip2/release/my_jobs.wasm
//! ```
//!
//! The module crate is a `cdylib`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! parproc-guest = { path = "../guest-sdk" }
//! ```
//!
//! # Job functions
//!
//! A job function takes an optional first parameter `&Context` (any name), then one
//! parameter per argument. Parameter types are `String` (WIT `text`), any integer type
//! (`integer`; the host's 64-bit value is range-checked and the proc fails with a clear
//! message if it does not fit), `f64`/`f32` (`float`) and `bool` (`boolean`). In a proto,
//! every `[placeholder]` needs a parameter of the same name, and every other parameter needs
//! a default in `args(...)`; a proc takes all its parameters from `args(...)`. A parameter
//! `_env` stands for `env` when nothing is called `_env`, to silence the unused-variable
//! lint.
//!
//! It returns `()` or `Result<T, E>` where `T: serde::Serialize` and
//! `E: Into<`[`Error`]`>`; every `std::error::Error` converts, so `?` works on I/O errors.
//! Output written with `println!`/`eprintln!` goes to the proc's log.
//!
//! Results that are structs need `serde`'s derive, which this crate re-exports:
//!
//! ```no_run
//! use parproc_guest::prelude::*;
//! use parproc_guest::serde::Serialize;
//!
//! #[derive(Serialize)]
//! #[serde(crate = "parproc_guest::serde")]
//! struct Report {
//!     passed: u32,
//! }
//!
//! #[proc]
//! fn check() -> Result<Report, Error> {
//!     Ok(Report { passed: 3 })
//! }
//! # parproc_guest::export_jobs!(check);
//! # fn main() {}
//! ```
//!
//! or, without a type, [`json!`]: `Ok(json!({ "passed": 3 }))`.
//!
//! # Running tools
//!
//! A proc can run WASI command-line tools (a preview1 command module such as the YoWASP
//! tools, or a `wasi:cli/command` component) as sub-steps: it declares each by name in
//! `needs(tools = [...])`, the user maps the name to a file with
//! `--tool NAME=PATH.wasm`, and the proc runs it with [`Exec`]:
//!
//! ```no_run
//! use parproc_guest::prelude::*;
//!
//! #[proc(needs(dirs_rw = ["/design"], tools = ["yosys"]))]
//! fn synth() -> Result<(), Error> {
//!     let out = Exec::new("yosys")
//!         .args(["-q", "-p", "synth; write_json /design/top.json", "/design/top.v"])
//!         .dir("/design", true)
//!         .run()?; // fails when the tool cannot start
//!     if !out.success() {
//!         return Err(Error::failed(out.stderr_text()));
//!     }
//!     Ok(())
//! }
//! # parproc_guest::export_jobs!(synth);
//! # fn main() {}
//! ```
//!
//! The tool sees only the directories passed with [`Exec::dir`] (a subset of the proc's,
//! writable only where the proc's are), its own read-only data directories (`--tool-dir`)
//! and a private writable `/tmp`; it gets only the environment given and no network. Its fuel
//! and memory come out of the proc's budget, and a tool that uses up the fuel ends the proc.
//! [`Exec::run`] fails when the tool cannot start (not declared, a directory not granted, a
//! tool that does not load); otherwise it returns an [`ExecOutput`]: the exit code (134 when
//! the tool trapped, with the host's reason at the end of stderr), up to 1 MiB (the host's
//! bound, or less with [`Exec::max_output`]) of stdout and of stderr, and whether either was
//! cut. Both streams also go to the proc's log.
//!
//! `needs(http = ["https://api.example.com"])` declares the origins a proc reaches over
//! `wasi:http`; the user grants them with `--allow-http`.

#![deny(missing_docs)]

extern crate self as parproc_guest;

pub mod bindings;
mod context;
mod dep_context;
mod error;
mod exec;
mod json;
mod rt;
mod value;

pub use context::Context;
pub use dep_context::{DepContext, IntoChoiceMap, IntoChoices, IntoDeps};
pub use error::{Error, ErrorKind};
pub use exec::Exec;
pub use value::FromValue;

pub use bindings::parproc::jobs::types::{
    Arg, ExecOutput, FailureKind, LogLevel, ProcState, ProcStatus, Value, ValueType,
};

#[doc(inline)]
pub use parproc_guest_macros::{export_jobs, proc, proto};

/// The `wit-bindgen` runtime the generated bindings use (so a module needs no dependency on
/// `wit-bindgen` itself).
pub use wit_bindgen;

/// `serde_json`, for results and params ([`json!`] is in the [`prelude`]).
pub use serde_json;

/// `serde`, for `#[derive(Serialize)]` on results (add
/// `#[serde(crate = "parproc_guest::serde")]`).
pub use serde;

pub use serde_json::json;

/// The runtime behind the macros. Not a public API.
#[doc(hidden)]
pub mod __rt {
    pub use crate::bindings::exports::parproc::jobs::{declarations, procs};
    pub use crate::bindings::parproc::jobs::types::{DeclKind, Manifest, Mode, ProcError};
    pub use crate::rt::*;
}

/// Everything a job module usually needs: `use parproc_guest::prelude::*;`.
pub mod prelude {
    pub use crate::{Context, DepContext, Error, Exec, Value, export_jobs, json, proc, proto};
}
