//! What `parproc-host watch` watches, and which procs a change makes dirty
//! (docs/watch.md).
//!
//! The watch set is built from what each proc of the last run saw: its traced
//! reads (files, directories, listings, stats, paths it found absent) and its
//! declared inputs, as host paths; a proc with no recorded trace (it failed, or
//! was not remembered) is watched through every directory it was granted. A
//! change marks a proc when one of its watched paths equals the changed path,
//! lies below it (a directory on its way created, removed or renamed) or is a
//! directory containing it, unless its `inputs_ignore` removes the path
//! from its declared inputs. A change to a file the run itself wrote is not a
//! change when the file still holds what the run left there (the user's later
//! edit of it is).

pub(crate) mod cmd;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::trace::{Left, Seen, Trace};

/// One proc's watched paths.
#[derive(Debug, Clone, Default)]
struct Watched {
    /// Paths it read, opened or stated: a change of the path itself marks it.
    exact: BTreeSet<PathBuf>,
    /// Directories it listed: the directory or an entry of it.
    listed: BTreeSet<PathBuf>,
    /// Paths it found absent: the path, or an ancestor of it, appearing.
    absent: BTreeSet<PathBuf>,
    /// Whole trees (the grants of a proc without a trace; a path with `..`):
    /// anything below.
    trees: BTreeSet<PathBuf>,
    /// Its declared inputs: the grant's host root and guest root, and the
    /// `inputs_ignore` entries (matched against the guest path). A new
    /// matching file may appear anywhere below the root.
    declared: Vec<(PathBuf, String, Vec<String>)>,
}

impl Watched {
    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.exact
            .iter()
            .chain(&self.listed)
            .chain(&self.absent)
            .chain(&self.trees)
            .chain(self.declared.iter().map(|(h, _, _)| h))
    }

    fn marks(&self, c: &Path) -> bool {
        // A path itself, or a directory above it created, removed or renamed
        // (the path may now lead elsewhere).
        has_under(&self.exact, c)
            || has_under(&self.listed, c)
            || c.parent().is_some_and(|p| self.listed.contains(p))
            || has_under(&self.absent, c)
            || (!self.trees.is_empty() && c.ancestors().any(|a| self.trees.contains(a)))
            || self.declared.iter().any(|(host, guest, ignore)| {
                c.strip_prefix(host).is_ok_and(|rel| {
                    let g = format!("{}/{}", guest.trim_end_matches('/'), rel.to_string_lossy());
                    !crate::declared::ignored(g.trim_end_matches('/'), ignore)
                })
            })
    }
}

/// Whether `set` holds `c` or a path below it. Paths order component by
/// component, so those below `c` follow it at once: one look, not a scan
/// (a 1,000-proc graph reading 100 files each is 100,000 paths).
fn has_under(set: &BTreeSet<PathBuf>, c: &Path) -> bool {
    set.range::<Path, _>((std::ops::Bound::Included(c), std::ops::Bound::Unbounded))
        .next()
        .is_some_and(|e| e.starts_with(c))
}

/// The watch set of one run. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct WatchSet {
    procs: BTreeMap<String, Watched>,
    /// Host paths the run wrote, and the digest of what it left there.
    outputs: BTreeMap<PathBuf, Option<String>>,
    /// Files the procs read and the digest they saw (`None` when two procs
    /// saw different bytes).
    inputs: BTreeMap<PathBuf, Option<String>>,
}

/// The host path of a trace place (`Ok`), or the grant's root when the path
/// has a `..` (`Err`: watched as a whole tree).
fn host_of(trace: &Trace, at: &crate::trace::At) -> Option<Result<PathBuf, PathBuf>> {
    let root = trace.roots.host(&at.root)?;
    let mut p = root.to_path_buf();
    for seg in at.path.iter().flat_map(|s| s.split('/')) {
        match seg {
            "" | "." => {}
            ".." => return Some(Err(root.to_path_buf())),
            s => p.push(s),
        }
    }
    Some(Ok(p))
}

impl WatchSet {
    /// Add what `proc` saw, from its recorded trace.
    pub fn add_trace(&mut self, proc: &str, trace: &Trace) {
        let w = self.procs.entry(proc.to_owned()).or_default();
        for seen in &trace.seen {
            match seen {
                Seen::Declared { at, ignore, .. } => {
                    if let Some(root) = trace.roots.host(&at.root) {
                        w.declared
                            .push((root.to_path_buf(), at.root.clone(), ignore.clone()));
                    }
                }
                other => match host_of(trace, other.at()) {
                    Some(Ok(p)) => {
                        match other {
                            Seen::File { digest, .. } => {
                                let d =
                                    self.inputs.entry(p.clone()).or_insert(Some(digest.clone()));
                                if d.as_deref() != Some(digest.as_str()) {
                                    *d = None;
                                }
                                w.exact.insert(p);
                            }
                            Seen::Listing { .. } => {
                                w.listed.insert(p);
                            }
                            Seen::Missing { .. } => {
                                w.absent.insert(p);
                            }
                            _ => {
                                w.exact.insert(p);
                            }
                        };
                    }
                    Some(Err(root)) => {
                        w.trees.insert(root);
                    }
                    None => {}
                },
            }
        }
        for (at, left) in &trace.outputs {
            if let Some(Ok(p)) = host_of(trace, at) {
                let digest = match left {
                    Left::File(d) => Some(d.clone()),
                    Left::Dir | Left::Absent => None,
                };
                self.outputs.insert(p, digest);
            }
        }
    }

    /// Watch `proc` through whole directories (it has no recorded trace).
    pub fn add_dirs(&mut self, proc: &str, dirs: &[PathBuf]) {
        let w = self.procs.entry(proc.to_owned()).or_default();
        w.trees.extend(dirs.iter().cloned());
    }

    /// How many paths are watched, over every proc.
    pub fn path_count(&self) -> usize {
        self.procs
            .values()
            .flat_map(Watched::all)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// The minimal set of directories to watch, recursively: each path's own
    /// directory if it is one, else its nearest existing ancestor (a path
    /// recorded as absent is watched there), nested ones collapsed into the
    /// outermost.
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .procs
            .values()
            .flat_map(Watched::all)
            .filter_map(|p| {
                let mut d = p.as_path();
                loop {
                    if d.is_dir() {
                        return Some(d.to_path_buf());
                    }
                    d = d.parent()?;
                }
            })
            .collect();
        dirs.sort();
        dirs.dedup();
        let mut out: Vec<PathBuf> = Vec::new();
        for d in dirs {
            if !out.iter().any(|o| d.starts_with(o)) {
                out.push(d);
            }
        }
        out
    }

    /// Whether an event at `path` changed nothing the procs saw: the file
    /// still holds what the run left there (its own write), or what the procs
    /// read (a new atime, a `touch`). A later edit of either file is a change.
    pub fn is_unchanged(&self, path: &Path) -> bool {
        // Through the stat cache: an event that changed only the atime does
        // not read the file again.
        let holds = |digest: &str| {
            let (Some(parent), Some(name)) =
                (path.parent(), path.file_name().and_then(|n| n.to_str()))
            else {
                return false;
            };
            cap_std::fs::Dir::open_ambient_dir(parent, cap_std::ambient_authority())
                .and_then(|d| crate::statcache::global().digest_at(&d, name, true))
                .is_ok_and(|d| d == digest)
        };
        match (self.outputs.get(path), self.inputs.get(path)) {
            (Some(Some(d)), _) | (None, Some(Some(d))) => holds(d),
            (Some(None), _) => path.is_dir() || !path.exists(),
            _ => false,
        }
    }

    /// Whether a change at `path` marks any proc.
    pub fn touches(&self, path: &Path) -> bool {
        self.procs.values().any(|w| w.marks(path))
    }

    /// The procs a change at any of `changed` marks (sorted).
    pub fn dirty(&self, changed: &[PathBuf]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (name, w) in &self.procs {
            if changed.iter().any(|c| w.marks(c)) {
                out.insert(name.clone());
            }
        }
        out
    }
}

/// parproc's event lines (§23.3 of its spec, as docs/watch.md quotes them):
/// the dirty procs and the changed paths, each sorted.
pub fn event_text(dirty: &BTreeSet<String>, changed: &[PathBuf]) -> String {
    let mut paths: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
    paths.sort();
    paths.dedup();
    let mut s = format!(
        "! Watch: detected changes in {} proc(s); changes:\n",
        dirty.len()
    );
    for p in &paths {
        s.push_str(&format!("    {p}\n"));
    }
    s.push_str("  rescheduling:\n");
    for d in dirty {
        s.push_str(&format!("    {d}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{At, Kind, Roots};

    fn at(path: &[&str]) -> At {
        At {
            root: "/data".into(),
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            follow: true,
        }
    }

    fn trace(seen: Vec<Seen>) -> Trace {
        Trace {
            roots: Roots(vec![("/data".into(), PathBuf::from("/h/data"))]),
            seen,
            ..Trace::default()
        }
    }

    /// The trace of a proc that read one file.
    fn read(path: &[&str]) -> Trace {
        trace(vec![Seen::File {
            at: at(path),
            digest: "d".into(),
        }])
    }

    #[test]
    fn has_under_finds_a_path_or_one_below_it_and_nothing_beside() {
        let set = |ps: &[&str]| ps.iter().map(PathBuf::from).collect::<BTreeSet<_>>();
        let c = Path::new("/h/a/b");
        assert!(has_under(&set(&["/h/a/b"]), c));
        assert!(has_under(&set(&["/h/a/b-x", "/h/a/b/c", "/h/z"]), c));
        assert!(has_under(&set(&["/h/a/b.", "/h/a/b/deep/er"]), c));
        assert!(!has_under(
            &set(&["/h/a/b-x", "/h/a/bc", "/h/a", "/h/a/a/b"]),
            c
        ));
        assert!(!has_under(&set(&[]), c));
    }

    #[test]
    fn a_read_file_marks_its_reader_and_an_unrelated_file_marks_nobody() {
        let mut w = WatchSet::default();
        w.add_trace("cat", &read(&["a.txt"]));
        w.add_trace("nested", &read(&["sub", "f.txt"]));
        w.add_trace(
            "list",
            &trace(vec![Seen::Listing {
                at: at(&["list"]),
                entries: vec![("x".into(), Kind::File)],
            }]),
        );
        let d = |p: &str| w.dirty(&[PathBuf::from(p)]);
        assert_eq!(d("/h/data/a.txt"), BTreeSet::from(["cat".to_owned()]));
        assert_eq!(
            d("/h/data/sub/f.txt"),
            BTreeSet::from(["nested".to_owned()])
        );
        assert_eq!(d("/h/data/list/new"), BTreeSet::from(["list".to_owned()]));
        assert!(d("/h/data/other.txt").is_empty());
        assert_eq!(w.path_count(), 3);
    }

    #[test]
    fn a_dotdot_path_watches_the_whole_grant_and_declared_ignores_hold() {
        let mut w = WatchSet::default();
        w.add_trace("up", &read(&["sub/../a.txt"]));
        assert_eq!(
            w.dirty(&[PathBuf::from("/h/data/zzz")]),
            BTreeSet::from(["up".to_owned()])
        );
        let mut w = WatchSet::default();
        w.add_trace(
            "decl",
            &trace(vec![Seen::Declared {
                at: At {
                    root: "/data".into(),
                    path: Vec::new(),
                    follow: true,
                },
                input: crate::declared::Matcher::Path("/data/src".into()),
                ignore: vec!["/data/src/*.tmp".into()],
                files: vec![("/data/src/a.c".into(), "d".into())],
            }]),
        );
        assert_eq!(
            w.dirty(&[PathBuf::from("/h/data/src/b.c")]),
            BTreeSet::from(["decl".to_owned()])
        );
        assert!(w.dirty(&[PathBuf::from("/h/data/src/x.tmp")]).is_empty());
    }

    #[test]
    fn roots_collapse_nested_directories_and_absent_paths_use_an_existing_ancestor() {
        let base = std::env::temp_dir().join(format!("pp-watch-roots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::create_dir_all(base.join("c")).unwrap();
        let mut w = WatchSet::default();
        w.add_dirs(
            "p",
            &[base.join("a"), base.join("a/b"), base.join("c/missing/x")],
        );
        assert_eq!(w.roots(), vec![base.join("a"), base.join("c")]);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn an_event_is_no_change_while_the_file_holds_what_was_read_or_written() {
        let base = std::env::temp_dir().join(format!("pp-watch-same-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("in.txt"), "read").unwrap();
        std::fs::write(base.join("out.txt"), "wrote").unwrap();
        let hex = |b: &str| blake3::hash(b.as_bytes()).to_hex().to_string();
        let at = |name: &str| At {
            root: "/data".into(),
            path: vec![name.to_owned()],
            follow: true,
        };
        let trace = Trace {
            roots: Roots(vec![("/data".into(), base.clone())]),
            seen: vec![Seen::File {
                at: at("in.txt"),
                digest: hex("read"),
            }],
            outputs: vec![(at("out.txt"), Left::File(hex("wrote")))],
            ..Trace::default()
        };
        let mut w = WatchSet::default();
        w.add_trace("p", &trace);
        assert!(
            w.is_unchanged(&base.join("in.txt")),
            "a touch or a new atime"
        );
        assert!(w.is_unchanged(&base.join("out.txt")), "the run's own write");
        assert!(!w.is_unchanged(&base.join("other.txt")));
        std::fs::write(base.join("in.txt"), "edited").unwrap();
        std::fs::write(base.join("out.txt"), "edited by the user").unwrap();
        assert!(!w.is_unchanged(&base.join("in.txt")));
        assert!(!w.is_unchanged(&base.join("out.txt")));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn the_event_text_is_parprocs() {
        let dirty = BTreeSet::from(["b".to_owned(), "a".to_owned()]);
        let text = event_text(&dirty, &[PathBuf::from("/z"), PathBuf::from("/y")]);
        assert_eq!(
            text,
            "! Watch: detected changes in 2 proc(s); changes:\n    /y\n    /z\n  rescheduling:\n    a\n    b\n"
        );
    }
}
