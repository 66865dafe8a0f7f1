//! The process's file-descriptor limit, and how much of it one proc may hold.
//!
//! Every file or directory a guest opens (and every preopen it is handed) is a
//! host descriptor. At start the host raises its soft `RLIMIT_NOFILE` to the
//! hard limit, and each proc's cap (`--max-open-files`, counted by the host's
//! own `wasi:filesystem` layer) defaults to a share of it that leaves a
//! reserve for the host itself (logs, the state store, the compile cache), so
//! a proc that opens files without end gets an error of its own
//! (`insufficient-memory`) long before its neighbours or the host could.

use std::sync::OnceLock;

/// Descriptors kept for the host itself whatever the procs hold.
pub const RESERVE: u64 = 128;

/// The most a proc may hold by default, on a machine with room for it.
pub const MAX_DEFAULT: usize = 1024;

/// The least a proc may hold by default, however low the limit.
pub const MIN_DEFAULT: usize = 16;

/// How many procs' worth of descriptors the default leaves room for.
pub const SHARES: u64 = 8;

/// Raise the soft descriptor limit to the hard one (once) and return the soft
/// limit in force afterwards.
pub fn raise() -> u64 {
    static LIMIT: OnceLock<u64> = OnceLock::new();
    *LIMIT.get_or_init(raise_now)
}

#[cfg(unix)]
fn raise_now() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

#[cfg(not(unix))]
fn raise_now() -> u64 {
    u64::from(u32::MAX)
}

/// The default per-proc cap for a process whose soft limit is `soft`: an
/// eighth of what the reserve leaves, between [`MIN_DEFAULT`] and
/// [`MAX_DEFAULT`].
pub fn default_per_proc(soft: u64) -> usize {
    let share = soft.saturating_sub(RESERVE) / SHARES;
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .clamp(MIN_DEFAULT, MAX_DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_share_leaves_a_reserve_and_stays_in_bounds() {
        assert_eq!(default_per_proc(1 << 20), MAX_DEFAULT);
        assert_eq!(default_per_proc(4096), 496);
        assert_eq!(default_per_proc(256), MIN_DEFAULT);
        assert_eq!(default_per_proc(0), MIN_DEFAULT);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let soft = raise();
        assert!(soft >= 1, "{soft}");
        assert_eq!(raise(), soft, "raised once");
    }
}
