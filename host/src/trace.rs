//! What a proc saw of its granted directories: the observations the runtime
//! records through the host's `wasi:filesystem` layer, and their check
//! against the disk when a later run looks the proc up (docs/incremental.md,
//! "Traced reads").
//!
//! A path is kept as the guest gave it, one `open-at` at a time
//! ([`At::path`]), never simplified as text (`a/../b` is not `b` when `a` is a
//! symlink). The check resolves it again from the same granted directory with
//! cap-std, as wasmtime-wasi does, so symlinks are followed as the guest's
//! were and nothing outside the grant is reachable.
//!
//! What counts: a file's type and the digest of its bytes; a stat's type and
//! size (not its times or inode); a listing's sorted (name, type) pairs; a
//! failed open or stat and its error ("absent" is an input).

use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};

/// Where an observation was made: a granted directory (by its guest path) and
/// the paths of the `open-at` calls that led there, as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct At {
    /// The guest path of the granted directory (`/data`).
    pub root: String,
    /// Each path the guest passed, from the root down (`["sub", "f.txt"]`).
    pub path: Vec<String>,
    /// Whether a symlink at the end was followed.
    pub follow: bool,
}

impl At {
    /// The place `path` names relative to this one (a descriptor opened here).
    pub fn join(&self, path: &str, follow: bool) -> At {
        let mut p = self.path.clone();
        p.push(path.to_owned());
        At {
            root: self.root.clone(),
            path: p,
            follow,
        }
    }

    /// For messages: `/data/sub/f.txt` (joined as text, for people only).
    pub fn shown(&self) -> String {
        let mut s = self.root.trim_end_matches('/').to_owned();
        for p in &self.path {
            s.push('/');
            s.push_str(p);
        }
        s
    }
}

/// A file's type, as far as the trace cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symlink (not followed).
    Symlink,
    /// Anything else.
    Other,
}

/// One thing the proc saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    /// A file it opened for reading, and the BLAKE3 digest of its bytes.
    File {
        /// Where.
        at: At,
        /// The digest, in hex.
        digest: String,
    },
    /// A directory it opened.
    Dir {
        /// Where.
        at: At,
    },
    /// The type and size a stat gave.
    Stat {
        /// Where.
        at: At,
        /// The type.
        kind: Kind,
        /// The size in bytes.
        size: u64,
    },
    /// A directory it listed: the sorted names and types.
    Listing {
        /// Where.
        at: At,
        /// The entries.
        entries: Vec<(String, Kind)>,
    },
    /// Something was there: a create that failed with `exist`.
    Exists {
        /// Where.
        at: At,
    },
    /// An open or stat that failed, and how (`no-entry`, `not-permitted`, …).
    Missing {
        /// Where.
        at: At,
        /// The error, as `wasi:filesystem` names it.
        code: String,
    },
    /// A declared input (parproc's `inputs`) and what it stood for when the
    /// proc started: each file's guest path and digest (see `crate::declared`).
    Declared {
        /// The granted directory it lies in.
        at: At,
        /// The input.
        input: crate::declared::Matcher,
        /// The `inputs_ignore` entries applied to it.
        ignore: Vec<String>,
        /// What it matched.
        files: Vec<(String, String)>,
    },
}

impl Seen {
    /// Where the observation was made.
    pub fn at(&self) -> &At {
        match self {
            Seen::File { at, .. }
            | Seen::Dir { at }
            | Seen::Stat { at, .. }
            | Seen::Listing { at, .. }
            | Seen::Exists { at }
            | Seen::Missing { at, .. }
            | Seen::Declared { at, .. } => at,
        }
    }
}

/// What a proc left at a place it wrote to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Left {
    /// A file with these bytes (BLAKE3, hex; the bytes are a blob of the store).
    File(String),
    /// A directory.
    Dir,
    /// Nothing: it removed what was there.
    Absent,
}

/// Everything a proc saw, in the order it saw it (duplicates removed), what it
/// left where it wrote, and the directories it was granted. The key of the
/// proc covers the run's grants, so a trace found under it was made with the
/// same directories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The granted directories the observations are relative to.
    pub roots: Roots,
    /// The observations.
    pub seen: Vec<Seen>,
    /// Its outputs: each place it created, wrote or removed, and what it left
    /// there when it ended.
    #[serde(default)]
    pub outputs: Vec<(At, Left)>,
    /// The context calls it made (other than for params, which are in its
    /// key) and what they answered, in order: a hit asks them again.
    #[serde(default)]
    pub calls: Vec<Answered>,
}

/// One context call a proc made and the digest of its answer
/// (`crate::exec::answer_digest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answered {
    /// The call.
    pub asked: crate::exec::ContextRequest,
    /// The digest of its answer.
    pub answer: String,
}

impl Answered {
    /// For `--explain`: what changed when this call answered otherwise.
    pub fn changed(&self) -> String {
        use crate::exec::ContextRequest as R;
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.asked {
            R::Result { name } => format!("the result of `{name}` changed"),
            R::ResultNames => "the list of results changed".to_owned(),
            R::Create { name, .. } | R::Run { name, .. } => {
                format!("creating `{name}` went otherwise")
            }
            R::Start { names } => format!("starting {} went otherwise", list(names)),
            R::Wait { names } => format!("{} ended otherwise", list(names)),
            R::Params => "the params changed".to_owned(),
            R::Input { .. } => "the input changed".to_owned(),
        }
    }
}

/// How a run's trace ended up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Traced {
    /// Nothing was traced (the proc was granted no directory, or the run is
    /// not incremental).
    #[default]
    No,
    /// What the proc saw.
    Yes(Trace),
    /// The proc did something the trace cannot stand for (wrote a file, read a
    /// link, …), or an input changed while it ran: its outcome is not cached.
    Unusable(String),
}

/// The granted directories: guest path → host path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roots(pub Vec<(String, PathBuf)>);

impl Roots {
    /// The host directory granted at `guest`.
    pub fn host(&self, guest: &str) -> Option<&Path> {
        self.0
            .iter()
            .find(|(g, _)| g == guest)
            .map(|(_, h)| h.as_path())
    }
}

/// The directories a [`check`] has opened, by grant and path: a trace reads
/// many files of one directory, and each would walk the path again.
type OpenDirs = std::collections::HashMap<(String, Vec<String>), std::rc::Rc<Dir>>;

thread_local! {
    static OPEN_DIRS: std::cell::RefCell<Option<OpenDirs>> = const { std::cell::RefCell::new(None) };
}

/// What is at `at` now, resolved from the grant: the directory holding the
/// last path, and that path. Inside a [`check`] the directories are opened
/// once and shared.
fn resolve<'a>(roots: &Roots, at: &'a At) -> std::io::Result<(std::rc::Rc<Dir>, &'a str)> {
    let (last, parents) = match at.path.split_last() {
        Some((last, parents)) => (last.as_str(), parents),
        None => (".", &[][..]),
    };
    let open = || -> std::io::Result<Dir> {
        let host = roots
            .host(&at.root)
            .ok_or_else(|| std::io::Error::other(format!("`{}` is no longer granted", at.root)))?;
        let mut dir = Dir::open_ambient_dir(host, ambient_authority())?;
        for p in parents {
            dir = dir.open_dir(p)?;
        }
        Ok(dir)
    };
    let dir = OPEN_DIRS.with(|cell| -> std::io::Result<std::rc::Rc<Dir>> {
        let mut cache = cell.borrow_mut();
        let Some(cache) = cache.as_mut() else {
            return open().map(std::rc::Rc::new);
        };
        let key = (at.root.clone(), parents.to_vec());
        if let Some(d) = cache.get(&key) {
            return Ok(d.clone());
        }
        let d = std::rc::Rc::new(open()?);
        cache.insert(key, d.clone());
        Ok(d)
    })?;
    Ok((dir, last))
}

/// Opened directories are kept for the duration of one [`check`].
struct KeepDirs;

impl KeepDirs {
    fn start() -> KeepDirs {
        OPEN_DIRS.with(|c| *c.borrow_mut() = Some(OpenDirs::new()));
        KeepDirs
    }
}

impl Drop for KeepDirs {
    fn drop(&mut self) {
        OPEN_DIRS.with(|c| *c.borrow_mut() = None);
    }
}

fn kind_of(t: cap_std::fs::FileType) -> Kind {
    if t.is_symlink() {
        Kind::Symlink
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_file() {
        Kind::File
    } else {
        Kind::Other
    }
}

fn metadata(dir: &Dir, path: &str, follow: bool) -> std::io::Result<cap_std::fs::Metadata> {
    if follow {
        dir.metadata(path)
    } else {
        dir.symlink_metadata(path)
    }
}

/// The BLAKE3 digest (hex) of the file at `at` now (through the stat cache,
/// `crate::statcache`: a file whose identity and stamp are unchanged is not
/// read again).
pub fn file_digest(roots: &Roots, at: &At) -> std::io::Result<String> {
    let (dir, last) = resolve(roots, at)?;
    crate::statcache::global().digest_at(&dir, last, at.follow)
}

/// [`file_digest`] for a file a proc has just opened: opened at once, its
/// stamp taken through the descriptor (no stat of the path first).
pub fn opened_file_digest(roots: &Roots, at: &At) -> std::io::Result<String> {
    let (dir, last) = resolve(roots, at)?;
    crate::statcache::global().digest_opening(&dir, last, at.follow)
}

/// The type and size at `at` now.
pub fn stat(roots: &Roots, at: &At) -> std::io::Result<(Kind, u64)> {
    let (dir, last) = resolve(roots, at)?;
    let m = metadata(&dir, last, at.follow)?;
    Ok((kind_of(m.file_type()), m.len()))
}

/// The sorted (name, type) pairs of the directory at `at` now.
pub fn listing(roots: &Roots, at: &At) -> std::io::Result<Vec<(String, Kind)>> {
    let (dir, last) = resolve(roots, at)?;
    let sub = if last == "." {
        dir
    } else {
        std::rc::Rc::new(dir.open_dir(last)?)
    };
    let mut entries = Vec::new();
    for e in sub.entries()? {
        let e = e?;
        entries.push((
            e.file_name().to_string_lossy().into_owned(),
            kind_of(e.file_type()?),
        ));
    }
    entries.sort();
    Ok(entries)
}

/// How `wasi:filesystem` would name `e` (only the codes a failed open or stat
/// of an unchanged tree gives again; anything else is `other`).
pub fn code_of(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "no-entry",
        K::PermissionDenied => "not-permitted",
        K::NotADirectory => "not-directory",
        K::IsADirectory => "is-directory",
        _ => match e.raw_os_error() {
            Some(libc::ELOOP) => "loop",
            Some(libc::EACCES) => "access",
            _ => "other",
        },
    }
}

/// What is at `at` now, as an output: a file's digest, a directory, or nothing.
pub fn left(roots: &Roots, at: &At) -> std::io::Result<Left> {
    let (dir, last) = resolve(roots, at)?;
    match dir.symlink_metadata(last) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Left::Absent),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => Ok(Left::Dir),
        Ok(m) if m.is_file() => Ok(Left::File(file_digest(roots, at)?)),
        Ok(_) => Err(std::io::Error::other("neither a file nor a directory")),
    }
}

/// The bytes of the file at `at` now.
pub fn read(roots: &Roots, at: &At) -> std::io::Result<Vec<u8>> {
    let (dir, last) = resolve(roots, at)?;
    dir.read(last)
}

/// Put back what a proc left at `at`: `bytes` for a file (written to a
/// temporary file beside it and renamed into place), a directory, or nothing.
/// Paths resolve inside the grant, as the proc's did.
pub fn restore(roots: &Roots, at: &At, left: &Left, bytes: Option<&[u8]>) -> std::io::Result<()> {
    crate::privdir::before_write();
    let (dir, last) = resolve(roots, at)?;
    match left {
        Left::Dir => match dir.create_dir(last) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        },
        Left::Absent => match dir.symlink_metadata(last) {
            Ok(m) if m.is_dir() => dir.remove_dir_all(last),
            Ok(_) => dir.remove_file(last),
            Err(_) => Ok(()),
        },
        Left::File(_) => {
            let bytes = bytes.ok_or_else(|| std::io::Error::other("no bytes to restore"))?;
            let tmp = match last.rsplit_once('/') {
                Some((parent, name)) => {
                    format!("{parent}/.{name}.parproc-restore.{}", std::process::id())
                }
                None => format!(".{last}.parproc-restore.{}", std::process::id()),
            };
            dir.write(&tmp, bytes)?;
            dir.rename(&tmp, &dir, last)
        }
    }
}

/// Check every observation against the disk: `Ok` when the proc would see the
/// same, else what differs (``input `/data/a.txt` changed``).
pub fn check(trace: &Trace) -> Result<(), String> {
    let roots = &trace.roots;
    let _dirs = KeepDirs::start();
    for seen in &trace.seen {
        let at = seen.at();
        let changed = || format!("input `{}` changed", at.shown());
        match seen {
            Seen::File { digest, .. } => match file_digest(roots, at) {
                Ok(d) if d == *digest => {}
                Ok(_) => return Err(changed()),
                Err(_) => return Err(format!("input `{}` is gone", at.shown())),
            },
            Seen::Dir { .. } => match stat(roots, at) {
                Ok((Kind::Dir, _)) => {}
                _ => return Err(changed()),
            },
            Seen::Stat { kind, size, .. } => match stat(roots, at) {
                Ok((k, s)) if k == *kind && s == *size => {}
                _ => return Err(changed()),
            },
            Seen::Listing { entries, .. } => match listing(roots, at) {
                Ok(now) if now == *entries => {}
                _ => return Err(format!("the listing of `{}` changed", at.shown())),
            },
            Seen::Exists { .. } => {
                let mut there = at.clone();
                there.follow = false;
                if stat(roots, &there).is_err() {
                    return Err(format!("input `{}` is gone", at.shown()));
                }
            }
            Seen::Missing { code, .. } => match stat(roots, at) {
                Ok(_) => return Err(format!("input `{}` appeared", at.shown())),
                Err(e) if code_of(&e) == code => {}
                Err(_) => return Err(changed()),
            },
            Seen::Declared {
                input,
                ignore,
                files,
                ..
            } => {
                let now = crate::declared::expand(roots, input, ignore)
                    .map_err(|e| format!("declared input `{}`: {e}", input.shown()))?;
                if let Some(why) = crate::declared::differs(files, &now) {
                    return Err(why);
                }
            }
        }
    }
    Ok(())
}
