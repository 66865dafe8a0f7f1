//! `parproc-host state verify | gc | show` through the binary, over a store a
//! real incremental run of the `success` example filled.
//!
//! The run takes about 11 s, so it fills one template store per test binary;
//! each test works on its own copy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use parproc_test_artifacts as wasm;

const NO_STORE: &str =
    "no state store given: pass --state-dir DIR or --incremental (or set PARPROC_STATE_DIR)";

fn scratch(tag: &str) -> PathBuf {
    crate::fresh_dir(&format!("state-cli-{tag}"))
}

fn host() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parproc-host"));
    cmd.env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .env_remove("PARPROC_STATE_DIR");
    cmd
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The store one run of `success` filled (every test copies it).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = scratch("template");
        let state = dir.join("state");
        let o = host()
            .args(["run", "--state-dir", state.to_str().expect("utf-8")])
            .args(["--log-dir", dir.join("logs").to_str().expect("utf-8")])
            .arg(wasm::SUCCESS)
            .output()
            .expect("run parproc-host");
        assert_eq!(o.status.code(), Some(0), "the filling run:\n{}", out(&o));
        // A traced proc too: its trace is a blob (small results live in
        // their rows).
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("data");
        std::fs::write(data.join("a.txt"), "alpha").expect("a.txt");
        let grant = format!("{}::/data", data.display());
        let o = host()
            .args(["run", "--state-dir", state.to_str().expect("utf-8")])
            .args(["--log-dir", dir.join("logs").to_str().expect("utf-8")])
            .args(["--dir", &grant, wasm::READS, "cat"])
            .output()
            .expect("run parproc-host");
        assert_eq!(o.status.code(), Some(0), "the filling run:\n{}", out(&o));
        state
    })
}

/// Copy `from` into `to` (created private, as a store must be).
fn copy_dir(from: &Path, to: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(to)
            .expect("create a store dir");
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir(to).expect("create a store dir");
    }
    for e in std::fs::read_dir(from).expect("list the template") {
        let e = e.expect("a template entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy a template file");
        }
    }
}

/// A fresh copy of the filled store, in `DIR/state`: (DIR, the store).
fn filled(tag: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(tag);
    let state = dir.join("state");
    copy_dir(template(), &state);
    (dir, state)
}

/// `parproc-host state ARGS... --state-dir STATE`.
fn state(store: &Path, args: &[&str]) -> Output {
    host()
        .arg("state")
        .args(args)
        .args(["--state-dir", store.to_str().expect("utf-8")])
        .output()
        .expect("run parproc-host state")
}

/// Every blob file of the store.
fn blob_files(store: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in std::fs::read_dir(store.join("blobs")).expect("blobs/") {
        let sub = sub.expect("a blobs/ entry").path();
        if sub.is_dir() {
            for f in std::fs::read_dir(&sub).expect("a blob dir") {
                files.push(f.expect("a blob").path());
            }
        }
    }
    files.sort();
    files
}

fn hex_of(blob: &Path) -> String {
    blob.file_name()
        .and_then(|n| n.to_str())
        .expect("a blob name")
        .to_owned()
}

/// Entries in the filled store: one per proc of the success example
/// (`skipped_task` and `func0`..`func4`, whose small results live in their
/// rows) and `cat` of the reads fixture (whose trace is the one blob).
const ENTRIES: usize = 7;

#[test]
fn verify_finds_a_filled_store_sound_whichever_way_it_is_selected() {
    let (dir, store) = filled("verify-ok");
    let blobs = blob_files(&store).len();
    assert!(blobs >= 1, "the run stored blobs");
    let o = state(&store, &["verify"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("integrity: ok\n"), "{text}");
    assert!(text.contains(&format!("entries: {ENTRIES}\n")), "{text}");
    assert!(
        text.contains(&format!("blobs checked: {blobs}\n")),
        "{text}"
    );
    assert!(text.contains("\nok: "), "{text}");
    // The same store through the variable, and `--incremental` from the
    // directory that holds it as `.parproc`.
    let o = host()
        .args(["state", "verify"])
        .env("PARPROC_STATE_DIR", &store)
        .output()
        .expect("run parproc-host state");
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("integrity: ok\n"), "{}", out(&o));
    copy_dir(template(), &dir.join(".parproc"));
    let o = host()
        .args(["state", "verify", "--incremental"])
        .current_dir(&dir)
        .output()
        .expect("run parproc-host state");
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("state store `.parproc`\n"), "{}", out(&o));
}

#[test]
fn verify_names_a_damaged_blob_then_a_missing_one_and_exits_1() {
    let (_dir, store) = filled("verify-bad");
    // `cat`'s trace, the one blob.
    let blobs = blob_files(&store);
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    let blob = &blobs[0];
    let hex = hex_of(blob);
    std::fs::write(blob, b"tampered").expect("damage a blob");
    let o = state(&store, &["verify"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "damaged blob {hex}: its 8 bytes have another digest\n"
        )),
        "{text}"
    );
    assert!(text.contains("not sound: 1 damaged blob\n"), "{text}");
    assert!(!text.contains("missing blob"), "{text}");

    std::fs::remove_file(blob).expect("delete a blob");
    let o = state(&store, &["verify"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("missing blob {hex}\n")), "{text}");
    assert!(text.contains("not sound: 1 missing blob\n"), "{text}");
    assert!(!text.contains("damaged blob"), "{text}");
    // `show` still shows the record, its trace and its result.
    let o = state(&store, &["show", "cat"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("\ntrace:    {hex}\n")), "{text}");
    assert!(
        text.ends_with("result:   in the record\n  \"alpha\"\n"),
        "{text}"
    );
}

#[test]
fn show_prints_a_procs_last_record_and_its_result() {
    let (_dir, store) = filled("show");
    let o = state(&store, &["show", "func0"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.starts_with("func0: last record in `"), "{text}");
    assert!(text.contains("\nstate:    SUCCEEDED\n"), "{text}");
    // RFC 3339, UTC, this millennium.
    let finished = text
        .lines()
        .find_map(|l| l.strip_prefix("finished: "))
        .expect("a finished line");
    assert!(
        finished.len() == 24 && finished.starts_with("20") && finished.ends_with('Z'),
        "{finished}"
    );
    assert!(text.contains("\nduration: "), "{text}");
    let module = blake3::hash(&std::fs::read(wasm::SUCCESS).expect("read the module"));
    assert!(
        text.contains(&format!("\nmodule:   {}\n", module.to_hex())),
        "{text}"
    );
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("key:      "))
        .expect("a key line");
    assert_eq!(key.len(), 64, "{key}");
    // func0 returns nothing: its result is JSON null, kept in the row.
    assert!(
        text.ends_with("result:   in the record\n  null\n"),
        "{text}"
    );

    let o = state(&store, &["show", "skipped_task"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("\nstate:    SKIPPED\n"), "{text}");
    assert!(text.ends_with("result:   none\n"), "{text}");
}

#[test]
fn show_of_a_proc_with_no_record_exits_1_and_suggests_a_close_name() {
    let (_dir, store) = filled("show-none");
    let o = state(&store, &["show", "nope"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("no record of \"nope\" in `{}`\n", store.display())
    );
    let o = state(&store, &["show", "fucn3"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("; did you mean \"func3\"?"), "{text}");
}

#[test]
fn gc_without_an_age_removes_every_entry_and_then_every_blob_past_the_grace_hour() {
    let (_dir, store) = filled("gc");
    let blobs = blob_files(&store).len();
    // The defaults (2GiB, 30d) keep everything.
    let o = state(&store, &["gc"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("removed 0 entries and 0 blobs; "), "{text}");
    assert!(
        text.contains(&format!("({ENTRIES} entries kept)")),
        "{text}"
    );
    // Every entry goes; the blobs just written stay for the grace hour.
    let o = state(&store, &["gc", "--max-age", "0s"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("removed {ENTRIES} entries and 0 blobs; ")),
        "{text}"
    );
    assert!(text.contains("(0 entries kept)"), "{text}");
    assert!(text.contains("written within the last hour"), "{text}");
    let o = state(&store, &["verify"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("entries: 0\n"), "{text}");
    // Two hours later, nothing names them: they go too.
    let earlier = SystemTime::now() - Duration::from_secs(2 * 3600);
    for blob in blob_files(&store) {
        std::fs::File::options()
            .write(true)
            .open(&blob)
            .and_then(|f| f.set_modified(earlier))
            .expect("age a blob");
    }
    let o = state(&store, &["gc", "--max-age", "0s"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let blobs = if blobs == 1 {
        "1 blob".to_owned()
    } else {
        format!("{blobs} blobs")
    };
    assert!(
        text.contains(&format!(
            "removed 0 entries and {blobs}; 0 bytes of blobs left (0 entries kept)\n"
        )),
        "{text}"
    );
    assert!(blob_files(&store).is_empty());
    let o = state(&store, &["verify"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("entries: 0\nblobs checked: 0\n"), "{text}");
    // A duration in days, and a size, parse; a bad one is a usage error.
    let o = state(&store, &["gc", "--max-age", "7d", "--max-size", "1MiB"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = state(&store, &["gc", "--max-age", "3 weeks"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
}

#[test]
fn without_a_usable_store_every_state_command_is_a_host_error() {
    let dir = scratch("no-store");
    for args in [&["verify"][..], &["gc"], &["show", "func0"]] {
        let o = host()
            .arg("state")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run parproc-host state");
        let text = out(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {text}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(NO_STORE),
            "{args:?}: {text}"
        );
    }
    // A directory no run filled is named, with the fix, and left alone.
    let missing = dir.join("missing");
    let o = state(&missing, &["verify"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "state store `{}`: does not exist; give --state-dir",
            missing.display()
        )),
        "{text}"
    );
    assert!(!missing.exists(), "not created");
    let o = state(&dir, &["show", "func0"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("holds no `state.db`"), "{text}");
    assert!(!dir.join("state.db").exists(), "not created");
    // `--incremental` with no `.parproc` here.
    let o = host()
        .args(["state", "gc", "--incremental"])
        .current_dir(&dir)
        .output()
        .expect("run parproc-host state");
    let text = out(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("state store `.parproc`: does not exist"),
        "{text}"
    );
}
