//! The compile cache: compiled components kept between runs.
//!
//! Compiling a component is the slowest step of a run (seconds for an 18 MB
//! Python component), and its result depends only on the component's bytes,
//! the engine's configuration and the host's version. The cache keeps the
//! compiled form under a key made of the three, one file per entry:
//!
//! ```text
//! MAGIC (8 bytes) | header length (u32 LE) | header (bincode) | payload
//! ```
//!
//! where the header records the key, the payload's length and its SHA-256.
//!
//! Loading compiled code is trusting native code, so:
//! - the directory must be ours and writable by nobody else (else the run
//!   compiles without the cache and says why);
//! - entries are written to a temporary file and renamed into place, so a
//!   reader sees a whole entry or none, and two runs at once may both write the
//!   same entry without harm;
//! - an entry is loaded only after its header names the expected key and the
//!   payload has the recorded length and digest; anything else (truncation, a
//!   flipped bit, a foreign file) is recompiled and rewritten, never loaded;
//! - least recently used entries are removed when the directory grows past
//!   [`MAX_BYTES`].

use std::fmt;
use std::fs::{self, File};
use std::hash::Hasher;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first bytes of every entry.
const MAGIC: &[u8; 8] = b"PPCWASM\x01";
/// Entries beyond this total size are removed, least recently used first.
pub(crate) const MAX_BYTES: u64 = 2 << 30;
/// The largest entry read back (anything bigger is not ours).
const MAX_ENTRY: u64 = 4 << 30;
/// Temporary files older than this are left-overs of killed runs.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Where compiled components are kept, or nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// No cache: every load compiles.
    pub fn off() -> CompileCache {
        CompileCache { dir: None }
    }

    /// A cache in `dir` (created, private to this user, when missing).
    pub fn at(dir: impl Into<PathBuf>) -> CompileCache {
        CompileCache {
            dir: Some(dir.into()),
        }
    }

    /// The default place: `$PARPROC_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/parproc/compiled`, else `$HOME/.cache/parproc/compiled`;
    /// off when none is set. `PARPROC_CACHE_DIR=off` (or empty) turns it off.
    pub fn from_env() -> CompileCache {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(dir) = std::env::var_os("PARPROC_CACHE_DIR") {
            return if dir.is_empty() || dir == "off" {
                CompileCache::off()
            } else {
                CompileCache::at(dir)
            };
        }
        let base = var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")));
        match base {
            Some(b) => CompileCache::at(b.join("parproc").join("compiled")),
            None => CompileCache::off(),
        }
    }

    /// The cache directory, or `None` when the cache is off.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

/// How a load got its compiled code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// The cache is off: compiled.
    Off,
    /// Loaded a verified entry.
    Hit,
    /// No entry: compiled (and stored, unless the note says why not).
    Miss {
        /// Why the entry could not be stored, if it could not.
        not_stored: Option<String>,
    },
    /// An entry was there but failed verification: compiled and replaced.
    Rejected {
        /// What was wrong with it.
        reason: String,
    },
    /// The cache directory is unsafe or unusable: compiled without it.
    Refused {
        /// Why.
        reason: String,
    },
}

impl CacheUse {
    /// A stable one-word id: `off`, `hit`, `miss`, `rejected`, `refused`.
    pub fn id(&self) -> &'static str {
        match self {
            CacheUse::Off => "off",
            CacheUse::Hit => "hit",
            CacheUse::Miss { .. } => "miss",
            CacheUse::Rejected { .. } => "rejected",
            CacheUse::Refused { .. } => "refused",
        }
    }
}

impl fmt::Display for CacheUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheUse::Off => f.write_str("compile cache off"),
            CacheUse::Hit => f.write_str("compile cache hit"),
            CacheUse::Miss { not_stored: None } => f.write_str("compile cache miss (stored)"),
            CacheUse::Miss {
                not_stored: Some(why),
            } => write!(f, "compile cache miss (not stored: {why})"),
            CacheUse::Rejected { reason } => {
                write!(f, "compile cache entry rejected ({reason}); recompiled")
            }
            CacheUse::Refused { reason } => write!(f, "compile cache not used: {reason}"),
        }
    }
}

/// The header of an entry.
#[derive(Debug, bincode::Encode, bincode::Decode)]
struct Header {
    key: [u8; 32],
    payload_len: u64,
    payload_sha256: [u8; 32],
}

/// Feeds `Hash` output into SHA-256 (for the engine's compatibility hash).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The key of `bytes` compiled by `engine` in this host version.
fn key(engine: &Engine, bytes: &[u8]) -> [u8; 32] {
    let mut h = ShaHasher(Sha256::new());
    h.0.update(b"parproc-host compile cache\0");
    h.0.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.0.update(b"\0");
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    h.0.update(b"\0");
    h.0.update(Sha256::digest(bytes));
    h.0.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
    Component::new(engine, bytes).map_err(|e| {
        format!(
            "not a valid component: {}",
            super::trap::one_line(&format!("{e:#}"))
        )
    })
}

/// The compiled `bytes`: from `cache` when it holds a verified entry, else
/// compiled (and stored).
pub(crate) fn component(
    engine: &Engine,
    bytes: &[u8],
    cache: &CompileCache,
) -> Result<(Component, CacheUse), String> {
    let Some(dir) = cache.dir() else {
        return Ok((compile(engine, bytes)?, CacheUse::Off));
    };
    if let Err(reason) = prepare_dir(dir) {
        return Ok((compile(engine, bytes)?, CacheUse::Refused { reason }));
    }
    let key = key(engine, bytes);
    let path = dir.join(format!("{}.cwasm", hex(&key)));
    let rejected = match read_entry(&path, &key) {
        Ok(None) => None,
        Ok(Some(payload)) => {
            // SAFETY: `Component::deserialize` runs native code from its input.
            // These bytes are an entry of a directory only this user can write
            // (`prepare_dir`), in a file only this user can write
            // (`read_entry`); its key covers this engine's compatibility hash,
            // the host version and the component's digest, and the payload has
            // the length and SHA-256 recorded when `Component::serialize`
            // produced it, so it is not truncated, corrupted or foreign.
            // Wasmtime checks its own header and engine settings as well.
            match unsafe { Component::deserialize(engine, &payload) } {
                Ok(c) => {
                    touch(&path);
                    return Ok((c, CacheUse::Hit));
                }
                Err(e) => Some(format!(
                    "wasmtime refused it: {}",
                    super::trap::one_line(&format!("{e:#}"))
                )),
            }
        }
        Err(reason) => Some(reason),
    };
    let component = compile(engine, bytes)?;
    let stored = component
        .serialize()
        .map_err(|e| format!("cannot serialize: {e}"))
        .and_then(|payload| write_entry(dir, &path, &key, &payload));
    if stored.is_ok() {
        prune(dir, &path);
    }
    let used = match rejected {
        Some(reason) => CacheUse::Rejected { reason },
        None => CacheUse::Miss {
            not_stored: stored.err(),
        },
    };
    Ok((component, used))
}

/// Create `dir` private to this user when missing; refuse it when it is not a
/// directory, not ours, or writable by others.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    if !dir.exists() {
        create_private_dir(dir).map_err(|e| format!("cannot create `{shown}`: {e}"))?;
    }
    let meta = fs::metadata(dir).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("`{shown}` is not a directory"));
    }
    check_private(&meta).map_err(|why| {
        format!("`{shown}` {why}; use a directory only you can write (`chmod go-w`), or set PARPROC_CACHE_DIR")
    })
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

/// Owned by this user and not writable by group or others.
#[cfg(unix)]
fn check_private(meta: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "is owned by user {}, not by you ({me})",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!("is writable by others (mode {mode:o})"));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_meta: &fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// Read and verify the entry at `path`: `Ok(None)` when there is none,
/// `Err(reason)` when there is one that must not be loaded.
fn read_entry(path: &Path, key: &[u8; 32]) -> Result<Option<Vec<u8>>, String> {
    let mut file = match open_no_follow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open it: {e}")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat it: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    check_private(&meta).map_err(|why| format!("the file {why}"))?;
    if meta.len() > MAX_ENTRY {
        return Err(format!("it is too large ({} bytes)", meta.len()));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut data)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let rest = data
        .strip_prefix(MAGIC.as_slice())
        .ok_or("it is not a parproc cache entry (bad magic)")?;
    let (len, rest) = rest.split_at_checked(4).ok_or("it is truncated (header)")?;
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    let (header, payload) = rest
        .split_at_checked(len)
        .ok_or("it is truncated (header)")?;
    let config = bincode::config::standard().with_limit::<256>();
    let (header, used): (Header, usize) = bincode::decode_from_slice(header, config)
        .map_err(|e| format!("its header is unreadable: {e}"))?;
    if used != len {
        return Err("its header has trailing bytes".into());
    }
    if &header.key != key {
        return Err("its header names another key".into());
    }
    if payload.len() as u64 != header.payload_len {
        return Err(format!(
            "it is truncated ({} of {} payload bytes)",
            payload.len(),
            header.payload_len
        ));
    }
    if <[u8; 32]>::from(Sha256::digest(payload)) != header.payload_sha256 {
        return Err("its payload does not match its digest".into());
    }
    let start = data.len() - payload.len();
    data.drain(..start);
    Ok(Some(data))
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Write the entry through a private temporary file renamed into place.
fn write_entry(dir: &Path, path: &Path, key: &[u8; 32], payload: &[u8]) -> Result<(), String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let header = Header {
        key: *key,
        payload_len: payload.len() as u64,
        payload_sha256: Sha256::digest(payload).into(),
    };
    let header = bincode::encode_to_vec(&header, bincode::config::standard())
        .map_err(|e| format!("cannot encode the header: {e}"))?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        hex(&key[..8]),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let write = || -> std::io::Result<()> {
        let mut f = create_private_file(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(&(header.len() as u32).to_le_bytes())?;
        f.write_all(&header)?;
        f.write_all(payload)?;
        // No fsync: after a crash a short or empty entry fails verification
        // and is recompiled.
        drop(f);
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write `{}`: {e}", path.display())
    })
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<File> {
    File::options().write(true).create_new(true).open(path)
}

/// Mark an entry as just used (its modification time orders eviction).
fn touch(path: &Path) {
    if let Ok(f) = open_no_follow(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Remove stale temporary files, then the least recently used entries while
/// the directory holds more than [`MAX_BYTES`] (never `keep`).
fn prune(dir: &Path, keep: &Path) {
    let Ok(read) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    let mut entries = Vec::new();
    for e in read.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(meta) = e.metadata() else { continue };
        let modified = meta.modified().unwrap_or(now);
        if name.starts_with('.') && name.ends_with(".tmp") {
            if now.duration_since(modified).unwrap_or_default() > STALE_TEMP {
                let _ = fs::remove_file(e.path());
            }
        } else if name.ends_with(".cwasm") && meta.is_file() {
            entries.push((modified, meta.len(), e.path()));
        }
    }
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    entries.sort();
    for (_, len, path) in entries {
        if total <= MAX_BYTES {
            break;
        }
        if path != keep && fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pp-cache-unit-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn engine() -> Engine {
        super::super::engine::shared().unwrap()
    }

    const WAT: &str = r#"(component (core module (func (export "f"))))"#;

    #[test]
    fn a_second_load_hits_and_a_damaged_entry_is_recompiled() {
        let dir = scratch("hit");
        let cache = CompileCache::at(&dir);
        let bytes = wat::parse_str(WAT).unwrap();
        let (_, used) = component(&engine(), &bytes, &cache).unwrap();
        assert_eq!(used, CacheUse::Miss { not_stored: None });
        let (_, used) = component(&engine(), &bytes, &cache).unwrap();
        assert_eq!(used, CacheUse::Hit);

        let entry = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
            .unwrap()
            .path();
        let good = fs::read(&entry).unwrap();
        // A flipped bit in the payload.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        fs::write(&entry, &bad).unwrap();
        let (_, used) = component(&engine(), &bytes, &cache).unwrap();
        assert_eq!(
            used,
            CacheUse::Rejected {
                reason: "its payload does not match its digest".into()
            }
        );
        assert_eq!(fs::read(&entry).unwrap(), good, "rewritten");
        // Truncated.
        fs::write(&entry, &good[..good.len() - 10]).unwrap();
        let (_, used) = component(&engine(), &bytes, &cache).unwrap();
        assert!(
            matches!(&used, CacheUse::Rejected { reason } if reason.starts_with("it is truncated")),
            "{used:?}"
        );
        // Not ours at all.
        fs::write(&entry, b"hello").unwrap();
        let (_, used) = component(&engine(), &bytes, &cache).unwrap();
        assert_eq!(used.id(), "rejected");
        let (_, used) = component(&engine(), &bytes, &cache).unwrap();
        assert_eq!(used, CacheUse::Hit);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_components_entry_under_this_key_is_rejected() {
        let dir = scratch("key");
        let cache = CompileCache::at(&dir);
        let a = wat::parse_str(WAT).unwrap();
        let b = wat::parse_str(r#"(component (core module (func (export "g"))))"#).unwrap();
        component(&engine(), &a, &cache).unwrap();
        component(&engine(), &b, &cache).unwrap();
        let ka = dir.join(format!("{}.cwasm", hex(&key(&engine(), &a))));
        let kb = dir.join(format!("{}.cwasm", hex(&key(&engine(), &b))));
        fs::copy(&kb, &ka).unwrap();
        let (_, used) = component(&engine(), &a, &cache).unwrap();
        assert_eq!(
            used,
            CacheUse::Rejected {
                reason: "its header names another key".into()
            }
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("open");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let bytes = wat::parse_str(WAT).unwrap();
        let (_, used) = component(&engine(), &bytes, &CompileCache::at(&dir)).unwrap();
        match used {
            CacheUse::Refused { reason } => {
                assert!(
                    reason.contains("is writable by others (mode 777)"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "nothing written");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_directory_is_created_private() {
        let dir = scratch("new").join("a/b");
        let bytes = wat::parse_str(WAT).unwrap();
        let (_, used) = component(&engine(), &bytes, &CompileCache::at(&dir)).unwrap();
        assert_eq!(used, CacheUse::Miss { not_stored: None });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        let _ = fs::remove_dir_all(scratch("new"));
    }
}
