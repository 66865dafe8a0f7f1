//! Declared inputs and outputs (parproc's `inputs`, `inputs_ignore` and
//! `outputs`; docs/incremental.md, "Declared inputs and outputs").
//!
//! What a proc reads is traced whether it declares it or not; a declared input
//! is part of its key besides, read or not. Each declared input is expanded
//! through the proc's grants when it starts — a path (a directory stands for
//! every file below it), a glob, or `regex_files(root, pattern)` — and kept in
//! the trace as what it matched: each file's guest path and content digest
//! (`absent` for a path that does not exist). A later lookup expands it again
//! and compares, so a matching file that appears, changes or goes away re-runs
//! the proc, while a file the pattern does not match changes nothing.
//!
//! Declared outputs are checked after every successful run with parproc's
//! texts (`outputs not refreshed: …`, `outputs older than max_age: …`), and
//! before a cached outcome is used (a missing output, or one older than its
//! `max_age`, runs the proc again).
//!
//! Paths resolve inside the granted directory with cap-std, as the guest's
//! own opens do: nothing outside a grant is reachable.

use std::path::Path;
use std::time::{Duration, SystemTime};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};

use crate::spec::{OutputDecl, Value};
use crate::trace::Roots;

/// The most files one declared input may stand for.
pub const MAX_FILES: usize = 1_000_000;
/// How deep a walk below a declared directory goes (symlink loops end here).
const MAX_DEPTH: usize = 64;
/// What a declared path that does not exist is recorded as.
pub const ABSENT: &str = "absent";

/// One declared input, its `[param]`s filled: what the trace keeps and a
/// lookup expands again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Matcher {
    /// A path; a directory stands for every file below it.
    Path(String),
    /// A glob over guest paths (`*` and `?` stay within a path segment, `**`
    /// crosses segments).
    Glob(String),
    /// parproc's `regex_files(root, pattern)`.
    Regex {
        /// The directory.
        root: String,
        /// The regular expression, searched in each path relative to `root`.
        pattern: String,
    },
}

impl Matcher {
    /// A declared path or glob.
    pub fn of_path(path: String) -> Matcher {
        if path.contains(['*', '?', '[']) {
            Matcher::Glob(path)
        } else {
            Matcher::Path(path)
        }
    }

    /// For messages: the path, the glob or `regex_files(root, pattern)`.
    pub fn shown(&self) -> String {
        match self {
            Matcher::Path(p) | Matcher::Glob(p) => p.clone(),
            Matcher::Regex { root, pattern } => format!("regex_files({root}, {pattern})"),
        }
    }

    /// The guest path the expansion starts from.
    fn base(&self) -> &str {
        match self {
            Matcher::Path(p) | Matcher::Glob(p) => p,
            Matcher::Regex { root, .. } => root,
        }
    }

    /// The granted directory (guest path) this input lies in, if any.
    pub fn grant<'a>(&self, roots: &'a Roots) -> Option<&'a str> {
        split(roots, self.base()).map(|(root, _, _)| root)
    }
}

/// `pattern` with each `[name]` naming one of `args` replaced by its text;
/// other brackets (a glob's character class) are kept.
pub fn fill(pattern: &str, args: &[(String, Value)]) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| n == name) {
                    Some((_, v)) => out.push_str(&v.to_string()),
                    None => {
                        out.push('[');
                        out.push_str(name);
                        out.push(']');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The grant holding the guest path `guest` (the longest granted prefix): its
/// guest path, its host path, and `guest` relative to it.
fn split<'a>(roots: &'a Roots, guest: &str) -> Option<(&'a str, &'a Path, String)> {
    roots
        .0
        .iter()
        .filter_map(|(g, h)| {
            let root = g.trim_end_matches('/');
            let rel = if guest == root || guest == g {
                ""
            } else {
                guest.strip_prefix(root)?.strip_prefix('/')?
            };
            Some((g.as_str(), h.as_path(), rel.to_owned(), root.len()))
        })
        .max_by_key(|(_, _, _, len)| *len)
        .map(|(g, h, rel, _)| (g, h, rel))
}

fn join(base: &str, rel: &str) -> String {
    match (base.trim_end_matches('/'), rel) {
        (b, "") => b.to_owned(),
        ("", r) if !base.starts_with('/') => r.to_owned(),
        (b, r) => format!("{b}/{r}"),
    }
}

/// A walk below a directory: every entry's path relative to the grant and
/// whether it is a directory (symlinks followed inside the grant).
struct Walk<'a> {
    top: &'a Dir,
    found: Vec<(String, bool)>,
}

impl Walk<'_> {
    fn below(&mut self, rel: &str, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let dir = if rel.is_empty() {
            self.top.try_clone().map_err(|e| e.to_string())?
        } else {
            match self.top.open_dir(rel) {
                Ok(d) => d,
                Err(_) => return Ok(()),
            }
        };
        let entries = dir
            .entries()
            .map_err(|e| format!("cannot list `{rel}`: {e}"))?;
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(|e| format!("cannot list `{rel}`: {e}"))?;
            names.push(e.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        for name in names {
            let path = join(rel, &name);
            let is_dir = match dir.metadata(&name) {
                Ok(m) => m.is_dir(),
                // A dangling link or a link out of the grant: not a file here.
                Err(_) => continue,
            };
            if self.found.len() >= MAX_FILES {
                return Err(format!("it stands for more than {MAX_FILES} paths"));
            }
            self.found.push((path.clone(), is_dir));
            if is_dir {
                self.below(&path, depth + 1)?;
            }
        }
        Ok(())
    }
}

fn digest(dir: &Dir, rel: &str) -> Result<String, String> {
    crate::statcache::global()
        .digest_at(dir, rel, true)
        .map_err(|e| format!("cannot read `{rel}`: {e}"))
}

/// Whether `guest` is removed by one of the `ignore` entries: a glob is
/// matched against the path (or the path and `/`; `*` crosses `/`, as in
/// parproc), any other entry removes itself and everything below it.
pub fn ignored(guest: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        if i.contains(['*', '?', '[']) {
            let m = wildmatch::WildMatch::new(i);
            m.matches(guest) || m.matches(&format!("{guest}/"))
        } else {
            let i = i.trim_end_matches('/');
            guest == i || guest.strip_prefix(i).is_some_and(|r| r.starts_with('/'))
        }
    })
}

/// What a declared input matched: a file (its path relative to the grant),
/// or a declared path that is not there and the value recorded for it.
enum Hit {
    File(String),
    NotThere(String, String),
}

/// The files `input` matches now (not yet digested), in the directory
/// granted at `grant` (`top`). `Err` says why it cannot be expanded, in words
/// for the user.
fn matched<'a>(roots: &'a Roots, input: &Matcher) -> Result<(Dir, &'a str, Vec<Hit>), String> {
    let Some((grant, host, rel)) = split(roots, input.base()) else {
        return Err(format!(
            "input `{}` is not under a directory the proc is granted; declare the directory in \
             `needs(dirs = [...])` and grant it with `--dir`",
            input.shown()
        ));
    };
    let top = Dir::open_ambient_dir(host, ambient_authority())
        .map_err(|e| format!("cannot open `{grant}`: {e}"))?;
    let here = |p: &str| {
        if p.is_empty() {
            ".".to_owned()
        } else {
            p.to_owned()
        }
    };
    let walk = |rel: &str| -> Result<Vec<(String, bool)>, String> {
        let mut walk = Walk {
            top: &top,
            found: Vec::new(),
        };
        walk.below(rel, 0)?;
        Ok(walk.found)
    };
    let files_below = |rel: &str| -> Result<Vec<Hit>, String> {
        Ok(walk(rel)?
            .into_iter()
            .filter(|(_, is_dir)| !is_dir)
            .map(|(p, _)| Hit::File(p))
            .collect())
    };
    let mut hits = Vec::new();
    match input {
        Matcher::Path(_) => match top.metadata(here(&rel)) {
            Ok(m) if m.is_dir() => hits = files_below(&rel)?,
            Ok(_) => hits.push(Hit::File(rel)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                hits.push(Hit::NotThere(rel, ABSENT.to_owned()));
            }
            Err(e) => {
                let code = format!("error: {}", crate::trace::code_of(&e));
                hits.push(Hit::NotThere(rel, code));
            }
        },
        Matcher::Glob(pattern) => {
            let glob = globset::GlobBuilder::new(&rel)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("input `{pattern}` is not a valid glob: {e}"))?
                .compile_matcher();
            // Walk from the deepest directory named without a wildcard.
            let parts: Vec<&str> = rel.split('/').collect();
            let fixed = parts
                .iter()
                .take_while(|p| !p.contains(['*', '?', '[', '{']))
                .count()
                .min(parts.len().saturating_sub(1));
            for (p, is_dir) in walk(&parts[..fixed].join("/"))? {
                if !glob.is_match(&p) {
                    continue;
                }
                if is_dir {
                    hits.extend(files_below(&p)?);
                } else {
                    hits.push(Hit::File(p));
                }
            }
        }
        Matcher::Regex { root, pattern } => {
            let re = regex::Regex::new(pattern)
                .map_err(|e| format!("regex_files: invalid regex `{pattern}`: {e}"))?;
            match top.metadata(here(&rel)) {
                Ok(m) if m.is_dir() => {}
                _ => return Err(format!("regex_files root is not a directory: {root}")),
            }
            for (p, is_dir) in walk(&rel)? {
                let below = match rel.as_str() {
                    "" => p.as_str(),
                    r => p
                        .strip_prefix(r)
                        .map_or(p.as_str(), |s| s.trim_start_matches('/')),
                };
                if !is_dir && re.is_match(below) {
                    hits.push(Hit::File(p));
                }
            }
        }
    }
    Ok((top, grant, hits))
}

/// What `input` stands for now: each file's guest path and digest, sorted
/// (a declared path that does not exist: [`ABSENT`]). Files removed by
/// `ignore` are not read. `Err` says why it cannot be expanded (outside the
/// grants, an invalid pattern, a `regex_files` root that is not a
/// directory), in words for the user.
pub fn expand(
    roots: &Roots,
    input: &Matcher,
    ignore: &[String],
) -> Result<Vec<(String, String)>, String> {
    let (top, grant, hits) = matched(roots, input)?;
    let mut files = Vec::with_capacity(hits.len());
    let mut taken = std::collections::HashSet::new();
    for hit in hits {
        let (rel, seen) = match hit {
            Hit::File(rel) => (rel, None),
            Hit::NotThere(rel, what) => (rel, Some(what)),
        };
        let guest = join(grant, &rel);
        if ignored(&guest, ignore) || !taken.insert(guest.clone()) {
            continue;
        }
        let seen = match seen {
            Some(what) => what,
            None => digest(&top, &rel)?,
        };
        files.push((guest, seen));
    }
    files.sort();
    Ok(files)
}

/// How what an input stands for differs from what was recorded, in words
/// (``input `/src/a.rs` changed``), or `None` when it is the same.
pub fn differs(was: &[(String, String)], now: &[(String, String)]) -> Option<String> {
    if was == now {
        return None;
    }
    for (path, d) in now {
        match was.iter().find(|(p, _)| p == path) {
            None if d != ABSENT => return Some(format!("input `{path}` appeared")),
            Some((_, old)) if old != d && d == ABSENT => {
                return Some(format!("input `{path}` is gone"));
            }
            Some((_, old)) if old == ABSENT && d != ABSENT => {
                return Some(format!("input `{path}` appeared"));
            }
            Some((_, old)) if old != d => return Some(format!("input `{path}` changed")),
            _ => {}
        }
    }
    match was.iter().find(|(p, _)| !now.iter().any(|(n, _)| n == p)) {
        Some((path, _)) => Some(format!("input `{path}` is gone")),
        None => Some("the declared inputs changed".to_owned()),
    }
}

/// The outputs `outputs` stand for now: a glob's matches (none is no
/// output), a path as it is. Each with its declaration.
fn resolve_outputs<'a>(
    roots: &Roots,
    outputs: &'a [OutputDecl],
) -> Vec<(String, &'a OutputDecl, Option<SystemTime>)> {
    let mut found = Vec::new();
    for o in outputs {
        let paths = if o.path.contains(['*', '?', '[']) {
            // Only the names: an output's bytes are not read to check it.
            match matched(roots, &Matcher::Glob(o.path.clone())) {
                Ok((_, grant, hits)) => hits
                    .into_iter()
                    .filter_map(|h| match h {
                        Hit::File(rel) => Some(join(grant, &rel)),
                        Hit::NotThere(..) => None,
                    })
                    .collect(),
                Err(_) => Vec::new(),
            }
        } else {
            vec![o.path.clone()]
        };
        for p in paths {
            let mtime = mtime(roots, &p);
            found.push((p, o, mtime));
        }
    }
    found
}

/// The modification time of the file at the guest path `guest`, if it exists.
fn mtime(roots: &Roots, guest: &str) -> Option<SystemTime> {
    let (_, host, rel) = split(roots, guest)?;
    let top = Dir::open_ambient_dir(host, ambient_authority()).ok()?;
    let rel = if rel.is_empty() { ".".to_owned() } else { rel };
    top.metadata(&rel)
        .ok()?
        .modified()
        .ok()
        .map(|t| t.into_std())
}

fn older(mtime: SystemTime, max_age: Duration, now: SystemTime) -> bool {
    now.duration_since(mtime).is_ok_and(|age| age > max_age)
}

/// parproc's verification after a successful run: every declared output
/// exists (`outputs not refreshed: …`), then each with a `max_age` and
/// `enforce_freshness` is newer than that (`outputs older than max_age: …`).
pub fn verify_outputs(
    roots: &Roots,
    outputs: &[OutputDecl],
    now: SystemTime,
) -> Result<(), String> {
    if outputs.is_empty() {
        return Ok(());
    }
    let found = resolve_outputs(roots, outputs);
    let missing: Vec<&str> = found
        .iter()
        .filter(|(_, _, m)| m.is_none())
        .map(|(p, _, _)| p.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!("outputs not refreshed: {}", missing.join(", ")));
    }
    let old: Vec<&str> = found
        .iter()
        .filter(|(_, o, m)| {
            o.enforce_freshness
                && matches!((o.max_age, m), (Some(age), Some(m)) if older(*m, age, now))
        })
        .map(|(p, _, _)| p.as_str())
        .collect();
    if !old.is_empty() {
        return Err(format!("outputs older than max_age: {}", old.join(", ")));
    }
    Ok(())
}

/// Why a cached outcome may not be used because of its declared outputs (one
/// is missing, or older than its `max_age`), or `None`.
pub fn stale_outputs(roots: &Roots, outputs: &[OutputDecl], now: SystemTime) -> Option<String> {
    for (p, o, m) in resolve_outputs(roots, outputs) {
        match (m, o.max_age) {
            (None, _) => return Some(format!("output `{p}` is missing")),
            (Some(m), Some(age)) if older(m, age, now) => {
                return Some(format!("output `{p}` is older than max_age"));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Value;

    fn tree() -> (tempdir::Dir, Roots) {
        let t = tempdir::Dir::new();
        std::fs::create_dir_all(t.path().join("a/b")).unwrap();
        std::fs::write(t.path().join("a/x.rs"), "x").unwrap();
        std::fs::write(t.path().join("a/b/y.rs"), "y").unwrap();
        std::fs::write(t.path().join("a/b/z.txt"), "z").unwrap();
        std::fs::write(t.path().join("top.rs"), "t").unwrap();
        let roots = Roots(vec![("/src".into(), t.path().to_owned())]);
        (t, roots)
    }

    mod tempdir {
        /// A temporary directory removed on drop.
        pub(super) struct Dir(std::path::PathBuf);
        impl Dir {
            pub(super) fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "parproc-declared-{}-{}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub(super) fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn names(files: &[(String, String)]) -> Vec<&str> {
        files.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn fills_placeholders_and_keeps_classes() {
        let args = vec![("target".to_owned(), Value::Text("a".into()))];
        assert_eq!(fill("/src/src_[target].txt", &args), "/src/src_a.txt");
        assert_eq!(fill("/src/[ab]*.rs", &args), "/src/[ab]*.rs");
        assert_eq!(fill("/src/[open", &args), "/src/[open");
    }

    #[test]
    fn expands_paths_globs_and_regexes() {
        let (t, roots) = tree();
        let glob = expand(&roots, &Matcher::of_path("/src/**/*.rs".into()), &[]).unwrap();
        assert_eq!(
            names(&glob),
            ["/src/a/b/y.rs", "/src/a/x.rs", "/src/top.rs"]
        );
        let one = expand(&roots, &Matcher::of_path("/src/a/*.rs".into()), &[]).unwrap();
        assert_eq!(names(&one), ["/src/a/x.rs"]);
        let dir = expand(&roots, &Matcher::of_path("/src/a".into()), &[]).unwrap();
        assert_eq!(
            names(&dir),
            ["/src/a/b/y.rs", "/src/a/b/z.txt", "/src/a/x.rs"]
        );
        let absent = expand(&roots, &Matcher::of_path("/src/none".into()), &[]).unwrap();
        assert_eq!(absent, [("/src/none".to_owned(), ABSENT.to_owned())]);
        let re = Matcher::Regex {
            root: "/src/a".into(),
            pattern: r"\.rs$".into(),
        };
        assert_eq!(
            names(&expand(&roots, &re, &[]).unwrap()),
            ["/src/a/b/y.rs", "/src/a/x.rs"]
        );
        let ignored = expand(
            &roots,
            &Matcher::of_path("/src".into()),
            &["/src/a/b".into(), "*.rs".into()],
        )
        .unwrap();
        assert_eq!(names(&ignored), Vec::<&str>::new());
        let ignored = expand(
            &roots,
            &Matcher::of_path("/src".into()),
            &["/src/a/b".into()],
        )
        .unwrap();
        assert_eq!(names(&ignored), ["/src/a/x.rs", "/src/top.rs"]);
        drop(t);
    }

    #[test]
    fn refuses_what_it_cannot_expand() {
        let (_t, roots) = tree();
        let err = expand(&roots, &Matcher::of_path("/etc/passwd".into()), &[]).unwrap_err();
        assert!(
            err.starts_with("input `/etc/passwd` is not under a directory"),
            "{err}"
        );
        let re = Matcher::Regex {
            root: "/src/top.rs".into(),
            pattern: ".*".into(),
        };
        assert_eq!(
            expand(&roots, &re, &[]).unwrap_err(),
            "regex_files root is not a directory: /src/top.rs"
        );
        // `..` cannot leave the grant.
        let up = expand(&roots, &Matcher::of_path("/src/../../etc".into()), &[]).unwrap();
        assert_eq!(up[0].1, "error: not-permitted", "{up:?}");
    }

    #[test]
    fn tells_what_differs() {
        let a = vec![("/s/a".to_owned(), "1".to_owned())];
        let b = vec![("/s/a".to_owned(), "2".to_owned())];
        assert_eq!(differs(&a, &a), None);
        assert_eq!(differs(&a, &b).unwrap(), "input `/s/a` changed");
        assert_eq!(differs(&a, &[]).unwrap(), "input `/s/a` is gone");
        assert_eq!(differs(&[], &a).unwrap(), "input `/s/a` appeared");
        let absent = vec![("/s/a".to_owned(), ABSENT.to_owned())];
        assert_eq!(differs(&absent, &a).unwrap(), "input `/s/a` appeared");
    }

    #[test]
    fn verifies_outputs_with_parprocs_texts() {
        let (_t, roots) = tree();
        let now = SystemTime::now();
        let out = |path: &str, age: Option<u64>, enforce: bool| OutputDecl {
            path: path.into(),
            max_age: age.map(Duration::from_secs),
            enforce_freshness: enforce,
        };
        assert_eq!(
            verify_outputs(&roots, &[out("/src/top.rs", None, true)], now),
            Ok(())
        );
        assert_eq!(
            verify_outputs(
                &roots,
                &[out("/src/m1", None, true), out("/src/m2", None, false)],
                now
            ),
            Err("outputs not refreshed: /src/m1, /src/m2".into())
        );
        assert_eq!(
            verify_outputs(&roots, &[out("/src/*.none", None, true)], now),
            Ok(())
        );
        let later = now + Duration::from_secs(7200);
        assert_eq!(
            verify_outputs(&roots, &[out("/src/top.rs", Some(3600), true)], later),
            Err("outputs older than max_age: /src/top.rs".into())
        );
        assert_eq!(
            verify_outputs(&roots, &[out("/src/top.rs", Some(3600), false)], later),
            Ok(())
        );
        assert_eq!(
            stale_outputs(&roots, &[out("/src/top.rs", Some(3600), false)], later).unwrap(),
            "output `/src/top.rs` is older than max_age"
        );
        assert_eq!(
            stale_outputs(&roots, &[out("/src/m1", None, true)], now).unwrap(),
            "output `/src/m1` is missing"
        );
        assert_eq!(
            stale_outputs(&roots, &[out("/src/top.rs", None, true)], now),
            None
        );
    }
}
