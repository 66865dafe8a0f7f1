//! The subcommands: `run`, `list` and `graph`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use crate::cli::{
    CacheArgs, Cli, Command, GraphArgs, GraphFormat, ListArgs, ModeArg, RunArgs, StateArgs,
};
use crate::plan::PlanOptions;
use crate::policy::{Grants, PlanRow, render_dry_run};
use crate::report::graph::Graph;
use crate::report::json::HostStats;
use crate::report::terminal;
use crate::report::{NullReporter, RunReporter};
use crate::runtime::{CacheUse, LoadInfo, Runtime, RuntimeConfig};
use crate::session::{Memo, Session, SessionConfig};
use crate::spec::{ChoiceSource, DeclKind, DepDecl, Manifest, Mode, RdepDecl};

/// How a run ended, as an exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every wanted proc succeeded or was skipped.
    Success,
    /// A proc failed.
    ProcFailed,
    /// Interrupted by a signal (128 + the signal number).
    Interrupted(u8),
}

impl ExitStatus {
    fn code(self) -> ExitCode {
        match self {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::ProcFailed => ExitCode::from(1),
            ExitStatus::Interrupted(n) => ExitCode::from(n),
        }
    }
}

/// Run the command line: the binary's whole `main`. Host and usage errors print
/// one line and exit 2.
pub fn main_with(cli: Cli) -> ExitCode {
    terminal::init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            terminal::print_error(&anyhow::anyhow!("cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(status) => status.code(),
        Err(e) => match e.downcast_ref::<crate::interrupt::Interrupted>() {
            Some(&crate::interrupt::Interrupted(n)) => {
                terminal::print_interrupted();
                // A loader left on a blocking thread (compiling, or in the
                // guest's `describe`) is not waited for.
                rt.shutdown_background();
                ExitCode::from(128 + n)
            }
            None => {
                terminal::print_error(&e);
                ExitCode::from(2)
            }
        },
    }
}

/// Run one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    // Before anything slow (compiling, `describe`), so a signal always counts.
    crate::interrupt::listen();
    crate::fdlimit::raise();
    match cli.command {
        Command::Run(args) => run_cmd(args).await,
        Command::Watch(args) => crate::watch::cmd::watch_cmd(args).await,
        Command::List(args) => list_cmd(args).await,
        Command::Graph(args) => graph_cmd(args).await,
        Command::State(cmd) => crate::store::cli::state_cmd(cmd).await,
        Command::Worker(args) => worker_cmd(args).await,
        Command::Bindgen(args) => bindgen_cmd(&args),
        Command::Componentize(args) => componentize_cmd(&args),
        Command::Completions(args) => completions_cmd(&args),
        Command::Man(args) => man_cmd(&args),
    }
}

fn completions_cmd(args: &crate::cli::CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    let script = match args.shell {
        // clap_complete's bash script spells a hyphenated name two ways, so
        // no subcommand's options complete (clap-rs/clap#6529): generate it
        // for `parproc_host` and register that function for the real name.
        clap_complete::Shell::Bash => {
            clap_complete::generate(args.shell, &mut cmd, "parproc_host", &mut script);
            String::from_utf8_lossy(&script)
                .lines()
                .map(
                    |line| match line.trim_start().starts_with("complete -F _parproc_host") {
                        true => format!("{}parproc-host\n", line.trim_end_matches("parproc_host")),
                        false => format!("{line}\n"),
                    },
                )
                .collect::<String>()
        }
        shell => {
            clap_complete::generate(shell, &mut cmd, "parproc-host", &mut script);
            String::from_utf8_lossy(&script).into_owned()
        }
    };
    terminal::print_raw(&script);
    Ok(ExitStatus::Success)
}

/// Write `parproc-host.1` and a page per subcommand (nested ones too, like
/// `parproc-host-state-gc.1`) into `out_dir`.
fn man_cmd(args: &crate::cli::ManArgs) -> anyhow::Result<ExitStatus> {
    fn write(cmd: &clap::Command, name: String, dir: &std::path::Path) -> anyhow::Result<()> {
        let cmd = cmd.clone().name(name.clone());
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone())
            .render(&mut page)
            .with_context(|| format!("cannot render the man page of `{name}`"))?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            write(sub, format!("{name}-{}", sub.get_name()), dir)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    write(&cmd, "parproc-host".to_owned(), &args.out_dir)?;
    Ok(ExitStatus::Success)
}

fn plan_options(manifest: &Manifest, args: &RunArgs) -> PlanOptions {
    let o = &manifest.options;
    let mode = match args.mode {
        Some(ModeArg::Single) => Mode::Single,
        Some(ModeArg::Parallel) => Mode::Parallel,
        None => o.mode.unwrap_or_default(),
    };
    PlanOptions {
        parallel: args
            .parallel
            .or(o.parallel)
            .map_or(crate::plan::DEFAULT_PARALLEL, |p| p as usize),
        mode,
        separator: o.separator.clone().unwrap_or_else(|| "::".into()),
        allow_missing_deps: !args.deny_missing_deps && o.allow_missing_deps.unwrap_or(true),
        max_live: args.max_live,
        ..PlanOptions::default()
    }
}

async fn run_cmd(args: RunArgs) -> anyhow::Result<ExitStatus> {
    Ok(run_once(&args, None).await?.status)
}

/// What one run left for `watch`: how it ended, its records, the module's
/// digest (with a store) and the granted host directories.
pub(crate) struct RunOnce {
    pub(crate) status: ExitStatus,
    pub(crate) records: Vec<crate::report::ProcRecord>,
    pub(crate) module: Option<crate::store::Digest>,
    pub(crate) dirs: Vec<std::path::PathBuf>,
}

/// Run once. `unchanged` (from `watch`) maps procs to the trace of theirs
/// that `watch` checked after its watcher started and saw no change to
/// since: those traces are taken as they are instead of being checked
/// against the disk again (docs/watch.md, "What a rebuild checks").
pub(crate) async fn run_once(
    args: &RunArgs,
    unchanged: Option<&crate::store::Trusted>,
) -> anyhow::Result<RunOnce> {
    let started = Instant::now();
    let results_to_stdout = args.results.as_deref() == Some(std::path::Path::new("-"));
    if results_to_stdout {
        // stdout carries the JSON alone.
        terminal::human_to_stderr();
    }
    let nats = match args.nats.config()? {
        None => None,
        Some((config, warnings)) => {
            if args.state.state_dir.is_some() || args.state.incremental {
                return Err(anyhow::Error::new(terminal::Hinted {
                    message: "`--nats` cannot be used with a state store yet: a remote proc's \
                              trace does not come back, so its recorded result could not be \
                              checked"
                        .to_owned(),
                    hint: "drop `--incremental`/`--state-dir`, or run without `--nats`".to_owned(),
                }));
            }
            for w in &warnings {
                terminal::print_warning(w);
            }
            Some(
                crate::interrupt::or_interrupted(crate::remote::conn::connect(
                    config,
                    "parproc-host run",
                ))
                .await?,
            )
        }
    };
    let mut runtime_config = args.sandbox.runtime_config();
    if args.sandbox.pooling {
        // Every live store, the declarations instance and a few spare.
        let slots = u32::try_from(args.max_live).unwrap_or(u32::MAX / 2);
        runtime_config.pool_instances = Some(slots.saturating_add(8));
    }
    let (runtime, manifest) = load(
        &args.module,
        runtime_config,
        args.sandbox
            .grants(args.input)
            .map_err(anyhow::Error::msg)?,
        &args.cache,
        !args.quiet,
    )
    .await?;
    let load = runtime.load_info().clone();
    let grants = runtime.grants().clone();
    let runtime = Arc::new(runtime);
    let (memo, store_cache) = memo(
        &args.module,
        &args.state,
        &grants,
        &runtime.tool_identity(),
        &manifest,
    )?;
    if let (Some(c), Some(names)) = (&store_cache, unchanged) {
        c.trust_traces(names.clone());
    }
    let module_digest = memo
        .as_ref()
        .and_then(|m| crate::store::Digest::from_hex(&m.module));
    let dirs: Vec<std::path::PathBuf> = grants.dirs.iter().map(|d| d.host.clone()).collect();
    let once = |status| RunOnce {
        status,
        records: Vec::new(),
        module: module_digest,
        dirs: dirs.clone(),
    };
    if memo.is_none() && manifest.options.task_db == Some(true) && !args.quiet {
        // A module only asks for a state store; the user chooses where it is.
        terminal::print_note(
            "this module asks for incremental runs (task_db); pass `--incremental` to keep \
             the state in `.parproc/`, or `--state-dir DIR`",
        );
    }
    let config = args.sandbox.session_config(SessionConfig {
        input: args.input,
        memo,
        ..SessionConfig::default()
    });
    let reporter = Arc::new(RunReporter::new(&args.module, args.quiet, &args.report)?);
    // `--param` overrides the module's params before plain procs register, so
    // their computed deps see the values the user gave.
    let manifest = with_params(manifest, &args.params);
    let remote = match &nats {
        Some(link) => Some(
            crate::interrupt::or_interrupted(crate::remote::coordinator::RemoteRunner::start(
                link.clone(),
                &args.module,
                job_limits(&runtime),
                crate::remote::coordinator::Timing {
                    beat: args.coordinator.coordinator_heartbeat,
                    lapse: args.coordinator.worker_lapse,
                    max_losses: args.coordinator.max_worker_losses,
                },
            ))
            .await?,
        ),
        None => None,
    };
    let runner: Arc<dyn crate::exec::ProcRunner> = match &remote {
        Some(r) => Arc::new(r.clone()),
        None => runtime.clone(),
    };
    let (session, _) = crate::interrupt::or_interrupted(plan(
        &args.module,
        &manifest,
        plan_options(&manifest, args),
        runner,
        runtime,
        reporter.clone(),
        config,
        &args.targets,
    ))
    .await?;
    if args.sandbox.dry_run {
        let rows: Vec<_> = session
            .planned()
            .await
            .into_iter()
            .map(|p| PlanRow {
                access: grants.resolve(&p.needs),
                name: p.name,
                budget: p.budget,
            })
            .collect();
        let text = render_dry_run(&rows, terminal::sanitize);
        terminal::print_raw(&text);
        return Ok(once(ExitStatus::Success));
    }
    let signal = crate::interrupt::signalled();
    let live = session.clone();
    reporter.attach(move || live.live());
    session.go();

    let interrupted = tokio::select! {
        _ = session.wait_for_all() => None,
        s = signal => Some(s),
    };
    if let Some(signal) = interrupted {
        session.cancel("interrupted");
        session.wait_for_all().await;
        let _ = signal;
    }
    if let Some(r) = &remote {
        r.finish().await;
    }
    let records = session.records().await;
    let reported = reporter.finish(
        &records,
        started.elapsed(),
        interrupted.is_some(),
        HostStats {
            load: Some(load.duration),
            compile_cache: Some(load.cache.id()),
            peak_live: session.peak_live().await,
            peak_rss: HostStats::read_peak_rss(),
        },
    );
    if let Some(to) = &args.results {
        let results = session.results().await;
        if results_to_stdout {
            terminal::print_with(|out| write_results(out, &results))
                .context("cannot write the results to stdout")?;
        } else {
            std::fs::File::create(to)
                .and_then(|f| {
                    let mut out = std::io::BufWriter::new(f);
                    write_results(&mut out, &results)?;
                    std::io::Write::flush(&mut out)
                })
                .with_context(|| format!("cannot write the results to {}", to.display()))?;
        }
    }
    let errors = session.take_errors().await;
    if let Some(signal) = interrupted {
        return Ok(once(ExitStatus::Interrupted(128 + signal)));
    }
    reported?;
    if !errors.is_empty() {
        return Err(session_errors(&errors, &manifest, args.deny_missing_deps));
    }
    if let Some(c) = &store_cache {
        // Blocking briefly: the writer commits what it gathered.
        c.flush();
    }
    let failed = records.iter().any(|r| r.state.is_failure());
    Ok(RunOnce {
        records,
        ..once(if failed {
            ExitStatus::ProcFailed
        } else {
            ExitStatus::Success
        })
    })
}

/// What a worker must keep to of this run's runtime configuration.
fn job_limits(runtime: &Runtime) -> crate::remote::wire::JobLimits {
    let c = runtime.config();
    crate::remote::wire::JobLimits {
        log_limit: c.log_limit,
        result_limit: c.result_limit,
        max_arg: c.max_arg,
        max_created: c.max_created,
        deterministic: c.deterministic,
    }
}

/// `parproc-host worker`: serve procs from the NATS server until Ctrl-C.
async fn worker_cmd(args: crate::cli::WorkerArgs) -> anyhow::Result<ExitStatus> {
    let Some((config, warnings)) = args.nats.config()? else {
        return Err(anyhow::Error::new(terminal::Hinted {
            message: "`parproc-host worker` needs the NATS server to serve".to_owned(),
            hint: "pass `--nats nats://HOST:4222`".to_owned(),
        }));
    };
    for w in &warnings {
        terminal::print_warning(w);
    }
    let name = args.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "worker".to_owned());
        format!("{host}-{}", std::process::id())
    });
    let link = crate::interrupt::or_interrupted(crate::remote::conn::connect(
        config,
        &format!("parproc-host worker {name}"),
    ))
    .await?;
    let cache = args.cache.cache();
    let module_dir = match (&args.module_dir, cache.dir()) {
        (Some(d), _) => d.clone(),
        (None, Some(c)) => c.with_file_name("modules"),
        (None, None) => std::env::temp_dir().join(format!("parproc-worker-{}", std::process::id())),
    };
    let mut runtime = RuntimeConfig::default();
    if let Some(total) = args.max_total_memory {
        runtime.max_total_memory = Some(total);
    }
    let slots = args.slots.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    let policy = crate::remote::worker::Policy {
        name: name.clone(),
        slots,
        max_fuel: args.max_fuel,
        max_memory: args.max_memory,
        max_timeout: args.max_timeout,
        grants: args.grant.grants(false).map_err(anyhow::Error::msg)?,
        runtime,
        cache,
        module_dir,
        beat: args.heartbeat,
    };
    terminal::print_note(&format!(
        "worker `{name}` serves {} with {slots} slots",
        link.config.url
    ));
    let (signal, signalled) = tokio::sync::oneshot::channel();
    let stop = async {
        let _ = signal.send(crate::interrupt::signalled().await);
    };
    crate::remote::worker::serve(link, policy, stop).await?;
    Ok(ExitStatus::Interrupted(
        128 + signalled.await.unwrap_or(libc::SIGINT as u8),
    ))
}

/// The results map as JSON, written as it goes: each result as the proc gave
/// it (held once, never parsed into a tree or copied), `null` for a proc
/// without one or one that does not parse.
fn write_results(
    out: &mut dyn std::io::Write,
    results: &[(String, Option<Arc<str>>)],
) -> std::io::Result<()> {
    out.write_all(b"{")?;
    for (i, (name, json)) in results.iter().enumerate() {
        out.write_all(if i == 0 { b"\n  " } else { b",\n  " })?;
        serde_json::to_writer(&mut *out, name)?;
        out.write_all(b": ")?;
        match json {
            Some(j) if crate::jsontext::check(j).is_ok() => out.write_all(j.as_bytes())?,
            _ => out.write_all(b"null")?,
        }
    }
    out.write_all(if results.is_empty() { b"}\n" } else { b"\n}\n" })
}

/// What `run`, `graph` and `--dry-run` share: a session over the loaded module
/// with the targets (the module's when none are given) created and started,
/// together with every `now` proc (a `now` proc runs whether or not targets are
/// given), and nothing launched yet. Every target is created before any starts,
/// so a typo runs nothing. Returns the session and the started names.
#[expect(
    clippy::too_many_arguments,
    reason = "the one place a run is put together"
)]
async fn plan(
    module: &std::path::Path,
    manifest: &Manifest,
    opts: PlanOptions,
    runner: Arc<dyn crate::exec::ProcRunner>,
    runtime: Arc<Runtime>,
    reporter: Arc<dyn crate::report::Reporter>,
    config: SessionConfig,
    targets: &[String],
) -> anyhow::Result<(Session, Vec<String>)> {
    let session = Session::new(manifest, opts, runner, runtime, reporter, config)
        .await
        .with_context(|| format!("cannot load `{}`", module.display()))?;
    let defaults = targets.is_empty();
    let targets = if targets.is_empty() {
        &manifest.targets
    } else {
        targets
    };
    let mut names = Vec::new();
    for t in targets {
        let created = match session.create(t, &[], None).await {
            Ok(c) => c,
            Err(e) => return Err(bad_target(t, e, manifest, defaults)),
        };
        names.extend(created);
    }
    names.extend(
        manifest
            .jobs
            .iter()
            .filter(|d| d.kind == DeclKind::Proc && d.now)
            .map(|d| d.name.clone()),
    );
    if let Err(e) = session.start(&names).await {
        // Only the module denies missing deps here when it says so itself.
        let flag = manifest.options.allow_missing_deps != Some(false);
        return Err(session_errors(&[e], manifest, flag));
    }
    Ok((session, names))
}

/// A target that names nothing: parproc's error after `bad target `t`:` (or
/// `the module's default target `t`:`), and a hint naming the closest proc
/// or proto as what it is.
fn bad_target(
    t: &str,
    e: crate::exec::SessionError,
    manifest: &Manifest,
    default: bool,
) -> anyhow::Error {
    let e = anyhow::Error::from(e);
    let message = match default {
        true => format!("the module's default target `{t}`: {e:#}"),
        false => format!("bad target `{t}`: {e:#}"),
    };
    let names = manifest.jobs.iter().map(|d| d.name.as_str());
    let near =
        crate::plan::closest(t, names).and_then(|n| manifest.jobs.iter().find(|d| d.name == n));
    let hint = match (near, default) {
        (Some(d), _) => format!("did you mean the {} `{}`?", kind_word(d.kind), d.name),
        (None, true) => "the module's targets must name its procs or protos; export the one \
                         it names (`export_jobs!` in Rust) or drop it from the targets"
            .to_owned(),
        (None, false) => format!(
            "`{t}` is neither a proc nor a proto of this module; `parproc-host list` shows them"
        ),
    };
    terminal::Hinted { message, hint }.into()
}

/// `proc` or `proto`.
fn kind_word(kind: DeclKind) -> &'static str {
    match kind {
        DeclKind::Proc => "proc",
        DeclKind::Proto => "proto",
    }
}

/// The run's errors as one host error: each on its own line, parproc's words
/// kept, with hints in command-line terms when there are any (a missing dep:
/// the closest proc, and how to allow missing deps; `flag`: denied by
/// `--deny-missing-deps`).
fn session_errors(
    errors: &[crate::exec::SessionError],
    manifest: &Manifest,
    flag: bool,
) -> anyhow::Error {
    use crate::exec::SessionError;
    use crate::plan::PlanError;
    let message = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let mut hints: Vec<String> = Vec::new();
    let mut missing_deps = false;
    for e in errors {
        let SessionError::Plan(PlanError::MissingDeps(missing)) = e else {
            continue;
        };
        missing_deps = true;
        for m in missing {
            let procs = manifest
                .jobs
                .iter()
                .filter(|d| d.kind == DeclKind::Proc)
                .map(|d| d.name.as_str());
            if let Some(near) = crate::plan::closest(&m.dep, procs) {
                let hint = format!("`{}` is not a proc; did you mean `{near}`?", m.dep);
                if !hints.contains(&hint) {
                    hints.push(hint);
                }
            }
        }
    }
    if missing_deps {
        let module = manifest.options.allow_missing_deps == Some(false);
        hints.push(
            match (flag, module) {
                (true, false) => "to run without the missing deps, drop `--deny-missing-deps`",
                (false, _) => {
                    "to run without the missing deps, set the module's `allow_missing_deps` to true"
                }
                (true, true) => {
                    "to run without the missing deps, drop `--deny-missing-deps` and set the \
                     module's `allow_missing_deps` to true"
                }
            }
            .to_owned(),
        );
    }
    match hints.is_empty() {
        true => anyhow::anyhow!(message),
        false => terminal::Hinted {
            message,
            hint: hints.join("\n"),
        }
        .into(),
    }
}

/// The module's params with the command line's overriding them.
/// The incremental run the flags ask for: the state store opened (checked
/// private, never the compile cache) and the module's digest, which every key
/// starts with.
fn memo(
    module: &std::path::Path,
    state: &StateArgs,
    grants: &Grants,
    tools: &[crate::runtime::ToolIdentity],
    manifest: &Manifest,
) -> anyhow::Result<(Option<Memo>, Option<Arc<crate::store::StoreCache>>)> {
    let Some(dir) = state.dir() else {
        return Ok((None, None));
    };
    let store = crate::store::StateStore::open(&dir, state.sync)?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_mmap(module)
        .with_context(|| format!("cannot read `{}`", module.display()))?;
    let digest = crate::store::Digest(*hasher.finalize().as_bytes());
    let cache = Arc::new(crate::store::StoreCache::new(Arc::new(store), digest)?);
    Ok((
        Some(Memo {
            cache: cache.clone(),
            module: digest.to_hex(),
            full: state.full,
            // The tools' digests and data directories are grants too: a
            // result made with another tool is another result.
            grants: grants
                .dirs
                .iter()
                .map(|d| (d.guest.clone(), d.host.display().to_string(), d.writable))
                .chain(tools.iter().flat_map(|t| {
                    let (name, digest, dirs) = (&t.name, &t.digest, &t.dirs);
                    std::iter::once((format!("tool:{name}"), format!("blake3:{digest}"), false))
                        .chain(dirs.iter().map(move |(guest, host)| {
                            (
                                format!("tool:{name}:{guest}"),
                                host.display().to_string(),
                                false,
                            )
                        }))
                }))
                .collect(),
            env: grants.env.clone(),
            inputs_ignore: manifest.options.inputs_ignore.clone(),
        }),
        Some(cache),
    ))
}

fn with_params(mut manifest: Manifest, params: &[(String, serde_json::Value)]) -> Manifest {
    for (k, v) in params {
        match manifest.params.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.clone(),
            None => manifest.params.push((k.clone(), v.clone())),
        }
    }
    manifest
}

/// `graph`: plan the targets in a session that never launches, print the graph.
async fn graph_cmd(args: GraphArgs) -> anyhow::Result<ExitStatus> {
    let (runtime, manifest) = load(
        &args.module,
        RuntimeConfig::default(),
        Grants::default(),
        &args.cache,
        true,
    )
    .await?;
    let runtime = Arc::new(runtime);
    let o = &manifest.options;
    let opts = PlanOptions {
        parallel: o
            .parallel
            .map_or(crate::plan::DEFAULT_PARALLEL, |p| p as usize),
        mode: o.mode.unwrap_or_default(),
        separator: o.separator.clone().unwrap_or_else(|| "::".into()),
        allow_missing_deps: o.allow_missing_deps.unwrap_or(true),
        ..PlanOptions::default()
    };
    let manifest = with_params(manifest, &args.params);
    let (session, _) = crate::interrupt::or_interrupted(plan(
        &args.module,
        &manifest,
        opts,
        runtime.clone(),
        runtime,
        Arc::new(NullReporter),
        SessionConfig::default(),
        &args.targets,
    ))
    .await?;
    let title = args
        .module
        .file_stem()
        .map_or_else(|| "jobs".into(), |s| s.to_string_lossy().into_owned());
    let all = args.all;
    let graph = session
        .with_planner(move |p| Graph::from_planner(p, all).with_title(title))
        .await
        .context("the planner stopped")?;
    terminal::print_raw(&match args.format {
        GraphFormat::Dot => graph.dot(),
        GraphFormat::Mermaid => graph.mermaid(),
        GraphFormat::Json => graph.json(),
    });
    Ok(ExitStatus::Success)
}

/// Load a module through the compile cache the flags select, warning when the
/// cache could not be used (every command loads this way). Compiling and
/// `describe` run on a blocking thread; a signal returns at once
/// ([`crate::interrupt::Interrupted`]) and leaves that thread behind.
async fn load(
    module: &std::path::Path,
    config: RuntimeConfig,
    grants: Grants,
    cache: &CacheArgs,
    progress: bool,
) -> anyhow::Result<(Runtime, Manifest)> {
    let (module, cache) = (module.to_path_buf(), cache.cache());
    let work = tokio::task::spawn_blocking(move || {
        let cached = match cache.dir() {
            Some(_) => "; cached for next time",
            None => " (the compile cache is off)",
        };
        let loaded = match progress {
            true => crate::runtime::observe_load(compile_progress(cached), || {
                Runtime::load_with(&module, config, grants, &cache)
            }),
            false => Runtime::load_with(&module, config, grants, &cache),
        }?;
        warn_about_cache(loaded.0.load_info());
        Ok(loaded)
    });
    crate::interrupt::or_interrupted(async {
        work.await
            .map_err(|e| anyhow::anyhow!("the loader stopped: {e}"))?
    })
    .await
}

/// The load observer that shows a compile while it lasts (README "Install"):
/// `compiling `jobs.wasm` (12.3 MB)`, then `compiled in 8.1 s` and `cached`.
fn compile_progress(cached: &'static str) -> impl Fn(crate::runtime::LoadEvent) {
    use crate::runtime::LoadEvent;
    let shown: std::sync::Mutex<Option<(terminal::Progress, Instant)>> = Default::default();
    move |event| {
        let mut shown = shown.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            LoadEvent::Compiling { what, bytes } => {
                let label = format!("compiling {what} ({:.1} MB)", bytes as f64 / 1e6);
                *shown = Some((terminal::Progress::start(label), Instant::now()));
            }
            LoadEvent::Compiled { ok } => {
                // A failed compile ends the line; its error follows.
                if let Some((p, at)) = shown.take()
                    && ok
                {
                    let took = at.elapsed().as_secs_f64();
                    p.finish(&format!("compiled in {took:.1} s{cached}"));
                }
            }
        }
    }
}

/// A cache that could not be used, or an entry that failed verification, is
/// worth a warning; hits and misses are only traced.
fn warn_about_cache(info: &LoadInfo) {
    match &info.cache {
        CacheUse::Rejected { .. }
        | CacheUse::Refused { .. }
        | CacheUse::Miss {
            not_stored: Some(_),
        } => tracing::warn!("{}", info.cache),
        other => tracing::debug!("{other}; loaded in {:?}", info.duration),
    }
}

fn bindgen_cmd(args: &crate::cli::BindgenArgs) -> anyhow::Result<ExitStatus> {
    match args.lang {
        crate::cli::BindgenLang::C => {
            crate::componentize::write_c_bindings(&args.out_dir)?;
        }
    }
    Ok(ExitStatus::Success)
}

fn componentize_cmd(args: &crate::cli::ComponentizeArgs) -> anyhow::Result<ExitStatus> {
    let core = std::fs::read(&args.core)
        .with_context(|| format!("cannot read {}", args.core.display()))?;
    let component = crate::componentize::componentize(&core)
        .with_context(|| format!("cannot make a job component of {}", args.core.display()))?;
    std::fs::write(&args.output, component)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(ExitStatus::Success)
}

async fn list_cmd(args: ListArgs) -> anyhow::Result<ExitStatus> {
    let (_runtime, manifest) = load(
        &args.module,
        RuntimeConfig::default(),
        Grants::default(),
        &args.cache,
        true,
    )
    .await?;
    terminal::print_raw(&match args.format {
        crate::cli::ListFormat::Text => render_list(&manifest),
        crate::cli::ListFormat::Json => render_list_json(&manifest, &args.module),
    });
    Ok(ExitStatus::Success)
}

/// The text of `parproc-host list`.
pub fn render_list(m: &Manifest) -> String {
    let mut out = String::new();
    for kind in [DeclKind::Proc, DeclKind::Proto] {
        let decls: Vec<_> = m.jobs.iter().filter(|d| d.kind == kind).collect();
        if decls.is_empty() {
            continue;
        }
        out.push_str(match kind {
            DeclKind::Proc => "procs:\n",
            DeclKind::Proto => "protos:\n",
        });
        for d in decls {
            let name = terminal::sanitize(&d.name);
            out.push_str(&format!("  {name}"));
            if !d.description.is_empty() {
                out.push_str(&format!("  — {}", terminal::sanitize(&d.description)));
            }
            out.push('\n');
            let deps: Vec<String> = d
                .deps
                .iter()
                .map(|dep| match dep {
                    DepDecl::Name(n) => terminal::sanitize(n),
                    DepDecl::Computed => "(computed)".into(),
                    DepDecl::NoFailures => "NO_FAILURES".into(),
                })
                .collect();
            if !deps.is_empty() {
                out.push_str(&format!("      deps: {}\n", deps.join(", ")));
            }
            let rdeps: Vec<String> = d
                .rdeps
                .iter()
                .map(|r| match r {
                    RdepDecl::Plain(p) => terminal::sanitize(p),
                    RdepDecl::WhenScheduled(p) => {
                        format!("WhenScheduled({})", terminal::sanitize(p))
                    }
                    RdepDecl::WhenTargetScheduled(p) => {
                        format!("WhenTargetScheduled({})", terminal::sanitize(p))
                    }
                })
                .collect();
            if !rdeps.is_empty() {
                out.push_str(&format!("      rdeps: {}\n", rdeps.join(", ")));
            }
            if !d.locks.is_empty() {
                out.push_str(&format!(
                    "      locks: {}\n",
                    terminal::sanitize(&d.locks.join(", "))
                ));
            }
            if d.wave != 0 {
                out.push_str(&format!("      wave: {}\n", d.wave));
            }
            if d.now {
                out.push_str("      now\n");
            }
            if d.choices_computed {
                out.push_str("      choices: (computed)\n");
            }
            for (k, src) in &d.choices {
                let vals = match src {
                    ChoiceSource::Fixed(v) => v
                        .iter()
                        .map(|x| terminal::sanitize(&x.to_string()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    ChoiceSource::Computed => "(computed)".into(),
                };
                out.push_str(&format!("      choices {k}: {vals}\n"));
            }
        }
    }
    if !m.targets.is_empty() {
        out.push_str(&format!(
            "targets: {}\n",
            terminal::sanitize(&m.targets.join(", "))
        ));
    }
    out
}

/// The version of `list --format json`'s layout.
pub(crate) const LIST_SCHEMA_VERSION: u32 = 1;

/// `list --format json`: what [`render_list`] shows, as JSON (README
/// "Running"): `{schema_version, module, procs, protos, targets}`, each
/// declaration `{name, description, params, deps, computed_deps,
/// no_failures, rdeps, locks, wave, now, choices}`. Names are as the module
/// gave them (JSON escapes what it must).
pub(crate) fn render_list_json(m: &Manifest, module: &std::path::Path) -> String {
    use serde_json::{Value, json};
    let decl = |d: &crate::spec::JobDecl| {
        let defaults: std::collections::HashMap<&str, Value> = d
            .defaults
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_json()))
            .collect();
        let params: Vec<Value> = d
            .params
            .iter()
            .map(|(name, ty)| {
                json!({
                    "name": name,
                    "type": ty.to_string(),
                    "default": defaults.get(name.as_str()).cloned().unwrap_or(Value::Null),
                })
            })
            .collect();
        let deps: Vec<&str> = d
            .deps
            .iter()
            .filter_map(|dep| match dep {
                DepDecl::Name(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        let rdeps: Vec<Value> = d
            .rdeps
            .iter()
            .map(|r| match r {
                RdepDecl::Plain(p) => json!({"pattern": p, "when": "always"}),
                RdepDecl::WhenScheduled(p) => json!({"pattern": p, "when": "scheduled"}),
                RdepDecl::WhenTargetScheduled(p) => {
                    json!({"pattern": p, "when": "target_scheduled"})
                }
            })
            .collect();
        let mut choices = serde_json::Map::new();
        for (k, src) in &d.choices {
            let v = match src {
                ChoiceSource::Fixed(v) => Value::Array(v.iter().map(|x| x.to_json()).collect()),
                ChoiceSource::Computed => Value::String("computed".into()),
            };
            choices.insert(k.clone(), v);
        }
        let choices = match d.choices_computed {
            true => Value::String("computed".into()),
            false => Value::Object(choices),
        };
        json!({
            "name": d.name,
            "description": d.description,
            "params": params,
            "deps": deps,
            "computed_deps": d.deps.iter().any(|x| matches!(x, DepDecl::Computed)),
            "no_failures": d.deps.iter().any(|x| matches!(x, DepDecl::NoFailures)),
            "rdeps": rdeps,
            "locks": d.locks,
            "wave": d.wave,
            "now": d.now,
            "choices": choices,
        })
    };
    let of = |kind| -> Vec<Value> { m.jobs.iter().filter(|d| d.kind == kind).map(decl).collect() };
    let out = json!({
        "schema_version": LIST_SCHEMA_VERSION,
        "module": module.display().to_string(),
        "procs": of(DeclKind::Proc),
        "protos": of(DeclKind::Proto),
        "targets": m.targets,
    });
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::SessionError;
    use crate::plan::{MissingDep, PlanError};
    use crate::spec::JobDecl;

    fn manifest() -> Manifest {
        Manifest {
            jobs: vec![
                JobDecl::proc("compile"),
                JobDecl::proc("link"),
                JobDecl::proto("build::[env]"),
            ],
            ..Manifest::default()
        }
    }

    fn missing(deps: &[&str]) -> SessionError {
        let deps = deps.iter().map(|d| MissingDep {
            proc: "link".into(),
            dep: (*d).into(),
        });
        SessionError::Plan(PlanError::MissingDeps(deps.collect()))
    }

    #[test]
    fn missing_deps_are_one_line_each_with_a_did_you_mean_and_how_to_allow_them() {
        let sentence = |d: &str| {
            format!(
                "error: Proc \"link\" depends on \"{d}\" which does not exist. Set \
                 allow_missing_deps=True to allow missing dependencies.\n"
            )
        };
        let text = terminal::error_text(&session_errors(
            &[missing(&["compil", "zzzz"])],
            &manifest(),
            true,
        ));
        assert_eq!(
            text,
            format!(
                "{}{}hint: `compil` is not a proc; did you mean `compile`?\n\
                 hint: to run without the missing deps, drop `--deny-missing-deps`\n",
                sentence("compil"),
                sentence("zzzz")
            )
        );
        // Denied by the module: the hint names its option.
        let mut m = manifest();
        m.options.allow_missing_deps = Some(false);
        let text = terminal::error_text(&session_errors(&[missing(&["zzzz"])], &m, false));
        assert!(
            text.ends_with(
                "hint: to run without the missing deps, set the module's `allow_missing_deps` \
                 to true\n"
            ),
            "{text}"
        );
        // Other errors: no hint, each on its line.
        let e = SessionError::Plan(PlanError::Usage("one\ntwo".into()));
        let text = terminal::error_text(&session_errors(&[e], &m, false));
        assert_eq!(text, "error: one\nerror: two\n");
    }

    #[test]
    fn a_bad_target_hint_names_a_proc_or_a_proto_as_what_it_is() {
        let e = || SessionError::Plan(PlanError::Usage("No proto found matching \"x\"".into()));
        let hint = |t: &str, default: bool| {
            let err = bad_target(t, e(), &manifest(), default);
            terminal::error_text(&err)
        };
        assert!(hint("compil", false).contains("hint: did you mean the proc `compile`?\n"));
        assert!(
            hint("build::[en]", false).contains("hint: did you mean the proto `build::[env]`?")
        );
        let text = hint("zzzz", false);
        assert!(
            text.starts_with("error: bad target `zzzz`: No proto found"),
            "{text}"
        );
        assert!(
            text.contains("hint: `zzzz` is neither a proc nor a proto of this module"),
            "{text}"
        );
        let text = hint("zzzz", true);
        assert!(
            text.starts_with("error: the module's default target `zzzz`: No proto found"),
            "{text}"
        );
        assert!(text.contains("export the one it names"), "{text}");
    }
}
