//! Directories and files only this user can write: the compile cache and the
//! state store keep what later runs trust (compiled code, results, outputs)
//! in them.
//!
//! A directory is used only when it belongs to this user and nobody else can
//! write it; a missing one is created with mode 700. Files are written to a
//! private temporary file (mode 600, never through a symlink) and renamed
//! into place, so a reader sees a whole file or none, even when two runs
//! write the same file at once.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Create `dir` private to this user when missing; refuse it when it is not a
/// directory, not ours, or writable by others. `hint` follows the reason in
/// the error (how to pick another directory).
pub(crate) fn prepare_dir(dir: &Path, hint: &str) -> Result<(), String> {
    let shown = dir.display();
    if !dir.exists() {
        create_private_dir(dir).map_err(|e| format!("cannot create `{shown}`: {e}"))?;
    }
    let meta = fs::metadata(dir).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("`{shown}` is not a directory"));
    }
    check_private(&meta).map_err(|why| format!("`{shown}` {why}; {hint}"))
}

/// Create `dir` (and its parents) with mode 700.
#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Create `dir` (and its parents).
#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

/// Owned by this user and not writable by group or others.
#[cfg(unix)]
pub(crate) fn check_private(meta: &fs::Metadata) -> Result<(), String> {
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

/// Ownership is not checked off Unix.
#[cfg(not(unix))]
pub(crate) fn check_private(_meta: &fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// Open `path` for reading, refusing a symlink.
#[cfg(unix)]
pub(crate) fn open_no_follow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Open `path` for reading.
#[cfg(not(unix))]
pub(crate) fn open_no_follow(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Create a new file with mode 600, refusing an existing file or a symlink.
#[cfg(unix)]
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Create a new file, refusing an existing one.
#[cfg(not(unix))]
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<File> {
    File::options().write(true).create_new(true).open(path)
}

/// Write `parts` to `path` through a private temporary file in `dir`, renamed
/// into place. With `sync` the file is flushed to the disk before the rename
/// and the directory after it (durable against power loss); without, the
/// rename alone makes it whole-or-nothing against a crash of this process.
pub(crate) fn write_file(
    dir: &Path,
    path: &Path,
    parts: &[&[u8]],
    sync: bool,
) -> Result<(), String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let write = || -> std::io::Result<()> {
        let mut f = create_private_file(&tmp)?;
        for part in parts {
            f.write_all(part)?;
        }
        if sync {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, path)?;
        if sync {
            sync_dir(dir)?;
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write `{}`: {e}", path.display())
    })
}

/// Flush a directory's entries to the disk (after a rename into it).
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be flushed off Unix.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The test hook of the crash tests: with `PARPROC_TEST_KILL_AT_WRITE=N` the
/// host kills itself with SIGKILL just before its Nth write to the state store
/// (a blob, a commit, an output restored), so a test can crash it at every
/// write of a run in turn.
pub const KILL_AT_WRITE_ENV: &str = "PARPROC_TEST_KILL_AT_WRITE";

/// Count a write to the state store, and die here if the test hook says so
/// (see [`KILL_AT_WRITE_ENV`]).
pub(crate) fn before_write() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(at) = *AT.get_or_init(|| {
        std::env::var(KILL_AT_WRITE_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
    }) else {
        return;
    };
    if WRITES.fetch_add(1, Ordering::SeqCst) + 1 == at {
        // SAFETY: `kill` and `getpid` have no preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("parproc-privdir-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_missing_directory_is_created_private_and_a_shared_one_is_refused() {
        let dir = scratch("mode");
        prepare_dir(&dir, "pick another").expect("created");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
            let err = prepare_dir(&dir, "pick another").expect_err("shared dir refused");
            assert!(
                err.contains("is writable by others (mode 777); pick another"),
                "{err}"
            );
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_written_file_is_whole_and_private_and_leaves_no_temporary() {
        let dir = scratch("write");
        prepare_dir(&dir, "").expect("created");
        let path = dir.join("f");
        write_file(&dir, &path, &[b"ab", b"cd"], true).expect("written");
        write_file(&dir, &path, &[b"xyz"], false).expect("replaced");
        assert_eq!(fs::read(&path).expect("read"), b"xyz");
        let names: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["f"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
