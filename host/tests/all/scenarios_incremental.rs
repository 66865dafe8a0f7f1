//! parproc's incremental scenarios, ported: S-INC (declared inputs, `full`,
//! `no_skip`, deps, `deps_changed`, callables, `regex_files`) and S-OUT
//! (declared outputs, `max_age`, `enforce_freshness`), each in both modes,
//! through the binary with a real state store (docs/incremental.md lists
//! where ours differs and why).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use parproc_test_artifacts as wasm;

const MODES: [&str; 2] = ["parallel", "single"];

/// A proc as the report shows it: state, result, failure message.
#[derive(Debug)]
pub(crate) struct Proc {
    pub(crate) state: String,
    pub(crate) result: serde_json::Value,
    pub(crate) message: String,
    /// The reason's kind, or "".
    pub(crate) kind: String,
}

/// The exit code, the output and the procs of the report of a finished
/// `parproc-host run --report REPORT`.
pub(crate) fn read_report(
    o: &Output,
    report: &Path,
) -> (Option<i32>, String, BTreeMap<String, Proc>) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = match std::fs::read(report) {
        Ok(bytes) => serde_json::from_slice(&bytes).expect("report JSON"),
        Err(e) => panic!("no report ({e}):\n{text}"),
    };
    assert_eq!(r["schema_version"], 3, "{text}");
    let procs = r["procs"]
        .as_array()
        .expect("procs")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_owned(),
                Proc {
                    state: p["state"].as_str().expect("state").to_owned(),
                    result: p["result"].clone(),
                    message: p["reason"]["message"].as_str().unwrap_or("").to_owned(),
                    kind: p["reason"]["kind"].as_str().unwrap_or("").to_owned(),
                },
            )
        })
        .collect();
    (o.status.code(), text, procs)
}

/// The temp dir T of a scenario (granted as `/t`) and the store beside it.
struct Scenario {
    dir: PathBuf,
    mode: &'static str,
    /// Whether the session has a state store.
    store: bool,
}

impl Scenario {
    fn new(tag: &str, mode: &'static str) -> Scenario {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sc-inc-{tag}-{mode}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("t")).expect("T");
        Scenario {
            dir,
            mode,
            store: true,
        }
    }

    fn t(&self, rel: &str) -> PathBuf {
        self.dir.join("t").join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.t(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        std::fs::write(p, text).expect("write");
    }

    /// One session: `parproc-host run` with the store, `/t` granted, the
    /// targets given; exit code, output and the procs of the report.
    fn session(&self, extra: &[&str]) -> (Option<i32>, String, BTreeMap<String, Proc>) {
        let report = self.dir.join("r.json");
        let _ = std::fs::remove_file(&report);
        let grant = format!("{}::/t:rw", self.t("").display());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parproc-host"));
        cmd.args(["run", "--mode", self.mode]);
        if self.store {
            cmd.args(["--state-dir", self.dir.join("db").to_str().expect("utf-8")]);
        }
        let o: Output = cmd
            .args(["--report", report.to_str().expect("utf-8")])
            .args(["--log-dir", self.dir.join("logs").to_str().expect("utf-8")])
            .args(["--dir", &grant])
            .args(extra.iter().take_while(|a| **a != "--"))
            .arg(wasm::SC_INCREMENTAL)
            .args(extra.iter().skip_while(|a| **a != "--").skip(1))
            .env("NO_COLOR", "1")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .env_remove("PARPROC_STATE_DIR")
            .output()
            .expect("run parproc-host");
        read_report(&o, &report)
    }

    /// A session running `targets`.
    fn run(&self, targets: &[&str]) -> (Option<i32>, String, BTreeMap<String, Proc>) {
        let mut args = vec!["--"];
        args.extend_from_slice(targets);
        self.session(&args)
    }
}

fn state<'a>(procs: &'a BTreeMap<String, Proc>, name: &str) -> &'a str {
    &procs.get(name).unwrap_or_else(|| panic!("no {name}")).state
}

/// S-INC-01 first run executes; S-INC-02 unchanged inputs → UP_TO_DATE with
/// the cached result; S-INC-03 a changed input re-runs; S-INC-04 `--full`
/// forces execution; S-INC-12 deleting the store re-runs.
#[test]
fn s_inc_01_to_04_and_12_declared_inputs_full_and_a_deleted_store() {
    for mode in MODES {
        let sc = Scenario::new("inputs", mode);
        sc.write("src.txt", "v1");
        let (code, text, p) = sc.run(&["build"]);
        assert_eq!(code, Some(0), "{text}");
        assert_eq!(state(&p, "build"), "SUCCEEDED");
        assert_eq!(p["build"].result, "built");
        assert!(sc.t("_ran").exists(), "S-INC-01: it ran");

        let (_, text, p) = sc.run(&["build"]);
        assert_eq!(
            state(&p, "build"),
            "UP_TO_DATE",
            "S-INC-02 ({mode}):\n{text}"
        );
        assert_eq!(p["build"].result, "built");
        assert!(text.contains("↷ build up-to-date"), "{text}");

        // Declared, never read: its content is in the key all the same.
        sc.write("src.txt", "v2");
        let (_, text, p) = sc.run(&["build"]);
        assert_eq!(
            state(&p, "build"),
            "SUCCEEDED",
            "S-INC-03 ({mode}):\n{text}"
        );

        let (_, _, p) = sc.session(&["--full", "--", "build"]);
        assert_eq!(state(&p, "build"), "SUCCEEDED", "S-INC-04 ({mode})");

        std::fs::remove_dir_all(sc.dir.join("db")).expect("delete the store");
        let (_, _, p) = sc.run(&["build"]);
        assert_eq!(state(&p, "build"), "SUCCEEDED", "S-INC-12 ({mode})");
    }
}

/// S-INC-05 `no_skip` always executes; S-INC-06 (a difference): a proc
/// with no deps, no inputs and no reads *is* restored — its key is all its
/// outcome can depend on.
#[test]
fn s_inc_05_06_no_skip_always_runs_and_a_proc_with_nothing_declared_is_cached() {
    for mode in MODES {
        let sc = Scenario::new("noskip", mode);
        sc.run(&["deploy", "plain"]);
        let (_, text, p) = sc.run(&["deploy", "plain"]);
        assert_eq!(
            state(&p, "deploy"),
            "SUCCEEDED",
            "S-INC-05 ({mode}):\n{text}"
        );
        assert_eq!(p["deploy"].result, "deployed");
        assert_eq!(state(&p, "plain"), "UP_TO_DATE", "S-INC-06 ({mode})");
        let (_, text, _) = sc.session(&["--explain", "--", "deploy"]);
        assert!(text.contains("not cacheable: no_skip"), "{text}");
    }
}

/// S-INC-07 dependents of up-to-date deps are up to date; S-INC-08 an
/// upstream change re-runs downstream; early cutoff (a difference): a dep
/// that re-ran with the same result leaves its dependents up to date.
#[test]
fn s_inc_07_08_deps_up_to_date_and_upstream_changes() {
    for mode in MODES {
        let sc = Scenario::new("deps", mode);
        sc.write("src.txt", "v1");
        let (_, _, p) = sc.run(&["dep_deploy"]);
        assert_eq!(p["dep_deploy"].result, "deployed:built:v1");
        let (_, _, p) = sc.run(&["dep_deploy"]);
        assert_eq!(state(&p, "dep_build"), "UP_TO_DATE", "S-INC-07 ({mode})");
        assert_eq!(state(&p, "dep_deploy"), "UP_TO_DATE", "S-INC-07 ({mode})");
        assert_eq!(p["dep_deploy"].result, "deployed:built:v1");

        sc.write("src.txt", "v2");
        let (_, _, p) = sc.run(&["dep_deploy"]);
        assert_eq!(state(&p, "dep_build"), "SUCCEEDED", "S-INC-08 ({mode})");
        assert_eq!(state(&p, "dep_deploy"), "SUCCEEDED", "S-INC-08 ({mode})");
        assert_eq!(p["dep_deploy"].result, "deployed:built:v2");

        // The same content with a trailing newline: `dep_build` runs again
        // and gives the same result, so `dep_deploy` stays up to date.
        sc.write("src.txt", "v2\n");
        let (_, _, p) = sc.run(&["dep_deploy"]);
        assert_eq!(state(&p, "dep_build"), "SUCCEEDED", "early cutoff ({mode})");
        assert_eq!(
            state(&p, "dep_deploy"),
            "UP_TO_DATE",
            "early cutoff ({mode})"
        );
    }
}

/// S-INC-09 `deps_changed` is true after a fresh dep and false after a
/// restored one; S-INC-10 a NoChange dep counts as unchanged.
#[test]
fn s_inc_09_10_deps_changed_reflects_fresh_and_cached_deps() {
    for mode in MODES {
        let sc = Scenario::new("depschanged", mode);
        sc.write("src.txt", "v1");
        sc.run(&["marker"]);
        let marker = std::fs::read_to_string(sc.t("_deps_changed")).expect("marker");
        assert_eq!(marker, "1", "S-INC-09 first session ({mode})");
        std::fs::remove_file(sc.t("_deps_changed")).expect("remove the marker");
        let (_, text, p) = sc.run(&["marker"]);
        assert_eq!(state(&p, "dep_build"), "UP_TO_DATE", "{text}");
        let marker = std::fs::read_to_string(sc.t("_deps_changed")).expect("marker");
        assert_eq!(marker, "0", "S-INC-09 second session ({mode})");

        let (_, text, p) = sc.run(&["nochange_test"]);
        assert_eq!(state(&p, "nochange_build"), "SKIPPED", "S-INC-10 ({mode})");
        // parproc's NO_CHANGE: kept apart from a plain skip, shown as it shows it.
        assert_eq!(p["nochange_build"].kind, "no_change", "{text}");
        assert_eq!(p["nochange_build"].message, "", "{text}");
        assert!(text.contains("⊘ nochange_build no change\n"), "{text}");
        let marker = std::fs::read_to_string(sc.t("_nc_deps_changed")).expect("marker");
        assert_eq!(marker, "0", "S-INC-10 ({mode})");
    }
}

/// S-INC-13 callable inputs (a computed input, answered by the guest) and
/// the same with the input's `[placeholder]` filled by the host.
#[test]
fn s_inc_13_callable_and_placeholder_inputs() {
    for mode in MODES {
        let sc = Scenario::new("callable", mode);
        sc.write("src_a.txt", "a");
        sc.write("src_b.txt", "b");
        for name in ["computed::a", "filled::a"] {
            let (_, text, p) = sc.run(&[name]);
            assert_eq!(state(&p, name), "SUCCEEDED", "{text}");
            assert_eq!(p[name].result, "built_a");
            let (_, text, p) = sc.run(&[name]);
            assert_eq!(
                state(&p, name),
                "UP_TO_DATE",
                "S-INC-13 {name} ({mode}):\n{text}"
            );
            assert_eq!(p[name].result, "built_a");
        }
        // Another target's file is not an input of `::a`; its own is.
        sc.write("src_b.txt", "b2");
        let (_, _, p) = sc.run(&["computed::a", "filled::a"]);
        assert_eq!(state(&p, "computed::a"), "UP_TO_DATE");
        assert_eq!(state(&p, "filled::a"), "UP_TO_DATE");
        sc.write("src_a.txt", "a2");
        let (_, text, p) = sc.session(&["--explain", "--", "computed::a", "filled::a"]);
        assert_eq!(state(&p, "computed::a"), "SUCCEEDED", "{text}");
        assert_eq!(state(&p, "filled::a"), "SUCCEEDED", "{text}");
        assert!(text.contains("input `/t/src_a.txt` changed"), "{text}");
    }
}

/// S-INC-15 `regex_files` inputs support UP_TO_DATE (a file the regex does
/// not match changes nothing; one it matches re-runs); S-INC-16 its root
/// must be a directory.
#[test]
fn s_inc_15_16_regex_files() {
    for mode in MODES {
        let sc = Scenario::new("regex", mode);
        sc.write("sub/deep.py", "print(1)");
        sc.write("sub/readme.txt", "read me");
        sc.write("not_a_dir", "a file");
        let (_, _, p) = sc.run(&["regex_build"]);
        assert_eq!(state(&p, "regex_build"), "SUCCEEDED");
        let (_, _, p) = sc.run(&["regex_build"]);
        assert_eq!(state(&p, "regex_build"), "UP_TO_DATE", "S-INC-15 ({mode})");
        sc.write("sub/readme.txt", "changed, not matched");
        let (_, _, p) = sc.run(&["regex_build"]);
        assert_eq!(state(&p, "regex_build"), "UP_TO_DATE", "unmatched ({mode})");
        sc.write("sub/more/new.py", "print(2)");
        let (_, _, p) = sc.run(&["regex_build"]);
        assert_eq!(
            state(&p, "regex_build"),
            "SUCCEEDED",
            "a new match ({mode})"
        );

        let (code, text, p) = sc.run(&["regex_bad"]);
        assert_eq!(code, Some(1), "{text}");
        assert_eq!(state(&p, "regex_bad"), "FAILED");
        assert_eq!(
            p["regex_bad"].message, "regex_files root is not a directory: /t/not_a_dir",
            "S-INC-16 ({mode})"
        );
    }
}

/// A glob input with `inputs_ignore`: ignored and unmatched files change
/// nothing, a matched one re-runs.
#[test]
fn glob_inputs_with_ignore_rules() {
    let sc = Scenario::new("glob", "parallel");
    sc.write("g/a.txt", "a");
    sc.write("g/deep/b.txt", "b");
    sc.write("g/c.tmp.txt", "c");
    sc.run(&["globbed"]);
    let (_, _, p) = sc.run(&["globbed"]);
    assert_eq!(state(&p, "globbed"), "UP_TO_DATE");
    sc.write("g/c.tmp.txt", "ignored");
    sc.write("g/deep/d.bin", "not matched");
    let (_, _, p) = sc.run(&["globbed"]);
    assert_eq!(state(&p, "globbed"), "UP_TO_DATE");
    sc.write("g/deep/b.txt", "b2");
    let (_, _, p) = sc.run(&["globbed"]);
    assert_eq!(state(&p, "globbed"), "SUCCEEDED");
}

/// S-OUT-01 a missing output fails the proc; S-OUT-02 a created one passes;
/// S-OUT-04 an output still too old after the run fails it; S-OUT-05
/// duration words; S-OUT-06 `enforce_freshness=false` skips the age check;
/// S-OUT-07 but not the existence check. Outside incremental runs too.
#[test]
fn s_out_01_02_04_to_07_outputs_are_verified_after_the_run() {
    for mode in MODES {
        for store in [true, false] {
            let sc = Scenario::new(&format!("out-{store}"), mode);
            let sc = Scenario { store, ..sc };
            let targets = [
                "out_missing",
                "out_created",
                "out_backdated",
                "out_words",
                "out_lenient",
                "out_lenient_missing",
            ];
            let (code, text, p) = sc.run(&targets);
            let ctx = format!("({mode}, store {store}):\n{text}");
            assert_eq!(code, Some(1), "{ctx}");
            assert_eq!(state(&p, "out_missing"), "FAILED", "S-OUT-01 {ctx}");
            assert_eq!(
                p["out_missing"].message,
                "outputs not refreshed: /t/missing_output.txt"
            );
            assert_eq!(state(&p, "out_created"), "SUCCEEDED", "S-OUT-02 {ctx}");
            assert_eq!(state(&p, "out_backdated"), "FAILED", "S-OUT-04 {ctx}");
            assert_eq!(
                p["out_backdated"].message,
                "outputs older than max_age: /t/old.txt"
            );
            assert_eq!(state(&p, "out_words"), "SUCCEEDED", "S-OUT-05 {ctx}");
            assert_eq!(p["out_words"].result, "built");
            assert_eq!(state(&p, "out_lenient"), "SUCCEEDED", "S-OUT-06 {ctx}");
            assert_eq!(state(&p, "out_lenient_missing"), "FAILED", "S-OUT-07 {ctx}");
            assert_eq!(
                p["out_lenient_missing"].message,
                "outputs not refreshed: /t/missing_lenient.txt"
            );
        }
    }
}

/// S-OUT-03 an output older than its `max_age` makes the proc stale; a
/// deleted output is restored from the store without running the proc.
#[test]
fn s_out_03_an_output_older_than_max_age_reruns_and_a_deleted_one_is_restored() {
    for mode in MODES {
        let sc = Scenario::new("aged", mode);
        sc.write("src.txt", "v1");
        let (_, _, p) = sc.run(&["out_aged"]);
        assert_eq!(state(&p, "out_aged"), "SUCCEEDED");
        let (_, _, p) = sc.run(&["out_aged"]);
        assert_eq!(state(&p, "out_aged"), "UP_TO_DATE");

        std::fs::remove_file(sc.t("aged.txt")).expect("delete the output");
        let (_, _, p) = sc.run(&["out_aged"]);
        assert_eq!(state(&p, "out_aged"), "UP_TO_DATE", "restored ({mode})");
        assert_eq!(
            std::fs::read_to_string(sc.t("aged.txt")).expect("back"),
            "aged"
        );

        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(sc.t("aged.txt"))
            .and_then(|f| f.set_modified(two_hours_ago))
            .expect("backdate");
        let (_, text, p) = sc.session(&["--explain", "--", "out_aged"]);
        assert_eq!(
            state(&p, "out_aged"),
            "SUCCEEDED",
            "S-OUT-03 ({mode}):\n{text}"
        );
        assert!(
            text.contains("output `/t/aged.txt` is older than max_age"),
            "{text}"
        );
    }
}
