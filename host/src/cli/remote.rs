//! The flags of distributed runs: `--nats` and its credentials on `run`, and
//! `parproc-host worker` (docs/distributed.md).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{CacheArgs, parse_count, parse_duration, parse_size};
use crate::remote::conn::{AuthSources, NatsConfig, Tls};

/// Where the NATS server is and how to log in. Secrets come from the
/// environment (`PARPROC_NATS_TOKEN`, `PARPROC_NATS_PASSWORD`,
/// `PARPROC_NATS_NKEY`) or a file; in a flag or the URL they work but warn,
/// since `ps` shows them.
#[derive(Debug, Args, Clone, Default)]
pub struct NatsArgs {
    /// The NATS server (`nats://HOST:PORT`, `tls://HOST:PORT`): run ready
    /// procs on the workers serving it.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// The NATS user (the password from PARPROC_NATS_PASSWORD or
    /// `--nats-password-file`).
    #[arg(long, value_name = "NAME", requires = "nats")]
    pub nats_user: Option<String>,
    /// A file holding the NATS password.
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_password_file: Option<PathBuf>,
    /// The NATS password itself (shown by `ps`: prefer the file or the
    /// environment).
    #[arg(long, value_name = "PASSWORD", requires = "nats", hide = true)]
    pub nats_password: Option<String>,
    /// A file holding the NATS token (or set PARPROC_NATS_TOKEN).
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_token_file: Option<PathBuf>,
    /// The NATS token itself (shown by `ps`: prefer the file or the
    /// environment).
    #[arg(long, value_name = "TOKEN", requires = "nats", hide = true)]
    pub nats_token: Option<String>,
    /// A file holding an nkey seed (or set PARPROC_NATS_NKEY).
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_nkey_file: Option<PathBuf>,
    /// A NATS `.creds` file (JWT and seed).
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_creds: Option<PathBuf>,
    /// Require TLS (implied by a `tls://` URL).
    #[arg(long, requires = "nats")]
    pub nats_tls: bool,
    /// A PEM file of root certificates to trust for the server (repeatable).
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_tls_ca: Vec<PathBuf>,
    /// A PEM client certificate (with `--nats-tls-key`).
    #[arg(long, value_name = "FILE", requires = "nats_tls_key")]
    pub nats_tls_cert: Option<PathBuf>,
    /// The client certificate's PEM key.
    #[arg(long, value_name = "FILE", requires = "nats_tls_cert")]
    pub nats_tls_key: Option<PathBuf>,
    /// How long the server may be unreachable before procs still out fail
    /// naming it.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub nats_timeout: Duration,
}

impl NatsArgs {
    /// The connection settings (`None` without `--nats`) and the warnings to
    /// show (a secret given where `ps` shows it).
    pub fn config(&self) -> anyhow::Result<Option<(NatsConfig, Vec<String>)>> {
        let Some(url) = &self.nats else {
            return Ok(None);
        };
        let sources = AuthSources {
            user: self.nats_user.clone(),
            password_file: self.nats_password_file.clone(),
            token_file: self.nats_token_file.clone(),
            nkey_file: self.nats_nkey_file.clone(),
            creds: self.nats_creds.clone(),
            password: self.nats_password.clone(),
            token: self.nats_token.clone(),
        };
        let tls = Tls {
            require: self.nats_tls,
            roots: self.nats_tls_ca.clone(),
            client: self.nats_tls_cert.clone().zip(self.nats_tls_key.clone()),
        };
        NatsConfig::from_sources(url, &sources, tls, self.nats_timeout, |k| {
            std::env::var(k).ok()
        })
        .map(Some)
    }
}

/// How a coordinator watches its workers (`run --nats`).
#[derive(Debug, Args, Clone)]
pub struct CoordinatorArgs {
    /// How often this run tells workers it is alive; workers abandon its
    /// procs after twice this without a word.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s", requires = "nats")]
    pub coordinator_heartbeat: Duration,
    /// How long a worker may go without a heartbeat for a proc before the
    /// proc is given to another worker.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s", requires = "nats")]
    pub worker_lapse: Duration,
    /// How many times a proc may lose its worker (its heartbeat lapses) before
    /// it fails instead of running again elsewhere.
    #[arg(long, value_name = "N", default_value_t = crate::remote::coordinator::DEFAULT_MAX_LOSSES, value_parser = clap::value_parser!(u32).range(1..), requires = "nats")]
    pub max_worker_losses: u32,
}

/// `parproc-host worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The server and credentials (`--nats` is required here).
    #[command(flatten)]
    pub nats: NatsArgs,
    /// This worker's name, shown to coordinators [default: HOST-PID].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Procs run at once [default: the number of CPUs].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub slots: Option<u32>,
    /// The most fuel a proc may ask for; a proc asking more is refused.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub max_fuel: Option<u64>,
    /// The most memory a proc may ask for.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// The longest timeout a proc may ask for (a proc without one is refused).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_timeout: Option<Duration>,
    /// The most memory of all procs at once on this worker.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_total_memory: Option<u64>,
    /// What this worker offers procs, by guest path and tool name, as `run`
    /// grants it.
    #[command(flatten)]
    pub grant: super::sandbox::GrantArgs,
    /// Where fetched modules are kept, by digest [default: next to the
    /// compile cache, else a private temporary directory].
    #[arg(long, value_name = "DIR")]
    pub module_dir: Option<PathBuf>,
    /// How often the worker sends a heartbeat for the procs it runs.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub heartbeat: Duration,
    /// The compile cache.
    #[command(flatten)]
    pub cache: CacheArgs,
}
