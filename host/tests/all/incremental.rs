//! Incremental runs through the binary: a real state store (SQLite file and
//! blob directory) across runs of real components.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use parproc_test_artifacts as wasm;

fn scratch(tag: &str) -> PathBuf {
    crate::fresh_dir(&format!("inc-{tag}"))
}

/// `parproc-host run --state-dir STATE --report R ARGS...`: the output, and
/// each proc's state and result from the report.
fn run(dir: &Path, args: &[&str]) -> (Output, BTreeMap<String, (String, serde_json::Value)>) {
    let report = dir.join("r.json");
    let _ = std::fs::remove_file(&report);
    let state = dir.join("state");
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(["run", "--state-dir", state.to_str().expect("utf-8")])
        .args(["--report", report.to_str().expect("utf-8")])
        .args(["--log-dir", dir.join("logs").to_str().expect("utf-8")])
        .args(args)
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .env_remove("PARPROC_STATE_DIR")
        .output()
        .expect("run parproc-host");
    let (_, _, procs) = crate::scenarios_incremental::read_report(&o, &report);
    let procs = procs
        .into_iter()
        .map(|(name, p)| (name, (p.state, p.result)))
        .collect();
    (o, procs)
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn states(procs: &BTreeMap<String, (String, serde_json::Value)>) -> BTreeMap<&str, &str> {
    procs
        .iter()
        .map(|(n, (s, _))| (n.as_str(), s.as_str()))
        .collect()
}

#[test]
fn a_second_run_restores_every_proc_up_to_date_with_its_result() {
    let dir = scratch("rerun");
    let (o, first) = run(&dir, &[wasm::SUCCESS]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(first.values().all(|(s, _)| s != "UP_TO_DATE"), "{first:?}");
    let (o, second) = run(&dir, &[wasm::SUCCESS]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert_eq!(second.len(), first.len());
    for (name, (state, result)) in &second {
        assert_eq!(state, "UP_TO_DATE", "{name} in:\n{text}");
        assert_eq!(*result, first[name].1, "{name}'s restored result");
        assert_eq!(
            text.matches(&format!("↷ {name} up-to-date\n")).count(),
            1,
            "{name}'s line, once, in:\n{text}"
        );
        // It did not run: no start line.
        assert!(
            !text.contains(&format!("• {name}\n")),
            "{name} started:\n{text}"
        );
    }
    let totals = format!("0 succeeded, 0 failed, {} up-to-date in ", second.len());
    assert!(text.contains(&totals), "{text}");
    // The database is as private as its directory.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("state").join("state.db"))
            .expect("state.db")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The same bytes under another path are the same module.
    let copy = dir.join("copy.wasm");
    std::fs::copy(wasm::SUCCESS, &copy).expect("copy");
    let (_, third) = run(&dir, &[copy.to_str().expect("utf-8")]);
    assert!(third.values().all(|(s, _)| s == "UP_TO_DATE"), "{third:?}");
}

#[test]
fn full_runs_everything_and_a_changed_param_reruns() {
    let dir = scratch("full");
    let (o, _) = run(&dir, &[wasm::SUCCESS]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let (_, full) = run(&dir, &["--full", wasm::SUCCESS]);
    assert!(
        full.values()
            .all(|(s, _)| s == "SUCCEEDED" || s == "SKIPPED"),
        "{full:?}"
    );
    // Params are in every key: a new value runs every proc again.
    let (_, other) = run(&dir, &["--param", "release=9.9", wasm::SUCCESS]);
    assert!(other.values().all(|(s, _)| s != "UP_TO_DATE"), "{other:?}");
    let (_, again) = run(&dir, &["--param", "release=9.9", wasm::SUCCESS]);
    assert!(again.values().all(|(s, _)| s == "UP_TO_DATE"), "{again:?}");
}

#[test]
fn failures_are_never_restored_and_a_parent_is_restored_after_its_calls_are_replayed() {
    let dir = scratch("never");
    let (_, first) = run(&dir, &[wasm::ERROR]);
    let (_, second) = run(&dir, &[wasm::ERROR]);
    let s1 = states(&first);
    let s2 = states(&second);
    let failed: Vec<_> = s1
        .iter()
        .filter(|(_, s)| **s == "FAILED")
        .map(|(n, _)| *n)
        .collect();
    assert!(!failed.is_empty(), "{s1:?}");
    for name in &failed {
        assert_eq!(s2[name], "FAILED", "a failed proc runs again: {s2:?}");
    }
    assert!(
        s2.iter().any(|(_, s)| *s == "UP_TO_DATE"),
        "the procs that succeeded are restored: {s2:?}"
    );

    // `release` creates, starts and waits for packages: its calls are asked
    // again, the packages are restored, the answers are the recorded ones, so
    // it is restored too, with its result.
    let dir = scratch("dynamic");
    let (o, first) = run(&dir, &[wasm::DYNAMIC]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let (o, second) = run(&dir, &[wasm::DYNAMIC]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let s = states(&second);
    assert_eq!(s["release"], "UP_TO_DATE", "{s:?}");
    assert_eq!(second["release"].1, first["release"].1);
    assert_eq!(s["package::linux"], "UP_TO_DATE", "{s:?}");
    assert_eq!(s["package::macos"], "UP_TO_DATE", "{s:?}");
}

#[test]
fn a_parent_whose_child_read_a_changed_file_runs_again() {
    let dir = scratch("parent");
    let data = data_dir(&dir);
    let first = reads(&dir, &data, &["parent"]);
    assert_eq!(
        first["parent"],
        ("SUCCEEDED".to_owned(), "parent of nested".into())
    );
    assert_eq!(state_of(&first, "nested"), "SUCCEEDED", "{first:?}");

    // Nothing changed: the replay creates and waits for `nested`, which is
    // restored, and every answer is the recorded one.
    let second = reads(&dir, &data, &["parent"]);
    assert_eq!(state_of(&second, "parent"), "UP_TO_DATE", "{second:?}");
    assert_eq!(second["parent"].1, "parent of nested");
    assert_eq!(state_of(&second, "nested"), "UP_TO_DATE", "{second:?}");

    // The child's input changes: the child runs, its result is not the one
    // the parent read, so the parent runs too and says why.
    std::fs::write(data.join("sub/f.txt"), "changed").expect("change");
    let third = reads(&dir, &data, &["parent"]);
    assert_eq!(third["nested"], ("SUCCEEDED".to_owned(), "changed".into()));
    assert_eq!(
        third["parent"],
        ("SUCCEEDED".to_owned(), "parent of changed".into())
    );
    assert_eq!(
        whys(&dir)["parent"].as_deref(),
        Some("the result of `nested` changed")
    );
    let fourth = reads(&dir, &data, &["parent"]);
    assert_eq!(state_of(&fourth, "parent"), "UP_TO_DATE", "{fourth:?}");
    assert_eq!(fourth["parent"].1, "parent of changed");
}

#[test]
fn a_proc_that_read_a_result_it_neither_depends_on_nor_waited_for_is_not_remembered() {
    let dir = scratch("peek");
    let data = data_dir(&dir);
    for _ in 0..2 {
        let procs = reads(&dir, &data, &["cat", "peek"]);
        assert_eq!(state_of(&procs, "peek"), "SUCCEEDED", "{procs:?}");
        let why = whys(&dir)["peek"].clone().unwrap_or_default();
        assert!(
            why.ends_with(
                "not remembered: it read the result of `cat`, neither a dep nor a proc it waited for"
            ),
            "{why}"
        );
    }
}

#[test]
fn a_module_of_the_older_version_waits_for_a_proc_restored_up_to_date() {
    // raw_basic is built against parproc:jobs@0.1.0, which has no
    // `up-to-date` state: a restored proc is shown to it as succeeded.
    let dir = scratch("old-wait");
    let (o, first) = run(&dir, &[wasm::RAW_BASIC, "quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(first["quiet"].0, "SUCCEEDED");
    let (o, second) = run(&dir, &[wasm::RAW_BASIC, "ctx_wait"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(state_of(&second, "quiet"), "UP_TO_DATE", "{second:?}");
    assert_eq!(
        second["ctx_wait"],
        ("SUCCEEDED".to_owned(), "succeeded".into())
    );
}

#[test]
fn a_damaged_result_blob_runs_the_proc_again_and_a_foreign_directory_is_refused() {
    // A traced proc's outcome is restored from blobs (its trace, its result).
    let dir = scratch("damaged");
    let data = data_dir(&dir);
    let grant = format!("{}::/data:rw", data.display());
    let args = ["--dir", grant.as_str(), wasm::READS, "cat"];
    let (o, _) = run(&dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // Flip every blob: nothing may be restored from a damaged store.
    let blobs = dir.join("state").join("blobs");
    for sub in std::fs::read_dir(&blobs).expect("blobs").flatten() {
        for f in std::fs::read_dir(sub.path()).expect("sub").flatten() {
            let mut bytes = std::fs::read(f.path()).expect("blob");
            bytes.push(b' ');
            std::fs::write(f.path(), bytes).expect("damage");
        }
    }
    let (o, second) = run(&dir, &args);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert_eq!(
        second["cat"],
        ("SUCCEEDED".to_owned(), "alpha".into()),
        "{second:?}"
    );
    assert!(
        text.contains("is damaged"),
        "the damage is reported:\n{text}"
    );

    // A directory with other files is not taken for a store (exit 2, named).
    let foreign = scratch("foreign");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args([
            "run",
            "--state-dir",
            foreign.to_str().expect("utf-8"),
            wasm::SUCCESS,
        ])
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("is not a state store"), "{}", out(&o));
}

#[test]
#[expect(
    clippy::disallowed_macros,
    reason = "the seed of the kill times is printed"
)]
fn a_host_killed_mid_run_loses_nothing_it_recorded_and_the_rerun_finishes_the_rest() {
    let dir = scratch("kill");
    let state = dir.join("state");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["run", "-q", "--parallel", "1", "--param", "n=2000"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a.extend([wasm::BENCH_JOBS.to_owned(), "c::*".to_owned()]);
        a
    };
    // SIGKILL the host at 20 random moments of runs of a 2,000-link chain
    // (the seed is printed; PARPROC_TEST_SEED repeats it); each run goes on
    // from what the last one recorded.
    let seed: u64 = std::env::var("PARPROC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("kill times from seed {seed} (PARPROC_TEST_SEED={seed} repeats them)");
    let mut x = seed | 1;
    let delays: Vec<u64> = (0..20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            60 + x % 700
        })
        .collect();
    for delay_ms in delays {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .args(args(&["--state-dir", state.to_str().expect("utf-8")]))
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().expect("reap");
        let store = parproc_host::store::StateStore::open(&state, false).expect("reopen");
        let report = store.verify().expect("verify");
        assert!(
            report.is_sound(),
            "after a kill at {delay_ms} ms: {report:?}"
        );
    }
    // The same run for the `run` helper, which adds `run` and the store flags.
    let rerun = args(&[]);
    let rerun: Vec<&str> = rerun.iter().skip(1).map(String::as_str).collect();
    let (o, procs) = run(&dir, &rerun);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(procs.len(), 2000);
    let restored = procs.values().filter(|(s, _)| s == "UP_TO_DATE").count();
    let ran = procs.values().filter(|(s, _)| s == "SUCCEEDED").count();
    assert_eq!(restored + ran, 2000, "{:?}", states(&procs));
    assert!(restored > 0, "nothing the killed runs finished was kept");
    // With `--parallel 1` the chain runs in order, so the killed runs recorded a
    // prefix of it: that prefix is restored and the rest runs.
    let first_ran = (0..2000).find(|i| procs[&format!("c::{i}")].0 == "SUCCEEDED");
    if let Some(k) = first_ran {
        assert!(
            (k..2000).all(|i| procs[&format!("c::{i}")].0 == "SUCCEEDED"),
            "after c::{k}, every later link runs too"
        );
    }
    let (_, again) = run(&dir, &rerun);
    assert!(again.values().all(|(s, _)| s == "UP_TO_DATE"));
}

/// A granted directory for the `reads` fixture, with every file its procs look at.
fn data_dir(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("sub")).expect("sub");
    std::fs::create_dir_all(data.join("list")).expect("list");
    std::fs::write(data.join("a.txt"), "alpha").expect("a");
    std::fs::write(data.join("sub/f.txt"), "nested").expect("f");
    std::fs::write(data.join("list/one"), "1").expect("one");
    std::fs::write(data.join("big.bin"), vec![0u8; 4096]).expect("big");
    std::fs::write(data.join("target1.txt"), "first").expect("t1");
    std::fs::write(data.join("target2.txt"), "second").expect("t2");
    std::fs::write(data.join("slow.txt"), "slow").expect("slow");
    #[cfg(unix)]
    std::os::unix::fs::symlink("target1.txt", data.join("link.txt")).expect("link");
    data
}

/// Run `procs` of the `reads` fixture with `data` granted at `/data`.
fn reads(dir: &Path, data: &Path, procs: &[&str]) -> BTreeMap<String, (String, serde_json::Value)> {
    let grant = format!("{}::/data:rw", data.display());
    let mut args = vec!["--dir", grant.as_str(), wasm::READS];
    args.extend(procs);
    let (o, procs) = run(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    procs
}

fn state_of<'a>(procs: &'a BTreeMap<String, (String, serde_json::Value)>, name: &str) -> &'a str {
    &procs[name].0
}

#[test]
fn a_traced_read_is_checked_again_and_a_changed_file_reruns_only_its_reader() {
    let dir = scratch("traced");
    let data = data_dir(&dir);
    let all = ["cat", "upper", "nested", "probe", "list", "size", "linked"];
    let first = reads(&dir, &data, &all);
    assert!(
        all.iter().all(|p| state_of(&first, p) == "SUCCEEDED"),
        "{first:?}"
    );
    assert_eq!(first["upper"].1, "ALPHA");
    let second = reads(&dir, &data, &all);
    assert!(
        all.iter().all(|p| state_of(&second, p) == "UP_TO_DATE"),
        "{second:?}"
    );

    // The same bytes with a new mtime: still up to date.
    std::fs::write(data.join("a.txt"), "alpha").expect("rewrite");
    let same = reads(&dir, &data, &all);
    assert_eq!(state_of(&same, "cat"), "UP_TO_DATE", "{same:?}");

    // An undeclared input changes: its reader and the dependent of its result
    // run again; nothing else does.
    std::fs::write(data.join("a.txt"), "beta").expect("change");
    let changed = reads(&dir, &data, &all);
    assert_eq!(state_of(&changed, "cat"), "SUCCEEDED", "{changed:?}");
    assert_eq!(changed["cat"].1, "beta");
    assert_eq!(state_of(&changed, "upper"), "SUCCEEDED", "{changed:?}");
    assert_eq!(changed["upper"].1, "BETA");
    for p in ["nested", "probe", "list", "size", "linked"] {
        assert_eq!(state_of(&changed, p), "UP_TO_DATE", "{p}: {changed:?}");
    }

    // A file below a subdirectory.
    std::fs::write(data.join("sub/f.txt"), "deeper").expect("nested");
    let r = reads(&dir, &data, &["nested"]);
    assert_eq!(r["nested"], ("SUCCEEDED".to_owned(), "deeper".into()));

    // A file it looked for and did not find appears.
    std::fs::write(data.join("maybe.txt"), "here").expect("maybe");
    let r = reads(&dir, &data, &["probe"]);
    assert_eq!(r["probe"], ("SUCCEEDED".to_owned(), true.into()));

    // A new entry in a directory it only listed.
    std::fs::write(data.join("list/two"), "2").expect("two");
    let r = reads(&dir, &data, &["list"]);
    assert_eq!(
        r["list"],
        ("SUCCEEDED".to_owned(), serde_json::json!(["one", "two"]))
    );

    // A size-only stat: same size, new bytes → up to date; new size → runs.
    std::fs::write(data.join("big.bin"), vec![1u8; 4096]).expect("same size");
    let r = reads(&dir, &data, &["size"]);
    assert_eq!(state_of(&r, "size"), "UP_TO_DATE", "{r:?}");
    std::fs::write(data.join("big.bin"), vec![1u8; 10]).expect("new size");
    let r = reads(&dir, &data, &["size"]);
    assert_eq!(r["size"], ("SUCCEEDED".to_owned(), 10.into()));

    // A symlink retargeted.
    #[cfg(unix)]
    {
        std::fs::remove_file(data.join("link.txt")).expect("unlink");
        std::os::unix::fs::symlink("target2.txt", data.join("link.txt")).expect("relink");
        let r = reads(&dir, &data, &["linked"]);
        assert_eq!(r["linked"], ("SUCCEEDED".to_owned(), "second".into()));
    }

    // An unrelated file changes: nothing runs.
    std::fs::write(data.join("unrelated.txt"), "noise").expect("unrelated");
    let r = reads(&dir, &data, &all);
    assert!(all.iter().all(|p| state_of(&r, p) == "UP_TO_DATE"), "{r:?}");
}

#[test]
fn a_proc_whose_input_changed_while_it_ran_is_not_cached() {
    let dir = scratch("untraceable");
    let data = data_dir(&dir);

    // Change the file while `slow_cat` sleeps after reading it.
    // The grant as `reads` gives it (the grants are in the key).
    let grant = format!("{}::/data:rw", data.display());
    let state = dir.join("state");
    let child = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args([
            "run",
            "-q",
            "--results",
            "--state-dir",
            state.to_str().expect("utf-8"),
        ])
        .args(["--dir", grant.as_str(), wasm::READS, "slow_cat"])
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .env_remove("PARPROC_STATE_DIR")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    // Same size, so only the bytes tell the difference.
    std::fs::write(data.join("slow.txt"), "SLOW").expect("change");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains("\"SLOW\""), "{}", out(&o));
    // It read the new bytes, although the file held the old ones when it was
    // opened. Put the old ones back: a trace recorded at the open would now
    // hold and restore "SLOW"; the run must not have been cached.
    std::fs::write(data.join("slow.txt"), "slow").expect("revert");
    let r = reads(&dir, &data, &["slow_cat"]);
    assert_eq!(
        r["slow_cat"],
        ("SUCCEEDED".to_owned(), "slow".into()),
        "{r:?}"
    );
}

#[test]
fn a_granted_environment_value_is_in_the_key() {
    let dir = scratch("env");
    let token = |v: &str| {
        let grant = format!("PARPROC_TOKEN={v}");
        let (o, procs) = run(&dir, &["--env", grant.as_str(), wasm::READS, "token"]);
        assert_eq!(o.status.code(), Some(0), "{}", out(&o));
        procs["token"].clone()
    };
    assert_eq!(token("a"), ("SUCCEEDED".to_owned(), "a".into()));
    assert_eq!(token("a"), ("UP_TO_DATE".to_owned(), "a".into()));
    assert_eq!(token("b"), ("SUCCEEDED".to_owned(), "b".into()));
}

/// Each proc's `why` in the report of the last `run` in `dir`.
fn whys(dir: &Path) -> BTreeMap<String, Option<String>> {
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json")).expect("report")).expect("JSON");
    r["procs"]
        .as_array()
        .expect("procs")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_owned(),
                p["why"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn explain_says_why_each_proc_ran_or_was_not_remembered() {
    let dir = scratch("explain");
    let data = data_dir(&dir);
    let _ = reads(&dir, &data, &["cat", "upper", "write_out"]);
    let w = whys(&dir);
    assert_eq!(w["cat"].as_deref(), Some("first run"));
    assert_eq!(w["write_out"].as_deref(), Some("first run"));
    let _ = reads(&dir, &data, &["cat", "upper"]);
    assert_eq!(whys(&dir)["cat"], None, "an up-to-date proc has no reason");

    std::fs::write(data.join("a.txt"), "gamma").expect("change");
    let grant = format!("{}::/data:rw", data.display());
    let (o, _) = run(
        &dir,
        &[
            "--explain",
            "--dir",
            grant.as_str(),
            wasm::READS,
            "cat",
            "upper",
        ],
    );
    let text = out(&o);
    let w = whys(&dir);
    assert_eq!(w["cat"].as_deref(), Some("input `/data/a.txt` changed"));
    assert_eq!(w["upper"].as_deref(), Some("dep `cat` gave another result"));
    assert!(
        text.contains("  why: input `/data/a.txt` changed\n"),
        "{text}"
    );
    assert!(
        text.contains("  why: dep `cat` gave another result\n"),
        "{text}"
    );

    // Without --explain the terminal says nothing of it (the report still does).
    let (o, _) = run(
        &dir,
        &[
            "--param",
            "k=1",
            "--dir",
            grant.as_str(),
            wasm::READS,
            "cat",
        ],
    );
    assert!(!out(&o).contains("why:"), "{}", out(&o));
    assert_eq!(whys(&dir)["cat"].as_deref(), Some("param `k` changed"));

    let dir = scratch("explain-dynamic");
    let _ = run(&dir, &[wasm::DYNAMIC]);
    assert_eq!(whys(&dir)["release"].as_deref(), Some("first run"));
    let dir = scratch("explain-failed");
    let _ = run(&dir, &[wasm::ERROR]);
    let w = whys(&dir);
    assert!(
        w.values()
            .any(|v| v.as_deref() == Some("first run; not remembered: failures are not remembered")),
        "{w:?}"
    );
}

#[test]
fn outputs_are_recorded_and_restored_without_running_the_proc() {
    let dir = scratch("outputs");
    let data = data_dir(&dir);
    std::fs::write(data.join("stale.tmp"), "old").expect("stale");
    let first = reads(&dir, &data, &["build_out", "write_out"]);
    assert_eq!(first["build_out"], ("SUCCEEDED".to_owned(), 5.into()));
    assert_eq!(
        std::fs::read(data.join("out/app.bin")).expect("built"),
        b"ahpla"
    );
    assert!(!data.join("stale.tmp").exists());

    // Delete out/, rerun: it comes back without the proc running.
    std::fs::remove_dir_all(data.join("out")).expect("rm out");
    std::fs::write(data.join("out.txt"), "tampered").expect("tamper");
    std::fs::write(data.join("stale.tmp"), "again").expect("stale again");
    let second = reads(&dir, &data, &["build_out", "write_out"]);
    assert_eq!(state_of(&second, "build_out"), "UP_TO_DATE", "{second:?}");
    assert_eq!(state_of(&second, "write_out"), "UP_TO_DATE", "{second:?}");
    assert_eq!(
        std::fs::read(data.join("out/app.bin")).expect("restored"),
        b"ahpla"
    );
    assert_eq!(
        std::fs::read(data.join("out.txt")).expect("restored"),
        b"written"
    );
    assert!(
        !data.join("stale.tmp").exists(),
        "what it removed is removed again"
    );

    // Its input changes: it runs, and the next run restores the new output.
    std::fs::write(data.join("a.txt"), "xyz").expect("change");
    let third = reads(&dir, &data, &["build_out"]);
    assert_eq!(third["build_out"], ("SUCCEEDED".to_owned(), 3.into()));
    std::fs::remove_dir_all(data.join("out")).expect("rm out");
    let fourth = reads(&dir, &data, &["build_out"]);
    assert_eq!(state_of(&fourth, "build_out"), "UP_TO_DATE", "{fourth:?}");
    assert_eq!(
        std::fs::read(data.join("out/app.bin")).expect("restored"),
        b"zyx"
    );
}

/// `run` of `reads` procs with the host killed just before its `n`th write to
/// the state store: whether it was killed.
fn killed_at(dir: &Path, data: &Path, procs: &[&str], n: u64) -> bool {
    let grant = format!("{}::/data:rw", data.display());
    let state = dir.join("state");
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(["run", "-q", "--state-dir", state.to_str().expect("utf-8")])
        .args(["--dir", grant.as_str(), wasm::READS])
        .args(procs)
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .env_remove("PARPROC_STATE_DIR")
        .env(parproc_host::store::KILL_AT_WRITE_ENV, n.to_string())
        .output()
        .expect("run");
    use std::os::unix::process::ExitStatusExt;
    match o.status.signal() {
        Some(libc::SIGKILL) => true,
        None if o.status.success() => false,
        _ => panic!("write {n}: the host ended otherwise: {}", out(&o)),
    }
}

#[test]
#[expect(
    clippy::disallowed_macros,
    reason = "the note says how many writes were tried"
)]
fn a_host_killed_at_every_store_write_leaves_a_sound_store_and_reruns_to_a_clean_result() {
    let procs = ["cat", "upper", "nested", "list", "build_out"];
    let results =
        |m: &BTreeMap<String, (String, serde_json::Value)>| -> BTreeMap<String, serde_json::Value> {
            m.iter().map(|(k, (_, v))| (k.clone(), v.clone())).collect()
        };
    let clean_dir = scratch("kill-clean");
    let clean_data = data_dir(&clean_dir);
    let clean = results(&reads(&clean_dir, &clean_data, &procs));
    let built = std::fs::read(clean_data.join("out/app.bin")).expect("built");

    // Phase 1: a first run killed before each of its writes in turn.
    // Phase 2: a run that restores outputs and re-runs one proc (its input
    // changed), killed likewise.
    for phase in [1, 2] {
        let mut n = 1;
        loop {
            let dir = scratch(&format!("kill-{phase}-{n}"));
            let data = data_dir(&dir);
            if phase == 2 {
                let _ = reads(&dir, &data, &procs);
                std::fs::remove_dir_all(data.join("out")).expect("rm out");
                std::fs::write(data.join("sub/f.txt"), "changed").expect("change");
            }
            let killed = killed_at(&dir, &data, &procs, n);
            let store =
                parproc_host::store::StateStore::open(&dir.join("state"), false).expect("open");
            let report = store.verify().expect("verify");
            assert!(
                report.is_sound(),
                "phase {phase}, killed at write {n}: {report:?}"
            );
            drop(store);
            // The data back as the clean run had it: the rerun must give its results.
            std::fs::write(data.join("sub/f.txt"), "nested").expect("back");
            let again = reads(&dir, &data, &procs);
            assert_eq!(results(&again), clean, "phase {phase}, killed at write {n}");
            assert_eq!(std::fs::read(data.join("out/app.bin")).expect("out"), built);
            let _ = std::fs::remove_dir_all(&dir);
            if !killed {
                assert!(n > 3, "phase {phase}: only {} writes", n - 1);
                eprintln!("phase {phase}: killed at each of {} writes", n - 1);
                break;
            }
            n += 1;
        }
    }
}
