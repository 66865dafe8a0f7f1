//! The host's own `wasi:filesystem` (`types` and `preopens`): every call goes
//! to wasmtime-wasi's implementation, through one interposition layer that
//! can see it, refuse it, and report it.
//!
//! ## How it fits
//!
//! [`WasiFs`] is the [`HasData`] marker the generated `add_to_linker`
//! functions take; its data is an [`FsView`]: wasmtime-wasi's own filesystem
//! view (its filesystem context and the store's resource table) plus this
//! layer's per-store [`FsState`]. `host` implements the generated `Host`,
//! `HostDescriptor` and `HostDirectoryEntryStream` traits for the view: each
//! method calls wasmtime-wasi's method of the same name on the inner view (so
//! its sandboxing — cap-std path resolution, read-only preopens — is
//! untouched), then tells the observer, if any, what the guest asked and
//! what it got ([`FsEvent`]).
//!
//! [`add_to_linker`] links everything `wasmtime_wasi::p2::add_to_linker_async`
//! links, except that `wasi:filesystem/types` and `wasi:filesystem/preopens`
//! are this layer's, and so are `wasi:sockets/tcp-create-socket` and
//! `udp-create-socket` ([`SocketsView`]), which count sockets in the same cap.
//!
//! ## The descriptor cap
//!
//! [`FsState`] counts what the guest holds: descriptors (those `open-at`
//! created and the preopens `get-directories` handed out) and
//! directory-entry streams, each until its drop. At the limit
//! ([`DEFAULT_MAX_DESCRIPTORS`] unless set), `open-at` and `read-directory`
//! answer [`CAP_ERROR`] without calling wasmtime-wasi: the guest sees an
//! ordinary error (libc's `ENOMEM`; there is no "too many open files" in
//! `wasi:filesystem`) and can close something and go on. `get-directories` cannot answer an error, so a preopen list that would
//! go over the cap traps instead (only a guest that calls it again and again
//! gets there). Streams created by `read-via-stream`, `write-via-stream` and
//! `append-via-stream` are `wasi:io` resources and are not counted.
//!
//! Sockets count too: `create-tcp-socket` and `create-udp-socket` answer
//! `new-socket-limit` at the cap. Their drops go through wasmtime-wasi's own
//! `tcp` and `udp` bindings, so the sockets the guest dropped are forgotten
//! when the count is next needed (a rep gone from the table, or holding
//! something else now).

pub(crate) mod event;
mod host;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
use wasmtime_wasi::filesystem::WasiFilesystemCtxView;
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};

pub(crate) use self::event::{FsEvent, FsObserver, FsOutcome, Rep};

/// The default of [`FsState::limit`]: the most descriptors and
/// directory-entry streams one store may hold at once.
pub(crate) const DEFAULT_MAX_DESCRIPTORS: usize = 1024;

/// What `open-at` and `read-directory` answer at the descriptor cap.
///
/// `wasi:filesystem` has no "too many open files" (`EMFILE`);
/// `insufficient-memory` (`ENOMEM`) is the nearest honest code: the host ran
/// out of a resource it gives this guest, and closing something frees it.
/// `quota` would read as a disk quota, `busy` as a lock.
pub(crate) const CAP_ERROR: ErrorCode = ErrorCode::InsufficientMemory;

/// The [`HasData`] marker of this layer's `wasi:filesystem`: its data is an
/// [`FsView`].
pub(crate) struct WasiFs;

impl HasData for WasiFs {
    type Data<'a> = FsView<'a>;
}

/// What the filesystem methods work on: wasmtime-wasi's filesystem view, to
/// delegate to, and this layer's state of the store.
pub(crate) struct FsView<'a> {
    /// wasmtime-wasi's view: its filesystem context and the resource table.
    pub(crate) wasi: WasiFilesystemCtxView<'a>,
    /// The observer and the descriptor count.
    pub(crate) state: &'a mut FsState,
}

impl<'a> FsView<'a> {
    /// A view over wasmtime-wasi's `wasi` view and this layer's `state`.
    pub(crate) fn new(wasi: WasiFilesystemCtxView<'a>, state: &'a mut FsState) -> Self {
        FsView { wasi, state }
    }
}

/// This layer's per-store state: who observes the calls, what the guest holds
/// and how much it may hold.
pub(crate) struct FsState {
    /// Told about every call; `None` costs nothing (no event is built).
    observer: Option<Box<dyn FsObserver>>,
    /// Live descriptors that count against the cap (by rep).
    descriptors: HashSet<Rep>,
    /// Live directory-entry streams (by rep).
    streams: HashSet<Rep>,
    /// TCP and UDP sockets made through `create-*-socket` (by rep), pruned of
    /// those the guest dropped whenever the count matters (see
    /// [`FsState::prune_sockets`]).
    sockets: HashSet<Rep>,
    /// The most descriptors and streams at once.
    limit: usize,
    /// How many calls the cap refused.
    refused: u64,
    /// The write quota of one preopen and its descendants, if any.
    quota: Option<Quota>,
}

/// The most bytes a guest may write under one preopen (a tool's `/tmp`):
/// `write`, the streams of `write-via-stream` and `append-via-stream`, and
/// `set-size` (counted as the new size) all draw on it; past it they answer
/// `insufficient-space`. Removing a file does not give bytes back.
#[derive(Debug)]
pub(crate) struct Quota {
    /// The guest path of the preopen.
    root: String,
    /// Bytes left.
    left: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The descriptors at or below the preopen (by rep).
    under: HashSet<Rep>,
}

impl Quota {
    /// Take `n` bytes; `false` (and nothing taken) when fewer are left.
    fn take(left: &std::sync::atomic::AtomicU64, n: u64) -> bool {
        use std::sync::atomic::Ordering;
        left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(n))
            .is_ok()
    }
}

impl Default for FsState {
    fn default() -> Self {
        FsState::new(DEFAULT_MAX_DESCRIPTORS)
    }
}

impl std::fmt::Debug for FsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsState")
            .field("observed", &self.observer.is_some())
            .field("descriptors", &self.descriptors.len())
            .field("streams", &self.streams.len())
            .field("limit", &self.limit)
            .field("refused", &self.refused)
            .finish()
    }
}

#[cfg_attr(
    not(test),
    expect(dead_code, reason = "accessors for the runner to come")
)]
impl FsState {
    /// No observer, and at most `limit` descriptors and streams at once.
    pub(crate) fn new(limit: usize) -> Self {
        FsState {
            observer: None,
            descriptors: HashSet::new(),
            streams: HashSet::new(),
            sockets: HashSet::new(),
            limit,
            refused: 0,
            quota: None,
        }
    }

    /// Let the guest write at most `bytes` bytes at or below the preopen
    /// `root` (see [`Quota`]).
    pub(crate) fn set_write_quota(&mut self, root: &str, bytes: u64) {
        self.quota = Some(Quota {
            root: root.to_owned(),
            left: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(bytes)),
            under: HashSet::new(),
        });
    }

    /// The bytes counter of `fd` if it is under the quota.
    fn quota_of(&self, fd: Rep) -> Option<std::sync::Arc<std::sync::atomic::AtomicU64>> {
        self.quota
            .as_ref()
            .filter(|q| q.under.contains(&fd))
            .map(|q| std::sync::Arc::clone(&q.left))
    }

    /// Whether `fd` may write `n` more bytes (taking them if so).
    fn may_write(&self, fd: Rep, n: u64) -> bool {
        self.quota_of(fd).is_none_or(|left| Quota::take(&left, n))
    }

    /// This state with `observer` told about every call.
    pub(crate) fn with_observer(mut self, observer: Box<dyn FsObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Replace the observer (`None`: no more events).
    pub(crate) fn set_observer(&mut self, observer: Option<Box<dyn FsObserver>>) {
        self.observer = observer;
    }

    /// The cap: the most descriptors and directory-entry streams at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// How many descriptors, directory-entry streams and sockets the guest
    /// holds (sockets as of the last prune).
    pub(crate) fn open(&self) -> usize {
        self.descriptors.len() + self.streams.len() + self.sockets.len()
    }

    /// Forget the sockets the guest dropped: a rep that is gone from `table`,
    /// or now holds something else. (Sockets are dropped by wasmtime-wasi's
    /// own `tcp`/`udp` bindings, which this layer does not wrap.)
    pub(crate) fn prune_sockets(&mut self, table: &mut ResourceTable) {
        use wasmtime_wasi::p2::{TcpSocket, UdpSocket};
        if self.sockets.is_empty() {
            return;
        }
        self.sockets.retain(|&rep| {
            table
                .get_any_mut(rep)
                .is_ok_and(|r| r.is::<TcpSocket>() || r.is::<UdpSocket>())
        });
    }

    /// How many calls the cap refused.
    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }

    /// Whether the cap refused a call.
    pub(crate) fn hit(&self) -> bool {
        self.refused > 0
    }

    /// Whether one more descriptor or stream would go over the cap; counts
    /// the refusal if so.
    fn refuse_one(&mut self) -> bool {
        let full = self.open() >= self.limit;
        if full {
            self.refused += 1;
            tracing::debug!(limit = self.limit, "descriptor cap reached");
        }
        full
    }

    /// Whether an observer listens (so events are worth building).
    fn observing(&self) -> bool {
        self.observer.is_some()
    }

    /// A copy of `path` for the event, only when someone observes.
    fn keep(&self, path: &str) -> Option<String> {
        self.observing().then(|| path.to_owned())
    }

    /// Tell the observer, if any, about the event `make` builds.
    fn report(&mut self, make: impl FnOnce() -> FsEvent) {
        if let Some(observer) = &mut self.observer {
            observer.observe(make());
        }
    }
}

/// The [`HasData`] marker of the `wasi:io` interfaces: the resource table.
struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// Link WASI 0.2 into `linker` as `wasmtime_wasi::p2::add_to_linker_async`
/// does (default link options), with this layer's `wasi:filesystem/types`
/// and `wasi:filesystem/preopens` instead of wasmtime-wasi's; `get` gives the
/// layer its view of the store's data.
///
/// wasmtime-wasi has no function that links "everything but the filesystem",
/// so this lists the interfaces one by one, as its
/// `add_to_linker_with_options_async` and `add_nonblocking_to_linker` do:
/// `wasi:io` (error, poll, streams), `wasi:clocks` (wall, monotonic),
/// `wasi:random` (random, insecure, insecure-seed), `wasi:cli` (exit,
/// environment, stdio, terminals), `wasi:sockets` (network, instance-network,
/// ip-name-lookup, tcp, tcp-create-socket, udp, udp-create-socket). When
/// wasmtime is upgraded, compare this list with theirs.
pub(crate) fn add_to_linker<T: WasiView + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> FsView<'_>,
    sockets_view: fn(&mut T) -> SocketsView<'_>,
) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
    use wasmtime_wasi_io::bindings::wasi::io;

    let l = linker;
    io::error::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;
    io::poll::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;
    io::streams::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;

    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;

    random::random::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;

    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;

    let network = sockets::network::LinkOptions::default();
    sockets::network::add_to_linker::<T, WasiSockets>(l, &network, T::sockets)?;
    sockets::instance_network::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sockets::ip_name_lookup::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sockets::tcp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sockets::tcp_create_socket::add_to_linker::<T, CappedSockets>(l, sockets_view)?;
    sockets::udp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sockets::udp_create_socket::add_to_linker::<T, CappedSockets>(l, sockets_view)?;

    filesystem::types::add_to_linker::<T, WasiFs>(l, get)?;
    filesystem::preopens::add_to_linker::<T, WasiFs>(l, get)?;
    Ok(())
}

/// `wasi:sockets`' `create-tcp-socket` and `create-udp-socket` through the
/// descriptor cap: a socket counts against the same per-proc limit as files
/// and directories (each is a host descriptor); past it the guest gets
/// `new-socket-limit`. Everything else of `wasi:sockets` is wasmtime-wasi's.
pub(crate) struct SocketsView<'a> {
    /// wasmtime-wasi's sockets view.
    pub(crate) wasi: wasmtime_wasi::sockets::WasiSocketsCtxView<'a>,
    /// The descriptor count.
    pub(crate) state: &'a mut FsState,
}

/// [`HasData`] for [`SocketsView`].
pub(crate) struct CappedSockets;

impl HasData for CappedSockets {
    type Data<'a> = SocketsView<'a>;
}

impl SocketsView<'_> {
    /// `Err(new-socket-limit)` when one more socket would pass the cap.
    fn admit(&mut self) -> wasmtime_wasi::p2::SocketResult<()> {
        self.state.prune_sockets(self.wasi.table);
        match self.state.refuse_one() {
            true => {
                Err(wasmtime_wasi::p2::bindings::sockets::network::ErrorCode::NewSocketLimit.into())
            }
            false => Ok(()),
        }
    }
}

impl wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::Host for SocketsView<'_> {
    fn create_tcp_socket(
        &mut self,
        family: wasmtime_wasi::p2::bindings::sockets::network::IpAddressFamily,
    ) -> wasmtime_wasi::p2::SocketResult<wasmtime::component::Resource<wasmtime_wasi::p2::TcpSocket>>
    {
        self.admit()?;
        let socket =
            wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::Host::create_tcp_socket(
                &mut self.wasi,
                family,
            )?;
        self.state.sockets.insert(socket.rep());
        Ok(socket)
    }
}

impl wasmtime_wasi::p2::bindings::sockets::udp_create_socket::Host for SocketsView<'_> {
    async fn create_udp_socket(
        &mut self,
        family: wasmtime_wasi::p2::bindings::sockets::network::IpAddressFamily,
    ) -> wasmtime_wasi::p2::SocketResult<wasmtime::component::Resource<wasmtime_wasi::p2::UdpSocket>>
    {
        self.admit()?;
        let socket =
            wasmtime_wasi::p2::bindings::sockets::udp_create_socket::Host::create_udp_socket(
                &mut self.wasi,
                family,
            )
            .await?;
        self.state.sockets.insert(socket.rep());
        Ok(socket)
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::Host for SocketsView<'_> {
    fn convert_error_code(
        &mut self,
        error: wasmtime_wasi::p2::SocketError,
    ) -> wasmtime::Result<wasmtime_wasi::p2::bindings::sockets::network::ErrorCode> {
        wasmtime_wasi::p2::bindings::sockets::network::Host::convert_error_code(
            &mut self.wasi,
            error,
        )
    }

    fn network_error_code(
        &mut self,
        err: wasmtime::component::Resource<wasmtime_wasi_io::streams::Error>,
    ) -> wasmtime::Result<Option<wasmtime_wasi::p2::bindings::sockets::network::ErrorCode>> {
        wasmtime_wasi::p2::bindings::sockets::network::Host::network_error_code(&mut self.wasi, err)
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::HostNetwork for SocketsView<'_> {
    fn drop(
        &mut self,
        this: wasmtime::component::Resource<wasmtime_wasi::p2::bindings::sockets::network::Network>,
    ) -> wasmtime::Result<()> {
        wasmtime_wasi::p2::bindings::sockets::network::HostNetwork::drop(&mut self.wasi, this)
    }
}
