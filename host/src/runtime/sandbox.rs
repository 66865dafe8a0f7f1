//! The WASI context of one store: exactly the capabilities a proc was granted,
//! and, in deterministic mode, seeded randomness and a clock that stands still.
//!
//! By default a store has no stdin, no preopened directory, no environment
//! variable, no argument, no TCP, UDP or name lookup; stdout and stderr go to
//! the proc's log. Each grant ([`Granted`]) opens one of these doors:
//!
//! - a directory is preopened at its guest path, read-only (directory and file
//!   permissions) unless the proc declared it writable and the user granted it
//!   so; wasmtime-wasi resolves every guest path inside the preopen (cap-std),
//!   so `..`, absolute paths and symlinks cannot leave it;
//! - an environment variable is set;
//! - network addresses turn on TCP and UDP with a check on every address:
//!   connects and sends only to granted addresses, binds only the implicit
//!   wildcard bind of a client socket, no listening; DNS name lookups are
//!   allowed only when a granted address is a DNS name.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

use super::logpipe::LogPipe;
use crate::logsink::{LogSink, Stream};
use crate::policy::{Granted, NetAddr};
use crate::spec::Value;

/// The wall-clock time a deterministic store sees: 2000-01-01T00:00:00Z.
pub(crate) const FIXED_WALL_SECS: u64 = 946_684_800;

/// The WASI context for a store with `granted` capabilities; `seed` makes it
/// deterministic (seeded randomness, fixed clocks).
pub(crate) fn wasi_ctx(
    log: &LogSink,
    granted: &Granted,
    seed: Option<u64>,
) -> Result<WasiCtx, String> {
    let mut b = WasiCtxBuilder::new();
    b.stdout(LogPipe::new(log.clone(), Stream::Stdout))
        .stderr(LogPipe::new(log.clone(), Stream::Stderr))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    for dir in &granted.dirs {
        let perms = if dir.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        b.preopened_dir(&dir.host, &dir.guest, perms).map_err(|e| {
            format!(
                "cannot open the granted directory `{}` for `{}`: {e:#}",
                dir.host.display(),
                dir.guest
            )
        })?;
    }
    for (name, value) in &granted.env {
        b.env(name, value);
    }
    if !granted.net.is_empty() {
        let allowed: Arc<[NetAddr]> = granted.net.clone().into();
        b.allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(allowed.iter().any(NetAddr::is_name))
            .socket_addr_check(move |addr, usage| {
                let allowed = Arc::clone(&allowed);
                Box::pin(async move { socket_allowed(&allowed, addr, usage).await })
            });
    }
    if let Some(seed) = seed {
        deterministic(&mut b, seed);
    }
    Ok(b.build())
}

/// Seeded randomness and clocks that stand still (`--deterministic`).
pub(crate) fn deterministic(b: &mut WasiCtxBuilder, seed: u64) {
    b.secure_random(StdRng::seed_from_u64(seed))
        .insecure_random(StdRng::seed_from_u64(seed ^ 0x5bd1_e995_5bd1_e995))
        .insecure_random_seed(u128::from(seed) << 64 | u128::from(!seed))
        .wall_clock(FixedWall)
        .monotonic_clock(FixedMonotonic);
}

/// Whether a socket may use `addr` for `usage`.
async fn socket_allowed(allowed: &[NetAddr], addr: SocketAddr, usage: SocketAddrUse) -> bool {
    match usage {
        // The implicit bind of a client socket (connect, send): wildcard, any port.
        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
            addr.ip().is_unspecified() && addr.port() == 0
        }
        SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
            for a in allowed {
                let resolved = if a.is_name() && a.port.is_none_or(|p| p == addr.port()) {
                    resolve(&a.host).await
                } else {
                    Vec::new()
                };
                if a.matches(addr, &resolved) {
                    return true;
                }
            }
            false
        }
        // No servers: listening and accepting are never granted.
        SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
    }
}

/// The addresses a granted DNS name resolves to now (empty on failure).
async fn resolve(name: &str) -> Vec<IpAddr> {
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        (name.as_str(), 0)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// The seed of a proc's randomness in deterministic mode: a hash of its
/// declaration, name and args (FNV-1a, stable across hosts and runs).
pub(crate) fn seed(decl: &str, name: &str, args: &[(String, Value)]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes.iter().chain([&0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(decl.as_bytes());
    eat(name.as_bytes());
    for (k, v) in args {
        eat(k.as_bytes());
        eat(format!("{v:?}").as_bytes());
    }
    h
}

/// A wall clock that always says [`FIXED_WALL_SECS`].
struct FixedWall;

impl HostWallClock for FixedWall {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(FIXED_WALL_SECS)
    }
}

/// A monotonic clock that stands still at zero (sleeps still take real time:
/// they are host timers).
struct FixedMonotonic;

impl HostMonotonicClock for FixedMonotonic {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_proc_and_args_and_are_stable() {
        let a = seed(
            "build::[env]",
            "build::dev",
            &[("env".into(), Value::Text("dev".into()))],
        );
        let b = seed(
            "build::[env]",
            "build::prod",
            &[("env".into(), Value::Text("prod".into()))],
        );
        assert_ne!(a, b);
        assert_eq!(
            a,
            seed(
                "build::[env]",
                "build::dev",
                &[("env".into(), Value::Text("dev".into()))]
            )
        );
        assert_ne!(seed("ab", "c", &[]), seed("a", "bc", &[]));
    }

    #[tokio::test]
    async fn sockets_reach_only_granted_addresses() {
        let allowed = [crate::policy::parse_net_addr("127.0.0.1:8080").expect("addr")];
        let ok: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let other: SocketAddr = "127.0.0.1:8081".parse().expect("addr");
        let any: SocketAddr = "0.0.0.0:0".parse().expect("addr");
        let port: SocketAddr = "0.0.0.0:80".parse().expect("addr");
        assert!(socket_allowed(&allowed, ok, SocketAddrUse::TcpConnect).await);
        assert!(!socket_allowed(&allowed, other, SocketAddrUse::TcpConnect).await);
        assert!(socket_allowed(&allowed, any, SocketAddrUse::TcpBind).await);
        assert!(!socket_allowed(&allowed, port, SocketAddrUse::TcpBind).await);
        assert!(!socket_allowed(&allowed, ok, SocketAddrUse::TcpListen).await);
        assert!(socket_allowed(&allowed, ok, SocketAddrUse::UdpSend).await);
        assert!(!socket_allowed(&[], ok, SocketAddrUse::UdpSend).await);
    }
}
