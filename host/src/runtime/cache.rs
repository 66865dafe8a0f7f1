//! The compile cache: compiled components kept between runs.
//!
//! Compiling a component is the slowest step of a run (seconds for an 18 MB
//! Python component), and its result depends only on the component's bytes,
//! the engine's configuration and the host's version. The cache keeps the
//! compiled form under a key made of the three (BLAKE3), as two files:
//!
//! - `KEY.cwasm`: the compiled component exactly as `Component::serialize`
//!   wrote it, which wasmtime maps from the file instead of copying it;
//! - `KEY.meta`: `MAGIC` and a bincode record of the key, the `.cwasm`'s
//!   length and its BLAKE3 digest.
//!
//! Loading compiled code is trusting native code, so:
//! - the directory must be ours and writable by nobody else (else the run
//!   compiles without the cache and says why), and so must every file in it;
//! - files are written to a temporary file and renamed into place, so a
//!   reader sees a whole file or none, and two runs at once may both write the
//!   same entry (compilation is deterministic: the same bytes) without harm;
//! - an entry is loaded only after its record names the expected key and the
//!   `.cwasm` has the recorded length and digest; anything else (truncation, a
//!   flipped bit, a foreign file, a missing record) is recompiled and
//!   rewritten, never loaded. Wasmtime then maps the file by its path: between
//!   the check and the mapping only this user's runs can replace it, and they
//!   replace it whole with the same bytes;
//! - least recently used entries are removed when the directory grows past
//!   [`MAX_BYTES`].

use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::privdir::{check_private, open_no_follow, prepare_dir, write_file};

/// The first bytes of every record.
const MAGIC: &[u8; 8] = b"PPCMETA\x02";
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

/// The record of an entry (`KEY.meta`).
#[derive(Debug, bincode::Encode, bincode::Decode)]
struct Record {
    key: [u8; 32],
    len: u64,
    digest: [u8; 32],
}

/// Feeds `Hash` output into BLAKE3 (for the engine's compatibility hash).
struct KeyHasher(blake3::Hasher);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The key of a component whose BLAKE3 digest is `digest`, compiled by
/// `engine` in this host version.
fn key(engine: &Engine, digest: &blake3::Hash) -> [u8; 32] {
    let mut h = KeyHasher(blake3::Hasher::new());
    h.0.update(b"parproc-host compile cache\0");
    h.0.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.0.update(b"\0");
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
    h.0.update(b"\0");
    h.0.update(digest.as_bytes());
    *h.0.finalize().as_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a module could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// The file could not be read.
    Read(String),
    /// It is not a component wasmtime accepts.
    Invalid(String),
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    fs::read(path).map_err(|e| LoadError::Read(e.to_string()))
}

/// Long work of the loader, told to the observer [`observe_load`] set on the
/// loading thread (the command line shows it; the runtime prints nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadEvent {
    /// Compiling `what` (a module's file name, `tool `name``) of `bytes` bytes:
    /// nothing usable was cached.
    Compiling {
        /// What is compiled.
        what: String,
        /// Its size.
        bytes: u64,
    },
    /// That compile ended, well (`ok`) or not.
    Compiled {
        /// Whether it gave a component.
        ok: bool,
    },
}

type Observer = Box<dyn Fn(LoadEvent)>;

thread_local! {
    static OBSERVER: std::cell::RefCell<Option<Observer>> = const { std::cell::RefCell::new(None) };
}

/// Run `work` (a load) with `on` told of its long work on this thread.
pub fn observe_load<T>(on: impl Fn(LoadEvent) + 'static, work: impl FnOnce() -> T) -> T {
    struct Restore(Option<Observer>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            OBSERVER.with(|o| *o.borrow_mut() = prev);
        }
    }
    let prev = OBSERVER.with(|o| o.borrow_mut().replace(Box::new(on)));
    let _restore = Restore(prev);
    work()
}

fn tell(event: LoadEvent) {
    OBSERVER.with(|o| {
        if let Some(f) = o.borrow().as_ref() {
            f(event);
        }
    });
}

/// Compile `bytes` (`what`, for the observer).
fn compile(engine: &Engine, what: &str, bytes: &[u8]) -> Result<Component, LoadError> {
    tell(LoadEvent::Compiling {
        what: what.to_owned(),
        bytes: bytes.len() as u64,
    });
    let compiled = compile_quietly(engine, bytes);
    tell(LoadEvent::Compiled {
        ok: compiled.is_ok(),
    });
    compiled
}

fn compile_quietly(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|e| {
        LoadError::Invalid(format!(
            "not a valid component: {}",
            super::trap::one_line(&format!("{e:#}"))
        ))
    })
}

/// The BLAKE3 digest of the file at `path`, hashed from a mapping of it on
/// both cores (no copy: a hit never reads the module into memory).
fn file_digest(path: &Path) -> Result<blake3::Hash, LoadError> {
    let mut h = blake3::Hasher::new();
    h.update_mmap_rayon(path)
        .map_err(|e| LoadError::Read(e.to_string()))?;
    Ok(h.finalize())
}

/// The compiled component at `path`: from `cache` when it holds a verified
/// entry, else compiled (and stored).
pub(crate) fn component(
    engine: &Engine,
    path: &Path,
    cache: &CompileCache,
) -> Result<(Component, CacheUse), LoadError> {
    let what = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let what = format!("`{what}`");
    let Some(dir) = cache.dir() else {
        return Ok((compile(engine, &what, &read(path)?)?, CacheUse::Off));
    };
    if let Err(reason) = prepare_dir(
        dir,
        "use a directory only you can write (`chmod go-w`), or set PARPROC_CACHE_DIR",
    ) {
        return Ok((
            compile(engine, &what, &read(path)?)?,
            CacheUse::Refused { reason },
        ));
    }
    let t = std::time::Instant::now();
    let key = key(engine, &file_digest(path)?);
    let name = hex(&key);
    let code = dir.join(format!("{name}.cwasm"));
    let meta = dir.join(format!("{name}.meta"));
    let keyed = t.elapsed();
    let rejected = match verify(&code, &meta, &key) {
        Ok(false) => None,
        Ok(true) => {
            let verified = t.elapsed();
            // SAFETY: `Component::deserialize_file` maps the file and runs the
            // native code in it. The file is in a directory only this user can
            // write (`prepare_dir`) and is only this user's (`verify`); its
            // record names this key, which covers this engine's compatibility
            // hash, the host version and the component's digest; and it has
            // the length and BLAKE3 digest recorded when `Component::serialize`
            // produced it, so it is not truncated, corrupted or foreign. Only
            // this user's runs can replace it before wasmtime maps it, and they
            // replace it whole with the same bytes. Wasmtime checks its own
            // header and engine settings as well.
            match unsafe { Component::deserialize_file(engine, &code) } {
                Ok(c) => {
                    tracing::debug!(
                        "compile cache: key {keyed:?}, verified {:?}, mapped {:?}",
                        verified - keyed,
                        t.elapsed() - verified
                    );
                    touch(&code);
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
    // Compile what is read now, and store it under that content's key (the
    // file may have changed since it was hashed above).
    let bytes = read(path)?;
    let key = self::key(engine, &blake3::hash(&bytes));
    let name = hex(&key);
    let (code, meta) = (
        dir.join(format!("{name}.cwasm")),
        dir.join(format!("{name}.meta")),
    );
    let component = compile(engine, &what, &bytes)?;
    let stored = component
        .serialize()
        .map_err(|e| format!("cannot serialize: {e}"))
        .and_then(|payload| write_entry(dir, &code, &meta, &key, &payload));
    if stored.is_ok() {
        prune(dir, &code);
    }
    let used = match rejected {
        Some(reason) => CacheUse::Rejected { reason },
        None => CacheUse::Miss {
            not_stored: stored.err(),
        },
    };
    Ok((component, used))
}

/// The compiled component whose source has the BLAKE3 digest `digest` (with
/// `tag` naming how it is made from that source, like a preview1 tool turned
/// into a command component): from `cache` when it holds a verified entry,
/// else `make` gives the component's bytes, which are compiled (and stored).
/// `make` runs only on a miss; `what` names it to the load observer.
pub(crate) fn component_of(
    engine: &Engine,
    what: &str,
    tag: &str,
    digest: &blake3::Hash,
    cache: &CompileCache,
    make: impl FnOnce() -> Result<Vec<u8>, LoadError>,
) -> Result<(Component, CacheUse), LoadError> {
    let Some(dir) = cache.dir() else {
        return Ok((compile(engine, what, &make()?)?, CacheUse::Off));
    };
    if let Err(reason) = prepare_dir(
        dir,
        "use a directory only you can write (`chmod go-w`), or set PARPROC_CACHE_DIR",
    ) {
        return Ok((
            compile(engine, what, &make()?)?,
            CacheUse::Refused { reason },
        ));
    }
    let mut h = blake3::Hasher::new();
    h.update(tag.as_bytes());
    h.update(b"\0");
    h.update(digest.as_bytes());
    let key = key(engine, &h.finalize());
    let name = hex(&key);
    let code = dir.join(format!("{name}.cwasm"));
    let meta = dir.join(format!("{name}.meta"));
    let rejected = match verify(&code, &meta, &key) {
        Ok(false) => None,
        // SAFETY: as in `component`: a private directory, this user's file,
        // a record naming this key (engine, host version, source digest and
        // tag), and the length and digest `serialize` produced.
        Ok(true) => match unsafe { Component::deserialize_file(engine, &code) } {
            Ok(c) => {
                touch(&code);
                return Ok((c, CacheUse::Hit));
            }
            Err(e) => Some(format!(
                "wasmtime refused it: {}",
                super::trap::one_line(&format!("{e:#}"))
            )),
        },
        Err(reason) => Some(reason),
    };
    let component = compile(engine, what, &make()?)?;
    let stored = component
        .serialize()
        .map_err(|e| format!("cannot serialize: {e}"))
        .and_then(|payload| write_entry(dir, &code, &meta, &key, &payload));
    if stored.is_ok() {
        prune(dir, &code);
    }
    let used = match rejected {
        Some(reason) => CacheUse::Rejected { reason },
        None => CacheUse::Miss {
            not_stored: stored.err(),
        },
    };
    Ok((component, used))
}

/// Check the entry `code` + `meta`: `Ok(false)` when there is none (or only
/// half of one, as while another run writes it), `Err(reason)` when there is
/// one that must not be loaded.
fn verify(code: &Path, meta: &Path, key: &[u8; 32]) -> Result<bool, String> {
    let open = |path: &Path| match open_no_follow(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot open it: {e}")),
    };
    let (Some(mut record_file), Some(code_file)) = (open(meta)?, open(code)?) else {
        return Ok(false);
    };
    let mut record = Vec::new();
    checked(&record_file)?;
    (&mut record_file)
        .take(1024)
        .read_to_end(&mut record)
        .map_err(|e| format!("cannot read its record: {e}"))?;
    let body = record
        .strip_prefix(MAGIC.as_slice())
        .ok_or("its record is not a parproc cache record (bad magic)")?;
    let config = bincode::config::standard().with_limit::<256>();
    let (record, used): (Record, usize) = bincode::decode_from_slice(body, config)
        .map_err(|e| format!("its record is unreadable: {e}"))?;
    if used != body.len() {
        return Err("its record has trailing bytes".into());
    }
    if &record.key != key {
        return Err("its record names another key".into());
    }
    let len = checked(&code_file)?;
    if len != record.len {
        return Err(format!("it is truncated ({len} of {} bytes)", record.len));
    }
    drop(code_file);
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_mmap_rayon(code)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if hasher.count() != record.len {
        return Err(format!(
            "it is truncated ({} of {} bytes)",
            hasher.count(),
            record.len
        ));
    }
    if hasher.finalize().as_bytes() != &record.digest {
        return Err("its payload does not match its digest".into());
    }
    Ok(true)
}

/// A regular file of this user's that nobody else can write, not too large:
/// its length.
fn checked(file: &File) -> Result<u64, String> {
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
    Ok(meta.len())
}

/// Write the entry: the code, then its record, each through a private
/// temporary file renamed into place (a reader that sees the record sees the
/// code it describes).
fn write_entry(
    dir: &Path,
    code: &Path,
    meta: &Path,
    key: &[u8; 32],
    payload: &[u8],
) -> Result<(), String> {
    let record = Record {
        key: *key,
        len: payload.len() as u64,
        digest: *blake3::hash(payload).as_bytes(),
    };
    let record = bincode::encode_to_vec(&record, bincode::config::standard())
        .map_err(|e| format!("cannot encode the record: {e}"))?;
    // No fsync: after a crash a short or empty file fails verification and
    // is recompiled.
    write_file(dir, code, &[payload], false)?;
    write_file(dir, meta, &[MAGIC.as_slice(), &record], false)
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
            let _ = fs::remove_file(path.with_extension("meta"));
            total -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `BASE/cache` under a fresh `BASE` (modules go in `BASE`).
    fn scratch(tag: &str) -> PathBuf {
        let base = std::env::temp_dir().join(format!("pp-cache-unit-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        base.join("cache")
    }

    fn cleanup(dir: &Path) {
        let _ = fs::remove_dir_all(dir.parent().unwrap());
    }

    fn engine() -> Engine {
        super::super::engine::shared(super::super::engine::EngineKind {
            metered: true,
            pool: None,
        })
        .unwrap()
    }

    const WAT: &str = r#"(component (core module (func (export "f"))))"#;

    /// `wat` built into a component file beside the cache dir `dir`.
    fn module(dir: &Path, name: &str, wat: &str) -> PathBuf {
        let path = dir.parent().unwrap().join(format!("{name}.wasm"));
        fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
        path
    }

    fn load(path: &Path, cache: &CompileCache) -> CacheUse {
        match component(&engine(), path, cache) {
            Ok((_, used)) => used,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_second_load_hits_and_a_damaged_entry_is_recompiled() {
        let dir = scratch("hit");
        let cache = CompileCache::at(&dir);
        let bytes = module(&dir, "m", WAT);
        let used = load(&bytes, &cache);
        assert_eq!(used, CacheUse::Miss { not_stored: None });
        let used = load(&bytes, &cache);
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
        let used = load(&bytes, &cache);
        assert_eq!(
            used,
            CacheUse::Rejected {
                reason: "its payload does not match its digest".into()
            }
        );
        assert_eq!(fs::read(&entry).unwrap(), good, "rewritten");
        // Truncated.
        fs::write(&entry, &good[..good.len() - 10]).unwrap();
        let used = load(&bytes, &cache);
        assert!(
            matches!(&used, CacheUse::Rejected { reason } if reason.starts_with("it is truncated")),
            "{used:?}"
        );
        // Not ours at all.
        fs::write(&entry, b"hello").unwrap();
        let used = load(&bytes, &cache);
        assert_eq!(used.id(), "rejected");
        let used = load(&bytes, &cache);
        assert_eq!(used, CacheUse::Hit);
        cleanup(&dir);
    }

    #[test]
    fn another_components_entry_under_this_key_is_rejected() {
        let dir = scratch("key");
        let cache = CompileCache::at(&dir);
        let a = module(&dir, "a", WAT);
        let b = module(
            &dir,
            "b",
            r#"(component (core module (func (export "g"))))"#,
        );
        load(&a, &cache);
        load(&b, &cache);
        let digest = |p: &Path| blake3::hash(&fs::read(p).unwrap());
        let ka = dir.join(format!("{}.meta", hex(&key(&engine(), &digest(&a)))));
        let kb = dir.join(format!("{}.meta", hex(&key(&engine(), &digest(&b)))));
        fs::copy(&kb, &ka).unwrap();
        let used = load(&a, &cache);
        assert_eq!(
            used,
            CacheUse::Rejected {
                reason: "its record names another key".into()
            }
        );
        cleanup(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("open");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let bytes = module(&dir, "m", WAT);
        let used = load(&bytes, &CompileCache::at(&dir));
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
        cleanup(&dir);
    }

    #[test]
    fn a_missing_directory_is_created_private() {
        let base = scratch("new");
        let dir = base.join("a/b");
        let bytes = module(&base, "m", WAT);
        let used = load(&bytes, &CompileCache::at(&dir));
        assert_eq!(used, CacheUse::Miss { not_stored: None });
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        cleanup(&base);
    }
}
