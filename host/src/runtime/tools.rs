//! WASI command-line tools run as sub-steps of a proc (`context.exec`).
//!
//! ## Loading
//!
//! [`Toolbox::load`] reads each tool the user named (`--tool NAME=PATH`) and
//! some declaration needs, once per run, hashes it (BLAKE3; a pinned digest
//! must match) and from then on uses only those bytes: a preview1 command
//! module is turned into a `wasi:cli/command` component with wasmtime's
//! command adapter (`componentize::command`), a component is taken as it
//! is, and either is compiled through the compile cache, keyed by the file's
//! digest. Tools compile on the on-demand engine (never the pooling one), so
//! a tool store takes no slot of `--pooling` and needs none.
//!
//! ## Running
//!
//! [`exec`] runs in the proc's `context.exec` host call, so the tool's future
//! is inside the proc's: the proc's timeout or a cancel drops both. The tool
//! gets a store of its own with
//!
//! - `argv[0]` = its name, the proc's arguments, the environment the proc
//!   gives (and nothing of the host's), the proc's stdin bytes;
//! - the directories the proc passes, each one of the proc's own granted
//!   directories (or below one), writable only where the proc's is, checked
//!   as a declared need is ([`Grants::resolve`]); its own `--tool-dir`
//!   directories read-only; and a fresh private `/tmp` the host creates
//!   (mode 0700) and removes when the tool ends;
//! - no network, no input, no context;
//! - the proc's remaining fuel (what it uses is taken off the proc's), and
//!   a [`MemoryLimiter::child`] of the proc's limiter: both stores together
//!   stay within the proc's memory cap;
//! - stdout and stderr written to the proc's log and, up to the bound, kept
//!   for the answer ([`Capture`]).
//!
//! A tool that traps ends with exit code [`TRAP_EXIT`] and the reason at the
//! end of its stderr; a tool that uses up the fuel ends the proc (out of
//! fuel). The bytes a tool writes under `/tmp` are bounded by the layer's
//! write quota ([`FsState::set_write_quota`]).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::Linker;
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::bindings::types::{ExecOutput, ExecRequest};
use super::cache::{self, CacheUse, CompileCache, LoadError};
use super::engine::{self, YIELD_INTERVAL};
use super::logpipe::{Capture, LogPipe};
use super::recorder::Recorder;
use super::state::{CallLimits, HostState};
use super::trap::{self, HostStop};
use super::wasifs::{FsEvent, FsObserver, FsOutcome, Rep};
use crate::logsink::{LogLevel, LogSink, Stream};
use crate::outcome::{Failure, FailureKind};
use crate::policy::{DirGrant, GrantedDir, Grants, ToolGrant};
use crate::spec::{DirNeed, Needs};

/// The exit code of a tool that trapped (as a shell shows a process killed
/// by `SIGABRT`).
pub(crate) const TRAP_EXIT: u32 = 134;

/// Default and cap of the bytes of stdout and of stderr `exec` returns.
pub(crate) const DEFAULT_MAX_OUTPUT: usize = 1 << 20;

/// The tag of compile-cache entries of preview1 tools made commands (the
/// adapter's version is the host's wasmtime).
const COMMAND_TAG: &str = "preview1 command, wasmtime adapter 48.0.8";

/// One loaded tool.
struct Tool {
    /// Its BLAKE3 digest, hex.
    digest: String,
    /// Its own read-only data directories.
    dirs: Vec<DirGrant>,
    /// Compiled and linked.
    pre: CommandPre<HostState>,
}

/// The tools of a run, compiled and linked.
pub(crate) struct Toolbox {
    engine: Option<Engine>,
    tools: HashMap<String, Tool>,
    metered: bool,
    max_output: usize,
    tmp_quota: u64,
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Toolbox")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Toolbox {
    /// The roots the trace of a proc granted `tools` needs besides its own
    /// directories: each tool's data directories, under [`tool_root`] names.
    pub(crate) fn roots(&self, tools: &[String]) -> Vec<(String, PathBuf)> {
        tools
            .iter()
            .filter_map(|t| self.tools.get(t).map(|tool| (t, tool)))
            .flat_map(|(t, tool)| {
                tool.dirs
                    .iter()
                    .map(move |d| (tool_root(t, &d.guest), d.host.clone()))
            })
            .collect()
    }

    /// Each loaded tool's name and BLAKE3 digest (hex), and its data
    /// directories (guest, host): what the key of a proc's result covers.
    pub(crate) fn identity(&self) -> Vec<super::ToolIdentity> {
        let mut out: Vec<_> = self
            .tools
            .iter()
            .map(|(n, t)| super::ToolIdentity {
                name: n.clone(),
                digest: t.digest.clone(),
                dirs: t
                    .dirs
                    .iter()
                    .map(|d| (d.guest.clone(), d.host.clone()))
                    .collect(),
            })
            .collect();
        out.sort();
        out
    }

    /// No tools.
    pub(crate) fn empty() -> Toolbox {
        Toolbox {
            engine: None,
            tools: HashMap::new(),
            metered: true,
            max_output: DEFAULT_MAX_OUTPUT,
            tmp_quota: super::DEFAULT_TOOL_TMP_SIZE,
        }
    }

    /// Load every tool of `grants` named in `wanted` (what the declarations
    /// need; the others are not read). `Err` names the tool and the flag.
    pub(crate) fn load(
        grants: &Grants,
        wanted: &HashSet<String>,
        config: &super::RuntimeConfig,
        cache: &CompileCache,
    ) -> Result<Toolbox, String> {
        let metered = config.fuel_metering;
        let mut toolbox = Toolbox {
            metered,
            tmp_quota: config.tool_tmp_quota,
            ..Toolbox::empty()
        };
        let chosen: Vec<&ToolGrant> = grants
            .tools
            .iter()
            .rev()
            .filter(|t| wanted.contains(&t.name))
            .collect();
        if chosen.is_empty() {
            return Ok(toolbox);
        }
        let engine = engine::shared(engine::EngineKind {
            metered,
            pool: None,
        })
        .map_err(|e| format!("{e:#}"))?;
        let linker = tool_linker(&engine).map_err(|e| format!("{e:#}"))?;
        for grant in chosen {
            if toolbox.tools.contains_key(&grant.name) {
                continue; // a later `--tool` of the same name wins
            }
            let tool = load_tool(&engine, &linker, grant, cache)?;
            toolbox.tools.insert(grant.name.clone(), tool);
        }
        toolbox.engine = Some(engine);
        Ok(toolbox)
    }
}

/// The linker of tool stores: WASI 0.2 with the host's `wasi:filesystem`
/// layer, nothing else.
fn tool_linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    super::wasifs::add_to_linker(&mut linker, HostState::fs_view, HostState::sockets_view)?;
    Ok(linker)
}

fn load_tool(
    engine: &Engine,
    linker: &Linker<HostState>,
    grant: &ToolGrant,
    cache: &CompileCache,
) -> Result<Tool, String> {
    let shown = grant.path.display();
    let name = &grant.name;
    let bytes = std::fs::read(&grant.path)
        .map_err(|e| format!("cannot read the tool `{name}` (`{shown}`): {e}"))?;
    let digest = blake3::hash(&bytes);
    let hex = digest.to_hex().to_string();
    if let Some(pin) = &grant.pin
        && *pin != hex
    {
        return Err(format!(
            "the tool `{name}` (`{shown}`) has the BLAKE3 digest {hex}, not the pinned {pin}: \
             it is not the file you pinned (`--tool {name}=PATH#blake3=HEX`)"
        ));
    }
    let what = format!("the tool `{name}`");
    let component = match bytes.get(4..8) {
        _ if bytes.get(..4) != Some(b"\0asm") => {
            return Err(format!(
                "the tool `{name}` (`{shown}`) is not a WebAssembly file; `--tool` takes a WASI \
                 command module or component"
            ));
        }
        Some([0x01, 0x00, 0x00, 0x00]) => {
            cache::component_of(engine, &what, COMMAND_TAG, &digest, cache, || {
                crate::componentize::command(&bytes)
                    .map_err(|e| LoadError::Invalid(trap::one_line(&format!("{e:#}"))))
            })
        }
        _ => cache::component_of(engine, &what, "component", &digest, cache, || {
            Ok(bytes.clone())
        }),
    };
    let (component, used) = component.map_err(|e| match e {
        LoadError::Read(e) | LoadError::Invalid(e) => {
            format!("cannot load the tool `{name}` (`{shown}`): {e}")
        }
    })?;
    if let CacheUse::Refused { reason } | CacheUse::Rejected { reason } = &used {
        tracing::debug!(tool = %name, %reason, "compile cache not used");
    }
    let pre = linker
        .instantiate_pre(&component)
        .and_then(CommandPre::new)
        .map_err(|e| {
            format!(
                "cannot load the tool `{name}` (`{shown}`): it is not a WASI command this host \
                 can run (a tool may import WASI 0.2 and export `wasi:cli/run`): {}",
                trap::one_line(&format!("{e:#}"))
            )
        })?;
    Ok(Tool {
        digest: hex,
        dirs: grant.dirs.clone(),
        pre,
    })
}

/// What a running proc may hand its tools.
#[derive(Debug, Clone)]
pub(crate) struct ToolAccess {
    /// The loaded tools.
    pub(crate) toolbox: Arc<Toolbox>,
    /// The tools the proc declared and was granted.
    pub(crate) allowed: Vec<String>,
    /// The proc's granted directories.
    pub(crate) dirs: Vec<GrantedDir>,
    /// The proc's fuel budget (for the out-of-fuel message).
    pub(crate) fuel: u64,
    /// Seeded randomness and fixed clocks, as the proc has.
    pub(crate) seed: Option<u64>,
    /// The proc's trace, if it is traced.
    pub(crate) recorder: Option<Recorder>,
}

/// The root name a tool's own data directory has in the proc's trace: a
/// tool's `/share` is not the proc's `/share`.
pub(crate) fn tool_root(tool: &str, guest: &str) -> String {
    format!("tool:{tool}:{guest}")
}

/// What a tool's store reports to the proc's trace: its calls on the
/// directories the proc passed, as they are; on its own data directories,
/// under their [`tool_root`] names; on its private `/tmp`, nothing (nothing
/// there outlives the tool, so nothing there is an input or an output).
struct ToolObserver {
    inner: Recorder,
    /// Guest path → root name, for the tool's own directories.
    rename: HashMap<String, String>,
    /// Descriptors at or below `/tmp`.
    scratch: HashSet<Rep>,
    /// Directory-entry streams of those.
    streams: HashSet<Rep>,
}

/// The descriptors and streams an event names (besides what it creates).
fn named(event: &FsEvent) -> Vec<Rep> {
    use FsEvent as E;
    match event {
        E::Preopens { .. } | E::FilesystemErrorCode { .. } => Vec::new(),
        E::OpenAt { parent, .. } => vec![*parent],
        E::ReadDirectoryEntry { stream, .. } | E::DropDirectoryEntryStream { stream, .. } => {
            vec![*stream]
        }
        E::LinkAt { fd, new_fd, .. } | E::RenameAt { fd, new_fd, .. } => vec![*fd, *new_fd],
        E::IsSameObject { fd, other, .. } => vec![*fd, *other],
        E::Stat { fd, .. }
        | E::StatAt { fd, .. }
        | E::Read { fd, .. }
        | E::Write { fd, .. }
        | E::ReadViaStream { fd, .. }
        | E::WriteViaStream { fd, .. }
        | E::AppendViaStream { fd, .. }
        | E::ReadDirectory { fd, .. }
        | E::DropDescriptor { fd, .. }
        | E::GetType { fd, .. }
        | E::GetFlags { fd, .. }
        | E::Advise { fd, .. }
        | E::SyncData { fd, .. }
        | E::Sync { fd, .. }
        | E::SetSize { fd, .. }
        | E::SetTimes { fd, .. }
        | E::SetTimesAt { fd, .. }
        | E::CreateDirectoryAt { fd, .. }
        | E::RemoveDirectoryAt { fd, .. }
        | E::UnlinkFileAt { fd, .. }
        | E::ReadlinkAt { fd, .. }
        | E::SymlinkAt { fd, .. }
        | E::MetadataHash { fd, .. }
        | E::MetadataHashAt { fd, .. } => vec![*fd],
    }
}

impl FsObserver for ToolObserver {
    fn observe(&mut self, mut event: FsEvent) {
        match &mut event {
            FsEvent::Preopens {
                outcome: FsOutcome::Ok(list),
            } => {
                list.retain(|(fd, guest)| {
                    let scratch = guest == "/tmp";
                    if scratch {
                        self.scratch.insert(*fd);
                    }
                    !scratch
                });
                for (_, guest) in list.iter_mut() {
                    if let Some(root) = self.rename.get(guest.as_str()) {
                        *guest = root.clone();
                    }
                }
            }
            FsEvent::OpenAt {
                parent, outcome, ..
            } if self.scratch.contains(parent) => {
                if let FsOutcome::Ok(opened) = outcome {
                    self.scratch.insert(opened.fd);
                }
                return;
            }
            FsEvent::ReadDirectory { fd, outcome } if self.scratch.contains(fd) => {
                if let FsOutcome::Ok(stream) = outcome {
                    self.streams.insert(*stream);
                }
                return;
            }
            FsEvent::DropDescriptor { fd, .. } if self.scratch.remove(fd) => return,
            FsEvent::DropDirectoryEntryStream { stream, .. } if self.streams.remove(stream) => {
                return;
            }
            e => {
                let reps = named(e);
                if !reps.is_empty()
                    && reps
                        .iter()
                        .all(|r| self.scratch.contains(r) || self.streams.contains(r))
                {
                    return;
                }
            }
        }
        self.inner.observe(event);
    }
}

/// A private scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!(
                "parproc-tool-{}-{n}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Scratch(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(
            "no fresh name for a scratch directory",
        ))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes of the request, as a context call's arguments are counted.
fn request_bytes(r: &ExecRequest) -> usize {
    let strings = r.args.iter().map(String::len).sum::<usize>()
        + r.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + r.dirs.iter().map(|d| d.path.len()).sum::<usize>();
    r.tool.len() + strings + r.stdin.len()
}

/// `context.exec`: run the tool of `request` to its end inside the proc's
/// budgets (see the module docs). `Ok(Err)` says why it could not start;
/// `Err` ends the proc (fuel used up, an argument over the cap).
pub(crate) async fn exec(
    caller: &mut StoreContextMut<'_, HostState>,
    request: ExecRequest,
) -> wasmtime::Result<Result<ExecOutput, String>> {
    let state = caller.data();
    let name = request.tool.clone();
    let undeclared = || {
        format!(
            "the proc did not declare the tool `{name}`: add it to its needs (`tools`) and \
             pass `--tool {name}=PATH.wasm`"
        )
    };
    let Some(access) = state.tools.clone() else {
        return Ok(Err(match state.ctx {
            Some(_) => undeclared(),
            None => "`exec` is for a running proc, not a declarations callback".to_owned(),
        }));
    };
    let limits: CallLimits = state.limits;
    let bytes = request_bytes(&request);
    if bytes > limits.max_arg {
        return Err(wasmtime::Error::new(HostStop(Failure::new(
            FailureKind::TooLarge,
            format!(
                "`exec` passed {} of arguments, environment and stdin, over the limit of {}",
                trap::size(bytes as u64),
                trap::size(limits.max_arg as u64)
            ),
        ))));
    }
    if !access.allowed.contains(&name) {
        return Ok(Err(undeclared()));
    }
    let Some(tool) = access.toolbox.tools.get(&name) else {
        return Ok(Err(format!("the tool `{name}` is not loaded")));
    };
    let Some(engine) = access.toolbox.engine.clone() else {
        return Ok(Err(format!("the tool `{name}` is not loaded")));
    };
    // The directories passed on: the proc's own, never more.
    let mine = Grants {
        dirs: access
            .dirs
            .iter()
            .map(|d| DirGrant {
                host: d.host.clone(),
                guest: d.guest.clone(),
                writable: d.writable,
            })
            .collect(),
        ..Grants::default()
    };
    let wanted = Needs {
        dirs: request
            .dirs
            .iter()
            .map(|d| DirNeed {
                path: d.path.clone(),
                writable: d.writable,
            })
            .collect(),
        ..Needs::default()
    };
    let passed = match mine.resolve(&wanted) {
        Ok(granted) => granted.dirs,
        Err(f) => {
            let why = f
                .message
                .strip_prefix("not granted: ")
                .unwrap_or(&f.message)
                .replace("pass `--dir", "the proc would need `--dir");
            return Ok(Err(format!(
                "cannot pass the tool `{name}` a directory the proc was not granted: {why}"
            )));
        }
    };
    for d in &passed {
        if d.guest == "/tmp" || d.guest.starts_with("/tmp/") {
            return Ok(Err(format!(
                "cannot pass the tool `{name}` `{}`: `/tmp` is the tool's own scratch directory",
                d.guest
            )));
        }
        if let Some(own) = tool.dirs.iter().find(|t| t.guest == d.guest) {
            return Ok(Err(format!(
                "cannot pass the tool `{name}` `{}`: its own data directory `{}` is there",
                d.guest,
                own.host.display()
            )));
        }
    }
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return Ok(Err(format!("cannot create the tool's /tmp: {e}"))),
    };
    let max_output = request
        .max_output
        .map_or(access.toolbox.max_output, |m| {
            usize::try_from(m).unwrap_or(usize::MAX)
        })
        .min(access.toolbox.max_output);
    let (out, err) = (Capture::new(max_output), Capture::new(max_output));
    let log: LogSink = state.log.clone();
    let mut b = WasiCtxBuilder::new();
    b.stdin(MemoryInputPipe::new(request.stdin))
        .stdout(LogPipe::capturing(log.clone(), Stream::Stdout, out.clone()))
        .stderr(LogPipe::capturing(log.clone(), Stream::Stderr, err.clone()))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .arg(&name)
        .args(&request.args)
        .envs(&request.env);
    let open = |b: &mut WasiCtxBuilder, host: &std::path::Path, guest: &str, rw: bool| {
        let perms = match rw {
            true => FsPerms::ReadWrite,
            false => FsPerms::ReadOnly,
        };
        b.preopened_dir(host, guest, perms)
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "cannot open `{}` for the tool `{name}` at `{guest}`: {e:#}",
                    host.display()
                )
            })
    };
    for d in &passed {
        if let Err(e) = open(&mut b, &d.host, &d.guest, d.writable) {
            return Ok(Err(e));
        }
    }
    for d in &tool.dirs {
        if let Err(e) = open(&mut b, &d.host, &d.guest, false) {
            return Ok(Err(e));
        }
    }
    if let Err(e) = open(&mut b, &scratch.0, "/tmp", true) {
        return Ok(Err(e));
    }
    if let Some(seed) = access.seed {
        super::sandbox::deterministic(&mut b, seed ^ u64::from_le_bytes(*b"exec-too"));
    }
    let limiter = state.limiter.child();
    let mut tool_state = HostState::new(None, log.clone(), 0, b.build(), limits, None);
    tool_state.limiter = limiter;
    tool_state
        .fs
        .set_write_quota("/tmp", access.toolbox.tmp_quota);
    // What the tool reads and writes joins the proc's trace when it ends.
    let traced = access.recorder.as_ref().map(|r| (r, r.sibling()));
    if let Some((_, mine)) = &traced {
        tool_state.fs.set_observer(Some(Box::new(ToolObserver {
            inner: mine.clone(),
            rename: tool
                .dirs
                .iter()
                .map(|d| (d.guest.clone(), tool_root(&name, &d.guest)))
                .collect(),
            scratch: HashSet::new(),
            streams: HashSet::new(),
        })));
    }
    let mut store = Store::new(&engine, tool_state);
    store.limiter(|s| &mut s.limiter);
    let metered = access.toolbox.metered;
    let fuel_before = match metered {
        true => caller.get_fuel()?,
        false => 0,
    };
    if metered {
        store.set_fuel(fuel_before)?;
        store.fuel_async_yield_interval(Some(YIELD_INTERVAL))?;
    }
    log.log(
        LogLevel::Info,
        &format!(
            "exec `{name}` (blake3 {}…, {} argument(s))",
            &tool.digest[..16],
            request.args.len()
        ),
    );
    let ended = async {
        let command = tool.pre.instantiate_async(&mut store).await?;
        command.wasi_cli_run().call_run(&mut store).await
    }
    .await;
    let fuel_left = match metered {
        true => store.get_fuel().unwrap_or(0),
        false => 0,
    };
    if metered {
        caller.set_fuel(fuel_left)?;
    }
    let exit_code = match ended {
        Ok(Ok(())) => 0,
        Ok(Err(())) => 1,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                exit.0 as u32
            } else if matches!(
                e.downcast_ref::<wasmtime::Trap>(),
                Some(wasmtime::Trap::OutOfFuel)
            ) {
                caller.set_fuel(0).ok();
                return Err(wasmtime::Error::new(HostStop(Failure::new(
                    FailureKind::OutOfFuel,
                    format!(
                        "out of fuel after {} fuel (the tool `{name}` used the rest)",
                        access.fuel
                    ),
                ))));
            } else {
                let why = if store.data().limiter.hit() {
                    format!(
                        "memory limit of {} reached",
                        trap::size(store.data().limiter.cap())
                    )
                } else {
                    trap::one_line(&format!("{e:#}"))
                };
                let line = format!("\nparproc: the tool `{name}` trapped: {why}\n");
                log.write(Stream::Stderr, line.as_bytes());
                err.put(line.as_bytes());
                TRAP_EXIT
            }
        }
    };
    drop(store);
    drop(scratch);
    if let Some((proc, mine)) = &traced {
        proc.absorb(mine);
    }
    log.log(
        LogLevel::Info,
        &format!(
            "exec `{name}` exited with {exit_code}{}",
            match metered {
                true => format!(" after {} fuel", fuel_before.saturating_sub(fuel_left)),
                false => String::new(),
            }
        ),
    );
    let (stdout, cut_out) = out.take();
    let (stderr, cut_err) = err.take();
    Ok(Ok(ExecOutput {
        exit_code,
        stdout,
        stderr,
        truncated: cut_out || cut_err,
    }))
}
