//! The content-addressed blob directory of the state store: each blob is a
//! file named by the BLAKE3 digest of its bytes, under a directory named by
//! the digest's first byte (`ab/abcdef…`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::StoreError;
use crate::digest::Digest;
use crate::privdir;

/// The blob directory.
#[derive(Debug)]
pub(super) struct Blobs {
    dir: PathBuf,
    sync: bool,
}

impl Blobs {
    /// Open (or create, private) the blob directory `dir`.
    pub(super) fn open(dir: PathBuf, sync: bool) -> Result<Blobs, String> {
        privdir::prepare_dir(&dir, "use another --state-dir")?;
        Ok(Blobs { dir, sync })
    }

    fn path(&self, d: &Digest) -> PathBuf {
        let hex = d.to_hex();
        self.dir.join(&hex[..2]).join(hex)
    }

    /// Whether the blob's file is there (not whether it is sound).
    pub(super) fn has(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// Store `bytes`; a blob already there with the right length is kept (two
    /// runs writing one blob write the same bytes).
    pub(super) fn put(&self, bytes: &[u8]) -> Result<Digest, String> {
        let d = Digest::of(bytes);
        let path = self.path(&d);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64) {
            return Ok(d);
        }
        let sub = path.parent().unwrap_or(&self.dir);
        if !sub.is_dir() {
            privdir::create_private_dir(sub)
                .map_err(|e| format!("cannot create `{}`: {e}", sub.display()))?;
            if self.sync {
                privdir::sync_dir(&self.dir)
                    .map_err(|e| format!("cannot flush `{}`: {e}", self.dir.display()))?;
            }
        }
        privdir::before_write();
        privdir::write_file(sub, &path, &[bytes], self.sync)?;
        Ok(d)
    }

    /// The blob `d`, checked against its digest; `Ok(None)` when absent.
    pub(super) fn get(&self, d: &Digest) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(d);
        let mut file = match privdir::open_no_follow(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StoreError::Corrupt {
                    digest: d.to_hex(),
                    why: format!("cannot open it: {e}"),
                });
            }
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| StoreError::Corrupt {
                digest: d.to_hex(),
                why: format!("cannot read it: {e}"),
            })?;
        if Digest::of(&bytes) != *d {
            return Err(StoreError::Corrupt {
                digest: d.to_hex(),
                why: format!("its {} bytes have another digest", bytes.len()),
            });
        }
        Ok(Some(bytes))
    }

    /// Every blob file, by digest, with its length and modification time.
    /// Temporary files and foreign names are skipped.
    fn list(&self) -> Result<Vec<(Digest, PathBuf, u64, SystemTime)>, String> {
        let mut out = Vec::new();
        let read =
            |p: &Path| fs::read_dir(p).map_err(|e| format!("cannot list `{}`: {e}", p.display()));
        for sub in read(&self.dir)? {
            let sub = sub.map_err(|e| e.to_string())?;
            if !sub.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            for f in read(&sub.path())? {
                let f = f.map_err(|e| e.to_string())?;
                let name = f.file_name();
                let Some(d) = name.to_str().and_then(Digest::from_hex) else {
                    continue;
                };
                let meta = f.metadata().map_err(|e| e.to_string())?;
                out.push((
                    d,
                    f.path(),
                    meta.len(),
                    meta.modified().unwrap_or(SystemTime::now()),
                ));
            }
        }
        Ok(out)
    }

    /// Check every blob against its digest: how many were checked, and the
    /// damaged ones (hex digest, reason).
    pub(super) fn check_all(&self) -> Result<(u64, Vec<(String, String)>), String> {
        let mut damaged = Vec::new();
        let blobs = self.list()?;
        for (d, _, _, _) in &blobs {
            if let Err(e) = self.get(d) {
                let why = match e {
                    StoreError::Corrupt { why, .. } => why,
                    other => other.to_string(),
                };
                damaged.push((d.to_hex(), why));
            }
        }
        Ok((blobs.len() as u64, damaged))
    }

    /// Remove every blob for which `keep(digest, modified)` is false: how many
    /// were removed and the bytes of those left.
    pub(super) fn retain(
        &self,
        keep: impl Fn(&Digest, SystemTime) -> bool,
    ) -> Result<(u64, u64), String> {
        let mut removed = 0;
        let mut left = 0;
        for (d, path, len, modified) in self.list()? {
            if keep(&d, modified) {
                left += len;
            } else if fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok((removed, left))
    }
}
