//! The wasmtime runtime: the only module of the host that names wasmtime.
//!
//! ## Overview
//!
//! 1. [`Runtime::load`] reads a job module, checks that it is a WebAssembly
//!    component of the `jobs` world, compiles it once, links WASI 0.2 and the
//!    `context` import, and pre-instantiates it (`JobsPre`, reused by every
//!    store). It then asks the declarations instance for the manifest.
//! 2. The session answers the planner's questions through [`Resolver`]: the
//!    declarations instance runs the `resolve-deps` / `resolve-choices`
//!    callbacks, one at a time, each under its own fuel and time budget
//!    (see `decls`).
//! 3. The session runs procs through [`ProcRunner`]: every proc gets a fresh
//!    store with its own fuel, memory cap and log (see `runner`), after its
//!    needs are checked against the user's grants and its memory cap fits in
//!    the host-wide total (`pool`); its WASI context holds only what it was
//!    granted (`sandbox`).
//!
//! ## Files
//!
//! `engine` (the shared engine: fuel, Cranelift), `cache` (compiled
//! components kept between runs, verified before they load), `bindings` (generated from
//! `wit/`), `state` (per-store state and the memory limiter), `context` (the
//! `context` import), `logpipe` (stdout/stderr into the log sink), `convert`
//! (WIT ↔ host types, with bounds), `trap` (how a call ended), `runner` (one
//! proc), `decls` (the declarations instance), `sandbox` (the WASI context:
//! grants, deterministic randomness and clocks), `pool` (the host-wide memory
//! total), `wasifs` (`wasi:filesystem` through the host: observed calls and a
//! cap on open descriptors, delegating to wasmtime-wasi).

mod bindings;
mod cache;
mod context;
mod convert;
mod decls;
mod engine;
mod http;
mod logpipe;
mod pool;
mod recorder;
mod runner;
mod sandbox;
mod state;
mod tools;
mod trap;
mod wasifs;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;

pub use self::cache::{CacheUse, CompileCache, LoadEvent, observe_load};
use self::decls::{CallBudget, Declarations};
use self::pool::MemoryPool;
use self::runner::Shared;
use crate::exec::{BoxFuture, Launch, ProcChannel, ProcRunner, Resolver, RunReport};
use crate::logsink::LogSink;
use crate::plan::{ResolveAnswer, ResolveRequest};
use crate::policy::Grants;
use crate::spec::Manifest;

/// Settings of a [`Runtime`] that are not per proc (per-proc budgets come with
/// each [`Launch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Fuel for each declarations call (`describe` and every callback).
    pub decl_fuel: u64,
    /// Wall-clock limit of each declarations call.
    pub decl_timeout: Duration,
    /// Memory cap of the declarations instance, over all its memories and tables.
    pub decl_memory: u64,
    /// The bound of the log of each declarations call, in bytes (a proc's log
    /// is bounded by the session's `SessionConfig::log_limit`).
    pub log_limit: usize,
    /// The largest JSON result a proc may return, in bytes.
    pub result_limit: usize,
    /// The host-wide total of the memory caps of live proc stores, in bytes; a
    /// store is created only when its cap fits in what is left, else it waits.
    /// `None` is unbounded.
    pub max_total_memory: Option<u64>,
    /// The most bytes of arguments one context call may pass.
    pub max_arg: usize,
    /// The most distinct procs one proc may create through its context.
    pub max_created: usize,
    /// Seeded randomness and fixed clocks in every store (`--deterministic`).
    pub deterministic: bool,
    /// The most files, directories, directory streams and sockets one store
    /// may hold open at once; past it an open answers `insufficient-memory`
    /// (a socket `new-socket-limit`) to that guest only ([`crate::fdlimit`]).
    pub max_open_files: usize,
    /// Meter fuel (the default). Off, a proc has no CPU budget and, since fuel
    /// is also what makes a running guest yield, a proc that never returns
    /// cannot be stopped by its timeout either: this exists to measure what
    /// metering costs (`cargo bench --bench scale`), not for untrusted code,
    /// and the CLI does not offer it.
    pub fuel_metering: bool,
    /// The most bytes one tool run (`context.exec`) may write under its
    /// private `/tmp`.
    pub tool_tmp_quota: u64,
    /// Use wasmtime's pooling allocator with this many instance slots (at
    /// least `--max-live` plus the declarations instance), or allocate every
    /// store's memories on demand (`None`).
    pub pool_instances: Option<u32>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            decl_fuel: 10_000_000_000,
            decl_timeout: Duration::from_secs(10),
            decl_memory: 512 << 20,
            log_limit: 1 << 20,
            result_limit: 16 << 20,
            max_total_memory: Some(default_total_memory()),
            max_arg: DEFAULT_MAX_ARG,
            max_created: DEFAULT_MAX_CREATED,
            deterministic: false,
            max_open_files: crate::fdlimit::default_per_proc(crate::fdlimit::raise()),
            fuel_metering: true,
            tool_tmp_quota: DEFAULT_TOOL_TMP_SIZE,
            pool_instances: None,
        }
    }
}

/// Default [`RuntimeConfig::max_arg`]: 1 MiB.
pub const DEFAULT_MAX_ARG: usize = 1 << 20;
/// Default [`RuntimeConfig::tool_tmp_quota`]: 1 GiB.
pub const DEFAULT_TOOL_TMP_SIZE: u64 = 1 << 30;
/// Default [`RuntimeConfig::max_created`].
pub const DEFAULT_MAX_CREATED: usize = 10_000;

/// Default [`RuntimeConfig::max_total_memory`]: half the machine's physical
/// memory (from `/proc/meminfo`), or 8 GiB where that cannot be read.
pub fn default_total_memory() -> u64 {
    let from_meminfo = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        });
    from_meminfo.map_or(8 << 30, |total| (total / 2).max(1 << 30))
}

/// What identifies one tool procs may run: its name, the BLAKE3 digest (hex)
/// of its file, and its data directories (guest path, host path).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ToolIdentity {
    /// The name procs declare.
    pub name: String,
    /// The file's BLAKE3 digest, hex.
    pub digest: String,
    /// Its `--tool-dir` directories: guest path and host path.
    pub dirs: Vec<(String, PathBuf)>,
}

/// A loaded job module; cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    config: RuntimeConfig,
    shared: Shared,
    decls: Declarations,
    manifest: Manifest,
    load: LoadInfo,
}

/// How a module was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadInfo {
    /// From reading the file to the manifest: compiling (or loading compiled
    /// code from the cache), linking and `describe`.
    pub duration: Duration,
    /// Where the compiled code came from.
    pub cache: CacheUse,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("path", &self.inner.path)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Load the job module at `path` and ask it what it declares.
    ///
    /// Every problem is a one-line error naming the file: unreadable, not
    /// WebAssembly, a core module instead of a component, a component of
    /// another world (missing exports, imports the host does not provide), or a
    /// `describe` that traps or returns garbage.
    ///
    /// This blocks the calling thread while it compiles the component (tens of
    /// milliseconds for small modules) and while `describe` runs, on a helper
    /// thread with its own tokio runtime, so it may be called from inside or
    /// outside an async runtime.
    ///
    /// It compiles every time; [`Runtime::load_with`] can use a compile cache.
    pub fn load(path: &Path, config: RuntimeConfig) -> anyhow::Result<(Runtime, Manifest)> {
        Runtime::load_with(path, config, Grants::default(), &CompileCache::off())
    }

    /// [`Runtime::load`] with the user's capability grants and a compile
    /// cache: each proc gets the part of `grants` it declared in its `needs`,
    /// and fails before it starts when it needs something not granted; the
    /// compiled component comes from `cache` when it holds a verified entry
    /// (see [`CompileCache`]), else it is compiled and stored there. A cache
    /// that cannot be used never fails the load: [`Runtime::load_info`] says
    /// what happened.
    pub fn load_with(
        path: &Path,
        config: RuntimeConfig,
        grants: Grants,
        cache: &CompileCache,
    ) -> anyhow::Result<(Runtime, Manifest)> {
        let started = std::time::Instant::now();
        let shown = path.display();
        let head = read_head(path).map_err(|e| anyhow::anyhow!("cannot read `{shown}`: {e}"))?;
        check_header(&head).map_err(|e| anyhow::anyhow!("cannot read `{shown}`: {e}"))?;
        let read = started.elapsed();
        let (mut shared, cache_use) =
            prepare(path, config, grants, cache).map_err(|e| match e {
                cache::LoadError::Read(e) => anyhow::anyhow!("cannot read `{shown}`: {e}"),
                cache::LoadError::Invalid(e) => anyhow::anyhow!("cannot load `{shown}`: {e}"),
            })?;
        let mut decls = Declarations::new(CallBudget {
            fuel: config.decl_fuel,
            timeout: config.decl_timeout,
            memory: config.decl_memory,
            log_limit: config.log_limit,
        });
        let prepared = started.elapsed();
        let manifest = match describe(&decls, &shared) {
            Ok(manifest) => manifest,
            Err(e) => bail!("cannot load `{shown}`: {e}"),
        };
        // The instance may hold WASI resources of the helper's runtime: the
        // first callback starts a fresh one in the caller's runtime.
        decls.clear();
        let manifest = convert::manifest_from_wit(manifest).map_err(|e| {
            anyhow::anyhow!("cannot load `{shown}`: `describe` returned an invalid manifest: {e}")
        })?;
        let wanted: std::collections::HashSet<String> = manifest
            .jobs
            .iter()
            .flat_map(|j| j.needs.tools.iter().cloned())
            .collect();
        shared.tools = Arc::new(
            tools::Toolbox::load(&shared.grants, &wanted, &config, cache)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        tracing::debug!(
            "loaded `{shown}`: read {read:?}, compiled or cached and linked {:?} ({cache_use}), \
             described {:?}",
            prepared - read,
            started.elapsed() - prepared
        );
        let runtime = Runtime {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                config,
                shared,
                decls,
                manifest: manifest.clone(),
                load: LoadInfo {
                    duration: started.elapsed(),
                    cache: cache_use,
                },
            }),
        };
        Ok((runtime, manifest))
    }

    /// What the module declared (as `describe` returned it, size-checked).
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// How long loading took and where the compiled code came from.
    pub fn load_info(&self) -> &LoadInfo {
        &self.inner.load
    }

    /// The module's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The configuration the module was loaded with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// The tools procs may run: each one's name, BLAKE3 digest (hex) and data
    /// directories (guest path, host path), sorted by name. The key of an
    /// incremental proc's result covers them.
    pub fn tool_identity(&self) -> Vec<ToolIdentity> {
        self.inner.shared.tools.identity()
    }

    /// What the user granted.
    pub fn grants(&self) -> &Grants {
        &self.inner.shared.grants
    }

    /// Run a proc whose context calls are all refused (they trap or return an
    /// error, as in a declarations callback). For tools and tests; the
    /// session runs procs through [`ProcRunner::run`].
    pub fn run_without_context(
        &self,
        launch: Launch,
        log: LogSink,
    ) -> BoxFuture<'static, RunReport> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { runner::run(&inner.shared, launch, None, log).await })
    }
}

impl ProcRunner for Runtime {
    fn run(&self, launch: Launch, channel: ProcChannel) -> BoxFuture<'static, RunReport> {
        let inner = Arc::clone(&self.inner);
        let log = channel.sink().clone();
        Box::pin(async move { runner::run(&inner.shared, launch, Some(channel), log).await })
    }
}

impl Resolver for Runtime {
    fn resolve(&self, request: ResolveRequest) -> BoxFuture<'_, ResolveAnswer> {
        Box::pin(self.inner.decls.resolve(&self.inner.shared, request))
    }
}

/// Explain why the linker could not satisfy the component's imports.
///
/// Wasmtime names the import in its outermost message (``component imports
/// instance `x`, but a matching implementation was not found in the linker``)
/// and says why in the innermost one (`function implementation is missing`, or
/// a type mismatch).
fn link_error(e: &wasmtime::Error) -> String {
    let outer = e.to_string();
    let name = outer
        .split('`')
        .nth(1)
        .filter(|_| outer.matches('`').count() >= 2);
    let Some(name) = name else {
        return format!(
            "it is not a parproc job module: {}",
            trap::one_line(&format!("{e:#}"))
        );
    };
    let missing = e
        .root_cause()
        .to_string()
        .ends_with("implementation is missing");
    if missing && name != bindings::CONTEXT && name != bindings::CONTEXT_0_1 {
        format!(
            "it imports `{name}`, which the host does not provide (a job module may import \
             only WASI 0.2 and `{}`)",
            bindings::CONTEXT
        )
    } else {
        let detail: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
        format!(
            "its import `{name}` does not match what the host provides: {}; rebuild it \
             against this host's `wit/parproc.wit`",
            trap::one_line(&detail.join(": "))
        )
    }
}

/// Call `describe` on a helper thread with its own current-thread runtime.
fn describe(decls: &Declarations, shared: &Shared) -> Result<bindings::types::Manifest, String> {
    std::thread::scope(|scope| {
        let helper = scope.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for `describe`: {e}"))?;
            rt.block_on(decls.describe(shared))
        });
        helper
            .join()
            .unwrap_or_else(|_| Err("`describe` failed: the host panicked".to_owned()))
    })
}

/// The first 8 bytes of the file (fewer if it is shorter).
fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)?.take(8).read_to_end(&mut head)?;
    Ok(head)
}

/// Tell apart core modules, components and other files by their first 8 bytes.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    const MODULE: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
    const COMPONENT: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("not a WebAssembly file (it does not start with `\\0asm`)".to_owned());
    }
    match [bytes[4], bytes[5], bytes[6], bytes[7]] {
        COMPONENT => Ok(()),
        MODULE => Err(
            "not a WebAssembly component (it is a core module); build it for wasm32-wasip2"
                .to_owned(),
        ),
        _ => Err(format!(
            "unsupported WebAssembly version or layer {:02x?}; build it for wasm32-wasip2 \
             with a toolchain that targets WASI 0.2",
            &bytes[4..8]
        )),
    }
}

/// Compile, check the world, link and pre-instantiate.
fn prepare(
    path: &Path,
    config: RuntimeConfig,
    grants: Grants,
    cache: &CompileCache,
) -> Result<(Shared, CacheUse), cache::LoadError> {
    let invalid = cache::LoadError::Invalid;
    let engine = engine::shared(engine::EngineKind {
        metered: config.fuel_metering,
        pool: config.pool_instances,
    })
    .map_err(|e| invalid(format!("{e:#}")))?;
    let (component, cache_use) = cache::component(&engine, path, cache)?;
    let ty = component.component_type();
    // A module built against 0.1.0 still loads (with no incremental options).
    let old = ty.get_export(&engine, bindings::DECLARATIONS).is_none()
        && ty.get_export(&engine, bindings::DECLARATIONS_0_1).is_some();
    let exports = match old {
        false => [bindings::DECLARATIONS, bindings::PROCS],
        true => [bindings::DECLARATIONS_0_1, "parproc:jobs/procs@0.1.0"],
    };
    for export in exports {
        if ty.get_export(&engine, export).is_none() {
            return Err(invalid(format!(
                "it is not a parproc job module: it does not export `{export}`"
            )));
        }
    }
    let linker = Shared::linker(&engine).map_err(|e| invalid(format!("{e:#}")))?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| invalid(link_error(&e)))?;
    let pre = bindings::JobsPre::new(pre, old).map_err(|e| {
        invalid(format!(
            "it is not a parproc job module: {}",
            trap::one_line(&format!("{e:#}"))
        ))
    })?;
    let http_tls = match grants.http.is_empty() {
        true => None,
        false => Some(
            http::client_config(&grants.http_ca)
                .map_err(|e| invalid(format!("the HTTPS client cannot be set up: {e}")))?,
        ),
    };
    let shared = Shared {
        engine,
        pre,
        config,
        grants,
        pool: MemoryPool::new(config.max_total_memory),
        tools: Arc::new(tools::Toolbox::empty()),
        http_tls,
    };
    Ok((shared, cache_use))
}
