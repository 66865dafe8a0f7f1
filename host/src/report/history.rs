//! How long procs took in earlier runs, for the live view's estimate of the
//! time left (parproc's task DB durations).
//!
//! One small JSON file per module, in `$PARPROC_HISTORY_DIR`, `--history-dir`,
//! or the per-user cache directory (`$XDG_CACHE_HOME/parproc/history`, else
//! `~/.cache/parproc/history`; `~/Library/Caches/parproc/history` on macOS,
//! `%LOCALAPPDATA%\parproc\history` on Windows). The file is named after the
//! module's file name and a hash of its full path, and keeps the last
//! [`WINDOW`] durations of each proc (at most [`MAX_PROCS`] procs, the least
//! recently run dropped first). It is replaced atomically (write, then
//! rename); a missing, unreadable or corrupt file is an empty history, never an
//! error.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::logs::{fnv1a, safe_stem};

/// The environment variable that sets the history directory.
pub const HISTORY_DIR_ENV: &str = "PARPROC_HISTORY_DIR";
/// Runs kept (and weighed) per proc.
pub const WINDOW: usize = 10;
/// The weight of each older run relative to the next newer one.
pub const DECAY: f64 = 0.8;
/// Most procs kept per module.
pub const MAX_PROCS: usize = 10_000;
/// The file format's version.
const VERSION: u32 = 1;

/// One earlier run of a proc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Seconds it took.
    pub secs: f64,
    /// Whether it succeeded.
    pub ok: bool,
    /// When it ended, in seconds since the Unix epoch.
    pub at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    module: String,
    /// Newest run last.
    procs: BTreeMap<String, Vec<Run>>,
}

/// The per-user default history directory, if one can be found.
pub fn default_history_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(HISTORY_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let cache = if cfg!(windows) {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Caches"))
    } else {
        env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))
    }?;
    Some(cache.join("parproc").join("history"))
}

/// A module's history, loaded at the start of a run and saved at its end.
#[derive(Debug)]
pub struct History {
    path: Option<PathBuf>,
    file: File,
}

impl History {
    /// No history: nothing is read or written.
    pub fn disabled() -> Self {
        History {
            path: None,
            file: File::default(),
        }
    }

    /// The history of `module` in `dir` (empty if there is none yet).
    pub fn load(dir: &Path, module: &Path) -> Self {
        let full = module
            .canonicalize()
            .unwrap_or_else(|_| module.to_path_buf());
        let stem = module
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = safe_stem(&stem);
        let stem = stem.split('~').next().unwrap_or("module");
        let name = format!(
            "{stem}-{:016x}.json",
            fnv1a(full.to_string_lossy().as_bytes())
        );
        let path = dir.join(name);
        let file = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<File>(&bytes) {
                Ok(f) if f.version == VERSION => f,
                Ok(f) => {
                    tracing::debug!(path = %path.display(), version = f.version, "ignoring history of another version");
                    File::default()
                }
                Err(e) => {
                    tracing::warn!("ignoring unreadable history `{}`: {e}", path.display());
                    File::default()
                }
            },
            Err(_) => File::default(),
        };
        History {
            path: Some(path),
            file: File {
                version: VERSION,
                module: full.display().to_string(),
                ..file
            },
        }
    }

    /// The file this history lives in (`None` when disabled).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The expected duration of `proc_name`: the mean of its last [`WINDOW`]
    /// successful runs, the i-th newest weighed [`DECAY`]^i; `None` without one.
    pub fn expected(&self, proc_name: &str) -> Option<Duration> {
        let runs = self.file.procs.get(proc_name)?;
        expected_of(runs)
    }

    /// The expected duration of every proc that has one.
    pub fn expected_all(&self) -> std::collections::HashMap<String, Duration> {
        self.file
            .procs
            .iter()
            .filter_map(|(k, runs)| Some((k.clone(), expected_of(runs)?)))
            .collect()
    }

    /// Add a run of `proc_name`.
    pub fn record(&mut self, proc_name: &str, took: Duration, ok: bool) {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let runs = self.file.procs.entry(proc_name.to_owned()).or_default();
        runs.push(Run {
            secs: took.as_secs_f64(),
            ok,
            at,
        });
        if runs.len() > WINDOW {
            runs.drain(..runs.len() - WINDOW);
        }
    }

    /// Write the history back (atomically). Does nothing when disabled.
    pub fn save(&mut self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if self.file.procs.len() > MAX_PROCS {
            let mut by_age: Vec<(u64, String)> = self
                .file
                .procs
                .iter()
                .map(|(k, v)| (v.last().map_or(0, |r| r.at), k.clone()))
                .collect();
            by_age.sort();
            let drop = self.file.procs.len() - MAX_PROCS;
            for (_, k) in by_age.into_iter().take(drop) {
                self.file.procs.remove(&k);
            }
        }
        let what = || format!("cannot write history `{}`", path.display());
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", what()))?;
        }
        let json = serde_json::to_vec(&self.file).map_err(|e| format!("{}: {e}", what()))?;
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        fs::write(&tmp, json).map_err(|e| format!("{}: {e}", what()))?;
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            format!("{}: {e}", what())
        })
    }
}

/// The weighted mean duration of the successful runs among the last [`WINDOW`].
pub fn expected_of(runs: &[Run]) -> Option<Duration> {
    let mut total = 0.0;
    let mut weights = 0.0;
    let mut w = 1.0;
    for run in runs.iter().rev().take(WINDOW).filter(|r| r.ok) {
        if run.secs.is_finite() && run.secs >= 0.0 {
            total += run.secs * w;
            weights += w;
        }
        w *= DECAY;
    }
    if weights == 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(total / weights).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(secs: f64, ok: bool) -> Run {
        Run { secs, ok, at: 0 }
    }

    #[test]
    fn weighs_newer_runs_more() {
        // parproc's test: 0.15 s then 0.05 s → about 0.094 s.
        let e = expected_of(&[run(0.15, true), run(0.05, true)]).unwrap();
        assert!((e.as_secs_f64() - 0.17 / 1.8).abs() < 1e-9, "{e:?}");
        assert!(e.as_secs_f64() > 0.03 && e.as_secs_f64() < 0.12);
        // Failed runs are left out; no successful run means no estimate.
        let e = expected_of(&[run(1.0, true), run(100.0, false)]).unwrap();
        assert_eq!(e, Duration::from_secs(1));
        assert_eq!(expected_of(&[run(1.0, false)]), None);
        assert_eq!(expected_of(&[]), None);
    }

    #[test]
    fn saves_loads_and_survives_corruption() {
        let dir = std::env::temp_dir().join(format!("parproc-history-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let module = Path::new("/some/where/jobs.wasm");
        let mut h = History::load(&dir, module);
        assert_eq!(h.expected("a"), None);
        for _ in 0..15 {
            h.record("a", Duration::from_secs(2), true);
        }
        h.record("b::[x]", Duration::from_millis(500), true);
        h.save().unwrap();
        let path = h.path().unwrap().to_path_buf();
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("jobs-")
        );
        let h = History::load(&dir, module);
        assert_eq!(h.expected("a"), Some(Duration::from_secs(2)));
        assert_eq!(h.expected("b::[x]"), Some(Duration::from_millis(500)));
        assert_eq!(h.file.procs["a"].len(), WINDOW);
        // Another module has its own file.
        assert_eq!(
            History::load(&dir, Path::new("/else/jobs.wasm")).expected("a"),
            None
        );
        fs::write(&path, b"{ not json").unwrap();
        let mut h = History::load(&dir, module);
        assert_eq!(h.expected("a"), None);
        h.save().unwrap();
        fs::remove_dir_all(&dir).unwrap();
        // Disabled history writes nothing.
        let mut off = History::disabled();
        off.record("a", Duration::from_secs(1), true);
        off.save().unwrap();
        assert!(!dir.exists());
    }
}
