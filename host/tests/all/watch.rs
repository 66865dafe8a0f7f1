//! `parproc-host watch` on a real component and a real directory: a change to
//! a file a proc read (and never declared) re-runs it and only it, an
//! unrelated file re-runs nothing, a rebuilt module re-plans the graph, a
//! half-written one is retried, and Ctrl-C ends the watch with 130.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parproc_test_artifacts as wasm;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parproc-watch-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data/sub")).expect("scratch");
    std::fs::write(dir.join("data/a.txt"), "alpha").expect("a.txt");
    std::fs::write(dir.join("data/sub/f.txt"), "nested").expect("f.txt");
    dir
}

/// A running watch and everything it printed so far.
struct Watching {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Watching {
    fn start(dir: &Path, module: &Path, extra: &[&str]) -> Watching {
        Watching::start_with(dir, module, extra, &["cat", "nested"])
    }

    fn start_with(dir: &Path, module: &Path, extra: &[&str], targets: &[&str]) -> Watching {
        let grant = format!("{}::/data:rw", dir.join("data").display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .args(["watch", "--debounce", "100ms", "--progress", "static"])
            .args(["--state-dir", dir.join("state").to_str().expect("utf-8")])
            .args(["--dir", grant.as_str()])
            .args(extra)
            .arg(module)
            .args(targets)
            .env("NO_COLOR", "1")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .env_remove("PARPROC_STATE_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watch");
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut o = out.lock().expect("lock");
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Watching { child, out }
    }

    fn text(&self) -> String {
        self.out.lock().expect("lock").clone()
    }

    /// Wait until the output has `n` occurrences of `needle`.
    fn wait_for(&self, needle: &str, n: usize) -> String {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.text();
            if text.matches(needle).count() >= n {
                return text;
            }
            assert!(
                Instant::now() < until,
                "no {n}× `{needle}` in time:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The output after the `n`th `watching` line, up to the next one.
    fn run_after(&self, n: usize) -> String {
        let text = self.wait_for("watching ", n + 1);
        let parts: Vec<&str> = text.split("watching ").collect();
        parts[n].to_owned()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interrupt(w: &mut Watching) -> Option<i32> {
    // SAFETY: `kill` has no preconditions; the pid is our child's.
    unsafe {
        libc::kill(w.child.id() as i32, libc::SIGINT);
    }
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = w.child.try_wait().expect("wait") {
            return status.code();
        }
        assert!(Instant::now() < until, "Ctrl-C did not end the watch");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_read_file_reruns_its_reader_only_an_unrelated_file_nothing_and_ctrl_c_ends_it() {
    let dir = scratch("reads");
    let mut w = Watching::start(&dir, Path::new(wasm::READS), &[]);
    let first = w.wait_for("watching ", 1);
    assert!(first.contains("✓ cat"), "{first}");
    assert!(first.contains("✓ nested"), "{first}");
    assert!(first.contains("; Ctrl-C to stop"), "{first}");

    // A file `cat` read (it declares nothing): only `cat` runs again.
    std::fs::write(dir.join("data/a.txt"), "again").expect("edit");
    let text = w.wait_for("! Watch: detected changes in 1 proc(s); changes:", 1);
    let a = dir.join("data/a.txt").display().to_string();
    assert!(
        text.contains(&format!("    {a}\n  rescheduling:\n    cat\n")),
        "{text}"
    );
    let second = w.run_after(1);
    assert!(second.contains("✓ cat"), "{second}");
    assert!(second.contains("↷ nested up-to-date"), "{second}");

    // An unrelated file: no event, nothing runs.
    std::fs::write(dir.join("data/unrelated.txt"), "x").expect("unrelated");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(w.text().matches("! Watch:").count(), 1, "{}", w.text());

    // A file in a subdirectory `nested` read.
    std::fs::write(dir.join("data/sub/f.txt"), "changed").expect("edit nested");
    w.wait_for("! Watch:", 2);
    let third = w.run_after(2);
    assert!(third.contains("✓ nested"), "{third}");
    assert!(third.contains("↷ cat up-to-date"), "{third}");

    assert_eq!(interrupt(&mut w), Some(130));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rebuilt_module_replans_a_half_written_one_is_retried_and_polling_works() {
    let dir = scratch("module");
    let module = dir.join("jobs.wasm");
    let bytes = std::fs::read(wasm::READS).expect("module");
    std::fs::write(&module, &bytes).expect("copy module");
    // The polling fallback (what the watch uses when the OS's watches run out).
    let mut w = Watching::start(&dir, &module, &["--poll"]);
    w.wait_for("watching ", 1);

    // Half-written: the error is shown and the watch goes on.
    std::fs::write(&module, &bytes[..bytes.len() / 2]).expect("truncate");
    let text = w.wait_for("error: ", 1);
    assert!(text.contains("jobs.wasm"), "{text}");
    w.wait_for("watching ", 2);

    // Written whole again: the graph is planned again and every proc is
    // restored (the same module, the same digest).
    std::fs::write(&module, &bytes).expect("restore");
    let text = w.wait_for("watching ", 3);
    assert!(
        text.contains("rescheduling:\n    cat\n    nested\n"),
        "{text}"
    );
    let third = w.run_after(2);
    assert!(third.contains("↷ cat up-to-date"), "{third}");
    assert!(third.contains("↷ nested up-to-date"), "{third}");

    // A traced read still works through polling.
    std::fs::write(dir.join("data/a.txt"), "polled").expect("edit");
    w.wait_for("watching ", 4);
    assert!(w.run_after(3).contains("✓ cat"), "{}", w.text());
    assert_eq!(interrupt(&mut w), Some(130));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_change_made_while_a_rebuild_runs_is_handled_after_it() {
    let dir = scratch("during");
    std::fs::write(dir.join("data/slow.txt"), "one").expect("slow.txt");
    // `slow_cat` opens the file, sleeps 4 s, then reads it.
    let mut w = Watching::start_with(
        &dir,
        Path::new(wasm::READS),
        &["--param", "sleep_ms=4000"],
        &["slow_cat"],
    );
    w.wait_for("watching ", 1);
    std::fs::write(dir.join("data/slow.txt"), "two").expect("edit");
    // The rebuild has started: change the file while `slow_cat` sleeps
    // (it opens the file right after it starts, then sleeps 4 s).
    w.wait_for("• slow_cat", 2);
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(dir.join("data/slow.txt"), "three").expect("edit during");
    // No further edit: the change made during the rebuild starts another
    // (seen when the traces are checked after the rebuild, before watching
    // again, or by the queued event).
    w.wait_for("! Watch:", 2);
    let text = w.wait_for("✓ slow_cat", 3);
    let after = text.split("! Watch:").nth(2).expect("the second event");
    assert!(after.contains("✓ slow_cat"), "{text}");
    w.wait_for("watching ", 2);
    assert_eq!(interrupt(&mut w), Some(130));
    // What the store remembers is what the file holds now.
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(["state", "show", "--state-dir"])
        .arg(dir.join("state"))
        .arg("slow_cat")
        .output()
        .expect("state show");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("three"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_change_made_after_a_proc_read_it_and_before_watching_began_is_seen() {
    let dir = scratch("before");
    std::fs::write(dir.join("data/slow.txt"), "slow").expect("slow.txt");
    // `cat` reads a.txt at once; `slow_cat` keeps the first run going 3 s.
    let mut w = Watching::start_with(
        &dir,
        Path::new(wasm::READS),
        &["--param", "sleep_ms=3000"],
        &["cat", "slow_cat"],
    );
    w.wait_for("✓ cat", 1);
    // The watcher starts only when the run ends: no event can tell of this.
    std::fs::write(dir.join("data/a.txt"), "edited early").expect("edit");
    // The traces are checked once the watcher runs: `cat` is dirty at once,
    // with no further edit, and only it runs again.
    let text = w.wait_for("! Watch: detected changes in 1 proc(s)", 1);
    assert!(text.contains("rescheduling:\n    cat\n"), "{text}");
    // Then the second run, and the first `watching` line after it.
    let text = w.wait_for("watching ", 1);
    let again = text.split("! Watch:").nth(1).expect("after the event");
    assert!(again.contains("✓ cat"), "{again}");
    assert!(again.contains("↷ slow_cat up-to-date"), "{again}");
    assert_eq!(interrupt(&mut w), Some(130));
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(["state", "show", "--state-dir"])
        .arg(dir.join("state"))
        .arg("cat")
        .output()
        .expect("state show");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("edited early"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}
