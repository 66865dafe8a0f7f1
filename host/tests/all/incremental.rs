//! Incremental runs through the binary: a real state store (SQLite file and
//! blob directory) across runs of real components.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use parproc_test_artifacts as wasm;

fn scratch(tag: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
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
    let r: serde_json::Value = match std::fs::read(&report) {
        Ok(bytes) => serde_json::from_slice(&bytes).expect("report JSON"),
        Err(e) => panic!(
            "no report ({e}):\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    };
    assert_eq!(r["schema_version"], 2);
    let procs = r["procs"]
        .as_array()
        .expect("procs")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_owned(),
                (
                    p["state"].as_str().expect("state").to_owned(),
                    p["result"].clone(),
                ),
            )
        })
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
fn failures_and_procs_that_create_or_wait_are_never_restored() {
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

    // `release` creates, starts and waits for packages: it runs every time;
    // the packages it waits for are restored.
    let dir = scratch("dynamic");
    let (o, _) = run(&dir, &[wasm::DYNAMIC]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let (o, second) = run(&dir, &[wasm::DYNAMIC]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let s = states(&second);
    assert_eq!(s["release"], "SUCCEEDED", "{s:?}");
    assert_eq!(s["package::linux"], "UP_TO_DATE", "{s:?}");
    assert_eq!(s["package::macos"], "UP_TO_DATE", "{s:?}");
}

#[test]
fn a_damaged_result_blob_runs_the_proc_again_and_a_foreign_directory_is_refused() {
    let dir = scratch("damaged");
    let (o, _) = run(&dir, &[wasm::SUCCESS]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // Flip every result blob: nothing may be restored from a damaged store.
    let blobs = dir.join("state").join("blobs");
    for sub in std::fs::read_dir(&blobs).expect("blobs").flatten() {
        for f in std::fs::read_dir(sub.path()).expect("sub").flatten() {
            let mut bytes = std::fs::read(f.path()).expect("blob");
            bytes.push(b' ');
            std::fs::write(f.path(), bytes).expect("damage");
        }
    }
    let (o, second) = run(&dir, &[wasm::SUCCESS]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let s = states(&second);
    assert_eq!(s["func0"], "SUCCEEDED", "{s:?}");
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
    // SIGKILL the host at several moments of a run of a 2,000-link chain; each
    // run goes on from what the last one recorded.
    for delay_ms in [250u64, 500, 800, 1200] {
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
    let (o, procs) = run(
        &dir,
        &args(&[])
            .iter()
            .skip(1)
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
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
    let (_, again) = run(
        &dir,
        &args(&[])
            .iter()
            .skip(1)
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(again.values().all(|(s, _)| s == "UP_TO_DATE"));
}
