//! The `parproc-host` binary driven as a user would, on the examples and fixtures.

use std::path::Path;
use std::process::{Command, Output};

use parproc_test_artifacts as wasm;

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .output()
        .expect("run parproc-host")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The summary line of `name`, e.g. `✓ SUCCEEDED  func0  1.00s`.
/// With `--results` the human lines are on stderr and stdout is the JSON alone:
/// both, in that order.
fn human_then_json(o: &Output) -> String {
    format!("{}{}", stderr(o), stdout(o))
}

fn summary_line<'a>(out: &'a str, name: &str) -> &'a str {
    let summary = out.split("\nsummary:\n").nth(1).expect("a summary");
    summary
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(name))
        .unwrap_or_else(|| panic!("no summary line for {name} in:\n{out}"))
}

fn position(out: &str, line: &str) -> usize {
    out.lines()
        .position(|l| l.starts_with(line))
        .unwrap_or_else(|| panic!("no line starting {line:?} in:\n{out}"))
}

fn results(out: &str) -> serde_json::Value {
    let start = out.rfind("\n{").expect("results JSON");
    serde_json::from_str(&out[start..]).expect("valid results JSON")
}

#[test]
fn readme_runs_func2_after_func0_and_func1_in_parallel() {
    let o = host(&["run", wasm::README]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    // func0 and func1 both start before either finishes (parallel), and func2
    // starts only after both finished.
    assert!(
        position(&out, "• func1") < position(&out, "✓ func0"),
        "{out}"
    );
    assert!(
        position(&out, "✓ func1") < position(&out, "• func2"),
        "{out}"
    );
    assert!(
        position(&out, "✓ func0") < position(&out, "• func2"),
        "{out}"
    );
    for p in ["func0", "func1", "func2"] {
        assert!(summary_line(&out, p).contains("SUCCEEDED"), "{out}");
    }
}

#[test]
fn error_exits_1_naming_the_failing_procs_and_messages() {
    let o = host(&["run", wasm::ERROR]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for p in ["func0", "func1"] {
        let line = summary_line(&out, p);
        assert!(
            line.contains("FAILED") && line.ends_with("Failure"),
            "{line}"
        );
    }
    for p in ["func2", "func3", "func4"] {
        assert!(summary_line(&out, p).contains("SUCCEEDED"), "{out}");
    }
}

#[test]
fn failed_deps_cancels_only_the_failed_subtree() {
    let o = host(&["run", "--quiet", "--results", wasm::FAILED_DEPS]);
    let out = human_then_json(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for p in ["a", "a_a", "a_b", "a_a_a", "a_a_b"] {
        assert!(summary_line(&out, p).contains("SUCCEEDED"), "{out}");
    }
    assert!(summary_line(&out, "x").contains("FAILED"), "{out}");
    for (p, cause) in [
        ("x_a", "x"),
        ("x_b", "x"),
        ("x_a_a", "x_a"),
        ("x_a_b", "x_a"),
    ] {
        let line = summary_line(&out, p);
        assert!(line.contains("FAILED_DEP"), "{line}");
        assert!(
            line.ends_with(&format!("canceled due to failure of \"{cause}\"")),
            "{line}"
        );
    }
    let r = results(&out);
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["a", "a_a", "a_a_a", "a_a_b", "a_b", "x"]);
    assert_eq!(r["x"], serde_json::Value::Null);
}

#[test]
fn a_missing_file_and_random_bytes_exit_2_with_one_line_naming_the_file() {
    let o = host(&["run", "/no/such/jobs.wasm"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("`/no/such/jobs.wasm`"), "{err}");

    let dir = std::env::temp_dir().join(format!("parproc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.wasm");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&junk, bytes).unwrap();
    let o = host(&["run", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("junk.wasm"), "{err}");
    assert!(err.contains("not a WebAssembly"), "{err}");
}

#[test]
fn a_bad_target_exits_2_and_runs_nothing() {
    let o = host(&["run", wasm::BUILD_DEPLOY, "build::qa"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("Argument \"env\" value 'qa' is not in allowed choices"),
        "{err}"
    );
    assert!(!stdout(&o).contains('•'), "nothing started");
}

#[test]
fn list_shows_the_procs_and_protos_of_build_deploy() {
    let o = host(&["list", wasm::BUILD_DEPLOY]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let procs = out.split("protos:").next().unwrap();
    assert!(procs.starts_with("procs:\n"), "{out}");
    assert!(procs.contains("  setup"), "{out}");
    let protos = out.split("protos:").nth(1).expect("a protos section");
    for p in ["build::[env]", "test::[env]", "deploy::[env]"] {
        assert!(protos.contains(&format!("  {p}")), "{out}");
    }
    assert!(protos.contains("choices env: dev, staging, prod"), "{out}");
    assert!(protos.contains("deps: build::[env]"), "{out}");
}

/// README's Rust module is `examples/quickstart` word for word, and it runs as README says.
#[test]
fn the_readme_rust_module_is_the_quickstart_crate_and_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let section = readme
        .split("## A job module in Rust")
        .nth(1)
        .expect("the section");
    let block = section
        .split("```rust\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a rust block");
    let crate_src = std::fs::read_to_string(root.join("examples/quickstart/src/lib.rs"))
        .expect("examples/quickstart/src/lib.rs");
    assert_eq!(block, crate_src, "README's block and the crate differ");
    let o = host(&["run", "--results", wasm::QUICKSTART]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = results(&human_then_json(&o));
    assert_eq!(r["func2"], "func0 gave Some(\"null\")", "{r}");
    let o = host(&["run", "--results", wasm::QUICKSTART, "build::prod"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(results(&human_then_json(&o))["build::prod"], "built prod");
}

/// `--max-results-total`: results past the run's total fail their procs `too large` naming
/// the flag; those within it are kept whole (written to `--results` as the procs gave them).
#[test]
fn results_past_the_total_fail_too_large_and_the_rest_are_kept() {
    let o = host(&[
        "run",
        "--parallel",
        "1",
        "--max-results-total",
        "4MiB",
        "--param",
        "n=6",
        "--param",
        "bytes=1000000",
        "--results",
        wasm::BENCH_JOBS,
        "big::*",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = human_then_json(&o);
    let r = results(&out);
    let kept: Vec<&str> = r
        .as_object()
        .expect("a map")
        .iter()
        .filter(|(_, v)| v.as_str().is_some_and(|s| s.len() == 1_000_000))
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(kept.len(), 4, "{kept:?}");
    // The human lines are on stderr with `--results`: two procs refused, naming the flag.
    let err = stderr(&o);
    let refused = "its result (1000002 bytes) would take the run's results past 4 MiB in all; \
                   raise `--max-results-total`";
    assert!(err.contains(refused), "{err}");
    let failed = err.lines().filter(|l| l.contains("  FAILED  ")).count();
    assert_eq!(failed, 2, "{err}");
}

/// `list --format json`: the same declarations for tools, stdout the JSON alone (a real
/// `jq` reads it).
#[test]
fn list_as_json_pipes_into_jq() {
    let o = host(&["list", "--format", "json", wasm::BUILD_DEPLOY]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("stdout is JSON alone");
    assert_eq!(v["schema_version"], 1);
    let procs: Vec<&str> = v["procs"]
        .as_array()
        .expect("procs")
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect();
    assert!(procs.contains(&"setup"), "{v:#}");
    let protos = v["protos"].as_array().expect("protos");
    let build = protos
        .iter()
        .find(|p| p["name"] == "build::[env]")
        .expect("build::[env]");
    assert_eq!(
        build["choices"]["env"],
        serde_json::json!(["dev", "staging", "prod"]),
        "{build:#}"
    );
    assert_eq!(build["params"][0]["name"], "env", "{build:#}");
    let test = protos
        .iter()
        .find(|p| p["name"] == "test::[env]")
        .expect("test::[env]");
    assert_eq!(
        test["deps"],
        serde_json::json!(["build::[env]"]),
        "{test:#}"
    );
    let script = format!(
        "{} list --format json {} | jq -r '.protos[].name'",
        env!("CARGO_BIN_EXE_parproc-host"),
        wasm::BUILD_DEPLOY
    );
    let o = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .output()
        .expect("bash");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names = stdout(&o);
    for p in ["build::[env]", "test::[env]", "deploy::[env]"] {
        assert!(names.lines().any(|l| l == p), "{names}");
    }
}

#[test]
fn a_glob_target_runs_every_build_choice() {
    let o = host(&["run", "--results", wasm::BUILD_DEPLOY, "build::*"]);
    let out = human_then_json(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    let r = results(&out);
    for env in ["dev", "staging", "prod"] {
        assert_eq!(r[format!("build::{env}")]["env"], env, "{out}");
    }
    assert!(
        r.get("deploy::prod").is_none(),
        "only the targets given run"
    );
}

#[test]
fn a_proc_creating_and_waiting_for_100_children_finishes_with_parallel_1() {
    let o = host(&[
        "run",
        "--quiet",
        "--parallel",
        "1",
        "--results",
        wasm::CONTEXT_OPS,
        "fanout",
    ]);
    let out = human_then_json(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    let r = results(&out);
    assert_eq!(r["fanout"], 4950);
    assert_eq!(r["child::99"], 99);
}

#[test]
fn runaway_procs_end_failed_for_fuel_or_time_and_others_keep_their_results() {
    let o = host(&[
        "run",
        "--quiet",
        "--results",
        "--fuel",
        "1e9",
        "--timeout",
        "2s",
        wasm::CONTEXT_OPS,
        "spin",
        "sleep_forever",
        "waits_on_never",
        "quick",
    ]);
    let out = human_then_json(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let spin = summary_line(&out, "spin");
    assert!(
        spin.contains("FAILED") && spin.contains("out of fuel"),
        "{spin}"
    );
    let sleeper = summary_line(&out, "sleep_forever");
    assert!(sleeper.ends_with("timed out after 2s"), "{sleeper}");
    // Its own 0.5 s timeout ends the waiter while it is blocked in the wait.
    let waiter = summary_line(&out, "waits_on_never");
    assert!(waiter.ends_with("timed out after 500ms"), "{waiter}");
    assert!(summary_line(&out, "quick").contains("SUCCEEDED"), "{out}");
    assert_eq!(results(&out)["quick"], "quick");
}

/// The names in the order their `✓` lines appear.
fn finished_order(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("✓ "))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn example_rdeps_runs_migrations_and_conditional_rdeps_first() {
    let o = host(&["run", wasm::RDEPS, "deploy::staging"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(position(&out, "✓ migrate::staging") < position(&out, "• deploy::staging"));
    assert!(
        !out.contains("announce"),
        "WhenScheduled declarer left out: {out}"
    );
    // Default target `announce` schedules deploy::prod after it, with audit and migrate.
    let o = host(&["run", wasm::RDEPS]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for first in ["✓ announce", "✓ audit", "✓ migrate::prod"] {
        assert!(
            position(&out, first) < position(&out, "• deploy::prod"),
            "{out}"
        );
    }
}

#[test]
fn example_waves_runs_lower_waves_first() {
    let o = host(&["run", "--parallel", "4", wasm::WAVES]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(finished_order(&out), ["a", "b", "d", "c"]);
}

#[test]
fn example_locks_never_overlaps_holders_of_one_lock() {
    let o = host(&["run", wasm::LOCKS]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    // l1, l3 and free start together; l2 starts only after l1 and l3 finished.
    for p in ["• l1", "• l3", "• free"] {
        assert!(position(&out, p) < position(&out, "✓ l1"), "{out}");
    }
    assert!(position(&out, "✓ l1") < position(&out, "• l2"), "{out}");
    assert!(position(&out, "✓ l3") < position(&out, "• l2"), "{out}");
}

#[test]
fn example_dynamic_creates_and_waits_for_procs_at_run_time() {
    let o = host(&[
        "run",
        "--quiet",
        "--parallel",
        "1",
        "--results",
        "--param",
        r#"targets=["linux","macos","windows"]"#,
        wasm::DYNAMIC,
    ]);
    let out = human_then_json(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert_eq!(
        results(&out)["release"],
        serde_json::json!(["app-linux.tar.gz", "app-macos.tar.gz", "app-windows.tar.gz"])
    );
}

/// A fresh directory under the test target dir.
fn scratch(tag: &str) -> std::path::PathBuf {
    crate::fresh_dir(&format!("cli-{tag}"))
}

/// `run --report` of NOISY's `silent` with the cache in `cache`; the report.
fn cached_run(dir: &std::path::Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let report = dir.join("r.json");
    let _ = std::fs::remove_file(&report);
    let mut args = vec!["run", "-q", "--report", report.to_str().unwrap()];
    args.extend(extra);
    args.extend([wasm::NOISY, "silent"]);
    let o = host(&args);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let r = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (o, r)
}

fn entries(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect()
}

#[test]
fn a_second_run_loads_from_the_compile_cache_and_a_damaged_entry_is_recompiled() {
    let dir = scratch("cache");
    let cache = dir.join("cache");
    let flag = ["--cache-dir", cache.to_str().unwrap()];
    let (_, r) = cached_run(&dir, &flag);
    assert_eq!(r["compile_cache"], "miss");
    let [entry] = &entries(&cache)[..] else {
        panic!("one entry in {}", cache.display())
    };
    let (o, r) = cached_run(&dir, &flag);
    assert_eq!(r["compile_cache"], "hit");
    assert!(!stderr(&o).contains("compile cache"), "{}", stderr(&o));

    // Flip one bit of the compiled code: detected, recompiled, replaced.
    let good = std::fs::read(entry).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x10;
    std::fs::write(entry, &bad).unwrap();
    let (o, r) = cached_run(&dir, &flag);
    assert_eq!(r["compile_cache"], "rejected");
    assert!(
        stderr(&o).contains(
            "compile cache entry rejected (its payload does not match its digest); recompiled"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(r["totals"]["succeeded"], 1);
    assert_eq!(
        std::fs::read(entry).unwrap(),
        good,
        "the entry is rewritten"
    );
    // Cut short: the same.
    std::fs::write(entry, &good[..good.len() / 3]).unwrap();
    let (o, r) = cached_run(&dir, &flag);
    assert_eq!(r["compile_cache"], "rejected");
    assert!(stderr(&o).contains("it is truncated"), "{}", stderr(&o));
    let (_, r) = cached_run(&dir, &flag);
    assert_eq!(r["compile_cache"], "hit");

    // Off: nothing read or written.
    let (_, r) = cached_run(&dir, &["--no-cache"]);
    assert_eq!(r["compile_cache"], "off");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_is_refused_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("cache-open");
    let cache = dir.join("shared");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (o, r) = cached_run(&dir, &["--cache-dir", cache.to_str().unwrap()]);
    assert_eq!(r["compile_cache"], "refused");
    let err = stderr(&o);
    assert!(
        err.contains("compile cache not used: `")
            && err.contains("is writable by others (mode 777); use a directory only you can write"),
        "{err}"
    );
    assert!(entries(&cache).is_empty(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runs_at_once_share_a_fresh_cache() {
    let dir = scratch("cache-race");
    let cache = dir.join("cache");
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let report = dir.join(format!("r{i}.json"));
            let child = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
                .args(["run", "-q", "--cache-dir", cache.to_str().unwrap()])
                .args(["--report", report.to_str().unwrap(), wasm::NOISY, "silent"])
                .env("NO_COLOR", "1")
                .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (child, report)
        })
        .collect();
    for (mut child, report) in runs {
        assert!(child.wait().unwrap().success());
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let used = r["compile_cache"].as_str().unwrap().to_owned();
        assert!(used == "miss" || used == "hit", "{used}");
    }
    assert_eq!(entries(&cache).len(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let (_, r) = cached_run(&dir, &["--cache-dir", cache.to_str().unwrap()]);
    assert_eq!(r["compile_cache"], "hit");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pooling_runs_procs_blocked_in_waits_within_its_slots() {
    let mut args = vec![
        "run",
        "--pooling",
        "--quiet",
        "--results",
        "--parallel",
        "2",
        "--max-live",
        "4",
        wasm::CONTEXT_OPS,
    ];
    let parents: Vec<String> = (0..20).map(|i| format!("parent::{i}")).collect();
    args.extend(parents.iter().map(String::as_str));
    let o = host(&args);
    let out = human_then_json(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("40 succeeded, 0 failed"), "{out}");
    let r = results(&out);
    for i in 0..20 {
        assert!(r[format!("parent::{i}")].is_number(), "{r}");
    }
}

/// `run --report` on `build_deploy`'s `deploy::*`: the names of the procs that ran.
fn ran_procs(extra: &[&str]) -> Vec<String> {
    let dir = scratch("ran-procs");
    let report = dir.join("report.json");
    let report_arg = report.to_string_lossy().into_owned();
    let mut args = vec![
        "run",
        "--quiet",
        "--report",
        &report_arg,
        wasm::BUILD_DEPLOY,
    ];
    args.extend_from_slice(extra);
    let o = host(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("a report")).expect("JSON");
    let mut names: Vec<String> = report["procs"]
        .as_array()
        .expect("procs")
        .iter()
        .filter(|p| p["state"] != "IDLE")
        .map(|p| p["name"].as_str().expect("a name").to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn graph_and_dry_run_list_exactly_the_procs_a_run_with_targets_runs_now_procs_included() {
    let ran = ran_procs(&["deploy::*"]);
    assert!(
        ran.iter().any(|n| n == "lint"),
        "the `now` proc runs: {ran:?}"
    );
    let o = host(&["graph", "--format", "json", wasm::BUILD_DEPLOY, "deploy::*"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let graph: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("graph JSON");
    let mut shown: Vec<String> = graph["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["name"].as_str().expect("a name").to_owned())
        .collect();
    shown.sort();
    assert_eq!(shown, ran, "graph shows what runs");
    let o = host(&["run", "--dry-run", wasm::BUILD_DEPLOY, "deploy::*"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        out.contains(&format!("dry run: {} procs would run", ran.len())),
        "{out}"
    );
    for name in &ran {
        assert!(out.contains(name.as_str()), "dry run lists {name}:\n{out}");
    }
}

#[test]
fn a_mistyped_target_gets_a_did_you_mean_and_zero_limits_are_refused() {
    let o = host(&["run", wasm::READS, "nestd"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("error: bad target `nestd`: No proto found matching \"nestd\"\nhint: did you mean the proc `nested`?\n"),
        "{err}"
    );
    // Nothing close: where to look.
    let o = host(&["run", wasm::READS, "zzzzzzzz"]);
    assert!(
        stderr(&o).contains(
            "hint: `zzzzzzzz` is neither a proc nor a proto of this module; `parproc-host list` \
             shows them\n"
        ),
        "{}",
        stderr(&o)
    );

    for (flag, range) in [("--parallel", "1..="), ("--max-live", "1..")] {
        let o = host(&["run", flag, "0", wasm::READS]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "invalid value '0' for '{flag} <N>': 0 is not in {range}"
            )),
            "{err}"
        );
    }
}

/// `--deny-missing-deps`: parproc's sentence as the error, on a line of its own
/// (no escaped newline), then a hint in command-line terms.
#[test]
fn a_denied_missing_dep_is_parprocs_sentence_and_a_hint_to_drop_the_flag() {
    let o = host(&["run", "--deny-missing-deps", wasm::SC_BASIC, "proc_a"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "error: Proc \"proc_b\" depends on \"nonexistent_proc\" which does not exist. Set \
             allow_missing_deps=True to allow missing dependencies.\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: to run without the missing deps, drop `--deny-missing-deps`\n"),
        "{err}"
    );
    assert!(!err.contains("\\n"), "{err}");
    // Without the flag the run goes on: proc_b fails on its missing dep.
    let o = host(&["run", wasm::SC_BASIC, "proc_a"]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `--results` alone makes stdout the JSON and nothing else (the human lines go to
/// stderr), so a pipe into `jq` works; `--results=FILE` writes the JSON there and leaves the
/// human lines on stdout.
#[test]
fn results_on_stdout_pipe_into_jq_and_results_to_a_file_keep_stdout_human() {
    let script = format!(
        "{} run --results {} 'build::*' | jq -r '.\"build::dev\".env, (keys | length)'",
        env!("CARGO_BIN_EXE_parproc-host"),
        wasm::BUILD_DEPLOY
    );
    let o = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .output()
        .expect("bash");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "dev\n6\n", "the three builds and their deps");
    assert!(stderr(&o).contains("\nsummary:\n"), "{}", stderr(&o));

    let file = std::env::temp_dir().join(format!("pp-results-{}.json", std::process::id()));
    let arg = format!("--results={}", file.display());
    let o = host(&["run", &arg, wasm::BUILD_DEPLOY, "build::*"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("\nsummary:\n"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("\"build::dev\""), "{}", stdout(&o));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(r["build::prod"]["env"], "prod");
    let _ = std::fs::remove_file(&file);
}

/// `completions bash` loads in a real bash and completes the real flags; `man` writes a page
/// per command with their options.
#[test]
fn completions_complete_real_flags_in_bash_and_man_pages_document_them() {
    let o = host(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("parproc-host.bash");
    std::fs::write(&script, &o.stdout).expect("write the script");
    // What bash does on `parproc-host run --allow-h<TAB>` and `parproc-host s<TAB>`.
    let complete = |words: &str, cword: usize| {
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}' && COMP_WORDS=({words}) && COMP_CWORD={cword} && \
                 COMP_LINE='{words}' && COMP_POINT=${{#COMP_LINE}} && \
                 f=$(complete -p parproc-host) && f=${{f#*-F }} && f=${{f%% *}} && \
                 \"$f\" parproc-host \"${{COMP_WORDS[$COMP_CWORD]}}\" \
                 \"${{COMP_WORDS[$COMP_CWORD-1]}}\" && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .output()
            .expect("bash");
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let flags = complete("parproc-host run --allow-h", 2);
    assert!(flags.lines().any(|l| l == "--allow-http"), "{flags}");
    let subs = complete("parproc-host s", 1);
    assert!(subs.lines().any(|l| l == "state"), "{subs}");

    let man = dir.join("man");
    let o = host(&["man", "-o", man.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let top = std::fs::read_to_string(man.join("parproc-host.1")).expect("parproc-host.1");
    assert!(top.contains(".TH parproc-host"), "{top}");
    let run = std::fs::read_to_string(man.join("parproc-host-run.1")).expect("run page");
    assert!(run.contains("\\-\\-allow\\-http"), "{run}");
    assert!(run.contains("\\-\\-http\\-ca"), "{run}");
    assert!(man.join("parproc-host-state-gc.1").exists());
}
