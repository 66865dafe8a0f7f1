//! The stat cache: a file's content digest remembered under its identity and
//! stat stamp, so a lookup that checks a recorded read does not read the file
//! again when nothing about it has changed (docs/incremental.md, "The stat
//! cache").
//!
//! An entry is keyed on the file's (device, inode) and kept with its size,
//! mtime and ctime to the nanosecond. A digest is taken from it only when all
//! five match what a stat of the file gives now. The ctime is what makes this
//! sound: a program can set a file's mtime back (`touch -d`), but any change
//! to a file's bytes or metadata sets its ctime to the current time, and no
//! program can set it back.
//!
//! **Racy timestamps** (git's "racily clean" entries): a file changed twice
//! within one tick of the filesystem's clock keeps the stamp of the first
//! change. So a digest is remembered only when both times of the file lie at
//! least [`RACY_MARGIN`] before the moment it was read; a file younger than
//! that (or with times in the future, as a skewed network filesystem gives) is
//! digested again every time it is checked, until it is old enough. The stamp
//! is taken before the file is read and again, from the open descriptor, after:
//! a file replaced or changed while it was read is not remembered.
//!
//! The cache holds no secret and decides nothing on its own: an entry that does
//! not match is ignored. It lives in the process ([`global`]); a state store
//! loads its saved entries into it when a run opens the store and saves the
//! new ones with its records.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long before a read a file's mtime and ctime must lie for its digest to
/// be remembered: more than the coarsest timestamp tick of a filesystem the
/// host may meet (FAT's 2 s) and the kernel's coarse clock.
pub const RACY_MARGIN: Duration = Duration::from_secs(3);

/// What a stat says of a file's state, beyond its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Its size in bytes.
    pub size: u64,
    /// Its mtime, in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Its ctime, in nanoseconds since the epoch.
    pub ctime_ns: i64,
}

/// One remembered digest: the file's identity, its stamp and the BLAKE3
/// digest of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The device the file lies on.
    pub dev: u64,
    /// Its inode.
    pub ino: u64,
    /// Its stamp when it was digested.
    pub stamp: Stamp,
    /// The digest of its bytes.
    pub digest: [u8; 32],
}

/// A file's identity: its device and inode.
type Identity = (u64, u64);

/// Identity and stamp, as a stat gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    dev: u64,
    ino: u64,
    stamp: Stamp,
    is_file: bool,
}

fn ns(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// A [`Stat`] from metadata whose `MetadataExt` is in scope (cap-std's and
/// std's have the same methods).
macro_rules! stat_of {
    ($m:expr) => {
        Stat {
            dev: $m.dev(),
            ino: $m.ino(),
            stamp: Stamp {
                size: $m.len(),
                mtime_ns: ns($m.mtime(), $m.mtime_nsec()),
                ctime_ns: ns($m.ctime(), $m.ctime_nsec()),
            },
            is_file: $m.is_file(),
        }
    };
}

impl Stat {
    fn of_cap(m: &cap_std::fs::Metadata) -> Stat {
        use cap_std::fs::MetadataExt;
        stat_of!(m)
    }

    fn of_std(m: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        stat_of!(m)
    }
}

/// Digests remembered by file identity and stamp. See the module docs.
#[derive(Debug)]
pub struct StatCache {
    entries: RwLock<HashMap<Identity, (Stamp, [u8; 32])>>,
    /// Entries learnt since the last [`StatCache::take_fresh`], to be saved.
    fresh: Mutex<Vec<Row>>,
    margin: Duration,
    /// How many files were read to be digested (for tests and benchmarks).
    reads: AtomicU64,
    /// The state stores (by directory) whose saved rows were loaded: a
    /// process that opens one again (each rebuild of a watch) does not read
    /// them again. Rows saved since by another process are only missed
    /// shortcuts, so a file is read again, never trusted wrongly.
    loaded: Mutex<std::collections::HashSet<std::path::PathBuf>>,
}

impl Default for StatCache {
    fn default() -> StatCache {
        StatCache::with_margin(RACY_MARGIN)
    }
}

/// The process's stat cache.
pub fn global() -> &'static StatCache {
    static CACHE: OnceLock<StatCache> = OnceLock::new();
    CACHE.get_or_init(StatCache::default)
}

impl StatCache {
    /// A cache that remembers a digest only when the file's times lie at
    /// least `margin` before it was read.
    pub fn with_margin(margin: Duration) -> StatCache {
        StatCache {
            entries: RwLock::default(),
            fresh: Mutex::default(),
            margin,
            reads: AtomicU64::new(0),
            loaded: Mutex::default(),
        }
    }

    /// The BLAKE3 digest (hex) of the file `name` in `dir`, following a
    /// symlink at the end only when `follow` (else a symlink is an error).
    /// Taken from the cache when the file's identity and stamp match an
    /// entry; otherwise the file is read, and remembered when it is not racy.
    pub fn digest_at(
        &self,
        dir: &cap_std::fs::Dir,
        name: &str,
        follow: bool,
    ) -> std::io::Result<String> {
        self.digest(dir, name, follow, true)
    }

    /// [`StatCache::digest_at`] for a file that was probably just opened by a
    /// proc (a first run): opened at once and stated through the descriptor,
    /// without a stat of its path first (a symlink at the end is still
    /// refused unless `follow`).
    pub fn digest_opening(
        &self,
        dir: &cap_std::fs::Dir,
        name: &str,
        follow: bool,
    ) -> std::io::Result<String> {
        self.digest(dir, name, follow, false)
    }

    /// Both of the above: with `stat_path`, the path is stated first and an
    /// unchanged file is not opened.
    fn digest(
        &self,
        dir: &cap_std::fs::Dir,
        name: &str,
        follow: bool,
        stat_path: bool,
    ) -> std::io::Result<String> {
        let path_stat = if !follow {
            let m = dir.symlink_metadata(name)?;
            if m.file_type().is_symlink() {
                return Err(std::io::Error::other("a symlink, not followed"));
            }
            Some(m)
        } else if stat_path {
            Some(dir.metadata(name)?)
        } else {
            None
        };
        let before = path_stat.as_ref().map(Stat::of_cap);
        if let Some(b) = &before
            && b.is_file
            && let Some(d) = self.get(b)
        {
            return Ok(hex(&d));
        }
        let mut file = dir.open(name)?.into_std();
        let opened = Stat::of_std(&file.metadata()?);
        match before {
            // Replaced between the stat and the open: read it, remember nothing.
            Some(b) if b != opened => return Ok(hex(&read_digest(self, &mut file)?)),
            // The same file: already missed above.
            Some(_) => {}
            None => {
                if opened.is_file
                    && let Some(d) = self.get(&opened)
                {
                    return Ok(hex(&d));
                }
            }
        }
        let started = SystemTime::now();
        let digest = read_digest(self, &mut file)?;
        let after = Stat::of_std(&file.metadata()?);
        if after == opened && after.is_file && self.settled(&after.stamp, started) {
            self.put(Row {
                dev: after.dev,
                ino: after.ino,
                stamp: after.stamp,
                digest,
            });
        }
        Ok(hex(&digest))
    }

    /// Whether both times of `stamp` lie at least the margin before `read`.
    fn settled(&self, stamp: &Stamp, read: SystemTime) -> bool {
        let Ok(read) = read.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let limit = read.saturating_sub(self.margin).as_nanos();
        let before = |t: i64| u128::try_from(t).is_ok_and(|t| t < limit);
        before(stamp.mtime_ns) && before(stamp.ctime_ns)
    }

    fn get(&self, s: &Stat) -> Option<[u8; 32]> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        match entries.get(&(s.dev, s.ino)) {
            Some((stamp, digest)) if *stamp == s.stamp => Some(*digest),
            _ => None,
        }
    }

    fn put(&self, row: Row) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert((row.dev, row.ino), (row.stamp, row.digest));
        self.fresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(row);
    }

    /// Add the saved entries of the state store in `dir`, read by `rows`,
    /// unless this cache already holds them (see [`StatCache::load`]).
    pub fn load_store<E>(
        &self,
        dir: &std::path::Path,
        rows: impl FnOnce() -> Result<Vec<Row>, E>,
    ) -> Result<(), E> {
        let lock = || self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if lock().contains(dir) {
            return Ok(());
        }
        self.load(rows()?);
        lock().insert(dir.to_path_buf());
        Ok(())
    }

    /// Add saved entries (a state store's), keeping any learnt since.
    pub fn load(&self, rows: impl IntoIterator<Item = Row>) {
        let rows = rows.into_iter();
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        // Sized once: growing a map of 100,000 rows step by step costs more
        // than reading them.
        entries.reserve(rows.size_hint().0);
        for r in rows {
            entries.entry((r.dev, r.ino)).or_insert((r.stamp, r.digest));
        }
    }

    /// The entries learnt since the last call, to be saved.
    pub fn take_fresh(&self) -> Vec<Row> {
        std::mem::take(&mut *self.fresh.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// How many files this cache has read to digest them.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

fn read_digest(cache: &StatCache, file: &mut std::fs::File) -> std::io::Result<[u8; 32]> {
    cache.reads.fetch_add(1, Ordering::Relaxed);
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(*hasher.finalize().as_bytes())
}

fn hex(d: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*d).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_std::ambient_authority;
    use cap_std::fs::Dir;

    /// A fresh directory (removed when dropped) and a handle to it.
    struct Tmp(std::path::PathBuf);

    impl Tmp {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir() -> (Tmp, Dir) {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("pp-statcache-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        let d = Dir::open_ambient_dir(&p, ambient_authority()).unwrap();
        (Tmp(p), d)
    }

    #[test]
    fn a_settled_file_is_read_once_and_its_digest_reused() {
        let (t, d) = dir();
        std::fs::write(t.path().join("a"), b"alpha").unwrap();
        let cache = StatCache::with_margin(Duration::ZERO);
        let want = blake3::hash(b"alpha").to_hex().to_string();
        assert_eq!(cache.digest_at(&d, "a", true).unwrap(), want);
        assert_eq!(cache.digest_at(&d, "a", true).unwrap(), want);
        assert_eq!(cache.reads(), 1);
        assert_eq!(cache.take_fresh().len(), 1);
        assert!(cache.take_fresh().is_empty());
    }

    #[test]
    fn a_change_is_seen_even_with_the_same_size_and_mtime() {
        let (t, d) = dir();
        let p = t.path().join("a");
        std::fs::write(&p, b"alpha").unwrap();
        let cache = StatCache::with_margin(Duration::ZERO);
        cache.digest_at(&d, "a", true).unwrap();
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&p, b"omega").unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(mtime).unwrap();
        drop(f);
        assert_eq!(
            cache.digest_at(&d, "a", true).unwrap(),
            blake3::hash(b"omega").to_hex().to_string()
        );
        assert_eq!(cache.reads(), 2);
    }

    #[test]
    fn a_racy_file_is_read_every_time() {
        let (t, d) = dir();
        std::fs::write(t.path().join("a"), b"alpha").unwrap();
        let cache = StatCache::with_margin(Duration::from_secs(3600));
        cache.digest_at(&d, "a", true).unwrap();
        cache.digest_at(&d, "a", true).unwrap();
        assert_eq!(cache.reads(), 2);
        assert!(cache.take_fresh().is_empty());
    }

    #[test]
    fn a_replaced_file_is_not_taken_for_the_old_one() {
        let (t, d) = dir();
        std::fs::write(t.path().join("a"), b"alpha").unwrap();
        let cache = StatCache::with_margin(Duration::ZERO);
        cache.digest_at(&d, "a", true).unwrap();
        std::fs::write(t.path().join("b"), b"bravo").unwrap();
        std::fs::rename(t.path().join("b"), t.path().join("a")).unwrap();
        assert_eq!(
            cache.digest_at(&d, "a", true).unwrap(),
            blake3::hash(b"bravo").to_hex().to_string()
        );
    }

    #[test]
    fn a_symlink_is_refused_unless_followed_and_saved_rows_load() {
        let (t, d) = dir();
        std::fs::write(t.path().join("a"), b"alpha").unwrap();
        std::os::unix::fs::symlink("a", t.path().join("l")).unwrap();
        let cache = StatCache::with_margin(Duration::ZERO);
        assert!(cache.digest_at(&d, "l", false).is_err());
        assert!(cache.digest_opening(&d, "l", false).is_err());
        assert_eq!(
            cache.digest_opening(&d, "l", true).unwrap(),
            blake3::hash(b"alpha").to_hex().to_string()
        );
        let via = cache.digest_at(&d, "l", true).unwrap();
        let rows = cache.take_fresh();
        let other = StatCache::with_margin(Duration::ZERO);
        other.load(rows);
        assert_eq!(other.digest_at(&d, "a", true).unwrap(), via);
        assert_eq!(other.reads(), 0);
    }
}
