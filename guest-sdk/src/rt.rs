//! The runtime behind the macros: the static description of each job that `#[proc]` and
//! `#[proto]` emit, and the dispatch that `export_jobs!` wires to the WIT exports.
//!
//! Everything here is `#[doc(hidden)]` (reached as `parproc_guest::__rt`) and may change
//! without notice; modules use the macros instead.
//!
//! ## Outline
//!
//! 1. `#[proc] fn f` / `#[proto] fn f` keep `f` and add a type-namespace twin `struct f {}`
//!    implementing [`Job`], whose [`JobSpec`] is plain `const` data plus function pointers
//!    (the run wrapper, computed deps and choices).
//! 2. `export_jobs!(f, g; ...)` builds a [`ModuleSpec`] from `<f as Job>::SPEC`, ... and the
//!    settings, implements the two exported WIT interfaces by calling [`describe`],
//!    [`resolve_deps`], [`resolve_choices`] and [`run`], and invokes wit-bindgen's export
//!    macro in the module's crate.

use serde::Serialize;

use crate::bindings::parproc::jobs::types::{
    self as wit, Arg, ArgChoices, ChoiceSource, DeclKind, DepDecl, DirNeed, JobDecl, Limits,
    LogIgnore, Manifest, Mode, Needs, ParamDecl, ProcError, RdepDecl, RunOptions, Value,
    ValueType,
};
use crate::dep_context::{IntoChoiceMap, IntoChoices, IntoDeps};
use crate::value::FromValue;
use crate::{Context, DepContext, Error, json};

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
}

impl ModuleSpec {
    fn job(&self, decl: &str) -> Result<&'static JobSpec, String> {
        self.jobs
            .iter()
            .copied()
            .find(|job| job.name == decl)
            .ok_or_else(|| format!("this module declares no proc or proto named `{decl}`"))
    }
}

/// Identity that gives a computed dep's closure its parameter type (`|d| ...` needs no
/// annotation) and checks its return type.
pub fn dep_fn<F: Fn(&DepContext) -> R, R: IntoDeps>(f: F) -> F {
    f
}

/// Identity for computed choices of one placeholder; see [`dep_fn`].
pub fn choices_fn<F: Fn(&DepContext) -> R, R: IntoChoices>(f: F) -> F {
    f
}

/// Identity for a computed choices map; see [`dep_fn`].
pub fn choice_map_fn<F: Fn(&DepContext) -> R, R: IntoChoiceMap>(f: F) -> F {
    f
}

/// Calls a computed dep and normalises what it returned.
pub fn into_deps<R: IntoDeps>(returned: R) -> Result<Vec<String>, String> {
    returned.into_deps()
}

/// Calls computed choices and normalises what they returned.
pub fn into_choices<R: IntoChoices>(returned: R) -> Result<Vec<Value>, String> {
    returned.into_choices()
}

/// Normalises a computed choices map.
pub fn into_choice_map<R: IntoChoiceMap>(returned: R) -> Result<Vec<(String, Vec<Value>)>, String> {
    returned.into_choice_map()
}

/// The JSON text of a module param.
pub fn param_json<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    json::to_text(value)
}

/// What a job function returns: `()` or `Result<T, E>` with `T: Serialize` and
/// `E: Into<Error>`.
#[diagnostic::on_unimplemented(
    message = "a job function cannot return `{Self}`",
    label = "return `Result<T, E>` (T: serde::Serialize, E: Into<parproc_guest::Error>) or `()`",
    note = "the result crosses to the host as JSON; an error ends the proc as failed, skipped or no-change"
)]
pub trait IntoRunResult {
    /// The JSON result, or how the proc ended without one.
    fn into_run_result(self) -> Result<String, ProcError>;
}

impl IntoRunResult for () {
    fn into_run_result(self) -> Result<String, ProcError> {
        Ok("null".to_owned())
    }
}

impl<T: Serialize, E: Into<Error>> IntoRunResult for Result<T, E> {
    fn into_run_result(self) -> Result<String, ProcError> {
        let value = self.map_err(|e| e.into().into_proc_error())?;
        serde_json::to_string(&value)
            .map_err(|e| ProcError::Failed(format!("result is not serialisable: {e}")))
    }
}

/// Turns what the job function returned into the WIT result.
pub fn finish<R: IntoRunResult>(returned: R) -> Result<String, ProcError> {
    returned.into_run_result()
}

/// The arg `name` of the running proc, converted to the parameter type `T`.
pub fn arg<T: FromValue>(ctx: &Context, name: &str) -> Result<T, ProcError> {
    let arg = ctx
        .args()
        .iter()
        .find(|arg| arg.name == name)
        .ok_or_else(|| ProcError::Failed(format!("missing argument `{name}`")))?;
    T::from_value(&arg.value)
        .map_err(|why| ProcError::Failed(format!("argument `{name}`: {why}")))
}

/// Const check run by `export_jobs!`: no two jobs share a name.
pub const fn check_unique_names(names: &[&str]) {
    let mut i = 0;
    while i < names.len() {
        let mut j = i + 1;
        while j < names.len() {
            if str_eq(names[i], names[j]) {
                panic!("two jobs passed to `export_jobs!` have the same name");
            }
            j += 1;
        }
        i += 1;
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `declarations.describe`.
pub fn describe(module: &ModuleSpec) -> Manifest {
    Manifest {
        jobs: module.jobs.iter().map(|job| job_decl(job)).collect(),
        targets: strings(module.targets),
        options: RunOptions {
            parallel: module.parallel,
            mode: module.mode,
            separator: module.separator.map(str::to_owned),
            allow_missing_deps: module.allow_missing_deps,
        },
        params: module
            .params
            .iter()
            .map(|(name, value)| {
                // `describe` has no error channel; a module param that cannot be JSON is a
                // bug in the module, reported by a trap with this message.
                let text = value().unwrap_or_else(|why| {
                    panic!("module param `{name}` is not serialisable: {why}")
                });
                ((*name).to_owned(), text)
            })
            .collect(),
    }
}

fn job_decl(job: &JobSpec) -> JobDecl {
    let (choices, choices_computed) = match job.choices {
        ChoicesSpec::PerParam(list) => (
            list.iter()
                .map(|(param, choice)| ArgChoices {
                    param: (*param).to_owned(),
                    source: match choice {
                        ChoiceSpec::Fixed(values) => {
                            ChoiceSource::Fixed(values.iter().map(|lit| lit.to_value()).collect())
                        }
                        ChoiceSpec::Computed(_) => ChoiceSource::Computed,
                    },
                })
                .collect(),
            false,
        ),
        ChoicesSpec::Computed(_) => (Vec::new(), true),
    };
    JobDecl {
        kind: job.kind,
        name: job.name.to_owned(),
        params: job
            .params
            .iter()
            .map(|(name, ty)| ParamDecl {
                name: (*name).to_owned(),
                ty: *ty,
            })
            .collect(),
        defaults: job
            .defaults
            .iter()
            .map(|(name, lit)| Arg::new(*name, lit.to_value()))
            .collect(),
        deps: job
            .deps
            .iter()
            .map(|dep| match dep {
                DepSpec::Name(name) => DepDecl::Name((*name).to_owned()),
                DepSpec::Computed(_) => DepDecl::Computed,
                DepSpec::NoFailures => DepDecl::NoFailures,
            })
            .collect(),
        rdeps: job
            .rdeps
            .iter()
            .map(|rdep| match rdep {
                RdepSpec::Plain(p) => RdepDecl::Plain((*p).to_owned()),
                RdepSpec::WhenScheduled(p) => RdepDecl::WhenScheduled((*p).to_owned()),
                RdepSpec::WhenTargetScheduled(p) => RdepDecl::WhenTargetScheduled((*p).to_owned()),
            })
            .collect(),
        locks: strings(job.locks),
        wave: job.wave,
        now: job.now,
        limits: Limits {
            timeout_ms: job.timeout_ms,
            fuel: job.fuel,
            memory_bytes: job.memory_bytes,
        },
        choices,
        choices_computed,
        log_ignore: job
            .log_ignore
            .iter()
            .map(|re| LogIgnore::Always((*re).to_owned()))
            .chain(
                job.log_ignore_if_succeeded
                    .iter()
                    .map(|re| LogIgnore::IfSucceeded((*re).to_owned())),
            )
            .collect(),
        needs: Needs {
            dirs: job
                .needs
                .dirs
                .iter()
                .map(|(path, writable)| DirNeed {
                    path: (*path).to_owned(),
                    writable: *writable,
                })
                .collect(),
            env: strings(job.needs.env),
            network: strings(job.needs.network),
            input: job.needs.input,
        },
        description: job.description.to_owned(),
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// `declarations.resolve-deps`.
pub fn resolve_deps(
    module: &ModuleSpec,
    decl: &str,
    index: u32,
    ctx: wit::DepContext,
) -> Result<Vec<String>, String> {
    let job = module.job(decl)?;
    let dep = usize::try_from(index)
        .ok()
        .and_then(|i| job.deps.get(i))
        .ok_or_else(|| format!("`{decl}` has no dep at index {index}"))?;
    match dep {
        DepSpec::Computed(compute) => compute(&DepContext::from(ctx)),
        DepSpec::Name(_) | DepSpec::NoFailures => {
            Err(format!("dep {index} of `{decl}` is not a computed dep"))
        }
    }
}

/// `declarations.resolve-choices`.
pub fn resolve_choices(
    module: &ModuleSpec,
    decl: &str,
    param: Option<&str>,
    ctx: wit::DepContext,
) -> Result<Vec<(String, Vec<Value>)>, String> {
    let job = module.job(decl)?;
    let ctx = DepContext::from(ctx);
    match (job.choices, param) {
        (ChoicesSpec::Computed(compute), _) => {
            let map = compute(&ctx)?;
            match param {
                None => Ok(map),
                Some(param) => Ok(map.into_iter().filter(|(name, _)| name == param).collect()),
            }
        }
        (ChoicesSpec::PerParam(list), Some(param)) => {
            let (name, choice) = list
                .iter()
                .find(|(name, _)| *name == param)
                .ok_or_else(|| format!("`{decl}` declares no choices for `{param}`"))?;
            Ok(vec![((*name).to_owned(), choice_values(choice, &ctx)?)])
        }
        (ChoicesSpec::PerParam(list), None) => list
            .iter()
            .map(|(name, choice)| Ok(((*name).to_owned(), choice_values(choice, &ctx)?)))
            .collect(),
    }
}

fn choice_values(choice: &ChoiceSpec, ctx: &DepContext) -> Result<Vec<Value>, String> {
    match choice {
        ChoiceSpec::Fixed(values) => Ok(values.iter().map(|lit| lit.to_value()).collect()),
        ChoiceSpec::Computed(compute) => compute(ctx),
    }
}

/// `procs.run`: fills in `args(...)` defaults for parameters the host did not send, then
/// calls the job's run wrapper.
pub fn run(
    module: &ModuleSpec,
    decl: &str,
    proc_name: String,
    mut args: Vec<Arg>,
) -> Result<String, ProcError> {
    let job = module.job(decl).map_err(ProcError::Failed)?;
    for (param, _) in job.params {
        if args.iter().any(|arg| arg.name == *param) {
            continue;
        }
        if let Some((_, lit)) = job.defaults.iter().find(|(name, _)| name == param) {
            args.push(Arg::new(*param, lit.to_value()));
        }
    }
    (job.run)(&Context::__new(proc_name, args))
}
