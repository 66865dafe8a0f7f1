//! Conversions between the WIT types and the host's `spec`, `plan` and
//! `outcome` types, with bounds on what a guest may hand back.
//!
//! A guest is untrusted: everything it returns is checked for sizes, counts and
//! plausible names here, and garbage becomes an `Err(String)` (a failed request
//! or a load error), never a panic.

use std::time::Duration;

use super::bindings::types as wit;
use super::trap;
use crate::logsink::LogLevel;
use crate::outcome::{FailureKind, ProcState, ProcStatus};
use crate::plan::DepContext;
use crate::spec::{
    ChoiceSource, DeclKind, DepDecl, DirNeed, Incremental, InputDecl, JobDecl, Limits, LogIgnore,
    Manifest, Mode, Needs, OutputDecl, RdepDecl, RunOptions, Value, ValueType,
};

/// The longest name (proc, pattern, param, lock) in bytes.
pub(crate) const MAX_NAME: usize = 4096;
/// The longest list a guest may return (deps, choices, args, rules).
pub(crate) const MAX_LIST: usize = 10_000;
/// The longest answer of a callback (computed deps, the values of one
/// placeholder): as many as a run may hold procs. What a callback can return is
/// bounded by its memory cap in any case.
pub(crate) const MAX_ANSWER: usize = 1_000_000;
/// The most declarations a module may have.
pub(crate) const MAX_JOBS: usize = 100_000;
/// The longest free text (descriptions, messages, regular expressions) in bytes.
pub(crate) const MAX_TEXT: usize = 64 * 1024;
/// The longest JSON param value in bytes.
pub(crate) const MAX_JSON: usize = 1 << 20;

/// Checks a name: not empty, not too long, no control characters.
fn name(what: &str, text: String) -> Result<String, String> {
    if text.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if text.len() > MAX_NAME {
        return Err(format!(
            "{what} is {} bytes long (the limit is {MAX_NAME})",
            text.len()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} {text:?} contains a control character"));
    }
    Ok(text)
}

/// Checks free text for its length.
fn text(what: &str, text: String, max: usize) -> Result<String, String> {
    if text.len() > max {
        return Err(format!(
            "{what} is {} bytes long (the limit is {max})",
            text.len()
        ));
    }
    Ok(text)
}

/// Checks a list for its length.
fn list<T>(what: &str, items: Vec<T>, max: usize) -> Result<Vec<T>, String> {
    if items.len() > max {
        return Err(format!(
            "{what}: {} entries (the limit is {max})",
            items.len()
        ));
    }
    Ok(items)
}

/// Checks every name of a list.
fn names(what: &str, items: Vec<String>) -> Result<Vec<String>, String> {
    names_upto(what, items, MAX_LIST)
}

/// Checks every name of a list of at most `max`.
fn names_upto(what: &str, items: Vec<String>, max: usize) -> Result<Vec<String>, String> {
    list(what, items, max)?
        .into_iter()
        .map(|n| name(&format!("a name in {what}"), n))
        .collect()
}

/// A host value as WIT.
pub(crate) fn value_to_wit(value: &Value) -> wit::Value {
    match value {
        Value::Text(s) => wit::Value::Text(s.clone()),
        Value::Integer(i) => wit::Value::Integer(*i),
        Value::Float(f) => wit::Value::Float(*f),
        Value::Boolean(b) => wit::Value::Boolean(*b),
    }
}

/// A guest value; floats must be finite.
pub(crate) fn value_from_wit(value: wit::Value) -> Result<Value, String> {
    Ok(match value {
        wit::Value::Text(s) => Value::Text(text("a text value", s, MAX_TEXT)?),
        wit::Value::Integer(i) => Value::Integer(i),
        wit::Value::Float(f) if f.is_finite() => Value::Float(f),
        wit::Value::Float(f) => return Err(format!("the float value {f} is not finite")),
        wit::Value::Boolean(b) => Value::Boolean(b),
    })
}

fn value_type_from_wit(ty: wit::ValueType) -> ValueType {
    match ty {
        wit::ValueType::Text => ValueType::Text,
        wit::ValueType::Integer => ValueType::Integer,
        wit::ValueType::Float => ValueType::Float,
        wit::ValueType::Boolean => ValueType::Boolean,
    }
}

/// Host args as WIT args.
pub(crate) fn args_to_wit(args: &[(String, Value)]) -> Vec<wit::Arg> {
    args.iter()
        .map(|(name, value)| wit::Arg {
            name: name.clone(),
            value: value_to_wit(value),
        })
        .collect()
}

/// Guest args (from a context call) as host args.
pub(crate) fn args_from_wit(args: Vec<wit::Arg>) -> Result<Vec<(String, Value)>, String> {
    list("the args", args, MAX_LIST)?
        .into_iter()
        .map(|a| Ok((name("an arg name", a.name)?, value_from_wit(a.value)?)))
        .collect()
}

/// A planner's callback context as WIT.
pub(crate) fn dep_context_to_wit(ctx: &DepContext) -> wit::DepContext {
    wit::DepContext {
        proc_name: ctx.proc_name.clone(),
        args: ctx.args.clone(),
        params: ctx.params.clone(),
    }
}

/// The answer of `resolve-deps`: names, patterns or globs.
pub(crate) fn deps_from_wit(deps: Vec<String>) -> Result<Vec<String>, String> {
    names_upto("the computed deps", deps, MAX_ANSWER)
}

/// The answer of `resolve-choices`: values per placeholder.
pub(crate) fn choices_from_wit(
    choices: Vec<(String, Vec<wit::Value>)>,
) -> Result<Vec<(String, Vec<Value>)>, String> {
    list("the computed choices", choices, MAX_LIST)?
        .into_iter()
        .map(|(param, values)| {
            let param = name("a placeholder name", param)?;
            let values = list(&format!("the choices of `{param}`"), values, MAX_ANSWER)?
                .into_iter()
                .map(value_from_wit)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("a choice of `{param}`: {e}"))?;
            Ok((param, values))
        })
        .collect()
}

/// A proc state as WIT.
pub(crate) fn state_to_wit(state: ProcState) -> wit::ProcState {
    match state {
        ProcState::Idle => wit::ProcState::Idle,
        ProcState::Wanted => wit::ProcState::Wanted,
        ProcState::Running => wit::ProcState::Running,
        ProcState::Succeeded => wit::ProcState::Succeeded,
        ProcState::Failed => wit::ProcState::Failed,
        ProcState::FailedDep => wit::ProcState::FailedDep,
        ProcState::Skipped => wit::ProcState::Skipped,
        ProcState::Cancelled => wit::ProcState::Cancelled,
        ProcState::UpToDate => wit::ProcState::UpToDate,
    }
}

/// A failure kind as WIT; none for "no change", which is a skip (the WIT
/// has no case for it: the proc's state says skipped).
pub(crate) fn failure_kind_to_wit(kind: FailureKind) -> Option<wit::FailureKind> {
    Some(match kind {
        FailureKind::Failed => wit::FailureKind::Failed,
        FailureKind::DepFailed => wit::FailureKind::DepFailed,
        FailureKind::DepMissing => wit::FailureKind::DepMissing,
        FailureKind::NoFailures => wit::FailureKind::NoFailures,
        FailureKind::TimedOut => wit::FailureKind::TimedOut,
        FailureKind::OutOfFuel => wit::FailureKind::OutOfFuel,
        FailureKind::MemoryLimit => wit::FailureKind::MemoryLimit,
        FailureKind::Trapped => wit::FailureKind::Trapped,
        FailureKind::TooLarge => wit::FailureKind::TooLarge,
        FailureKind::Deadlock => wit::FailureKind::Deadlock,
        FailureKind::NotGranted => wit::FailureKind::NotGranted,
        FailureKind::Cancelled => wit::FailureKind::Cancelled,
        FailureKind::HostError => wit::FailureKind::HostError,
        FailureKind::NoChange => return None,
    })
}

/// A proc status (from `context.wait`) as WIT.
pub(crate) fn status_to_wit(status: ProcStatus) -> wit::ProcStatus {
    wit::ProcStatus {
        name: status.name,
        state: state_to_wit(status.state),
        failure: status.failure.and_then(failure_kind_to_wit),
        message: status.message,
    }
}

/// A WIT log level as the sink's.
pub(crate) fn level_from_wit(level: wit::LogLevel) -> LogLevel {
    match level {
        wit::LogLevel::Trace => LogLevel::Trace,
        wit::LogLevel::Debug => LogLevel::Debug,
        wit::LogLevel::Info => LogLevel::Info,
        wit::LogLevel::Warn => LogLevel::Warn,
        wit::LogLevel::Error => LogLevel::Error,
    }
}

/// The manifest `describe` returned, checked for sizes and counts (the meaning
/// of names, deps and choices is checked by `spec` and the planner).
pub(crate) fn manifest_from_wit(manifest: wit::Manifest) -> Result<Manifest, String> {
    let jobs = list("the manifest", manifest.jobs, MAX_JOBS)?
        .into_iter()
        .enumerate()
        .map(|(i, job)| {
            let label = if job.name.len() <= 200 {
                format!("declaration {} (`{}`)", i + 1, job.name)
            } else {
                format!("declaration {}", i + 1)
            };
            job_from_wit(job).map_err(|e| format!("{label}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let targets = names("the targets", manifest.targets)?;
    let options = options_from_wit(manifest.options)?;
    let params = list("the params", manifest.params, MAX_LIST)?
        .into_iter()
        .map(|(key, json)| {
            let key = name("a param name", key)?;
            let json = text(&format!("param `{key}`"), json, MAX_JSON)?;
            crate::jsontext::check(&json).map_err(|e| format!("param `{key}` is {e}"))?;
            let value = serde_json::from_str(&json)
                .map_err(|e| format!("param `{key}` is not valid JSON: {e}"))?;
            Ok((key, value))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Manifest {
        jobs,
        targets,
        options,
        params,
    })
}

fn options_from_wit(options: wit::RunOptions) -> Result<RunOptions, String> {
    let separator = options
        .separator
        .map(|s| name("the separator", s))
        .transpose()?;
    Ok(RunOptions {
        parallel: options.parallel,
        mode: options.mode.map(|m| match m {
            wit::Mode::Parallel => Mode::Parallel,
            wit::Mode::Single => Mode::Single,
        }),
        separator,
        allow_missing_deps: options.allow_missing_deps,
        task_db: options.task_db,
        inputs_ignore: paths(
            "the inputs to ignore",
            options.inputs_ignore,
            Rooted::UnlessGlob,
        )?,
    })
}

/// Whether a list of guest paths may hold globs that match anywhere.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rooted {
    /// Every entry is an absolute guest path or glob.
    Always,
    /// Ignore rules: a glob may match anywhere (`*.tmp`).
    UnlessGlob,
}

/// Guest paths or globs of the incremental options: bounded texts, absolute
/// (see [`Rooted`]).
fn paths(what: &str, paths: Vec<String>, rooted: Rooted) -> Result<Vec<String>, String> {
    let paths = names(what, paths)?;
    let loose = |p: &String| rooted == Rooted::UnlessGlob && p.contains(['*', '?', '[']);
    if let Some(bad) = paths.iter().find(|p| !p.starts_with('/') && !loose(p)) {
        return Err(format!(
            "{what}: `{bad}` is not an absolute guest path; write it as the proc sees it, like `/src/{bad}`"
        ));
    }
    Ok(paths)
}

/// The answer of `resolve-inputs`: absolute guest paths or globs.
pub(crate) fn inputs_from_wit(inputs: Vec<String>) -> Result<Vec<String>, String> {
    paths("the computed inputs", inputs, Rooted::Always)
}

fn incremental_from_wit(inc: wit::Incremental) -> Result<Incremental, String> {
    let inputs = list("the inputs", inc.inputs, MAX_LIST)?
        .into_iter()
        .map(|i| {
            Ok(match i {
                wit::InputDecl::Path(p) => {
                    InputDecl::Path(paths("an input", vec![p], Rooted::Always)?.remove(0))
                }
                wit::InputDecl::RegexFiles(r) => {
                    let root = paths("a regex_files root", vec![r.root], Rooted::Always)?.remove(0);
                    let pattern = text("a regex_files pattern", r.pattern, MAX_TEXT)?;
                    if let Err(e) = regex::Regex::new(&pattern) {
                        return Err(format!(
                            "regex_files: invalid regex `{pattern}`: {}",
                            trap::one_line(&e.to_string())
                        ));
                    }
                    InputDecl::RegexFiles { root, pattern }
                }
                wit::InputDecl::Computed => InputDecl::Computed,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let outputs = list("the outputs", inc.outputs, MAX_LIST)?
        .into_iter()
        .map(|o| {
            let path = paths("an output", vec![o.path], Rooted::Always)?.remove(0);
            let max_age = o
                .max_age
                .map(|a| parproc_core::units::parse_max_age(&a))
                .transpose()
                .map_err(|e| format!("output `{path}`: {e}"))?;
            Ok(OutputDecl {
                path,
                max_age,
                enforce_freshness: o.enforce_freshness,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Incremental {
        inputs,
        inputs_ignore: paths(
            "the inputs to ignore",
            inc.inputs_ignore,
            Rooted::UnlessGlob,
        )?,
        outputs,
        no_skip: inc.no_skip,
    })
}

fn job_from_wit(job: wit::JobDecl) -> Result<JobDecl, String> {
    let params = list("the params", job.params, MAX_LIST)?
        .into_iter()
        .map(|p| Ok((name("a param name", p.name)?, value_type_from_wit(p.ty))))
        .collect::<Result<Vec<_>, String>>()?;
    let defaults = args_from_wit(job.defaults).map_err(|e| format!("defaults: {e}"))?;
    let deps = list("the deps", job.deps, MAX_LIST)?
        .into_iter()
        .map(|d| {
            Ok(match d {
                wit::DepDecl::Name(n) => DepDecl::Name(name("a dep", n)?),
                wit::DepDecl::Computed => DepDecl::Computed,
                wit::DepDecl::NoFailures => DepDecl::NoFailures,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let rdeps = list("the rdeps", job.rdeps, MAX_LIST)?
        .into_iter()
        .map(|r| {
            Ok(match r {
                wit::RdepDecl::Plain(n) => RdepDecl::Plain(name("an rdep", n)?),
                wit::RdepDecl::WhenScheduled(n) => RdepDecl::WhenScheduled(name("an rdep", n)?),
                wit::RdepDecl::WhenTargetScheduled(n) => {
                    RdepDecl::WhenTargetScheduled(name("an rdep", n)?)
                }
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let choices = list("the choices", job.choices, MAX_LIST)?
        .into_iter()
        .map(|c| {
            let param = name("a choices placeholder", c.param)?;
            let source = match c.source {
                wit::ChoiceSource::Fixed(values) => ChoiceSource::Fixed(
                    list(&format!("the choices of `{param}`"), values, MAX_LIST)?
                        .into_iter()
                        .map(value_from_wit)
                        .collect::<Result<_, _>>()?,
                ),
                wit::ChoiceSource::Computed => ChoiceSource::Computed,
            };
            Ok((param, source))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let log_ignore = list("the log-ignore rules", job.log_ignore, MAX_LIST)?
        .into_iter()
        .map(|r| {
            let rule = match r {
                wit::LogIgnore::Always(re) => LogIgnore::Always(text("a rule", re, MAX_TEXT)?),
                wit::LogIgnore::IfSucceeded(re) => {
                    LogIgnore::IfSucceeded(text("a rule", re, MAX_TEXT)?)
                }
            };
            let (LogIgnore::Always(re) | LogIgnore::IfSucceeded(re)) = &rule;
            if let Err(e) = crate::report::snippet::check_rule(re) {
                return Err(format!(
                    "log_ignore: invalid regular expression `{re}`: {}",
                    trap::one_line(&e.to_string())
                ));
            }
            Ok(rule)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(JobDecl {
        kind: match job.kind {
            wit::DeclKind::Proc => DeclKind::Proc,
            wit::DeclKind::Proto => DeclKind::Proto,
        },
        name: name("the name", job.name)?,
        params,
        defaults,
        deps,
        rdeps,
        locks: names("the locks", job.locks)?,
        wave: job.wave,
        now: job.now,
        limits: Limits {
            timeout: job.limits.timeout_ms.map(Duration::from_millis),
            fuel: job.limits.fuel,
            memory: job.limits.memory_bytes,
        },
        choices,
        choices_computed: job.choices_computed,
        log_ignore,
        needs: needs_from_wit(job.needs)?,
        description: text("the description", job.description, MAX_TEXT)?,
        incremental: incremental_from_wit(job.incremental)?,
    })
}

fn needs_from_wit(needs: wit::Needs) -> Result<Needs, String> {
    let dirs = list("the needed dirs", needs.dirs, MAX_LIST)?
        .into_iter()
        .map(|d| {
            let path = name("a needed dir", d.path)?;
            crate::policy::normalize_guest(&path).map_err(|e| format!("a needed dir: {e}"))?;
            Ok(DirNeed {
                path,
                writable: d.writable,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let env = names("the needed env vars", needs.env)?;
    if let Some(bad) = env.iter().find(|n| n.contains('=')) {
        return Err(format!("the needed env var `{bad}` contains `=`"));
    }
    let network = names("the needed network addresses", needs.network)?;
    for addr in &network {
        crate::policy::parse_net_addr(addr)
            .map_err(|e| format!("a needed network address: {e}"))?;
    }
    let tools = names("the needed tools", needs.tools)?;
    let http = names("the needed HTTP origins", needs.http)?;
    for origin in &http {
        crate::policy::parse_origin_pattern(origin)
            .map_err(|e| format!("a needed HTTP origin: {e}"))?;
    }
    Ok(Needs {
        dirs,
        env,
        network,
        input: needs.input,
        tools,
        http,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str) -> wit::JobDecl {
        wit::JobDecl {
            kind: wit::DeclKind::Proc,
            name: name.to_owned(),
            params: Vec::new(),
            defaults: Vec::new(),
            deps: Vec::new(),
            rdeps: Vec::new(),
            locks: Vec::new(),
            wave: 0,
            now: false,
            limits: wit::Limits {
                timeout_ms: Some(1500),
                fuel: None,
                memory_bytes: None,
            },
            choices: Vec::new(),
            choices_computed: false,
            log_ignore: Vec::new(),
            needs: wit::Needs {
                dirs: Vec::new(),
                env: Vec::new(),
                network: Vec::new(),
                input: false,
                tools: Vec::new(),
                http: Vec::new(),
            },
            description: String::new(),
            incremental: wit::Incremental {
                inputs: Vec::new(),
                inputs_ignore: Vec::new(),
                outputs: Vec::new(),
                no_skip: false,
            },
        }
    }

    fn manifest(jobs: Vec<wit::JobDecl>) -> wit::Manifest {
        wit::Manifest {
            jobs,
            targets: Vec::new(),
            options: wit::RunOptions {
                parallel: None,
                mode: Some(wit::Mode::Single),
                separator: None,
                allow_missing_deps: None,
                task_db: None,
                inputs_ignore: Vec::new(),
            },
            params: vec![("x".to_owned(), "[1, 2]".to_owned())],
        }
    }

    #[test]
    fn converts_a_manifest() {
        let mut build = job("build::[env]");
        build.kind = wit::DeclKind::Proto;
        build.deps = vec![
            wit::DepDecl::Computed,
            wit::DepDecl::Name("setup".to_owned()),
        ];
        let m = manifest_from_wit(manifest(vec![job("setup"), build])).expect("valid");
        assert_eq!(m.jobs.len(), 2);
        assert_eq!(m.jobs[1].kind, DeclKind::Proto);
        assert_eq!(m.jobs[1].deps[1], DepDecl::Name("setup".to_owned()));
        assert_eq!(m.jobs[0].limits.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(m.options.mode, Some(Mode::Single));
        assert_eq!(m.params[0].1, serde_json::json!([1, 2]));
    }

    #[test]
    fn converts_incremental_options() {
        let mut build = job("build");
        build.incremental.inputs = vec![
            wit::InputDecl::Path("/src/*.rs".into()),
            wit::InputDecl::RegexFiles(wit::RegexFiles {
                root: "/src".into(),
                pattern: r".*\.py$".into(),
            }),
        ];
        build.incremental.outputs = vec![wit::OutputDecl {
            path: "/out/a".into(),
            max_age: Some("1 minutes".into()),
            enforce_freshness: true,
        }];
        let m = manifest_from_wit(manifest(vec![build.clone()])).expect("valid");
        let inc = &m.jobs[0].incremental;
        assert_eq!(inc.inputs[0], InputDecl::Path("/src/*.rs".into()));
        assert_eq!(inc.outputs[0].max_age, Some(Duration::from_secs(60)));
        build.incremental.inputs = vec![wit::InputDecl::RegexFiles(wit::RegexFiles {
            root: "/src".into(),
            pattern: "(".into(),
        })];
        let err = manifest_from_wit(manifest(vec![build.clone()])).expect_err("bad regex");
        assert!(
            err.starts_with("declaration 1 (`build`): regex_files: invalid regex `(`"),
            "{err}"
        );
        build.incremental.inputs = vec![wit::InputDecl::Path("src/a".into())];
        let err = manifest_from_wit(manifest(vec![build.clone()])).expect_err("relative");
        assert!(
            err.contains("`src/a` is not an absolute guest path"),
            "{err}"
        );
        build.incremental.inputs.clear();
        build.incremental.outputs[0].max_age = Some("4 weeks".into());
        let err = manifest_from_wit(manifest(vec![build])).expect_err("bad age");
        assert!(
            err.contains("output `/out/a`: Invalid Output.max_age unit 'weeks'"),
            "{err}"
        );
    }

    #[test]
    fn rejects_garbage() {
        let err = manifest_from_wit(manifest(vec![job("ok"), job("")])).expect_err("empty");
        assert_eq!(err, "declaration 2 (``): the name is empty");
        let err = manifest_from_wit(manifest(vec![job(&"x".repeat(5000))])).expect_err("long");
        assert_eq!(
            err,
            "declaration 1: the name is 5000 bytes long (the limit is 4096)"
        );
        let err = manifest_from_wit(manifest(vec![job("a\nb")])).expect_err("control");
        assert!(err.contains("control character"), "{err}");
        let mut m = manifest(Vec::new());
        m.params = vec![("p".to_owned(), "{".to_owned())];
        let err = manifest_from_wit(m).expect_err("json");
        assert!(err.starts_with("param `p` is not valid JSON"), "{err}");
        let mut m = manifest(Vec::new());
        m.params = vec![(
            "p".to_owned(),
            format!("{}{}", "[".repeat(101), "]".repeat(101)),
        )];
        let err = manifest_from_wit(m).expect_err("deep");
        assert_eq!(
            err,
            "param `p` is nested 101 levels deep, over the limit of 100"
        );
        let err = deps_from_wit(vec!["d".to_owned(); MAX_ANSWER + 1]).expect_err("count");
        assert_eq!(
            err,
            "the computed deps: 1000001 entries (the limit is 1000000)"
        );
        let err = choices_from_wit(vec![("env".to_owned(), vec![wit::Value::Float(f64::NAN)])])
            .expect_err("nan");
        assert_eq!(err, "a choice of `env`: the float value NaN is not finite");
    }
}
