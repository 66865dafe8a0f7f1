//! The static description of jobs and of the module, as the macros emit it.

use crate::bindings::parproc::jobs::types::{DeclKind, Mode, ProcError, Value, ValueType};
use crate::{Context, DepContext};

/// A literal written in an attribute (`args(...)` defaults, fixed choices).
#[derive(Debug, Clone, Copy)]
pub enum Lit {
    /// A string literal.
    Text(&'static str),
    /// An integer literal.
    Integer(i64),
    /// A float literal.
    Float(f64),
    /// `true` / `false`.
    Boolean(bool),
}

impl Lit {
    /// The WIT value.
    pub fn to_value(self) -> Value {
        match self {
            Lit::Text(text) => Value::Text(text.to_owned()),
            Lit::Integer(n) => Value::Integer(n),
            Lit::Float(x) => Value::Float(x),
            Lit::Boolean(flag) => Value::Boolean(flag),
        }
    }
}

/// A computed dep: the names, or the error text.
pub type DepsFn = fn(&DepContext) -> Result<Vec<String>, String>;
/// Computed choices of one placeholder.
pub type ChoicesFn = fn(&DepContext) -> Result<Vec<Value>, String>;
/// A computed choices map.
pub type ChoiceMapFn = fn(&DepContext) -> Result<Vec<(String, Vec<Value>)>, String>;
/// A computed input: paths or globs, or the error text.
pub type InputsFn = fn(&DepContext) -> Result<Vec<String>, String>;
/// The run wrapper: converts the args, calls the job function, serialises its result.
pub type RunFn = fn(&Context) -> Result<String, ProcError>;
/// A module param's JSON text, or why it has none.
pub type ParamFn = fn() -> Result<String, String>;

/// One entry of `deps = [...]`.
#[derive(Debug, Clone, Copy)]
pub enum DepSpec {
    /// A name, pattern or glob.
    Name(&'static str),
    /// A computed dep.
    Computed(DepsFn),
    /// `NO_FAILURES`.
    NoFailures,
}

/// One entry of `rdeps = [...]`.
#[derive(Debug, Clone, Copy)]
pub enum RdepSpec {
    /// A plain pattern.
    Plain(&'static str),
    /// `when_scheduled("pattern")`.
    WhenScheduled(&'static str),
    /// `when_target_scheduled("pattern")`.
    WhenTargetScheduled(&'static str),
}

/// The allowed values of one placeholder.
#[derive(Debug, Clone, Copy)]
pub enum ChoiceSpec {
    /// A list of literals.
    Fixed(&'static [Lit]),
    /// Computed by a function.
    Computed(ChoicesFn),
}

/// `choices(...)` or `choices = <expr>`.
#[derive(Debug, Clone, Copy)]
pub enum ChoicesSpec {
    /// Per placeholder, in the order written.
    PerParam(&'static [(&'static str, ChoiceSpec)]),
    /// The whole map is computed.
    Computed(ChoiceMapFn),
}

/// `needs(...)`.
#[derive(Debug, Clone, Copy)]
pub struct NeedsSpec {
    /// Directories: guest path and whether writable.
    pub dirs: &'static [(&'static str, bool)],
    /// Environment variable names.
    pub env: &'static [&'static str],
    /// Network addresses.
    pub network: &'static [&'static str],
    /// Interactive input.
    pub input: bool,
    /// WASI command-line tools run through `context.exec`, by name.
    pub tools: &'static [&'static str],
    /// HTTP origins (`https://api.example.com`).
    pub http: &'static [&'static str],
}

/// One entry of `inputs = [...]`.
#[derive(Debug, Clone, Copy)]
pub enum InputSpec {
    /// A guest path or glob.
    Path(&'static str),
    /// `regex_files("root", "pattern")`.
    RegexFiles(&'static str, &'static str),
    /// A computed input.
    Computed(InputsFn),
}

/// One entry of `outputs = [...]`.
#[derive(Debug, Clone, Copy)]
pub struct OutputSpec {
    /// The guest path or glob.
    pub path: &'static str,
    /// `max_age = "1h"` (seconds when a number).
    pub max_age: Option<&'static str>,
    /// `enforce_freshness = false` turns the post-run age check off.
    pub enforce_freshness: bool,
}

/// Everything `#[proc]`/`#[proto]` know about one job.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// Proc or proto.
    pub kind: DeclKind,
    /// The name or name pattern.
    pub name: &'static str,
    /// The function's parameters besides the context.
    pub params: &'static [(&'static str, ValueType)],
    /// `args(...)`.
    pub defaults: &'static [(&'static str, Lit)],
    /// `deps = [...]`.
    pub deps: &'static [DepSpec],
    /// For each dep, the build error when it names no job and missing deps
    /// are denied (empty for a computed dep or `NO_FAILURES`).
    pub dep_errors: &'static [&'static str],
    /// `rdeps = [...]`.
    pub rdeps: &'static [RdepSpec],
    /// `locks = [...]`.
    pub locks: &'static [&'static str],
    /// `wave = N`.
    pub wave: i32,
    /// `now`.
    pub now: bool,
    /// `timeout = seconds`, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// `fuel = N`.
    pub fuel: Option<u64>,
    /// `memory = bytes`.
    pub memory_bytes: Option<u64>,
    /// `choices`.
    pub choices: ChoicesSpec,
    /// `log_ignore = [...]`.
    pub log_ignore: &'static [&'static str],
    /// `log_ignore_if_succeeded = [...]`.
    pub log_ignore_if_succeeded: &'static [&'static str],
    /// `needs(...)`.
    pub needs: NeedsSpec,
    /// `description = "..."` or the first doc line.
    pub description: &'static str,
    /// `inputs = [...]`.
    pub inputs: &'static [InputSpec],
    /// `inputs_ignore = [...]`.
    pub inputs_ignore: &'static [&'static str],
    /// `outputs = [...]`.
    pub outputs: &'static [OutputSpec],
    /// `no_skip`.
    pub no_skip: bool,
    /// The run wrapper.
    pub run: RunFn,
}

/// Implemented by the type-namespace twin of every `#[proc]`/`#[proto]` function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a job",
    label = "not annotated with `#[proc]` or `#[proto]`",
    note = "`export_jobs!` takes the functions annotated with `#[proc]` or `#[proto]`"
)]
pub trait Job {
    /// The job's description.
    const SPEC: JobSpec;
}

/// Everything `export_jobs!` knows about the module.
#[derive(Debug, Clone, Copy)]
pub struct ModuleSpec {
    /// The jobs, in the order listed.
    pub jobs: &'static [&'static JobSpec],
    /// `targets = [...]`.
    pub targets: &'static [&'static str],
    /// `parallel = N`.
    pub parallel: Option<u32>,
    /// `mode = parallel | single`.
    pub mode: Option<Mode>,
    /// `separator = "..."`.
    pub separator: Option<&'static str>,
    /// `allow_missing_deps = bool`.
    pub allow_missing_deps: Option<bool>,
    /// `params(name = value, ...)`.
    pub params: &'static [(&'static str, ParamFn)],
    /// `task_db`: the module asks for an incremental run.
    pub task_db: Option<bool>,
    /// `inputs_ignore = [...]`: removed from every proc's declared inputs.
    pub inputs_ignore: &'static [&'static str],
}

impl ModuleSpec {
    pub(crate) fn job(&self, decl: &str) -> Result<&'static JobSpec, String> {
        self.jobs
            .iter()
            .copied()
            .find(|job| job.name == decl)
            .ok_or_else(|| format!("this module declares no proc or proto named `{decl}`"))
    }
}
