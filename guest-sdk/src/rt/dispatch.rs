//! The WIT exports, answered from a [`ModuleSpec`].

use crate::bindings::parproc::jobs::types::{
    self as wit, Arg, ArgChoices, ChoiceSource, DepDecl, DirNeed, Incremental, InputDecl, JobDecl,
    Limits, LogIgnore, Manifest, Needs, OutputDecl, ParamDecl, ProcError, RdepDecl, RegexFiles,
    RunOptions, Value,
};
use crate::{Context, DepContext};

use super::spec::{ChoiceSpec, ChoicesSpec, DepSpec, InputSpec, JobSpec, ModuleSpec, RdepSpec};

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
            task_db: module.task_db,
            inputs_ignore: strings(module.inputs_ignore),
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
            tools: strings(job.needs.tools),
            http: strings(job.needs.http),
        },
        description: job.description.to_owned(),
        incremental: Incremental {
            inputs: job
                .inputs
                .iter()
                .map(|input| match input {
                    InputSpec::Path(p) => InputDecl::Path((*p).to_owned()),
                    InputSpec::RegexFiles(root, pattern) => InputDecl::RegexFiles(RegexFiles {
                        root: (*root).to_owned(),
                        pattern: (*pattern).to_owned(),
                    }),
                    InputSpec::Computed(_) => InputDecl::Computed,
                })
                .collect(),
            inputs_ignore: strings(job.inputs_ignore),
            outputs: job
                .outputs
                .iter()
                .map(|o| OutputDecl {
                    path: o.path.to_owned(),
                    max_age: o.max_age.map(str::to_owned),
                    enforce_freshness: o.enforce_freshness,
                })
                .collect(),
            no_skip: job.no_skip,
        },
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

/// `declarations.resolve-inputs`.
pub fn resolve_inputs(
    module: &ModuleSpec,
    decl: &str,
    index: u32,
    ctx: wit::DepContext,
) -> Result<Vec<String>, String> {
    let job = module.job(decl)?;
    let input = usize::try_from(index)
        .ok()
        .and_then(|i| job.inputs.get(i))
        .ok_or_else(|| format!("`{decl}` has no input at index {index}"))?;
    match input {
        InputSpec::Computed(compute) => compute(&DepContext::from(ctx)),
        InputSpec::Path(_) | InputSpec::RegexFiles(..) => {
            Err(format!("input {index} of `{decl}` is not a computed input"))
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
