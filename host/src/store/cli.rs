//! `parproc-host state verify | gc | show`: the state store from the command
//! line.
//!
//! Each command opens a store a run has filled (a missing directory, or one
//! without `state.db`, is a host error, never created), does its work off the
//! async threads, and builds its text with a pure `render_*` function, which
//! [`state_cmd`] prints through [`terminal`]. A finding (a store that is not
//! sound, a proc with no record) exits 1, like a failed proc; only a store that
//! cannot be used is a host error (exit 2).

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context as _, bail};

use super::{DB_FILE, Digest, Entry, GcReport, StateStore, StoreError, VerifyReport};
use crate::ExitStatus;
use crate::cli::{StateCmd, StateDirArgs};
use crate::report::clock::rfc3339;
use crate::report::terminal::{self, sanitize};
use crate::units::{fmt_duration, fmt_size};

/// The most bytes of a result (pretty-printed) `state show` prints.
pub const RESULT_SHOWN: usize = 4096;

/// What a `state` command says when no flag or variable names a store.
pub const NO_STORE: &str =
    "no state store given: pass --state-dir DIR or --incremental (or set PARPROC_STATE_DIR)";

/// Run a `state` command and print its text.
pub async fn state_cmd(cmd: StateCmd) -> anyhow::Result<ExitStatus> {
    let (text, status) = tokio::task::spawn_blocking(move || run(&cmd))
        .await
        .context("the state command stopped")??;
    terminal::print_raw(&text);
    Ok(status)
}

/// Run a `state` command (blocking on SQLite and the disk): its text and exit
/// status.
pub fn run(cmd: &StateCmd) -> anyhow::Result<(String, ExitStatus)> {
    match cmd {
        StateCmd::Verify(args) => {
            let store = open(&args.store)?;
            let report = store.verify()?;
            let status = if report.is_sound() {
                ExitStatus::Success
            } else {
                ExitStatus::ProcFailed
            };
            Ok((render_verify(store.dir(), &report), status))
        }
        StateCmd::Gc(args) => {
            let store = open(&args.store)?;
            let report = store.gc(args.max_size, args.max_age)?;
            let left = entry_count(&store)?;
            Ok((render_gc(store.dir(), &report, left), ExitStatus::Success))
        }
        StateCmd::Show(args) => {
            let store = open(&args.store)?;
            show(&store, &args.name)
        }
    }
}

/// The store the flags (or `PARPROC_STATE_DIR`) select, which a run must have
/// filled.
pub fn open(args: &StateDirArgs) -> anyhow::Result<StateStore> {
    let Some(dir) = args.dir() else {
        bail!("{NO_STORE}");
    };
    Ok(open_existing(&dir)?)
}

/// Open the store in `dir`, refusing a directory that is missing or holds no
/// database (opening would create one).
pub fn open_existing(dir: &Path) -> Result<StateStore, StoreError> {
    let refuse = |why: String| StoreError::Dir {
        dir: dir.to_owned(),
        why,
    };
    let fix = "give --state-dir (or --incremental, or PARPROC_STATE_DIR) the directory \
               an incremental run (`parproc-host run --state-dir DIR MODULE`) filled";
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(format!("does not exist; {fix}")));
        }
        Err(e) => return Err(refuse(format!("cannot read it ({e}); {fix}"))),
        Ok(meta) if !meta.is_dir() => return Err(refuse(format!("is not a directory; {fix}"))),
        Ok(_) => {}
    }
    if !dir.join(DB_FILE).is_file() {
        return Err(refuse(format!(
            "holds no `{DB_FILE}`, so no run has filled it; {fix}"
        )));
    }
    StateStore::open(dir, false)
}

/// `state show NAME` over an open store.
fn show(store: &StateStore, name: &str) -> anyhow::Result<(String, ExitStatus)> {
    let Some(entry) = store.last(name)? else {
        let names = proc_names(store)?;
        let text = render_no_record(store.dir(), name, suggest(name, &names));
        return Ok((text, ExitStatus::ProcFailed));
    };
    let result = match entry.result {
        None => ResultBlob::None,
        Some(d) => match store.blob(&d) {
            Ok(Some(bytes)) => ResultBlob::Found(bytes),
            Ok(None) => ResultBlob::Missing,
            Err(StoreError::Corrupt { why, .. }) => ResultBlob::Damaged(why),
            Err(e) => return Err(e.into()),
        },
    };
    Ok((
        render_show(store.dir(), &entry, &result),
        ExitStatus::Success,
    ))
}

/// The entries left in the store.
fn entry_count(store: &StateStore) -> Result<u64, StoreError> {
    let n: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .map_err(store.db_err("cannot count entries"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Every proc the store has a record of, sorted.
fn proc_names(store: &StateStore) -> Result<Vec<String>, StoreError> {
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT DISTINCT proc FROM entries ORDER BY proc")
        .map_err(store.db_err("cannot list procs"))?;
    let names = stmt
        .query_map([], |r| r.get(0))
        .map_err(store.db_err("cannot list procs"))?
        .collect::<Result<Vec<String>, _>>()
        .map_err(store.db_err("cannot list procs"))?;
    Ok(names)
}

/// The name among `names` closest to `name`, if one is close (as for an
/// unknown target).
pub fn suggest<'a>(name: &str, names: &'a [String]) -> Option<&'a str> {
    crate::plan::closest(name, names.iter().map(String::as_str))
}

/// What the store holds of an entry's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultBlob {
    /// The proc returned no result (a skipped proc).
    None,
    /// The result's bytes, checked against their digest.
    Found(Vec<u8>),
    /// The entry names a result blob the store does not have.
    Missing,
    /// The result blob does not match its digest: why.
    Damaged(String),
}

/// A path for the terminal.
fn shown(path: &Path) -> String {
    sanitize(&path.display().to_string())
}

/// `1 entry`, `2 entries`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where the blob `d` lives in the store `dir` (`blobs/ab/abcdef…`).
fn blob_path(dir: &Path, d: &Digest) -> PathBuf {
    let hex = d.to_hex();
    dir.join("blobs").join(&hex[..2]).join(hex)
}

/// The text of `state verify`.
pub fn render_verify(dir: &Path, r: &VerifyReport) -> String {
    let mut out = format!("state store `{}`\n", shown(dir));
    out.push_str(&format!("integrity: {}\n", sanitize(&r.integrity)));
    out.push_str(&format!("entries: {}\n", r.entries));
    out.push_str(&format!("blobs checked: {}\n", r.blobs));
    for (hex, why) in &r.damaged {
        out.push_str(&format!(
            "damaged blob {}: {}\n",
            sanitize(hex),
            sanitize(why)
        ));
    }
    for hex in &r.missing {
        out.push_str(&format!("missing blob {}\n", sanitize(hex)));
    }
    if r.is_sound() {
        out.push_str("ok: every blob matches its digest and every blob an entry names is there\n");
        return out;
    }
    let mut found = Vec::new();
    if r.integrity != "ok" {
        found.push("a damaged database".to_owned());
    }
    if !r.damaged.is_empty() {
        found.push(count(
            r.damaged.len() as u64,
            "damaged blob",
            "damaged blobs",
        ));
    }
    if !r.missing.is_empty() {
        found.push(count(
            r.missing.len() as u64,
            "missing blob",
            "missing blobs",
        ));
    }
    out.push_str(&format!("not sound: {}\n", found.join(", ")));
    if r.integrity != "ok" {
        out.push_str(&format!(
            "  remove `{}` (the next incremental run starts afresh)\n",
            shown(dir)
        ));
    }
    if !r.damaged.is_empty() {
        out.push_str(&format!(
            "  remove the damaged blob files (under `{}`); the procs that need them run again \
             and store them afresh\n",
            shown(&dir.join("blobs"))
        ));
    }
    if !r.missing.is_empty() {
        out.push_str("  the procs whose blobs are missing run again and store them afresh\n");
    }
    out
}

/// The text of `state gc`; `entries_left` is how many entries the store kept.
pub fn render_gc(dir: &Path, r: &GcReport, entries_left: u64) -> String {
    let mut out = format!("state store `{}`\n", shown(dir));
    out.push_str(&format!(
        "removed {} and {}; {} of blobs left ({} kept)\n",
        count(r.entries_removed, "entry", "entries"),
        count(r.blobs_removed, "blob", "blobs"),
        fmt_size(r.bytes_left),
        count(entries_left, "entry", "entries"),
    ));
    if entries_left == 0 && r.bytes_left > 0 {
        out.push_str(
            "  the blobs left were written within the last hour: they are kept, since a run \
             may be about to commit the entries that name them\n",
        );
    }
    out
}

/// The text of `state show` for the proc's last record.
pub fn render_show(dir: &Path, e: &Entry, result: &ResultBlob) -> String {
    let finished = UNIX_EPOCH + Duration::from_millis(u64::try_from(e.finished_at_ms).unwrap_or(0));
    let took = Duration::from_millis(u64::try_from(e.duration_ms).unwrap_or(0));
    let mut out = format!("{}: last record in `{}`\n", sanitize(&e.proc), shown(dir));
    out.push_str(&format!("state:    {}\n", sanitize(&e.state)));
    out.push_str(&format!("finished: {}\n", rfc3339(finished)));
    out.push_str(&format!("duration: {}\n", fmt_duration(took)));
    out.push_str(&format!("key:      {}\n", e.key));
    out.push_str(&format!("module:   {}\n", e.module));
    if let Some(t) = e.trace {
        out.push_str(&format!("trace:    {t}\n"));
    }
    if let Some(o) = e.outputs {
        out.push_str(&format!("outputs:  {o}\n"));
    }
    if !e.blobs.is_empty() {
        out.push_str(&format!(
            "blobs:    {} more\n",
            count(e.blobs.len() as u64, "file", "files")
        ));
    }
    let Some(digest) = e.result else {
        match &e.inline {
            // A small result is kept in the row itself (a skipped proc's
            // `null` is no result).
            Some(json) if e.state != "SKIPPED" => {
                out.push_str("result:   in the record\n");
                out.push_str(&indented_json(json.as_bytes()));
            }
            _ => out.push_str("result:   none\n"),
        }
        return out;
    };
    let path = shown(&blob_path(dir, &digest));
    match result {
        ResultBlob::None | ResultBlob::Missing => {
            out.push_str(&format!(
                "result:   {digest}, missing from the store (`{path}`); run `parproc-host state verify`\n"
            ));
        }
        ResultBlob::Damaged(why) => {
            out.push_str(&format!(
                "result:   {digest}, damaged ({}); run `parproc-host state verify`\n",
                sanitize(why)
            ));
        }
        ResultBlob::Found(bytes) => {
            out.push_str(&format!("result:   {digest}\n"));
            let text = pretty(bytes);
            let cut = cut_point(&text, RESULT_SHOWN);
            for line in text[..cut].lines() {
                out.push_str(&format!("  {}\n", sanitize(line)));
            }
            if cut < text.len() {
                out.push_str(&format!(
                    "  … cut: {} of {} bytes shown; the whole result is `{path}`\n",
                    cut,
                    text.len()
                ));
            }
        }
    }
    out
}

/// A JSON result pretty-printed (as it is when it does not parse).
fn pretty(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A small result kept in the row, indented as `state show` prints results
/// (it is at most a few kilobytes: shown whole).
fn indented_json(bytes: &[u8]) -> String {
    pretty(bytes)
        .lines()
        .map(|line| format!("  {}\n", sanitize(line)))
        .collect()
}

/// Where to cut `text` to at most `limit` bytes: all of it when it fits, else
/// after the last whole line that fits (or at a character boundary when no
/// line does).
fn cut_point(text: &str, limit: usize) -> usize {
    if text.len() <= limit {
        return text.len();
    }
    let mut at = limit;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match text[..at].rfind('\n') {
        Some(nl) if nl > 0 => nl,
        _ => at,
    }
}

/// The text of `state show` when the store has no record of `name`.
pub fn render_no_record(dir: &Path, name: &str, suggestion: Option<&str>) -> String {
    let hint = suggestion.map_or_else(String::new, |s| {
        format!("; did you mean \"{}\"?", sanitize(s))
    });
    format!(
        "no record of \"{}\" in `{}`{hint}\n",
        sanitize(name),
        shown(dir)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{StateGcArgs, StateShowArgs, StateVerifyArgs};
    use crate::store::now_ms;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("parproc-store-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn args(dir: &Path) -> StateDirArgs {
        StateDirArgs {
            state_dir: Some(dir.to_owned()),
            incremental: false,
        }
    }

    fn entry(proc: &str, result: Option<Digest>) -> Entry {
        Entry {
            key: Digest::of(format!("key of {proc}").as_bytes()),
            trace: None,
            proc: proc.to_owned(),
            module: Digest::of(b"module"),
            state: if result.is_some() {
                "SUCCEEDED"
            } else {
                "SKIPPED"
            }
            .into(),
            result,
            outputs: None,
            material: None,
            inline: None,
            blobs: Vec::new(),
            finished_at_ms: 1_700_000_000_000,
            duration_ms: 1500,
        }
    }

    #[test]
    fn a_sound_report_says_ok_and_a_damaged_one_names_every_blob_and_the_fix() {
        let dir = Path::new("/s");
        let mut r = VerifyReport {
            integrity: "ok".into(),
            entries: 6,
            blobs: 2,
            ..VerifyReport::default()
        };
        assert_eq!(
            render_verify(dir, &r),
            "state store `/s`\nintegrity: ok\nentries: 6\nblobs checked: 2\n\
             ok: every blob matches its digest and every blob an entry names is there\n"
        );
        r.damaged
            .push(("ab".repeat(32), "its 3 bytes have another digest".into()));
        r.missing.push("cd".repeat(32));
        r.missing.push("ef".repeat(32));
        let text = render_verify(dir, &r);
        assert!(
            text.contains(&format!(
                "damaged blob {}: its 3 bytes have another digest\n",
                "ab".repeat(32)
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("missing blob {}\n", "cd".repeat(32))),
            "{text}"
        );
        assert!(
            text.contains("not sound: 1 damaged blob, 2 missing blobs\n"),
            "{text}"
        );
        assert!(
            text.contains("remove the damaged blob files (under `/s/blobs`)"),
            "{text}"
        );
        r.integrity = "row 3 missing\u{1b}[2J".into();
        let text = render_verify(dir, &r);
        assert!(text.contains("not sound: a damaged database, "), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "escapes are shown, not sent: {text}"
        );
    }

    #[test]
    fn gc_says_what_it_removed_and_why_young_blobs_stay() {
        let dir = Path::new("/s");
        let r = GcReport {
            entries_removed: 6,
            blobs_removed: 1,
            bytes_left: 0,
        };
        assert_eq!(
            render_gc(dir, &r, 0),
            "state store `/s`\nremoved 6 entries and 1 blob; 0 bytes of blobs left (0 entries kept)\n"
        );
        let r = GcReport {
            entries_removed: 1,
            blobs_removed: 0,
            bytes_left: 3 << 20,
        };
        let text = render_gc(dir, &r, 0);
        assert!(
            text.contains("removed 1 entry and 0 blobs; 3 MiB of blobs left"),
            "{text}"
        );
        assert!(text.contains("written within the last hour"), "{text}");
        assert!(!render_gc(dir, &r, 1).contains("last hour"));
    }

    #[test]
    fn show_prints_the_record_and_its_result_pretty() {
        let result = Digest::of(br#"{"b":1,"a":[true]}"#);
        let text = render_show(
            Path::new("/s"),
            &entry("build::dev", Some(result)),
            &ResultBlob::Found(br#"{"b":1,"a":[true]}"#.to_vec()),
        );
        let want = format!(
            "build::dev: last record in `/s`\n\
             state:    SUCCEEDED\n\
             finished: 2023-11-14T22:13:20.000Z\n\
             duration: 1.50s\n\
             key:      {}\n\
             module:   {}\n\
             result:   {result}\n  {{\n    \"b\": 1,\n    \"a\": [\n      true\n    ]\n  }}\n",
            Digest::of(b"key of build::dev"),
            Digest::of(b"module"),
        );
        assert_eq!(text, want);
        let skipped = render_show(Path::new("/s"), &entry("s", None), &ResultBlob::None);
        assert!(skipped.contains("state:    SKIPPED\n"), "{skipped}");
        assert!(skipped.ends_with("result:   none\n"), "{skipped}");
        let missing = render_show(
            Path::new("/s"),
            &entry("m", Some(result)),
            &ResultBlob::Missing,
        );
        let hex = result.to_hex();
        assert!(
            missing.contains(&format!(
                "missing from the store (`/s/blobs/{}/{hex}`)",
                &hex[..2]
            )),
            "{missing}"
        );
        let damaged = render_show(
            Path::new("/s"),
            &entry("d", Some(result)),
            &ResultBlob::Damaged("its 2 bytes have another digest".into()),
        );
        assert!(
            damaged.contains("damaged (its 2 bytes have another digest)"),
            "{damaged}"
        );
    }

    #[test]
    fn a_long_result_is_cut_at_a_line_with_a_note_and_guest_text_is_escaped() {
        let big: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
        let json = serde_json::to_vec(&big).expect("json");
        let d = Digest::of(&json);
        let text = render_show(
            Path::new("/s"),
            &entry("big\u{202e}", Some(d)),
            &ResultBlob::Found(json),
        );
        assert!(text.starts_with("big\\u{202e}: last record"), "{text}");
        let note = text.lines().last().expect("a note");
        assert!(note.starts_with("  … cut: "), "{note}");
        assert!(note.contains(&d.to_hex()), "{note}");
        let shown: usize = text
            .lines()
            .skip_while(|l| !l.starts_with("result:"))
            .skip(1)
            .filter(|l| !l.starts_with("  … cut"))
            .map(|l| l.len() - 2 + 1)
            .sum();
        assert!(
            (RESULT_SHOWN - 100..=RESULT_SHOWN).contains(&shown),
            "{shown}"
        );
        assert!(text.contains("  \"line 0\",\n"));
        // Whole lines only: the last one shown ends like the others.
        let before_note = text.lines().rev().nth(1).expect("a line");
        assert!(before_note.ends_with("\","), "{before_note}");
        // Guest strings cannot send escapes; multi-byte text is cut whole.
        let evil = "\u{1b}]0;pwned\u{7}é".repeat(2000);
        let bytes = serde_json::to_vec(&evil).expect("json");
        let text = render_show(
            Path::new("/s"),
            &entry("e", Some(Digest::of(&bytes))),
            &ResultBlob::Found(bytes),
        );
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text}"
        );
        assert!(text.contains("… cut: "), "{text}");
    }

    #[test]
    fn cut_points_fall_on_lines_or_characters() {
        assert_eq!(cut_point("abc", 10), 3);
        assert_eq!(cut_point("ab\ncd\nef", 7), 5);
        assert_eq!(cut_point("éééé", 3), 2);
        assert_eq!(cut_point("\nabcdef", 4), 4);
    }

    #[test]
    fn no_record_suggests_a_close_name() {
        let names = ["func0".to_owned(), "func1".to_owned(), "deploy".to_owned()];
        assert_eq!(suggest("func", &names), Some("func0"));
        assert_eq!(suggest("deplyo", &names), Some("deploy"));
        assert_eq!(suggest("zzz", &names), None);
        assert_eq!(
            render_no_record(Path::new("/s"), "fnuc1", suggest("fnuc1", &names)),
            "no record of \"fnuc1\" in `/s`; did you mean \"func1\"?\n"
        );
        assert_eq!(
            render_no_record(Path::new("/s"), "x", None),
            "no record of \"x\" in `/s`\n"
        );
    }

    #[test]
    fn a_store_that_no_run_filled_is_refused_and_not_created() {
        let dir = scratch("missing");
        let err = open_existing(&dir).expect_err("missing").to_string();
        assert!(err.contains(&dir.display().to_string()), "{err}");
        assert!(err.contains("does not exist; give --state-dir"), "{err}");
        assert!(!dir.exists(), "not created");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let err = open_existing(&dir).expect_err("empty").to_string();
        assert!(err.contains("holds no `state.db`"), "{err}");
        assert!(!dir.join(DB_FILE).exists(), "not created");
        let file = dir.join("file");
        std::fs::write(&file, "x").expect("write");
        let err = open_existing(&file).expect_err("a file").to_string();
        assert!(err.contains("is not a directory"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_commands_over_a_real_store() {
        let dir = scratch("real");
        {
            let store = StateStore::open(&dir, false).expect("open");
            let result = store.put_blob(b"[1, 2]").expect("blob");
            let mut e = entry("build::dev", Some(result));
            // A second ago, so `--max-age 0s` finds them old.
            e.finished_at_ms = now_ms() - 1000;
            store.record(&e).expect("record");
            let mut skipped = entry("lint", None);
            skipped.finished_at_ms = now_ms() - 1000;
            store.record(&skipped).expect("record");
        }
        let show = |name: &str| {
            run(&StateCmd::Show(StateShowArgs {
                name: name.into(),
                store: args(&dir),
            }))
            .expect("show")
        };
        let (text, status) = show("build::dev");
        assert_eq!(status, ExitStatus::Success);
        assert!(text.contains("state:    SUCCEEDED\n"), "{text}");
        assert!(text.contains("  [\n    1,\n    2\n  ]\n"), "{text}");
        let (text, status) = show("build::deb");
        assert_eq!(status, ExitStatus::ProcFailed);
        assert!(text.contains("did you mean \"build::dev\"?"), "{text}");

        let verify =
            || run(&StateCmd::Verify(StateVerifyArgs { store: args(&dir) })).expect("verify");
        let (text, status) = verify();
        assert_eq!(status, ExitStatus::Success, "{text}");
        assert!(text.contains("entries: 2\nblobs checked: 1\n"), "{text}");
        let hex = Digest::of(b"[1, 2]").to_hex();
        let blob = dir.join("blobs").join(&hex[..2]).join(&hex);
        std::fs::write(&blob, b"[1, 3]").expect("damage");
        let (text, status) = verify();
        assert_eq!(status, ExitStatus::ProcFailed, "{text}");
        assert!(text.contains(&format!("damaged blob {hex}: ")), "{text}");
        let (text, _) = show("build::dev");
        assert!(text.contains(", damaged ("), "{text}");

        let (text, status) = run(&StateCmd::Gc(StateGcArgs {
            store: args(&dir),
            max_size: 1 << 30,
            max_age: Duration::ZERO,
        }))
        .expect("gc");
        assert_eq!(status, ExitStatus::Success);
        assert!(text.contains("removed 2 entries and 0 blobs; "), "{text}");
        assert!(text.contains("(0 entries kept)"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
