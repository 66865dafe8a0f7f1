//! The state store: what incremental runs remember between runs.
//!
//! A directory the user names (`--state-dir`, never the module) holds:
//!
//! - `state.db`, an SQLite database (WAL journal): one row per cached proc
//!   outcome ([`Entry`]), keyed by the proc's *first key* (everything that can
//!   change its outcome except what it read) and the digest of its *trace*
//!   (what it read, checked against the disk on lookup), plus the blobs each
//!   entry needs;
//! - `blobs/`, a content-addressed directory: results, traces, output files,
//!   each under its BLAKE3 digest (`blobs/ab/abcdef…`);
//! - `journal/`, one file per live run: the entries it recorded that the
//!   database may not have yet (`journal`).
//!
//! ## Guarantees
//!
//! - The directory is this user's and nobody else can write it (as the compile
//!   cache's); outputs are restored from it, so it is trusted like compiled code.
//!   A directory that holds other files and no `state.db` is refused, so the
//!   store is never confused with the compile cache or a source tree.
//! - A blob is written to a private temporary file and renamed into place
//!   before any entry that names it is journalled or committed. A run's entry
//!   is durable when its frame is in the run's journal (one `write`, checked by
//!   its length and digest); the database takes the entries in the
//!   background, each in one transaction with the list of its blobs, and the
//!   journal is removed when the run ends with all of them committed. A
//!   journal left by a host that died is committed by the next open of the
//!   store. So a crash of the host at any moment (`kill -9` included) leaves
//!   either the whole entry or none, and an entry never names a blob that is
//!   not whole. SQLite runs with `synchronous=NORMAL` and the journal is not
//!   flushed (durable against a crash of the process); with `sync` (`--sync`)
//!   SQLite runs with `synchronous=FULL`, every journal frame is flushed
//!   before the proc is reported and blobs are flushed to the disk before the
//!   rename (durable against power loss).
//! - Every blob is checked against its digest when it is read: a damaged one is
//!   an error ([`StoreError::Corrupt`]) and the caller re-runs the proc.
//! - Two runs may share a store at once: SQLite serialises their commits (with
//!   a busy timeout), and two runs writing the same blob write the same bytes.
//! - [`StateStore::verify`] checks the database's integrity and every blob
//!   against its digest; [`StateStore::gc`] bounds the store by age and size.

mod blobs;
mod cache;
pub mod cli;
mod journal;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

pub use crate::digest::Digest;
use blobs::Blobs;
pub use cache::{StoreCache, Trusted};

pub use crate::privdir::KILL_AT_WRITE_ENV;
use crate::privdir::before_write;

/// The schema this host writes. A store with a newer one is refused.
pub const SCHEMA_VERSION: i64 = 1;

/// The database's file name inside the state directory.
pub const DB_FILE: &str = "state.db";

/// How long a write waits for another run's commit before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Blob files younger than this are never removed by [`StateStore::gc`]: a run
/// may have written them and not yet committed the entry that names them.
const GC_GRACE: Duration = Duration::from_secs(3600);

/// What went wrong with the store. Its `Display` names the store's path and,
/// where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory cannot be used.
    #[error("state store `{dir}`: {why}")]
    Dir {
        /// The state directory.
        dir: PathBuf,
        /// Why, with a hint.
        why: String,
    },
    /// The database failed.
    #[error("state store `{dir}`: {what}: {source}")]
    Db {
        /// The state directory.
        dir: PathBuf,
        /// What the store was doing.
        what: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file of the store could not be read or written.
    #[error("state store: {0}")]
    Io(String),
    /// A blob does not match its digest (or has gone).
    #[error("state store: blob {digest} is damaged ({why}); run `parproc-host state verify`")]
    Corrupt {
        /// The blob's digest, in hex.
        digest: String,
        /// What is wrong with it.
        why: String,
    },
}

/// One cached outcome of a proc.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Entry {
    /// The first key: a digest of everything that can change the outcome
    /// except what the proc read.
    pub key: Digest,
    /// The digest of the trace blob (what the proc read); `None` when it read
    /// nothing.
    pub trace: Option<Digest>,
    /// The proc's name.
    pub proc: String,
    /// The component's digest.
    pub module: Digest,
    /// The final state, as the report spells it (`SUCCEEDED`, `SKIPPED`).
    pub state: String,
    /// The digest of the result blob, if the proc returned one.
    pub result: Option<Digest>,
    /// The digest of the outputs manifest blob, if the proc wrote files.
    pub outputs: Option<Digest>,
    /// What the key was made of (JSON, kept in the database: it is small), so
    /// a later miss can say what changed.
    pub material: Option<String>,
    /// A small result (at most [`INLINE_RESULT`] bytes), kept in the
    /// database instead of a blob (`result` is then `None`), so that a hit of
    /// a proc without a trace is answered from the index the run reads once.
    pub inline: Option<String>,
    /// Every other blob the entry needs (output files named by the manifest).
    pub blobs: Vec<Digest>,
    /// When the proc finished, in milliseconds since the Unix epoch.
    pub finished_at_ms: i64,
    /// How long the proc ran, in milliseconds.
    pub duration_ms: i64,
}

impl Entry {
    /// Every blob the entry names.
    pub fn all_blobs(&self) -> impl Iterator<Item = Digest> + '_ {
        self.trace
            .iter()
            .chain(self.result.iter())
            .chain(self.outputs.iter())
            .chain(self.blobs.iter())
            .copied()
    }
}

/// Results up to this size are also kept inline in the database.
pub const INLINE_RESULT: usize = 1024;

/// The keys with an entry, and each proc's newest module and key material
/// ([`StateStore::index`]).
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Every key some entry has.
    pub keys: std::collections::HashSet<Digest>,
    /// By proc: the module digest and key material of its newest entry.
    pub last: std::collections::HashMap<String, (Digest, Option<String>)>,
    /// Keys whose untraced success has a small result inline: the result.
    pub hits: std::collections::HashMap<Digest, String>,
    /// Keys of [`Index::hits`] used (or recorded) within [`USED_FRESH`]:
    /// marking them used again would not change `gc`'s order by more than that.
    pub fresh: std::collections::HashSet<Digest>,
}

/// How recent a use of an entry must be for a hit not to mark it again.
pub const USED_FRESH: Duration = Duration::from_secs(3600);

/// What [`StateStore::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// SQLite's `integrity_check` answer (`ok` when sound).
    pub integrity: String,
    /// Entries in the database.
    pub entries: u64,
    /// Blob files checked against their digests.
    pub blobs: u64,
    /// Blob files whose content does not match their name, with the reason.
    pub damaged: Vec<(String, String)>,
    /// Blobs an entry names that are not in the store.
    pub missing: Vec<String>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.integrity == "ok" && self.damaged.is_empty() && self.missing.is_empty()
    }
}

/// What [`StateStore::gc`] removed and what is left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Entries removed.
    pub entries_removed: u64,
    /// Blob files removed.
    pub blobs_removed: u64,
    /// Bytes of blobs left.
    pub bytes_left: u64,
}

/// An open state store. Methods block on SQLite and the disk: call them off
/// the async threads (`spawn_blocking`).
#[derive(Debug)]
pub struct StateStore {
    dir: PathBuf,
    db: Mutex<Connection>,
    blobs: Blobs,
    sync: bool,
}

impl StateStore {
    /// Open (or create) the store in `dir`. With `sync`, every commit and blob
    /// is flushed to the disk (durable against power loss).
    pub fn open(dir: &Path, sync: bool) -> Result<StateStore, StoreError> {
        let dir_err = |why: String| StoreError::Dir {
            dir: dir.to_owned(),
            why,
        };
        let db_path = dir.join(DB_FILE);
        if dir.is_dir() && !db_path.exists() {
            let mut entries = std::fs::read_dir(dir).map_err(|e| dir_err(e.to_string()))?;
            if entries.next().is_some() {
                return Err(dir_err(format!(
                    "holds other files and no `{DB_FILE}`, so it is not a state store; \
                     give --state-dir an empty or new directory"
                )));
            }
        }
        crate::privdir::prepare_dir(
            dir,
            "use a directory only you can write (`chmod go-w`), or another --state-dir",
        )
        .map_err(dir_err)?;
        let blobs = Blobs::open(dir.join("blobs"), sync).map_err(dir_err)?;
        // Created private (SQLite gives its journal files the database's mode).
        match crate::privdir::create_private_file(&db_path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(dir_err(format!("cannot create `{DB_FILE}`: {e}"))),
        }
        let db = Connection::open(&db_path).map_err(|source| StoreError::Db {
            dir: dir.to_owned(),
            what: "cannot open the database",
            source,
        })?;
        let store = StateStore {
            dir: dir.to_owned(),
            db: Mutex::new(db),
            blobs,
            sync,
        };
        store.init()?;
        journal::recover(&store)?;
        Ok(store)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn db_err(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Db {
            dir: self.dir.clone(),
            what,
            source,
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (its own
        // transactions roll back), so a poisoned lock is still usable.
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn init(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(self.db_err("cannot set the busy timeout"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(self.db_err("cannot switch to the WAL journal"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Dir {
                dir: self.dir.clone(),
                why: format!(
                    "SQLite refused the WAL journal (got `{mode}`); use a local filesystem"
                ),
            });
        }
        let sync = if self.sync { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(self.db_err("cannot set synchronous"))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(self.db_err("cannot enable foreign keys"))?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(self.db_err("cannot begin the schema transaction"))?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta(
                 name TEXT PRIMARY KEY,
                 value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS entries(
                 id INTEGER PRIMARY KEY,
                 key BLOB NOT NULL,
                 trace BLOB NOT NULL,
                 proc TEXT NOT NULL,
                 module BLOB NOT NULL,
                 state TEXT NOT NULL,
                 result BLOB,
                 outputs BLOB,
                 material TEXT,
                 inline TEXT,
                 finished_at INTEGER NOT NULL,
                 duration_ms INTEGER NOT NULL,
                 used_at INTEGER NOT NULL,
                 UNIQUE(key, trace));
             CREATE INDEX IF NOT EXISTS entries_by_proc ON entries(proc, finished_at);
             CREATE TABLE IF NOT EXISTS entry_blobs(
                 entry INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
                 digest BLOB NOT NULL,
                 PRIMARY KEY(entry, digest));
             CREATE INDEX IF NOT EXISTS entry_blobs_by_digest ON entry_blobs(digest);
             CREATE TABLE IF NOT EXISTS stat_cache(
                 dev INTEGER NOT NULL,
                 ino INTEGER NOT NULL,
                 size INTEGER NOT NULL,
                 mtime_ns INTEGER NOT NULL,
                 ctime_ns INTEGER NOT NULL,
                 digest BLOB NOT NULL,
                 saved_at INTEGER NOT NULL,
                 PRIMARY KEY(dev, ino));",
        )
        .map_err(self.db_err("cannot create the schema"))?;
        let found: Option<i64> = tx
            .query_row("SELECT value FROM meta WHERE name = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.db_err("cannot read the schema version"))?;
        match found {
            None => {
                tx.execute(
                    "INSERT INTO meta(name, value) VALUES ('schema', ?1)",
                    params![SCHEMA_VERSION],
                )
                .map_err(self.db_err("cannot write the schema version"))?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::Dir {
                    dir: self.dir.clone(),
                    why: format!(
                        "was written by a newer parproc-host (schema {v}, this one knows {SCHEMA_VERSION}); \
                         use that host or another --state-dir"
                    ),
                });
            }
            Some(_) => {}
        }
        tx.commit().map_err(self.db_err("cannot commit the schema"))
    }

    /// Store `bytes` as a blob; its digest names it.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        self.blobs.put(bytes).map_err(StoreError::Io)
    }

    /// The blob `digest`, checked against it; `Ok(None)` when the store does
    /// not have it.
    pub fn blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, StoreError> {
        self.blobs.get(digest)
    }

    /// Commit `entry` (its blobs must be stored first). An entry with the same
    /// key and trace is replaced.
    pub fn record(&self, entry: &Entry) -> Result<(), StoreError> {
        self.record_many(std::slice::from_ref(entry))
    }

    /// Commit `entries` in one transaction (group commit: one WAL append for
    /// many procs). Their blobs must be stored first; an entry naming a blob
    /// that is not there fails the whole batch, and nothing is committed.
    pub fn record_many(&self, entries: &[Entry]) -> Result<(), StoreError> {
        self.commit(entries, &[])
    }

    /// Commit `entries` and remembered file digests (`crate::statcache`) in
    /// one transaction.
    pub(crate) fn commit(
        &self,
        entries: &[Entry],
        stats: &[crate::statcache::Row],
    ) -> Result<(), StoreError> {
        for entry in entries {
            for d in entry.all_blobs() {
                if !self.blobs.has(&d) {
                    return Err(StoreError::Corrupt {
                        digest: d.to_hex(),
                        why: "the entry names a blob that was not stored".into(),
                    });
                }
            }
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(self.db_err("cannot begin a write"))?;
        Self::insert(&tx, entries).map_err(self.db_err("cannot write an entry"))?;
        Self::insert_stats(&tx, stats).map_err(self.db_err("cannot save the stat cache"))?;
        before_write();
        tx.commit().map_err(self.db_err("cannot commit an entry"))
    }

    /// Insert `entries`, each replacing the one with its key and trace; the
    /// statements are prepared once for the batch.
    fn insert(tx: &rusqlite::Transaction<'_>, entries: &[Entry]) -> rusqlite::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut delete = tx.prepare_cached("DELETE FROM entries WHERE key = ?1 AND trace = ?2")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO entries(key, trace, proc, module, state, result, outputs,
                                 finished_at, duration_ms, used_at, material, inline)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8, ?10, ?11)",
        )?;
        let mut name_blob = None;
        for entry in entries {
            let trace: &[u8] = entry.trace.as_ref().map_or(&[], |d| d.0.as_slice());
            delete.execute(params![entry.key.0.as_slice(), trace])?;
            insert.execute(params![
                entry.key.0.as_slice(),
                trace,
                entry.proc,
                entry.module.0.as_slice(),
                entry.state,
                entry.result.as_ref().map(|d| d.0.as_slice()),
                entry.outputs.as_ref().map(|d| d.0.as_slice()),
                entry.finished_at_ms,
                entry.duration_ms,
                entry.material,
                entry.inline,
            ])?;
            let id = tx.last_insert_rowid();
            for d in entry.all_blobs() {
                let stmt = match &mut name_blob {
                    Some(s) => s,
                    None => name_blob.insert(tx.prepare_cached(
                        "INSERT OR IGNORE INTO entry_blobs(entry, digest) VALUES (?1, ?2)",
                    )?),
                };
                stmt.execute(params![id, d.0.as_slice()])?;
            }
        }
        Ok(())
    }

    fn insert_stats(
        tx: &rusqlite::Transaction<'_>,
        stats: &[crate::statcache::Row],
    ) -> rusqlite::Result<()> {
        if stats.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO stat_cache(dev, ino, size, mtime_ns, ctime_ns, digest, saved_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in stats {
            // SQLite integers are signed: the bits are kept as they are.
            put.execute(params![
                r.dev as i64,
                r.ino as i64,
                r.stamp.size as i64,
                r.stamp.mtime_ns,
                r.stamp.ctime_ns,
                r.digest.as_slice(),
                now,
            ])?;
        }
        Ok(())
    }

    /// Save remembered file digests (`crate::statcache`) on their own.
    pub(crate) fn save_stats(&self, stats: &[crate::statcache::Row]) -> Result<(), StoreError> {
        self.commit(&[], stats)
    }

    /// The file digests this store remembers (`crate::statcache`).
    pub fn stat_rows(&self) -> Result<Vec<crate::statcache::Row>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT dev, ino, size, mtime_ns, ctime_ns, digest FROM stat_cache")
            .map_err(self.db_err("cannot read the stat cache"))?;
        let rows = stmt
            .query_map([], |r| {
                let digest: Vec<u8> = r.get(5)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    digest,
                ))
            })
            .map_err(self.db_err("cannot read the stat cache"))?;
        let mut out = Vec::new();
        for row in rows {
            let (dev, ino, size, mtime_ns, ctime_ns, digest) =
                row.map_err(self.db_err("cannot read the stat cache"))?;
            // A row that is not whole is skipped: the file is read instead.
            let Ok(digest) = <[u8; 32]>::try_from(digest.as_slice()) else {
                continue;
            };
            out.push(crate::statcache::Row {
                dev: dev as u64,
                ino: ino as u64,
                stamp: crate::statcache::Stamp {
                    size: size as u64,
                    mtime_ns,
                    ctime_ns,
                },
                digest,
            });
        }
        Ok(out)
    }

    /// What a run needs before its first lookup, in one query: every key
    /// with an entry, and each proc's newest module digest and key material.
    pub fn index(&self) -> Result<Index, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT key, proc, module, material, length(trace) = 0, state, inline, used_at
                 FROM entries ORDER BY finished_at, id",
            )
            .map_err(self.db_err("cannot read the index"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    digest_col(r, 0)?,
                    r.get::<_, String>(1)?,
                    digest_col(r, 2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(self.db_err("cannot read the index"))?;
        let mut index = Index::default();
        let fresh_since =
            now_ms().saturating_sub(i64::try_from(USED_FRESH.as_millis()).unwrap_or(i64::MAX));
        for row in rows {
            let (key, proc, module, material, untraced, state, inline, used_at) =
                row.map_err(self.db_err("cannot read the index"))?;
            index.keys.insert(key);
            index.last.insert(proc, (module, material));
            if untraced
                && matches!(state.as_str(), "SUCCEEDED" | "SKIPPED")
                && let Some(result) = inline
            {
                index.hits.insert(key, result);
                if used_at >= fresh_since {
                    index.fresh.insert(key);
                }
            }
        }
        Ok(index)
    }

    /// The entries under `key`, newest first (one per distinct trace).
    pub fn candidates(&self, key: &Digest) -> Result<Vec<Entry>, StoreError> {
        self.entries_where("key = ?1", key.0.as_slice())
    }

    /// The newest entry of the proc `name`, if any.
    pub fn last(&self, name: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.entries_where("proc = ?1", name)?.into_iter().next())
    }

    /// Mark entries (key and trace) as used now, in one transaction (gc
    /// removes the least recently used first).
    pub fn touch_many(&self, used: &[(Digest, Option<Digest>)]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(self.db_err("cannot mark entries used"))?;
        {
            let mut update = tx
                .prepare_cached("UPDATE entries SET used_at = ?3 WHERE key = ?1 AND trace = ?2")
                .map_err(self.db_err("cannot mark entries used"))?;
            let now = now_ms();
            for (key, trace) in used {
                let trace = trace.map(|d| d.0.to_vec()).unwrap_or_default();
                update
                    .execute(params![key.0.as_slice(), trace, now])
                    .map_err(self.db_err("cannot mark entries used"))?;
            }
        }
        tx.commit().map_err(self.db_err("cannot mark entries used"))
    }

    fn entries_where(
        &self,
        cond: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<Vec<Entry>, StoreError> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, key, trace, proc, module, state, result, outputs, finished_at, duration_ms,
                    material, inline
             FROM entries WHERE {cond} ORDER BY finished_at DESC, id DESC"
        );
        let mut stmt = conn
            .prepare_cached(&sql)
            .map_err(self.db_err("cannot query entries"))?;
        let rows = stmt
            .query_map([value], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Entry {
                        key: digest_col(r, 1)?,
                        trace: opt_digest_col(r, 2)?,
                        proc: r.get(3)?,
                        module: digest_col(r, 4)?,
                        state: r.get(5)?,
                        result: opt_digest_col(r, 6)?,
                        outputs: opt_digest_col(r, 7)?,
                        blobs: Vec::new(),
                        finished_at_ms: r.get(8)?,
                        duration_ms: r.get(9)?,
                        material: r.get(10)?,
                        inline: r.get(11)?,
                    },
                ))
            })
            .map_err(self.db_err("cannot query entries"))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(self.db_err("cannot read an entry"))?);
        }
        drop(stmt);
        let mut blobs = conn
            .prepare_cached("SELECT digest FROM entry_blobs WHERE entry = ?1")
            .map_err(self.db_err("cannot query an entry's blobs"))?;
        let mut entries = Vec::with_capacity(out.len());
        for (id, mut e) in out {
            let named: Vec<Digest> = blobs
                .query_map([id], |r| digest_col(r, 0))
                .map_err(self.db_err("cannot query an entry's blobs"))?
                .collect::<Result<_, _>>()
                .map_err(self.db_err("cannot read an entry's blobs"))?;
            let own: Vec<Digest> = e.all_blobs().collect();
            e.blobs = named.into_iter().filter(|d| !own.contains(d)).collect();
            e.blobs.sort();
            entries.push(e);
        }
        Ok(entries)
    }

    /// Check the database's integrity, every blob against its digest and that
    /// every blob an entry names is there.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let conn = self.conn();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(self.db_err("cannot check integrity"))?;
        let entries: i64 = conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .map_err(self.db_err("cannot count entries"))?;
        drop(conn);
        let named = self.named_blobs()?;
        let (checked, damaged) = self.blobs.check_all().map_err(StoreError::Io)?;
        let bad: std::collections::HashSet<&str> =
            damaged.iter().map(|(d, _)| d.as_str()).collect();
        let missing = named
            .iter()
            .filter(|d| !self.blobs.has(d) && !bad.contains(d.to_hex().as_str()))
            .map(Digest::to_hex)
            .collect();
        Ok(VerifyReport {
            integrity,
            entries: entries as u64,
            blobs: checked,
            damaged,
            missing,
        })
    }

    /// Remove entries not used within `max_age`, then the least recently used
    /// while the blobs take more than `max_bytes`, then every blob no entry
    /// names (blobs younger than an hour are kept: a run may be about to
    /// commit the entry that names them).
    pub fn gc(&self, max_bytes: u64, max_age: Duration) -> Result<GcReport, StoreError> {
        self.gc_with_grace(max_bytes, max_age, GC_GRACE)
    }

    /// [`StateStore::gc`], keeping unnamed blobs younger than `grace`.
    pub(crate) fn gc_with_grace(
        &self,
        max_bytes: u64,
        max_age: Duration,
        grace: Duration,
    ) -> Result<GcReport, StoreError> {
        let cutoff =
            now_ms().saturating_sub(i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX));
        let mut report = GcReport::default();
        {
            let conn = self.conn();
            report.entries_removed +=
                conn.execute("DELETE FROM entries WHERE used_at < ?1", params![cutoff])
                    .map_err(self.db_err("cannot remove old entries"))? as u64;
            conn.execute(
                "DELETE FROM stat_cache WHERE saved_at < ?1",
                params![cutoff],
            )
            .map_err(self.db_err("cannot remove old stat cache rows"))?;
        }
        loop {
            let (removed, left) = self.remove_unnamed_blobs(grace)?;
            report.blobs_removed += removed;
            report.bytes_left = left;
            if left <= max_bytes {
                break;
            }
            let conn = self.conn();
            let n = conn
                .execute(
                    "DELETE FROM entries WHERE id = (SELECT id FROM entries ORDER BY used_at, id LIMIT 1)",
                    [],
                )
                .map_err(self.db_err("cannot remove an entry"))?;
            if n == 0 {
                break;
            }
            report.entries_removed += n as u64;
        }
        Ok(report)
    }

    /// Every blob some entry names.
    fn named_blobs(&self) -> Result<std::collections::HashSet<Digest>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT DISTINCT digest FROM entry_blobs")
            .map_err(self.db_err("cannot list blobs"))?;
        stmt.query_map([], |r| digest_col(r, 0))
            .map_err(self.db_err("cannot list blobs"))?
            .collect::<Result<_, _>>()
            .map_err(self.db_err("cannot list blobs"))
    }

    /// Remove blob files no entry names (older than the grace period); the
    /// number removed and the bytes left.
    fn remove_unnamed_blobs(&self, grace: Duration) -> Result<(u64, u64), StoreError> {
        let named = self.named_blobs()?;
        let young = SystemTime::now().checked_sub(grace).unwrap_or(UNIX_EPOCH);
        self.blobs
            .retain(|d, modified| named.contains(d) || (!grace.is_zero() && modified > young))
            .map_err(StoreError::Io)
    }
}

fn digest_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Digest> {
    let bytes: Vec<u8> = r.get(i)?;
    Digest::from_slice(&bytes).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("a digest of {} bytes", bytes.len()).into(),
        )
    })
}

fn opt_digest_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Digest>> {
    let bytes: Option<Vec<u8>> = r.get(i)?;
    match bytes {
        None => Ok(None),
        Some(b) if b.is_empty() => Ok(None),
        Some(b) => Digest::from_slice(&b).map(Some).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                i,
                rusqlite::types::Type::Blob,
                format!("a digest of {} bytes", b.len()).into(),
            )
        }),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
