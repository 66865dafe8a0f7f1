//! The run's journal: where a finished proc's entry becomes durable before its
//! dependents start, in one `write` to a file of the run's own, while the
//! database takes the entries in the background (group commit).
//!
//! Each run appends to `journal/<pid>-<nanos>.log` in the state directory,
//! holding an exclusive lock on it while it lives. A frame is the length of
//! the payload (4 bytes, little endian), the BLAKE3 digest of the payload (32
//! bytes) and the payload (the entry, bincode). A frame is written in one
//! call, after every blob it names is whole; a host killed in the middle of
//! one leaves a frame whose length or digest does not hold, and reading stops
//! there (that entry was never reported durable).
//!
//! When the run ends, the database has every entry and the journal is removed.
//! A journal nobody holds the lock of was left by a host that died: the next
//! open of the store commits what it holds ([`recover`]) and removes it. Two
//! runs never read each other's live journals.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Entry, StateStore, StoreError};
use crate::privdir;

/// The journals' directory inside the state directory.
pub(super) const JOURNAL_DIR: &str = "journal";

/// A frame larger than this is damage, not an entry.
const MAX_FRAME: usize = 64 << 20;

/// How a frame's payload is encoded.
fn config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// One run's journal, locked while it lives.
#[derive(Debug)]
pub(super) struct Journal {
    file: Mutex<File>,
    path: PathBuf,
    sync: bool,
}

impl Journal {
    /// A new journal in the state directory `dir`, locked for this run.
    pub(super) fn create(dir: &Path, sync: bool) -> Result<Journal, String> {
        let jdir = dir.join(JOURNAL_DIR);
        privdir::prepare_dir(&jdir, "use another --state-dir")?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = jdir.join(format!("{}-{nanos}.log", std::process::id()));
        let file = privdir::create_private_file(&path)
            .map_err(|e| format!("cannot create the journal `{}`: {e}", path.display()))?;
        file.try_lock()
            .map_err(|e| format!("cannot lock the journal `{}`: {e}", path.display()))?;
        if sync {
            privdir::sync_dir(&jdir)
                .map_err(|e| format!("cannot flush `{}`: {e}", jdir.display()))?;
        }
        Ok(Journal {
            file: Mutex::new(file),
            path,
            sync,
        })
    }

    /// Append `entry`: durable against a crash of the process when this
    /// returns (and against power loss with `sync`).
    pub(super) fn append(&self, entry: &Entry) -> Result<(), String> {
        let payload = bincode::encode_to_vec(entry, config())
            .map_err(|e| format!("cannot encode an entry: {e}"))?;
        let len = u32::try_from(payload.len()).map_err(|_| "an entry too large".to_owned())?;
        let mut frame = Vec::with_capacity(36 + payload.len());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(blake3::hash(&payload).as_bytes());
        frame.extend_from_slice(&payload);
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        privdir::before_write();
        file.write_all(&frame)
            .map_err(|e| format!("cannot write the journal `{}`: {e}", self.path.display()))?;
        if self.sync {
            file.sync_data()
                .map_err(|e| format!("cannot flush the journal `{}`: {e}", self.path.display()))?;
        }
        Ok(())
    }

    /// Remove the journal: every entry it holds is in the database.
    pub(super) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The whole frames of `bytes`, in order, up to the first that does not hold.
fn frames(bytes: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 36 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_FRAME || rest.len() < 36 + len {
            break;
        }
        let payload = &rest[36..36 + len];
        if blake3::hash(payload).as_bytes() != &rest[4..36] {
            break;
        }
        match bincode::decode_from_slice::<Entry, _>(payload, config()) {
            Ok((entry, used)) if used == len => out.push(entry),
            _ => break,
        }
        rest = &rest[36 + len..];
    }
    out
}

/// Commit the entries of every journal a dead host left, and remove them;
/// how many entries were committed. A journal another run holds is left to it.
pub(super) fn recover(store: &StateStore) -> Result<usize, StoreError> {
    let jdir = store.dir().join(JOURNAL_DIR);
    let Ok(list) = std::fs::read_dir(&jdir) else {
        return Ok(0);
    };
    let mut recovered = 0;
    for item in list.flatten() {
        let path = item.path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let Ok(mut file) = privdir::open_no_follow(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue; // a live run's
        }
        // Removed by another recovery between the listing and the lock.
        use std::os::unix::fs::MetadataExt;
        if file.metadata().map_or(true, |m| m.nlink() == 0) {
            continue;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| {
            StoreError::Io(format!("cannot read the journal `{}`: {e}", path.display()))
        })?;
        for entry in frames(&bytes) {
            // An entry whose blobs are not all there is dropped (the proc
            // re-runs), not the journal.
            match store.record(&entry) {
                Ok(()) => recovered += 1,
                Err(StoreError::Corrupt { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        std::fs::remove_file(&path).map_err(|e| {
            StoreError::Io(format!(
                "cannot remove the journal `{}`: {e}",
                path.display()
            ))
        })?;
    }
    Ok(recovered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn entry(n: u8) -> Entry {
        Entry {
            key: Digest([n; 32]),
            trace: None,
            proc: format!("p{n}"),
            module: Digest([9; 32]),
            state: "SUCCEEDED".into(),
            result: None,
            outputs: None,
            material: Some("{}".into()),
            inline: Some(n.to_string()),
            blobs: Vec::new(),
            finished_at_ms: 1,
            duration_ms: 2,
        }
    }

    fn frame_of(e: &Entry) -> Vec<u8> {
        let payload = bincode::encode_to_vec(e, config()).unwrap();
        let mut f = (payload.len() as u32).to_le_bytes().to_vec();
        f.extend_from_slice(blake3::hash(&payload).as_bytes());
        f.extend_from_slice(&payload);
        f
    }

    #[test]
    fn whole_frames_are_read_and_a_torn_or_damaged_one_ends_the_journal() {
        let mut bytes = frame_of(&entry(1));
        bytes.extend(frame_of(&entry(2)));
        assert_eq!(frames(&bytes), vec![entry(1), entry(2)]);
        let third = frame_of(&entry(3));
        let mut torn = bytes.clone();
        torn.extend_from_slice(&third[..third.len() - 1]);
        assert_eq!(frames(&torn).len(), 2);
        let mut damaged = bytes.clone();
        let mut bad = third.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        damaged.extend(bad);
        damaged.extend(frame_of(&entry(4)));
        assert_eq!(frames(&damaged).len(), 2, "nothing after damage is trusted");
        let mut huge = bytes;
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0; 40]);
        assert_eq!(frames(&huge).len(), 2);
    }
}
