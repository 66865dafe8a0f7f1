//! Per-proc log files: `<log-dir>/<run>/<proc>.log`.
//!
//! A run's directory is made the first time a proc has output to keep, so a
//! run whose procs print nothing leaves nothing behind. Its name is the UTC
//! start time and the module's name (`20260301-123456-build_deploy`), with
//! `-2`, `-3`, … appended when two runs start in the same second; it is created
//! with `create_dir`, so two runs never share one.
//!
//! Proc names become file names through [`safe_stem`]: characters outside a
//! small safe set (`::`, `/`, `\`, spaces, quotes, control characters …) become
//! `_`, a leading or trailing dot becomes `_` (so `..` and hidden files cannot
//! appear), names reserved on Windows get a `_` in front, and long names are
//! cut. Whenever the name had to change, `~` and eight hex digits of a hash of
//! the original name follow, so `a::b` and `a__b` get different files. A run
//! also hands out each file name once (compared without case, for
//! case-insensitive file systems), adding `~2`, `~3`, … if it must.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::ProcRecord;
use super::clock;
use crate::outcome::ProcState;

/// The environment variable that sets the default log directory.
pub const LOG_DIR_ENV: &str = "PARPROC_LOG_DIR";
/// The longest file-name stem, in bytes, before the hash suffix.
const MAX_STEM: usize = 100;

/// The default directory that holds run directories: `$PARPROC_LOG_DIR`, else
/// `parproc-logs-<user>` in the system's temporary directory.
pub fn default_log_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(LOG_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .map(|u| safe_stem(&u))
        .unwrap_or_default();
    let name = if user.is_empty() {
        "parproc-logs".to_owned()
    } else {
        format!("parproc-logs-{user}")
    };
    std::env::temp_dir().join(name)
}

/// A safe, portable file-name stem for a proc name (see the module docs).
pub fn safe_stem(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut changed = false;
    for c in name.chars() {
        if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '=' | '@' | ',') {
            out.push(c);
        } else {
            out.push('_');
            changed = true;
        }
    }
    if out.starts_with('.') {
        out.replace_range(..1, "_");
        changed = true;
    }
    if out.ends_with('.') {
        out.pop();
        out.push('_');
        changed = true;
    }
    if is_reserved_on_windows(&out) {
        out.insert(0, '_');
        changed = true;
    }
    if out.len() > MAX_STEM {
        let mut cut = MAX_STEM;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        changed = true;
    }
    if out.is_empty() {
        out.push('_');
        changed = true;
    }
    if changed {
        out.push_str(&format!("~{:08x}", fnv1a(name.as_bytes()) as u32));
    }
    out
}

fn is_reserved_on_windows(stem: &str) -> bool {
    let base = stem.split('.').next().unwrap_or("").to_ascii_uppercase();
    matches!(base.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((base.starts_with("COM") || base.starts_with("LPT"))
            && base.len() == 4
            && base.as_bytes()[3].is_ascii_digit())
}

/// FNV-1a, 64 bits: a stable hash (unlike `std`'s, which may change between releases).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The text of a proc's log file: its output, then (for a proc that ran and
/// failed with a message) that message on a line of its own, as parproc writes
/// a `ProcFailedError` message to the log. `None` when there is nothing to keep
/// (a proc that printed nothing, or never ran).
pub fn log_text(rec: &ProcRecord) -> Option<String> {
    let mut text = match &rec.log {
        Some(log) if !log.is_empty() => log.render(),
        _ => String::new(),
    };
    // Only a proc that ran has a log; one that never ran gets no file.
    if rec.log.is_some()
        && matches!(rec.state, ProcState::Failed | ProcState::Cancelled)
        && let Some(f) = &rec.failure
        && !f.message.is_empty()
    {
        text.push_str(&f.message);
        text.push('\n');
    }
    (!text.is_empty()).then_some(text)
}

/// The log directory of one run.
#[derive(Debug)]
pub struct LogDir {
    root: PathBuf,
    run: String,
    state: Mutex<DirState>,
}

#[derive(Debug, Default)]
struct DirState {
    /// The run directory once made.
    dir: Option<PathBuf>,
    /// File names handed out, lower-cased.
    used: HashSet<String>,
    /// Proc name → its file.
    files: HashMap<String, PathBuf>,
}

impl LogDir {
    /// The log directory for a run of `module` under `root` (nothing is created yet).
    pub fn new(root: PathBuf, module: &Path, started: SystemTime) -> Self {
        let stem = module
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        let stem = safe_stem(&stem);
        let stem = stem.split('~').next().unwrap_or("run");
        LogDir {
            root,
            run: format!("{}-{stem}", clock::stamp(started)),
            state: Mutex::new(DirState::default()),
        }
    }

    /// The directory that holds run directories.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This run's directory, once a log was written.
    pub fn run_dir(&self) -> Option<PathBuf> {
        self.lock().dir.clone()
    }

    /// The file written for `proc_name`, if any.
    pub fn path_of(&self, proc_name: &str) -> Option<PathBuf> {
        self.lock().files.get(proc_name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DirState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write `text` as the log of `proc_name`; returns its path. A proc written
    /// twice keeps its file (the second write replaces the text).
    pub fn write(&self, proc_name: &str, text: &str) -> Result<PathBuf, String> {
        let path = {
            let mut st = self.lock();
            let dir = match &st.dir {
                Some(d) => d.clone(),
                None => {
                    let d = self.make_run_dir()?;
                    st.dir = Some(d.clone());
                    d
                }
            };
            match st.files.get(proc_name) {
                Some(p) => p.clone(),
                None => {
                    let stem = safe_stem(proc_name);
                    let mut file = format!("{stem}.log");
                    let mut n = 2;
                    while st.used.contains(&file.to_lowercase()) {
                        file = format!("{stem}~{n}.log");
                        n += 1;
                    }
                    st.used.insert(file.to_lowercase());
                    let p = dir.join(file);
                    st.files.insert(proc_name.to_owned(), p.clone());
                    p
                }
            }
        };
        fs::write(&path, text)
            .map_err(|e| format!("cannot write log `{}`: {e}", path.display()))?;
        Ok(path)
    }

    fn make_run_dir(&self) -> Result<PathBuf, String> {
        fs::create_dir_all(&self.root)
            .map_err(|e| format!("cannot create log directory `{}`: {e}", self.root.display()))?;
        for n in 1..10_000 {
            let name = if n == 1 {
                self.run.clone()
            } else {
                format!("{}-{n}", self.run)
            };
            let dir = self.root.join(name);
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(format!(
                        "cannot create log directory `{}`: {e}",
                        dir.display()
                    ));
                }
            }
        }
        Err(format!(
            "cannot create a log directory for this run in `{}`: too many runs named `{}`",
            self.root.display(),
            self.run
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(safe_stem("func0"), "func0");
        assert_eq!(safe_stem("a_b-c.d"), "a_b-c.d");
        assert_eq!(safe_stem("ünïcödé"), "ünïcödé");
    }

    #[test]
    fn odd_names_map_to_safe_distinct_stems() {
        let hostile = [
            "build::prod",
            "build__prod",
            "a/b",
            "a\\b",
            "../../etc/passwd",
            "..",
            ".",
            ".hidden",
            "trailing.",
            "sp ace",
            "tab\there",
            "esc\u{1b}[2J",
            "quote\"d",
            "star*?",
            "CON",
            "con.txt",
            "LPT1",
            "",
            &"x".repeat(300),
            &"é".repeat(300),
        ];
        let mut seen = HashSet::new();
        for name in hostile {
            let s = safe_stem(name);
            assert!(!s.is_empty());
            assert!(s.len() <= MAX_STEM + 9, "{s}");
            assert!(!s.starts_with('.') && !s.ends_with('.'), "{s}");
            assert!(
                s.chars()
                    .all(|c| c.is_alphanumeric() || "-_.+=@,~".contains(c)),
                "{name:?} → {s:?}"
            );
            assert!(!is_reserved_on_windows(&s), "{s}");
            assert!(seen.insert(s.to_lowercase()), "{name:?} collides: {s}");
        }
        assert!(safe_stem("build::prod").starts_with("build__prod~"));
    }

    #[test]
    fn a_run_hands_out_each_file_once() {
        let tmp = std::env::temp_dir().join(format!("parproc-logs-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let logs = LogDir::new(tmp.clone(), Path::new("/x/jobs.wasm"), SystemTime::now());
        assert!(logs.run_dir().is_none(), "nothing is made before a write");
        let a = logs.write("Func", "one\n").unwrap();
        let b = logs.write("func", "two\n").unwrap();
        assert_ne!(
            a.to_string_lossy().to_lowercase(),
            b.to_string_lossy().to_lowercase()
        );
        let a2 = logs.write("Func", "three\n").unwrap();
        assert_eq!(a, a2);
        assert_eq!(fs::read_to_string(&a).unwrap(), "three\n");
        let dir = logs.run_dir().unwrap();
        assert!(dir.starts_with(&tmp));
        assert!(
            dir.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("-jobs")
        );
        // A second run in the same second gets its own directory.
        let other = LogDir::new(tmp.clone(), Path::new("/x/jobs.wasm"), SystemTime::now());
        other.write("x", "x\n").unwrap();
        assert_ne!(other.run_dir(), logs.run_dir());
        fs::remove_dir_all(&tmp).unwrap();
    }
}
