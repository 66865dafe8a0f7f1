//! Command-line arguments (clap derive) and their parsing helpers.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Runs parproc-style job graphs, every job in its own WebAssembly sandbox.
///
/// Exit status: 0 when every wanted proc succeeded or was skipped, 1 when any
/// proc failed, 2 on a usage or host error (and 130/143 when interrupted).
#[derive(Debug, Parser)]
#[command(name = "parproc-host", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only complicate matching"
)]
pub enum Command {
    /// Run procs of a job module.
    Run(RunArgs),
    /// Run, then watch what the procs read and run again what a change makes
    /// dirty (incremental: a temporary store when none is given).
    Watch(WatchArgs),
    /// List the procs and protos a job module declares.
    List(ListArgs),
    /// Print the planned graph of a run (nothing runs): DOT, Mermaid or JSON.
    Graph(GraphArgs),
    /// Serve procs of distributed runs (`run --nats`) from a NATS server's
    /// work queue, under this machine's own limits and grants.
    Worker(WorkerArgs),
    /// Look into the state store of incremental runs: check it, trim it, show
    /// a proc's last record.
    #[command(subcommand)]
    State(StateCmd),
    /// Write the bindings of the `jobs` world for a language's SDK (C: used by
    /// guest-sdk/c/build.sh).
    Bindgen(BindgenArgs),
    /// Make a job component from a WASI preview1 core module (any language;
    /// see docs/any-language.md).
    Componentize(ComponentizeArgs),
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish,
    /// powershell), generated from these very flags.
    ///
    /// bash: `source <(parproc-host completions bash)`, or write it to
    /// `~/.local/share/bash-completion/completions/parproc-host`.
    Completions(CompletionsArgs),
    /// Write the man pages (`parproc-host.1` and one per subcommand, like
    /// `parproc-host-run.1`) into a directory, generated from these flags.
    Man(ManArgs),
}

/// `parproc-host completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `parproc-host man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write the pages into (created when missing).
    #[arg(long, short = 'o', value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,
}

/// The languages `bindgen` writes bindings for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BindgenLang {
    /// C (and C++ through `extern "C"`): `jobs.h`, `jobs.c` and the component
    /// type object `jobs_component_type.o`.
    C,
}

/// `parproc-host bindgen`.
#[derive(Debug, Args)]
pub struct BindgenArgs {
    /// The language.
    pub lang: BindgenLang,
    /// The directory to write the files to (created when missing).
    pub out_dir: PathBuf,
}

/// `parproc-host componentize`.
#[derive(Debug, Args)]
pub struct ComponentizeArgs {
    /// The core module (wasm32-wasi preview1, reactor model).
    pub core: PathBuf,
    /// The component to write.
    #[arg(long, short = 'o', value_name = "OUT.wasm")]
    pub output: PathBuf,
}

/// Execution mode on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One store per proc, up to `--parallel` at once.
    Parallel,
    /// One proc at a time, in a deterministic order.
    Single,
}

/// `parproc-host run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job module (a WASI 0.2 component built for wasm32-wasip2).
    pub module: PathBuf,
    /// Procs to run: names, filled-out proto names (`build::prod`) or globs over
    /// arg choices (`build::*`) [default: the module's targets]. `now` procs run
    /// whether or not targets are given.
    pub targets: Vec<String>,
    /// Most procs running at once [default: the module's, else 100].
    #[arg(long, short = 'p', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub parallel: Option<u32>,
    /// Most live sandbox stores at once: running procs plus procs blocked in a
    /// context wait (which give their parallel slot back but keep their store).
    #[arg(long, value_name = "N", default_value_t = crate::plan::DEFAULT_MAX_LIVE, value_parser = parse_at_least_one)]
    pub max_live: usize,
    /// Execution mode [default: the module's, else parallel].
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// A global param visible to every proc (repeatable); VALUE is JSON if it
    /// parses as JSON, else a string.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, serde_json::Value)>,
    /// Budgets, caps, capability grants, `--deterministic` and `--dry-run`.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// Write the results map as JSON at the end: `--results=FILE` to FILE, or
    /// `--results` (or `--results=-`) to stdout, and then every human line
    /// (progress, summary) goes to stderr, so `run … --results | jq` reads only
    /// the JSON.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "-"
    )]
    pub results: Option<PathBuf>,
    /// Print no line per proc (the summary still prints).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Output, logs and reports.
    #[command(flatten)]
    pub report: crate::report::ReportArgs,
    /// The compile cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The state store of incremental runs.
    #[command(flatten)]
    pub state: StateArgs,
    /// Let procs ask for interactive input on this terminal.
    #[arg(long)]
    pub input: bool,
    /// Treat a dependency on a proc that does not exist as an error (parproc's
    /// `allow_missing_deps=False`) instead of failing the dependent.
    #[arg(long)]
    pub deny_missing_deps: bool,
    /// Run ready procs on remote workers through a NATS server.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// How a distributed run watches its workers.
    #[command(flatten)]
    pub coordinator: CoordinatorArgs,
}

/// `parproc-host watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Everything `run` takes.
    #[command(flatten)]
    pub run: RunArgs,
    /// How long the files must be quiet before a batch of changes runs
    /// (parproc's `watch_debounce_seconds`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "300ms")]
    pub debounce: std::time::Duration,
    /// Poll the files instead of using the OS's notifications (what the
    /// watch falls back to when the OS watch limit is reached).
    #[arg(long, hide = true)]
    pub poll: bool,
}

/// A count of at least 1 (`--max-live`).
fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0 is not in 1.. (at least one store must be live)".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number of 1 or more")),
    }
}

/// `parproc-host list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The job module.
    pub module: PathBuf,
    /// Output format: the listing for people, or JSON for tools (on stdout
    /// alone: anything else the command says goes to stderr).
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// The compile cache.
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Incremental runs: where outcomes are remembered between runs.
#[derive(Debug, Clone, Default, Args)]
pub struct StateArgs {
    /// Remember outcomes in DIR and restore the procs whose inputs did not
    /// change (UP_TO_DATE) [env: PARPROC_STATE_DIR]. It must be writable only
    /// by you; it is created private when missing.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Shorthand for `--state-dir .parproc` (in the current directory).
    #[arg(long, conflicts_with = "state_dir")]
    pub incremental: bool,
    /// Run every proc and remember nothing (parproc's `full` flag).
    #[arg(long)]
    pub full: bool,
    /// Flush every remembered outcome to the disk before going on (durable
    /// against power loss, not only against a crash of the host).
    #[arg(long)]
    pub sync: bool,
}

impl StateArgs {
    /// The state directory these flags (and the environment) select, if any.
    pub fn dir(&self) -> Option<PathBuf> {
        if self.incremental {
            return Some(PathBuf::from(".parproc"));
        }
        self.state_dir.clone().or_else(|| {
            std::env::var_os("PARPROC_STATE_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }
}

/// `parproc-host state`.
#[derive(Debug, Subcommand)]
pub enum StateCmd {
    /// Check the store: the database, every blob, every entry's blobs.
    ///
    /// Checks the database's integrity, every blob against its digest, and
    /// that every blob an entry names is there. Exit status 1 when something
    /// is wrong.
    Verify(StateVerifyArgs),
    /// Trim the store by age and size.
    ///
    /// Removes the entries not used within `--max-age`, then the least
    /// recently used while the blobs take more than `--max-size`, then every
    /// blob no entry names. Blobs written within the last hour are kept: a run
    /// may be about to commit the entry that names them.
    Gc(StateGcArgs),
    /// Show the last record of a proc.
    ///
    /// Prints its state, when it finished, how long it ran, its key and module
    /// digests and its result. Exit status 1 when there is none.
    Show(StateShowArgs),
}

/// The state store a `state` command looks into: selected as for `run`.
#[derive(Debug, Clone, Default, Args)]
pub struct StateDirArgs {
    /// The state store (a directory a `run --state-dir` filled) [env:
    /// PARPROC_STATE_DIR].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Shorthand for `--state-dir .parproc` (in the current directory).
    #[arg(long, conflicts_with = "state_dir")]
    pub incremental: bool,
}

impl StateDirArgs {
    /// The state directory these flags (and the environment) select, if any:
    /// the same choice [`StateArgs::dir`] makes for `run`.
    pub fn dir(&self) -> Option<PathBuf> {
        StateArgs {
            state_dir: self.state_dir.clone(),
            incremental: self.incremental,
            ..StateArgs::default()
        }
        .dir()
    }
}

/// `parproc-host state verify`.
#[derive(Debug, Args)]
pub struct StateVerifyArgs {
    /// The state store.
    #[command(flatten)]
    pub store: StateDirArgs,
}

/// `parproc-host state gc`.
#[derive(Debug, Args)]
pub struct StateGcArgs {
    /// The state store.
    #[command(flatten)]
    pub store: StateDirArgs,
    /// The most bytes the blobs may take; the least recently used entries go
    /// first.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "2GiB")]
    pub max_size: u64,
    /// Remove the entries no run has used for this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30d")]
    pub max_age: std::time::Duration,
}

/// `parproc-host state show`.
#[derive(Debug, Args)]
pub struct StateShowArgs {
    /// The proc's name (a filled-out proto name like `build::prod` too).
    pub name: String,
    /// The state store.
    #[command(flatten)]
    pub store: StateDirArgs,
}

/// Where compiled modules are kept between runs (shared by every command).
#[derive(Debug, Clone, Default, Args)]
pub struct CacheArgs {
    /// Keep compiled modules in DIR [default: $PARPROC_CACHE_DIR, else
    /// $XDG_CACHE_HOME/parproc/compiled, else ~/.cache/parproc/compiled].
    /// It must be writable only by you; it is created private when missing.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile the module without the compile cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

impl CacheArgs {
    /// The cache these flags (and the environment) select.
    pub fn cache(&self) -> crate::runtime::CompileCache {
        use crate::runtime::CompileCache;
        match (&self.cache_dir, self.no_cache) {
            (_, true) => CompileCache::off(),
            (Some(dir), false) => CompileCache::at(dir),
            (None, false) => CompileCache::from_env(),
        }
    }
}

/// The format of `parproc-host list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ListFormat {
    /// Procs and protos with their deps, rdeps, locks and choices.
    #[default]
    Text,
    /// The same as JSON (README "Running").
    Json,
}

/// The format of `parproc-host graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`| dot -Tpng -o graph.png`).
    #[default]
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// JSON: nodes, edges, waves.
    Json,
}

/// `parproc-host graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The job module.
    pub module: PathBuf,
    /// Targets, as for `run` [default: the module's targets]; `now` procs are
    /// shown whether or not targets are given, since they run either way.
    pub targets: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Show every proc of the module, not only those the targets would run.
    #[arg(long)]
    pub all: bool,
    /// A global param, as for `run` (computed deps may read it).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, serde_json::Value)>,
    /// The compile cache.
    #[command(flatten)]
    pub cache: CacheArgs,
}

fn parse_param(s: &str) -> Result<(String, serde_json::Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))?;
    if k.is_empty() {
        return Err(format!("`{s}` has an empty key"));
    }
    // Text that is JSON is that value; a JSON document nested too deep is refused
    // (the same limit as results); anything else is a string.
    let value = match crate::jsontext::check(v) {
        Ok(()) => serde_json::from_str(v).map_err(|e| format!("`{k}`: {e}"))?,
        Err(e @ crate::jsontext::JsonError::TooDeep(_)) => return Err(format!("`{k}` is {e}")),
        Err(crate::jsontext::JsonError::Syntax(_)) => serde_json::Value::String(v.into()),
    };
    Ok((k.to_owned(), value))
}

pub use crate::units::{parse_count, parse_duration, parse_size};

mod remote;
mod sandbox;

pub use remote::{CoordinatorArgs, NatsArgs, WorkerArgs};
pub use sandbox::{GrantArgs, SandboxArgs, Total};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_json_or_strings() {
        assert_eq!(parse_param("n=3"), Ok(("n".into(), serde_json::json!(3))));
        assert_eq!(
            parse_param("env=prod"),
            Ok(("env".into(), serde_json::json!("prod")))
        );
        assert!(parse_param("novalue").is_err());
        let deep = format!("d={}{}", "[".repeat(101), "]".repeat(101));
        assert_eq!(
            parse_param(&deep),
            Err("`d` is nested 101 levels deep, over the limit of 100".into())
        );
    }

    #[test]
    fn state_gc_keeps_two_gib_for_thirty_days_by_default() {
        let cli = Cli::try_parse_from(["parproc-host", "state", "gc", "--state-dir", "s"])
            .expect("parses");
        let Command::State(StateCmd::Gc(gc)) = cli.command else {
            panic!("not `state gc`: {:?}", cli.command);
        };
        assert_eq!(gc.max_size, 2 << 30);
        assert_eq!(gc.max_age, std::time::Duration::from_secs(30 * 86_400));
        assert_eq!(gc.store.dir(), Some(PathBuf::from("s")));
        let cli = Cli::try_parse_from(["parproc-host", "state", "show", "a::b", "--incremental"])
            .expect("parses");
        let Command::State(StateCmd::Show(show)) = cli.command else {
            panic!("not `state show`: {:?}", cli.command);
        };
        assert_eq!(show.name, "a::b");
        assert_eq!(show.store.dir(), Some(PathBuf::from(".parproc")));
        let both = [
            "parproc-host",
            "state",
            "verify",
            "--incremental",
            "--state-dir",
            "s",
        ];
        assert!(Cli::try_parse_from(both).is_err());
    }
}
