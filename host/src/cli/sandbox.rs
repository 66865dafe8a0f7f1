//! The sandbox flags of `parproc-host run`: budgets, caps on what a guest may
//! push, capability grants, `--deterministic` and `--dry-run`.

use std::time::Duration;

use clap::Args;

use crate::policy::{BudgetRules, DirGrant, Grants, LimitArg, NetAddr, Rules, ToolGrant};
use crate::runtime::RuntimeConfig;
use crate::session::SessionConfig;
use crate::units::{parse_count, parse_duration, parse_size};

/// Budgets, caps and grants (see the README's "Security model").
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Fuel (CPU budget) per proc, e.g. `1e9` [default: 1e12]. `PATTERN=N`
    /// sets it for the procs a glob matches (`--fuel 'build::*=5e10'`; repeat
    /// the flag; the last matching rule wins). A module can only lower it.
    #[arg(long, value_name = "[PATTERN=]N", value_parser = parse_fuel_arg)]
    pub fuel: Vec<LimitArg<u64>>,
    /// Wall-clock timeout per proc, e.g. `30s`, `500ms`, `2m`, including time
    /// asleep, blocked in host calls or waiting for other procs [default:
    /// none]. `PATTERN=DURATION` sets it for matching procs.
    #[arg(long, value_name = "[PATTERN=]DURATION", value_parser = parse_timeout_arg)]
    pub timeout: Vec<LimitArg<Duration>>,
    /// Memory cap per proc over all its memories and tables, e.g. `256MiB`
    /// [default: 256MiB]. `PATTERN=SIZE` sets it for matching procs.
    #[arg(long, value_name = "[PATTERN=]SIZE", value_parser = parse_memory_arg)]
    pub max_memory: Vec<LimitArg<u64>>,
    /// Host-wide total of the memory caps of live procs; a proc starts only
    /// when its cap fits in what is left, else it waits [default: half the
    /// machine's memory]. `none` for no total.
    #[arg(long, value_name = "SIZE|none", value_parser = parse_total)]
    pub max_total_memory: Option<Total>,
    /// The most bytes of results a run holds in all (each is held once, for
    /// the results view, the summary and the reports); a result past it fails
    /// its proc `too large` [default: a quarter of the machine's memory].
    /// `none` for no total.
    #[arg(long, value_name = "SIZE|none", value_parser = parse_total)]
    pub max_results_total: Option<Total>,
    /// The most distinct procs one proc may create through its context; past
    /// it the proc fails `too large`.
    #[arg(long, value_name = "N", default_value_t = crate::runtime::DEFAULT_MAX_CREATED)]
    pub max_created: usize,
    /// The most files, directories and sockets one proc may hold open at once;
    /// past it an open fails for that proc only (`insufficient-memory`, ENOMEM;
    /// a socket `new-socket-limit`) [default: an eighth of the descriptor
    /// limit, 16 to 1024].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_open_files: Option<u32>,
    /// The most bytes of arguments one context call may pass (a name given to
    /// `create`, a list of names to `wait`); past it the proc fails `too large`
    /// [default: 1MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_arg: Option<u64>,
    /// The largest JSON result a proc may return; past it the proc fails `too
    /// large` [default: 16MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_result: Option<u64>,
    /// Fuel for each declarations call (`describe`, computed deps and choices)
    /// [default: 1e10].
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub decl_fuel: Option<u64>,
    /// Wall-clock limit of each declarations call [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub decl_timeout: Option<Duration>,
    /// Memory cap of the declarations instance [default: 512MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub decl_memory: Option<u64>,
    /// Directories, environment, network, HTTP and tools.
    #[command(flatten)]
    pub grant: GrantArgs,
    /// The most bytes one tool run may write under its private `/tmp`; past
    /// it writes there fail (`insufficient-space`) [default: 1GiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub tool_tmp_size: Option<u64>,
    /// Reproducible runs: every proc gets randomness seeded from its name and
    /// args, a clock that stands still (2000-01-01), and a results view holding
    /// only its deps and the procs it waited for. Not for procs that need real
    /// randomness (keys, tokens) or the real time.
    #[arg(long)]
    pub deterministic: bool,
    /// Take proc stores from pre-reserved slots (wasmtime's pooling allocator,
    /// one slot per `--max-live` store): about half the cost per proc, for
    /// address space reserved up front (about 4 GiB per memory slot; it fails
    /// to start under a tight `ulimit -v`).
    #[arg(long)]
    pub pooling: bool,
    /// Plan the targets, print each proc's effective budgets and exactly what
    /// it may touch, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `--max-total-memory`: a size or no total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// A total in bytes.
    Bytes(u64),
    /// No host-wide total.
    Unbounded,
}

/// The capability grants: the flags `run` and `worker` share (a worker
/// offers what `run` grants).
#[derive(Debug, Clone, Args)]
pub struct GrantArgs {
    /// Grant a host directory to the procs that declare its guest path:
    /// `HOST[::GUEST][:rw]` (GUEST defaults to HOST's absolute path; read-only
    /// unless it ends in `:rw`; repeatable).
    #[arg(long, value_name = "HOST[::GUEST][:rw]", value_parser = crate::policy::parse_dir_grant)]
    pub dir: Vec<DirGrant>,
    /// Grant an environment variable to the procs that declare it: `NAME`
    /// passes the host's value, `NAME=VALUE` sets one (repeatable).
    #[arg(long, value_name = "NAME[=VALUE]", value_parser = crate::policy::parse_env_grant)]
    pub env: Vec<(String, String)>,
    /// Grant outgoing connections to `HOST:PORT` (an IP, `[IPv6]`, a DNS name or
    /// `*`; a port or `*`) to the procs that declare it (repeatable).
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::policy::parse_net_addr)]
    pub allow_net: Vec<NetAddr>,
    /// Let the procs that declare a matching origin reach it over `wasi:http`:
    /// `SCHEME://HOST[:PORT]` (port: the scheme's by default; `*` for one DNS
    /// label, never the apex; an IP matches only itself; repeatable). The
    /// host never follows redirects, and does not check DNS answers.
    #[arg(long, value_name = "SCHEME://HOST[:PORT]", value_parser = crate::policy::parse_origin_pattern)]
    pub allow_http: Vec<crate::policy::OriginPattern>,
    /// Trust the PEM certificates in FILE as roots for HTTPS from procs,
    /// besides the Mozilla roots (a company or test CA; repeatable).
    #[arg(long, value_name = "FILE", value_parser = crate::policy::parse_ca_file)]
    pub http_ca: Vec<crate::policy::CaFile>,
    /// Let the procs that declare the tool NAME run the WASI command-line tool
    /// in PATH (a preview1 command module or a `wasi:cli/command` component)
    /// through `context.exec`, inside their own sandbox and budgets; `#blake3=HEX`
    /// pins the file's digest (repeatable).
    #[arg(long, value_name = "NAME=PATH.wasm[#blake3=HEX]", value_parser = crate::policy::parse_tool_grant)]
    pub tool: Vec<ToolGrant>,
    /// Give the tool NAME a read-only data directory of its own, at GUEST in
    /// its sandbox (like `--tool-dir yosys=share::/share`; repeatable).
    #[arg(long, value_name = "NAME=HOST::GUEST", value_parser = crate::policy::parse_tool_dir)]
    pub tool_dir: Vec<(String, DirGrant)>,
}

impl GrantArgs {
    /// The grants from these flags (`input` is `--input`); `Err` names a
    /// `--tool-dir` of a tool no `--tool` names.
    pub fn grants(&self, input: bool) -> Result<Grants, String> {
        let mut tools = self.tool.clone();
        for (name, dir) in &self.tool_dir {
            let Some(tool) = tools.iter_mut().rev().find(|t| &t.name == name) else {
                return Err(format!(
                    "`--tool-dir {name}=…` is for a tool no `--tool` names; add `--tool {name}=PATH.wasm`"
                ));
            };
            tool.dirs.push(dir.clone());
        }
        Ok(Grants {
            dirs: self.dir.clone(),
            env: self.env.clone(),
            net: self.allow_net.clone(),
            input,
            tools,
            http: self.allow_http.clone(),
            http_ca: self.http_ca.clone(),
        })
    }
}

fn parse_fuel_arg(s: &str) -> Result<LimitArg<u64>, String> {
    crate::policy::parse_limit_arg(s, parse_count)
}

fn parse_timeout_arg(s: &str) -> Result<LimitArg<Duration>, String> {
    crate::policy::parse_limit_arg(s, parse_duration)
}

fn parse_memory_arg(s: &str) -> Result<LimitArg<u64>, String> {
    crate::policy::parse_limit_arg(s, parse_size)
}

fn parse_total(s: &str) -> Result<Total, String> {
    if s.eq_ignore_ascii_case("none") {
        Ok(Total::Unbounded)
    } else {
        parse_size(s).map(Total::Bytes)
    }
}

impl SandboxArgs {
    /// The runtime's configuration from these flags.
    pub fn runtime_config(&self) -> RuntimeConfig {
        let d = RuntimeConfig::default();
        RuntimeConfig {
            decl_fuel: self.decl_fuel.unwrap_or(d.decl_fuel),
            decl_timeout: self.decl_timeout.unwrap_or(d.decl_timeout),
            decl_memory: self.decl_memory.unwrap_or(d.decl_memory),
            result_limit: self
                .max_result
                .map_or(d.result_limit, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_total_memory: match self.max_total_memory {
                None => d.max_total_memory,
                Some(Total::Bytes(n)) => Some(n),
                Some(Total::Unbounded) => None,
            },
            max_arg: self
                .max_arg
                .map_or(d.max_arg, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_created: self.max_created,
            deterministic: self.deterministic,
            max_open_files: self.max_open_files.map_or(d.max_open_files, |n| n as usize),
            tool_tmp_quota: self.tool_tmp_size.unwrap_or(d.tool_tmp_quota),
            ..d
        }
    }

    /// The grants from these flags (`input` is `--input`); `Err` names a
    /// `--tool-dir` of a tool no `--tool` names.
    pub fn grants(&self, input: bool) -> Result<Grants, String> {
        self.grant.grants(input)
    }

    /// `config` with these budgets and the deterministic view.
    pub fn session_config(&self, config: SessionConfig) -> SessionConfig {
        let (fuel, fuel_rules) = Rules::from_args(&self.fuel);
        let (timeout, timeout_rules) = Rules::from_args(&self.timeout);
        let (memory, memory_rules) = Rules::from_args(&self.max_memory);
        SessionConfig {
            fuel: fuel.unwrap_or(config.fuel),
            timeout: timeout.or(config.timeout),
            memory: memory.unwrap_or(config.memory),
            rules: BudgetRules {
                fuel: fuel_rules,
                timeout: timeout_rules,
                memory: memory_rules,
            },
            deterministic: self.deterministic,
            max_results_total: match self.max_results_total {
                None => Some(crate::runtime::default_total_memory() / 2),
                Some(Total::Bytes(n)) => Some(n),
                Some(Total::Unbounded) => None,
            },
            ..config
        }
    }
}
