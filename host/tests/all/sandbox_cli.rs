//! The sandbox through the `parproc-host` binary: `--dry-run` with grants, bad
//! inputs (exit 2, one line), signals (130/143 with the summary), and the whole
//! hostile suite in one host process with its peak memory measured.

#![expect(
    clippy::disallowed_macros,
    reason = "outputs and the peak memory go to the test output for the record"
)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use parproc_test_artifacts as wasm;

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .output()
        .expect("run parproc-host")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(tag: &str) -> PathBuf {
    std::fs::canonicalize(crate::fresh_dir(&format!("sandbox-cli-{tag}"))).expect("canonical")
}

/// The summary line of `name`.
fn summary_line<'a>(out: &'a str, name: &str) -> &'a str {
    let summary = out.split("\nsummary:\n").nth(1).expect("a summary");
    summary
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(name))
        .unwrap_or_else(|| panic!("no summary line for {name} in:\n{out}"))
}

// ---- --dry-run -------------------------------------------------------------------

#[test]
fn dry_run_prints_budgets_and_exactly_what_each_proc_may_touch() {
    let dir = scratch("dry");
    std::fs::create_dir_all(dir.join("data")).expect("data");
    std::fs::create_dir_all(dir.join("out")).expect("out");
    let data = format!("{}::/data", dir.join("data").display());
    let out_rw = format!("{}::/out:rw", dir.join("out").display());
    let o = host(&[
        "run",
        "--dry-run",
        "--dir",
        &data,
        "--dir",
        &out_rw,
        "--env",
        "PARPROC_TOKEN=secret",
        "--allow-net",
        "127.0.0.1:*",
        "--fuel",
        "1e11",
        "--fuel",
        "*spin=1e9",
        "--timeout",
        "read_*=30s",
        "--max-memory",
        "write_ok=64MiB",
        wasm::HOSTILE,
        "read_ok",
        "write_ok",
        "needs_grants",
        "open_socket_granted",
        "greedy_spin",
        "quick",
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let d = dir.display();
    let expected = format!(
        "dry run: 6 procs would run (nothing was started)
greedy_spin
    budget: fuel 1000000000, timeout 16666666m40s, memory 256 MiB
    may touch: nothing (no files, environment, network or input)
read_ok
    budget: fuel 100000000000, timeout 30s, memory 256 MiB
    may touch:
      dir /data = {d}/data (read-only)
write_ok
    budget: fuel 100000000000, timeout none, memory 64 MiB
    may touch:
      dir /out = {d}/out (read-write)
needs_grants
    budget: fuel 100000000000, timeout none, memory 256 MiB
    may touch:
      dir /out = {d}/out (read-write)
      env PARPROC_TOKEN
open_socket_granted
    budget: fuel 100000000000, timeout none, memory 256 MiB
    may touch:
      net 127.0.0.1:* (outgoing)
quick
    budget: fuel 100000000000, timeout none, memory 256 MiB
    may touch: nothing (no files, environment, network or input)
"
    );
    assert_eq!(out, expected);
    eprintln!("{out}");
}

#[test]
fn dry_run_names_what_is_not_granted() {
    let o = host(&["run", "--dry-run", wasm::HOSTILE, "needs_grants"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "    would fail before it starts: not granted: directory `/out` (pass `--dir \
             HOST::/out:rw`); environment variable `PARPROC_TOKEN` (pass `--env PARPROC_TOKEN` \
             for the host's value or `--env PARPROC_TOKEN=VALUE`)\n"
        ),
        "{out}"
    );
}

// ---- bad inputs ---------------------------------------------------------------------

/// `run FILE` fails with exit 2 and one line on stderr that names the file.
fn exits_2_naming(file: &str) -> String {
    let o = host(&["run", file]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{file}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("`{file}`")), "{err}");
    assert!(!err.contains("thread '"), "the host panicked: {err}");
    assert!(text(&o.stdout).is_empty(), "nothing ran");
    err
}

#[test]
fn bad_modules_exit_2_with_one_line_naming_the_file_or_declaration() {
    let dir = scratch("bad");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        p.display().to_string()
    };
    let err = exits_2_naming(&write("text.wasm", b"#!/bin/sh\necho not wasm\n"));
    assert!(err.contains("not a WebAssembly file"), "{err}");

    let full = std::fs::read(wasm::HOSTILE).expect("fixture");
    let err = exits_2_naming(&write("truncated.wasm", &full[..full.len() / 3]));
    assert!(err.contains("not a valid component"), "{err}");

    let core = wat::parse_str("(module (func (export \"run\")))").expect("wat");
    let err = exits_2_naming(&write("core.wasm", &core));
    assert!(err.contains("it is a core module"), "{err}");

    let err = exits_2_naming(&write(
        "other.wasm",
        &super::hostile::other_world_component(),
    ));
    assert!(
        err.contains("it does not export `parproc:jobs/declarations@0.2.0`"),
        "{err}"
    );

    let err = exits_2_naming(wasm::RAW_BAD_WORLD);
    assert!(
        err.contains("it imports `test:bad/missing`, which the host does not provide"),
        "{err}"
    );

    let err = exits_2_naming(wasm::HOSTILE_BAD_MANIFEST);
    assert!(
        err.ends_with(
            "`describe` returned an invalid manifest: declaration 2 (`fetch`): a needed network \
             address: `not an address` is not HOST:PORT (like `127.0.0.1:8080`, `[::1]:443`, \
             `example.com:443`, `*:443` or `10.0.0.1:*`)\n"
        ),
        "{err}"
    );

    let err = exits_2_naming(wasm::RAW_BAD_DESCRIBE);
    assert!(err.contains("`describe` failed: panicked at"), "{err}");
}

#[test]
fn bad_grant_flags_are_usage_errors() {
    let o = host(&["run", "--dir", "/no/such/dir::/data", wasm::HOSTILE]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("cannot grant `/no/such/dir`"),
        "{}",
        text(&o.stderr)
    );
    let o = host(&["run", "--allow-net", "localhost", wasm::HOSTILE]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is not HOST:PORT"));
    let o = host(&["run", "--fuel", "=5", wasm::HOSTILE]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("has an empty pattern"));
}

// ---- signals -------------------------------------------------------------------------

/// Run `sleep_forever` and `quick`; once `quick` finished and `sleep_forever`
/// runs, send `signal`. Returns the exit code and all of stdout.
#[cfg(unix)]
fn interrupted_by(signal: i32) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(["run", wasm::HOSTILE, "sleep_forever", "quick"])
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parproc-host");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let (mut quick_done, mut sleeper_started) = (false, false);
    while !(quick_done && sleeper_started) {
        let line = rx
            .recv()
            .expect("the host printed both lines before exiting");
        quick_done |= line.starts_with("✓ quick");
        sleeper_started |= line == "• sleep_forever";
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let status = child.wait().expect("wait");
    let out = reader.join().expect("reader");
    (status.code(), out)
}

#[cfg(unix)]
#[test]
fn sigint_cancels_running_procs_prints_the_summary_and_exits_130() {
    let (code, out) = interrupted_by(libc::SIGINT);
    assert_eq!(code, Some(130), "{out}");
    let sleeper = summary_line(&out, "sleep_forever");
    assert!(
        sleeper.contains("CANCELLED") && sleeper.ends_with("interrupted"),
        "{sleeper}"
    );
    assert!(summary_line(&out, "quick").contains("SUCCEEDED"), "{out}");
    eprintln!("{out}");
}

#[cfg(unix)]
#[test]
fn sigterm_does_the_same_with_143() {
    let (code, out) = interrupted_by(libc::SIGTERM);
    assert_eq!(code, Some(143), "{out}");
    assert!(
        summary_line(&out, "sleep_forever").contains("CANCELLED"),
        "{out}"
    );
    assert!(summary_line(&out, "quick").contains("SUCCEEDED"), "{out}");
}

// ---- the whole suite in one host ----------------------------------------------

/// Every attack at once in one host process: each ends in its outcome, the
/// well-behaved proc keeps its result, and the host's peak resident memory
/// (its own plus every guest's linear memory, which lives in the host
/// process) is measured with `wait4`.
#[cfg(target_os = "linux")]
#[test]
#[expect(
    clippy::zombie_processes,
    reason = "reaped with wait4 to read its rusage"
)]
fn the_whole_hostile_suite_in_one_host() {
    let dir = scratch("suite");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::create_dir_all(dir.join("out")).expect("out");
    std::fs::write(data.join("ok.txt"), "ok").expect("ok");
    std::fs::write(dir.join("secret.txt"), "TOP SECRET").expect("secret");
    std::os::unix::fs::symlink("../secret.txt", data.join("link")).expect("link");
    std::os::unix::fs::symlink(dir.join("secret.txt"), data.join("abs_link")).expect("link");
    let grant_data = format!("{}::/data", data.display());
    let grant_out = format!("{}::/out:rw", dir.join("out").display());
    let secret = format!("path={}", dir.join("secret.txt").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args([
            "run",
            "--quiet",
            "--results",
            "--fuel",
            "*spin=1e9",
            "--timeout",
            "sleep_forever=1s",
            "--timeout",
            "5m",
            "--max-memory",
            "huge_*=1GiB",
            "--dir",
            &grant_data,
            "--dir",
            &grant_out,
            "--param",
            &secret,
            wasm::HOSTILE,
            "spin",
            "greedy_spin",
            "sleep_forever",
            "memory_bomb",
            "recursion",
            "panics",
            "aborts",
            "log_flood",
            "huge_result",
            "million_procs",
            "huge_name",
            "wait_self",
            "pair_a",
            "read_dotdot",
            "read_absolute",
            "read_symlink",
            "read_abs_symlink",
            "write_readonly",
            "env_ungranted",
            "open_socket",
            "quick",
        ])
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .env("PARPROC_TOKEN", "must not leak")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let pid = i32::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    // `--results` puts the human lines on stderr and the JSON alone on stdout.
    let json = out.join().expect("stdout");
    let err = err.join().expect("stderr");
    let out = format!("{err}{json}");
    assert!(
        libc::WIFEXITED(status),
        "the host did not exit normally: {status}\n{err}"
    );
    assert_eq!(libc::WEXITSTATUS(status), 1, "{out}{err}");

    let expect = |name: &str, state: &str, reason: &str| {
        let line = summary_line(&out, name);
        assert!(line.contains(state), "{name}: {line}");
        assert!(line.contains(reason), "{name}: {line}");
    };
    expect("spin", "FAILED", "out of fuel after 1000000000 fuel");
    expect("greedy_spin", "FAILED", "out of fuel after 1000000000 fuel");
    expect("sleep_forever", "FAILED", "timed out after 1s");
    expect("memory_bomb", "FAILED", "memory limit of 256 MiB reached");
    expect("recursion", "FAILED", "");
    expect("panics", "FAILED", "hostile panic");
    expect("aborts", "FAILED", "unreachable");
    expect("log_flood", "SUCCEEDED", "");
    expect("huge_result", "FAILED", "over the limit of 16 MiB");
    expect("million_procs", "FAILED", "created more than 10000 procs");
    expect("huge_name", "FAILED", "over the limit of 1 MiB");
    expect("wait_self", "FAILED", "wait can never finish");
    expect("pair_b", "FAILED", "wait can never finish");
    expect("pair_a", "FAILED", "pair_b");
    for p in [
        "read_dotdot",
        "read_absolute",
        "read_symlink",
        "read_abs_symlink",
        "write_readonly",
        "open_socket",
    ] {
        expect(p, "FAILED", "");
    }
    assert!(
        !out.contains("TOP SECRET") && !out.contains("must not leak"),
        "{out}"
    );
    expect("env_ungranted", "SUCCEEDED", "");
    expect("quick", "SUCCEEDED", "");
    let results_at = out.rfind("\n{").expect("results JSON");
    let results: serde_json::Value = serde_json::from_str(&out[results_at..]).expect("JSON");
    assert_eq!(results["quick"], "intact");
    assert_eq!(results["env_ungranted"], serde_json::json!([]));
    assert!(!dir.join("data/written.txt").exists());

    let peak_mib = usage.ru_maxrss / 1024;
    eprintln!("host peak resident memory during the hostile suite: {peak_mib} MiB");
    // Bounded by the guests' caps (1 GiB for the two `huge_*` procs, 256 MiB
    // for the others) plus the host's own copies, far from the machine's size.
    assert!(peak_mib < 4096, "peak {peak_mib} MiB");
}

// ---- guest text ------------------------------------------------------------------

/// A 10 MB failure message is kept to 4 KiB, shown whole once (the `failures:` block),
/// shortened on the end line and the summary row, and written to the log (within its
/// limit). Before the cap the message was printed five times, about 50 MB on stdout.
#[test]
fn a_huge_failure_message_is_capped_and_printed_in_full_once() {
    let dir = scratch("message");
    let report = dir.join("r.json");
    let o = host(&[
        "run",
        "--progress",
        "static",
        "--report",
        report.to_str().unwrap(),
        wasm::HOSTILE,
        "huge_message",
        "quick",
    ]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(out.len() < 64 * 1024, "stdout is {} bytes", out.len());
    let kept = "… (cut at 4096 bytes of 10000000 bytes; the whole message is in the log)";
    assert_eq!(out.matches(kept).count(), 1, "whole once:\n{out}");
    let reason = out
        .lines()
        .find(|l| l.starts_with("    reason: "))
        .expect("a reason line");
    assert!(reason.starts_with("    reason: line 0 of a very long failure message\\nline 1 of"));
    assert!(reason.ends_with(kept), "{reason}");
    // The end line and the summary row carry 240 characters of it.
    let end = out
        .lines()
        .find(|l| l.starts_with("✗ huge_message - "))
        .expect("an end line");
    assert!(end.chars().count() < 400 && end.contains('…'), "{end}");
    let row = summary_line(&out, "huge_message");
    assert!(row.chars().count() < 400 && row.ends_with('…'), "{row}");
    assert!(summary_line(&out, "quick").contains("SUCCEEDED"), "{out}");
    // The report keeps the capped message; the log file has far more of it.
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let p = r["procs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "huge_message")
        .unwrap();
    let message = p["reason"]["message"].as_str().unwrap();
    assert!(message.len() < 4096 + 100 && message.ends_with(kept));
    let log = std::fs::read_to_string(p["log_path"].as_str().unwrap()).unwrap();
    assert!(log.len() > 500_000, "the log keeps {} bytes", log.len());
    // The log's own limit keeps the message's end: its last whole line is there.
    let mut message = String::new();
    let mut i = 0u64;
    while message.len() < 10_000_000 {
        message.push_str(&format!("line {i} of a very long failure message\n"));
        i += 1;
    }
    message.truncate(10_000_000);
    let last = message.lines().rev().nth(1).expect("a whole line");
    assert!(log.contains(last), "{last} in the log");
}

// ---- descriptors -------------------------------------------------------------------

/// Under `ulimit -n 200` a proc that opens files without end is stopped by its own cap
/// (16, the default share of so low a limit): it sees `insufficient-memory` (ENOMEM), closes
/// its files and opens again, and a neighbour opening ten files at the same time never
/// fails. Before the cap followed the limit, the hog took the process's descriptors and the
/// neighbour's opens failed with a generic I/O error.
#[cfg(unix)]
#[test]
fn a_descriptor_hog_meets_its_own_cap_and_its_neighbour_never_fails() {
    let dir = scratch("fds");
    std::fs::create_dir_all(dir.join("data")).expect("data");
    std::fs::write(dir.join("data/a.txt"), "a").expect("a.txt");
    let report = dir.join("r.json");
    let script = format!(
        "ulimit -n 200 && exec {} run --progress static --dir {}::/data --report {} {} fd_hog fd_neighbour",
        env!("CARGO_BIN_EXE_parproc-host"),
        dir.join("data").display(),
        report.display(),
        wasm::HOSTILE
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .output()
        .expect("run bash");
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let result = |name: &str| {
        r["procs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["result"].clone())
            .unwrap()
    };
    assert_eq!(result("fd_neighbour"), 10, "{out}");
    let hog = result("fd_hog");
    let hog = hog.as_str().expect("a text result");
    // The preopen `/data` is one of the 16.
    assert!(
        hog.starts_with("opened 15, then: ") && hog.contains("memory"),
        "{hog}"
    );
    assert!(hog.ends_with("reopened: true"), "{hog}");
}
