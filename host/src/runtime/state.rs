//! Per-store host state: WASI, the resource table, the memory limiter, the
//! proc's context (if any), its log, and what the guest has pushed at the host
//! so far (procs created, a refused wait).
//!
//! Every proc and every declarations instance gets a fresh [`HostState`] in a
//! fresh store. Its WASI context comes from `sandbox` and holds only what the
//! proc was granted (nothing by default).

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store};
use wasmtime_wasi::filesystem::WasiFilesystemCtxView;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::pool::Admission;
use super::wasifs::{FsState, FsView};
use crate::exec::ProcChannel;
use crate::logsink::LogSink;
use crate::spec::Value;

/// A running proc's side of the context: what it knows from its launch, and
/// its channel to the driver.
#[derive(Debug, Clone)]
pub(crate) struct ProcCtx {
    /// To the driver.
    pub(crate) channel: ProcChannel,
    /// The proc's name.
    pub(crate) name: String,
    /// Its converted args.
    pub(crate) args: Vec<(String, Value)>,
    /// The deps that ran freshly before it launched.
    pub(crate) changed_deps: Vec<String>,
}

/// The most core instances one store may create.
const MAX_INSTANCES: usize = 64;
/// The most linear memories one store may create.
pub(crate) const MAX_MEMORIES: usize = 16;
/// The most tables one store may create.
const MAX_TABLES: usize = 64;
/// Bytes one table element counts for.
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

/// Caps on what a guest may push through its context calls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLimits {
    /// The most bytes of arguments (strings and list entries) in one call.
    pub(crate) max_arg: usize,
    /// The most distinct procs one proc may create.
    pub(crate) max_created: usize,
    /// Whether the proc may ask for input (it declared `needs(input)`).
    pub(crate) input: bool,
    /// The most files, directories and directory streams the store may hold
    /// open at once (`--max-open-files`).
    pub(crate) max_open_files: usize,
}

/// The data of one store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The memory cap of the store.
    pub(crate) limiter: MemoryLimiter,
    /// The running proc's context; `None` inside declaration callbacks.
    pub(crate) ctx: Option<ProcCtx>,
    /// Where stdout, stderr and context logs go.
    pub(crate) log: LogSink,
    /// Caps on context calls.
    pub(crate) limits: CallLimits,
    /// New procs this proc created.
    pub(crate) created: usize,
    /// The host refused a wait of this proc that could never finish.
    pub(crate) refused_wait: bool,
    /// The filesystem layer's state: its observer and descriptor cap.
    pub(crate) fs: FsState,
    /// `wasi:http`'s context (field size limit).
    http: wasmtime_wasi_http::WasiHttpCtx,
    /// The origins the store may reach over `wasi:http`.
    pub(crate) http_hooks: super::http::HttpHooks,
    /// What the proc may hand the tools it runs (`None`: no `exec`).
    pub(crate) tools: Option<std::sync::Arc<super::tools::ToolAccess>>,
    /// The store's share of the host-wide memory total, given back on drop.
    _admission: Option<Admission>,
}

impl HostState {
    /// State for a store whose memories and tables may use `memory` bytes in all.
    pub(crate) fn new(
        ctx: Option<ProcCtx>,
        log: LogSink,
        memory: u64,
        wasi: WasiCtx,
        limits: CallLimits,
        admission: Option<Admission>,
    ) -> Self {
        HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory),
            ctx,
            log: log.clone(),
            limits,
            created: 0,
            refused_wait: false,
            fs: FsState::new(limits.max_open_files),
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            http_hooks: super::http::HttpHooks::deny_all(log.clone()),
            tools: None,
            _admission: admission,
        }
    }

    /// A fresh store around this state, with the limiter installed.
    pub(crate) fn into_store(self, engine: &wasmtime::Engine) -> Store<HostState> {
        let mut store = Store::new(engine, self);
        store.limiter(|state| &mut state.limiter);
        store
    }

    /// The view of the `wasi:filesystem` layer: WASI's filesystem and table,
    /// and [`HostState::fs`].
    pub(crate) fn fs_view(&mut self) -> FsView<'_> {
        let wasi = WasiFilesystemCtxView {
            ctx: self.wasi.filesystem(),
            table: &mut self.table,
        };
        FsView::new(wasi, &mut self.fs)
    }

    /// The view of the capped `create-*-socket` calls: WASI's sockets and
    /// table, and [`HostState::fs`] (one descriptor count for both).
    pub(crate) fn sockets_view(&mut self) -> super::wasifs::SocketsView<'_> {
        super::wasifs::SocketsView {
            wasi: wasmtime_wasi::sockets::WasiSocketsCtxView {
                ctx: self.wasi.sockets(),
                table: &mut self.table,
            },
            state: &mut self.fs,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for HostState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps the sum of all linear memories and tables of a store.
///
/// Wasmtime asks before every memory or table is created (from size 0) or
/// grown, with the current and desired size of that one memory or table; the
/// limiter adds up the differences. A growth the memory's or table's own
/// maximum forbids fails anyway and is not counted. A growth that is approved
/// and then fails in the OS stays counted, which errs on the safe side.
///
/// The account (cap, use, peak) can be shared: a tool a proc runs gets a
/// [`MemoryLimiter::child`] whose store counts against the proc's cap, and
/// gives its share back when it is dropped with its store.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    account: std::sync::Arc<std::sync::Mutex<Account>>,
    /// What this limiter's own store has taken from the account.
    mine: u64,
    /// Whether a growth of this limiter's store was refused for the cap.
    hit: bool,
    /// Whether this is a child (which gives `mine` back on drop).
    child: bool,
}

/// The shared part of a [`MemoryLimiter`].
#[derive(Debug)]
struct Account {
    cap: u64,
    used: u64,
    peak: u64,
}

impl MemoryLimiter {
    /// A limiter allowing `cap` bytes in all.
    pub(crate) fn new(cap: u64) -> Self {
        MemoryLimiter {
            account: std::sync::Arc::new(std::sync::Mutex::new(Account {
                cap,
                used: 0,
                peak: 0,
            })),
            mine: 0,
            hit: false,
            child: false,
        }
    }

    /// A limiter for another store that counts against the same cap, for as
    /// long as it lives.
    pub(crate) fn child(&self) -> Self {
        MemoryLimiter {
            account: std::sync::Arc::clone(&self.account),
            mine: 0,
            hit: false,
            child: true,
        }
    }

    fn account(&self) -> std::sync::MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cap in bytes.
    pub(crate) fn cap(&self) -> u64 {
        self.account().cap
    }

    /// The most bytes in use at once (of every store sharing the account).
    pub(crate) fn peak(&self) -> u64 {
        self.account().peak
    }

    /// Whether a growth of this limiter's store was refused because of the cap.
    pub(crate) fn hit(&self) -> bool {
        self.hit
    }

    fn grow(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        if maximum.is_some_and(|max| desired > max) {
            // The memory's own maximum refuses this; not our cap.
            return false;
        }
        let delta = desired.saturating_sub(current) as u64;
        let mut account = self.account();
        let wanted = account.used.saturating_add(delta);
        if wanted > account.cap {
            let cap = account.cap;
            drop(account);
            self.hit = true;
            tracing::debug!(wanted, cap, "memory cap reached");
            return false;
        }
        account.used = wanted;
        account.peak = account.peak.max(wanted);
        drop(account);
        self.mine = self.mine.saturating_add(delta);
        true
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        if self.child {
            let mine = self.mine;
            let mut account = self.account();
            account.used = account.used.saturating_sub(mine);
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired, maximum))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let bytes = |n: usize| n.saturating_mul(TABLE_ELEMENT_BYTES);
        Ok(self.grow(bytes(current), bytes(desired), None))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_growths_and_records_the_peak() {
        let mut l = MemoryLimiter::new(1000);
        assert!(l.memory_growing(0, 400, None).expect("no error"));
        assert!(l.memory_growing(0, 300, None).expect("no error"));
        assert!(l.memory_growing(400, 700, None).expect("no error"));
        assert_eq!(l.peak(), 1000);
        assert!(!l.hit());
        assert!(!l.memory_growing(300, 400, None).expect("no error"));
        assert!(l.hit());
        assert_eq!(l.peak(), 1000);
    }

    #[test]
    fn tables_count_against_the_same_cap() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.table_growing(0, 10, None).expect("no error"));
        assert_eq!(l.peak(), 10 * TABLE_ELEMENT_BYTES as u64);
        assert!(!l.table_growing(10, 1000, None).expect("no error"));
        assert!(l.hit());
    }

    #[test]
    fn a_child_shares_the_cap_and_gives_its_share_back() {
        let mut proc = MemoryLimiter::new(1000);
        assert!(proc.memory_growing(0, 600, None).expect("no error"));
        let mut tool = proc.child();
        assert!(!tool.memory_growing(0, 500, None).expect("no error"));
        assert!(tool.hit());
        assert!(!proc.hit(), "the tool's refusal is not the proc's");
        assert!(tool.memory_growing(0, 400, None).expect("no error"));
        assert_eq!(proc.peak(), 1000);
        assert!(!proc.memory_growing(600, 700, None).expect("no error"));
        drop(tool);
        assert!(proc.memory_growing(600, 1000, None).expect("no error"));
    }

    #[test]
    fn own_maximum_is_not_the_cap() {
        let mut l = MemoryLimiter::new(1000);
        assert!(!l.memory_growing(0, 500, Some(100)).expect("no error"));
        assert!(!l.hit());
        assert_eq!(l.peak(), 0);
    }
}
