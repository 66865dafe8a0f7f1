//! What users see of a run, driven through the `parproc-host` binary: static
//! output (snapshots with durations and paths redacted), the live view in a
//! pseudo-terminal, per-proc log files (hostile names included), the JSON
//! report against its schema, the JUnit report read back by an XML parser,
//! and `graph`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parproc_host::report::history::History;
use parproc_host::report::json::SCHEMA;
use parproc_test_artifacts as wasm;
use quick_xml::XmlVersion;
use quick_xml::events::Event as Xml;
use regex::Regex;
use serde_json::Value;

/// A scratch directory for one test's logs, history and reports.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("report-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }

    fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    fn history(&self) -> PathBuf {
        self.dir.join("history")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `parproc-host ARGS` with logs and history in this scratch dir, no colour.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_parproc-host"));
        c.args(args)
            .env("NO_COLOR", "1")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .env("PARPROC_LOG_DIR", self.logs())
            .env("PARPROC_HISTORY_DIR", self.history())
            .env_remove("FORCE_HYPERLINK")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run parproc-host")
    }

    /// The one run directory under the log dir.
    fn run_dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = std::fs::read_dir(self.logs())
            .expect("a log dir")
            .map(|e| e.expect("an entry").path())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs.into_iter().next().expect("one run dir")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Output with what varies redacted: the run's log directory → `[LOGS]`,
/// durations (`1.00s`, `538ms`, `5s`, with the spaces before them) → ` [ELAPSED]`.
fn redact(text: &str, logs: &Path) -> String {
    let logs = Regex::new(&format!(
        r"{}/[^/\s]+",
        regex::escape(&logs.display().to_string())
    ))
    .expect("a regex");
    let text = logs.replace_all(text, "[LOGS]");
    // Leading spaces go too: durations are right-aligned in the summary.
    let durations = Regex::new(r" *\b(\d+(\.\d+)?(ms|s)|\d+m\d+s)\b").expect("a regex");
    let text = durations.replace_all(&text, " [ELAPSED]");
    // Fuel depends on the compiler that built the guest: redact it too.
    let fuel = Regex::new(r" *\b\d+(\.\d+)?[kMG]? fuel\b").expect("a regex");
    fuel.replace_all(&text, " [FUEL]").into_owned()
}

/// The targets of the noisy fixture that show each kind of snippet.
const NOISY_TARGETS: &[&str] = &[
    "warns",
    "quiet_warning",
    "long_failure",
    "after_after",
    "tail_failure",
    "shell",
    "colored",
    "silent",
];

#[test]
fn static_output_of_noisy_procs_matches_the_snapshot() {
    let s = Scratch::new("snapshot");
    let mut args = vec!["run", "--mode", "single", wasm::NOISY];
    args.extend(NOISY_TARGETS);
    let o = s.run(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // A first compile may say it compiled (README "Install"); nothing else.
    let err = stderr(&o);
    let diagnostics: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("compiling `noisy.wasm`"))
        .collect();
    assert!(
        diagnostics.is_empty(),
        "no diagnostics on a normal run: {diagnostics:?}"
    );
    let tail: String = (87..=100).map(|i| format!("  line {i}\n")).collect();
    let tail_block: String = (87..=100).map(|i| format!("    line {i}\n")).collect();
    let expected = format!(
        r#"• warns
✓ warns
  --- lines 2-6 ---
  compiling unit 2
  compiling unit 3
  warning: unused variable `x`
  compiling unit 4
  compiling unit 5
• quiet_warning
✓ quiet_warning
• long_failure
✗ long_failure - build failed failed
  --- lines 38-42 ---
  step 38 of 100
  step 39 of 100
  error: disk quota exceeded
  step 41 of 100
  step 42 of 100
• tail_failure
🚫 after_long - canceled due to failure of "long_failure" dependency failed
🚫 after_after - canceled due to failure of "after_long" dependency failed
✗ tail_failure - exit status 3 failed
  --- lines 87-102 ---
{tail}  exit status 3
• shell
✗ shell - Command failed with exit code 2 failed
  --- lines 1-9 ---
    RAN: /bin/sh -c make all

    STDOUT:
    make: Entering directory '/src'
    STDERR:
    make: *** [all] Error 2
  Command failed with exit code 2
• colored
✓ colored
  --- lines 1-2 ---
  warning: coloured output
• silent
✓ silent

summary:
  ✓  SUCCEEDED  warns [ELAPSED] [FUEL]  warns.log
  ✓  SUCCEEDED  quiet_warning [ELAPSED] [FUEL]  quiet_warning.log
  ✗  FAILED     long_failure [ELAPSED] [FUEL]  long_failure.log   build failed
  🚫 FAILED_DEP after_long           -             -  -                  canceled due to failure of "long_failure"
  🚫 FAILED_DEP after_after          -             -  -                  canceled due to failure of "after_long"
  ✗  FAILED     tail_failure [ELAPSED] [FUEL]  tail_failure.log   exit status 3
  ✗  FAILED     shell [ELAPSED] [FUEL]  shell.log          Command failed with exit code 2
  ✓  SUCCEEDED  colored [ELAPSED] [FUEL]  colored.log
  ✓  SUCCEEDED  silent [ELAPSED] [FUEL]  -

warnings:
! warns
    log: [LOGS]/warns.log
    --- lines 2-6 ---
    compiling unit 2
    compiling unit 3
    warning: unused variable `x`
    compiling unit 4
    compiling unit 5
! colored
    log: [LOGS]/colored.log
    --- line 1 ---
    warning: coloured output

failures:
✗ long_failure failed after [ELAPSED]
    reason: build failed
    log: [LOGS]/long_failure.log
    --- lines 38-42 ---
    step 38 of 100
    step 39 of 100
    error: disk quota exceeded
    step 41 of 100
    step 42 of 100
    not run because long_failure failed:
      🚫 after_long
        🚫 after_after
✗ tail_failure failed after [ELAPSED]
    reason: exit status 3
    log: [LOGS]/tail_failure.log
    --- lines 87-101 ---
{tail_block}    exit status 3
✗ shell failed after [ELAPSED]
    reason: Command failed with exit code 2
    log: [LOGS]/shell.log
    --- lines 1-8 ---
      RAN: /bin/sh -c make all

      STDOUT:
      make: Entering directory '/src'
      STDERR:
      make: *** [all] Error 2
    Command failed with exit code 2

logs: [LOGS]
4 succeeded, 3 failed, 2 dependency failed in [ELAPSED]
"#
    );
    let got = redact(&stdout(&o), &s.logs());
    assert_eq!(
        got, expected,
        "\n--- got ---\n{got}\n--- expected ---\n{expected}"
    );
}

#[test]
fn static_output_of_failed_deps_matches_the_snapshot() {
    let s = Scratch::new("failed-deps");
    let o = s.run(&["run", "--mode", "single", wasm::FAILED_DEPS]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = redact(&stdout(&o), &s.logs());
    let expected = r#"• a
✓ a
• a_a
✓ a_a
• a_b
✓ a_b
• a_a_a
✓ a_a_a
• a_a_b
✓ a_a_b
• x
✗ x - Failure failed
  --- lines 1-3 ---
  Internal error caused by x
  Failure
🚫 x_a - canceled due to failure of "x" dependency failed
🚫 x_b - canceled due to failure of "x" dependency failed
🚫 x_a_a - canceled due to failure of "x_a" dependency failed
🚫 x_a_b - canceled due to failure of "x_a" dependency failed

summary:
  ✓  SUCCEEDED  a [ELAPSED] [FUEL]  -
  ✓  SUCCEEDED  a_a [ELAPSED] [FUEL]  -
  ✓  SUCCEEDED  a_b [ELAPSED] [FUEL]  -
  ✓  SUCCEEDED  a_a_a [ELAPSED] [FUEL]  -
  ✓  SUCCEEDED  a_a_b [ELAPSED] [FUEL]  -
  ✗  FAILED     x [ELAPSED] [FUEL]  x.log  Failure
  🚫 FAILED_DEP x_a          -             -  -      canceled due to failure of "x"
  🚫 FAILED_DEP x_b          -             -  -      canceled due to failure of "x"
  🚫 FAILED_DEP x_a_a        -             -  -      canceled due to failure of "x_a"
  🚫 FAILED_DEP x_a_b        -             -  -      canceled due to failure of "x_a"

failures:
✗ x failed after [ELAPSED]
    reason: Failure
    log: [LOGS]/x.log
    --- lines 1-2 ---
    Internal error caused by x
    Failure
    not run because x failed:
      🚫 x_a
        🚫 x_a_a
        🚫 x_a_b
      🚫 x_b

logs: [LOGS]
5 succeeded, 1 failed, 4 dependency failed in [ELAPSED]
"#;
    assert_eq!(got, expected, "\n--- got ---\n{got}");
    // The log file holds the proc's output and its failure message (S-LOG-02).
    let log = std::fs::read_to_string(s.run_dir().join("x.log")).expect("x.log");
    assert_eq!(log, "Internal error caused by x\nFailure\n");
}

/// S-EX-02T: a failed proc's final line, then a chunk starting with its output.
#[test]
fn s_ex_02t_error_shows_each_failure_with_its_log_lines() {
    let s = Scratch::new("error");
    let o = s.run(&["run", wasm::ERROR]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    for (name, first) in [
        ("func0", "Internal error caused by X"),
        ("func1", "Another internal error message"),
    ] {
        let lines: Vec<&str> = out.lines().collect();
        let at = lines
            .iter()
            .position(|l| *l == format!("✗ {name} - Failure failed"))
            .unwrap_or_else(|| panic!("no final line for {name} in:\n{out}"));
        assert_eq!(lines[at + 1], "  --- lines 1-3 ---", "{out}");
        assert_eq!(lines[at + 2], format!("  {first}"), "{out}");
        assert_eq!(lines[at + 3], "  Failure", "{out}");
        // S-LOG-01/02: the file holds stdout and the failure message.
        let log = std::fs::read_to_string(s.run_dir().join(format!("{name}.log"))).unwrap();
        assert_eq!(log, format!("{first}\nFailure\n"));
    }
    for name in ["func2", "func3", "func4"] {
        assert!(out.lines().any(|l| l == format!("✓ {name}")), "{out}");
    }
}

/// S-EX-01T: parproc's static lines for the success example; no chunk shows.
#[test]
fn s_ex_01t_success_prints_static_lines_and_no_chunk() {
    let s = Scratch::new("success");
    let o = s.run(&["run", wasm::SUCCESS]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let stream = out.split("\nsummary:\n").next().expect("a stream");
    for name in ["skipped_task", "func0", "func1", "func2", "func3", "func4"] {
        assert!(stream.lines().any(|l| l == format!("• {name}")), "{out}");
    }
    for line in [
        "⊘ skipped_task skipped",
        "✓ func0",
        "✓ func1",
        "✓ func2",
        "✓ func3",
        "✓ func4",
    ] {
        assert!(stream.lines().any(|l| l == line), "no {line:?} in:\n{out}");
    }
    assert!(!out.contains("--- lines"), "{out}");
    assert!(!out.contains("failures:"), "{out}");
    // func1 printed a line: it has a log file; the silent procs have none.
    let dir = s.run_dir();
    assert_eq!(
        std::fs::read_to_string(dir.join("func1.log")).unwrap(),
        "some output\n"
    );
    assert!(!dir.join("func0.log").exists());
}

#[test]
fn full_log_on_failure_shows_every_line_but_the_ignored_ones() {
    let s = Scratch::new("full-log");
    let o = s.run(&[
        "run",
        "--quiet",
        "--full-log-on-failure",
        wasm::NOISY,
        "long_failure",
        "warns",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        !out.contains("• long_failure"),
        "--quiet prints no line per proc:\n{out}"
    );
    let block = out.split("\nfailures:\n").nth(1).expect("a failures block");
    assert!(
        block.contains("    --- lines 1-101 ---\n    step 1 of 100\n"),
        "{block}"
    );
    assert!(
        block.contains("    step 100 of 100\n    build failed\n"),
        "{block}"
    );
    assert!(
        block.contains("    error: disk quota exceeded\n"),
        "{block}"
    );
    assert!(!block.contains("noise"), "an ignored line shows:\n{block}");
    // The file keeps every line, ignored ones included.
    let log = std::fs::read_to_string(s.run_dir().join("long_failure.log")).unwrap();
    assert_eq!(log.lines().count(), 101);
    assert!(log.contains("error: noise that the module ignores\n"));
    // A success's warnings still show as a snippet (not its whole log).
    let warnings = out.split("\nwarnings:\n").nth(1).expect("a warnings block");
    assert!(
        warnings.contains("    warning: unused variable `x`\n"),
        "{out}"
    );
    assert!(!warnings.contains("compiling unit 8"), "{out}");
}

#[test]
fn guest_text_cannot_forge_terminal_lines() {
    let s = Scratch::new("forger");
    let o = s.run(&["run", wasm::NOISY, "forger"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        !out.contains('\u{1b}'),
        "an escape reached the terminal:\n{out:?}"
    );
    assert!(!out.contains('\r'), "{out:?}");
    assert!(
        out.contains("\\u{1b}[2J\\u{1b}[Hcleared the screen"),
        "{out}"
    );
    assert!(out.contains("\\r✓ forged line one"), "{out}");
    assert!(
        out.contains("✗ forger - bad\\n✓ forged ok\\u{1b}[31m failed"),
        "{out}"
    );
    for line in out.lines() {
        assert!(!line.starts_with("✓ forged"), "a forged line: {line:?}");
    }
    // With colours forced, only our own colour sequences (and the guest's
    // colour codes, reset at the end of the line) get through.
    let o = s.run(&["run", "--color", "always", wasm::NOISY, "forger", "colored"]);
    let out = stdout(&o);
    let esc = Regex::new(r"\x1b(\[[0-9;]*m)?").unwrap();
    for m in esc.find_iter(&out) {
        assert!(m.as_str().len() > 1, "a bare escape in:\n{out:?}");
    }
    assert!(
        out.contains("\u{1b}[33mwarning\u{1b}[0m: coloured output\u{1b}[0m"),
        "{out:?}"
    );
}

#[test]
fn hostile_names_get_safe_unique_log_files() {
    let s = Scratch::new("names");
    let names = [
        "../../etc/passwd",
        "a/b::c d",
        "a_b__c_d",
        "CON",
        ".say \"hi\"\\now",
    ];
    let report = s.file("report.json");
    let mut args = vec!["run", "--report", report.to_str().unwrap(), wasm::NOISY];
    args.extend(names);
    args.push("silent");
    let o = s.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let dir = s.run_dir();
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let mut files = HashSet::new();
    let expected = BTreeMap::from([
        ("../../etc/passwd", "climbing\n"),
        ("a/b::c d", "slashes\n"),
        ("a_b__c_d", "lookalike\n"),
        ("CON", "console\n"),
        (".say \"hi\"\\now", "quoted\n"),
    ]);
    for p in r["procs"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        if name == "silent" {
            assert_eq!(p["log_path"], Value::Null, "no output, no file");
            continue;
        }
        let path = PathBuf::from(p["log_path"].as_str().expect("a log path"));
        assert_eq!(
            path.parent(),
            Some(dir.as_path()),
            "{name}: {}",
            path.display()
        );
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            file.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c)),
            "{name} → {file}"
        );
        assert!(!file.starts_with('.'), "{file}");
        assert!(!file.to_ascii_uppercase().starts_with("CON."), "{file}");
        assert!(files.insert(file.to_lowercase()), "{file} used twice");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            expected[name],
            "{name}"
        );
    }
    assert_eq!(files.len(), names.len());
    // Nothing was written outside the run directory.
    let entries = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(entries, names.len());
    assert_eq!(std::fs::read_dir(s.logs()).unwrap().count(), 1);
    assert!(!s.dir.join("etc").exists() && !s.logs().join("etc").exists());
    // The summary names each file.
    for f in &files {
        assert!(stdout(&o).to_lowercase().contains(f.as_str()), "{f}");
    }
}

#[test]
fn the_json_report_matches_its_schema() {
    let s = Scratch::new("json");
    let report = s.file("run.json");
    let mut args = vec!["run", "--report", report.to_str().unwrap(), wasm::NOISY];
    args.extend(NOISY_TARGETS);
    let o = s.run(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&r).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{r:#}");
    // And the schema has teeth: a report missing a field or with a wrong state fails.
    let mut bad = r.clone();
    bad["procs"][0].as_object_mut().unwrap().remove("fuel_used");
    assert!(!validator.is_valid(&bad));
    let mut bad = r.clone();
    bad["procs"][0]["state"] = "DONE".into();
    assert!(!validator.is_valid(&bad));

    assert_eq!(r["schema_version"], 3);
    assert_eq!(r["ok"], false);
    assert_eq!(r["totals"]["procs"], 9);
    assert_eq!(r["totals"]["succeeded"], 4);
    assert_eq!(r["totals"]["failed"], 3);
    assert_eq!(r["totals"]["failed_dep"], 2);
    assert_eq!(r["log_dir"], s.run_dir().display().to_string());
    let procs: BTreeMap<&str, &Value> = r["procs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p))
        .collect();
    let lf = procs["long_failure"];
    assert_eq!(lf["state"], "FAILED");
    assert_eq!(
        lf["reason"],
        serde_json::json!({"kind": "failed", "message": "build failed"})
    );
    assert!(lf["fuel_used"].as_u64().unwrap() > 0);
    assert!(lf["peak_memory"].as_u64().unwrap() > 0);
    assert!(lf["start"].as_str().unwrap() <= lf["end"].as_str().unwrap());
    let log = std::fs::read_to_string(lf["log_path"].as_str().unwrap()).unwrap();
    assert!(log.ends_with("step 100 of 100\nbuild failed\n"));
    let dep = procs["after_after"];
    assert_eq!(dep["state"], "FAILED_DEP");
    assert_eq!(dep["reason"]["kind"], "dep_failed");
    assert_eq!(dep["deps"], serde_json::json!(["after_long"]));
    assert_eq!(dep["start"], Value::Null);
    assert_eq!(dep["log_path"], Value::Null);
    assert_eq!(procs["warns"]["result"], Value::Null);
    assert_eq!(procs["silent"]["log_path"], Value::Null);
}

/// parproc's NO_CHANGE (code 8) is kept apart from a plain skip: `no change` on its
/// line, the reason `no_change` in the report, `<skipped message="no change">` in JUnit.
#[test]
fn no_change_is_kept_apart_from_a_plain_skip() {
    let s = Scratch::new("nochange");
    let (report, xml) = (s.file("run.json"), s.file("junit.xml"));
    let o = s.run(&[
        "run",
        "--report",
        report.to_str().unwrap(),
        "--junit",
        xml.to_str().unwrap(),
        wasm::RAW_BASIC,
        "skip",
        "no_change",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("⊘ no_change no change\n"), "{out}");
    assert!(out.contains("⊘ skip skipped\n"), "{out}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    assert!(jsonschema::is_valid(&schema, &r), "{r:#}");
    let procs: BTreeMap<&str, &Value> = r["procs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p))
        .collect();
    assert_eq!(procs["no_change"]["state"], "SKIPPED");
    assert_eq!(
        procs["no_change"]["reason"],
        serde_json::json!({"kind": "no_change", "message": ""})
    );
    assert_eq!(procs["skip"]["state"], "SKIPPED");
    assert_eq!(procs["skip"]["reason"], Value::Null);
    assert_eq!(r["totals"]["skipped"], 2);
    let junit = std::fs::read_to_string(&xml).unwrap();
    assert!(
        junit.contains("<skipped message=\"no change\"/>"),
        "{junit}"
    );
    assert!(junit.contains("<skipped message=\"skipped\"/>"), "{junit}");
}

/// `--trace`: a Chrome trace whose events are the procs on the slots they ran in (no two
/// overlapping on one slot), the ones that did not run as instants on a row of their own.
#[test]
fn the_trace_lays_procs_on_slots_and_marks_those_that_did_not_run() {
    type Span = (String, u64, u64, u64);
    fn spans(t: &Value) -> (Vec<Span>, Vec<String>) {
        let events = t["traceEvents"].as_array().expect("traceEvents");
        let mut ran = Vec::new();
        let mut not_run = Vec::new();
        for e in events {
            let name = e["name"].as_str().expect("a name").to_owned();
            match e["ph"].as_str() {
                Some("X") => ran.push((
                    name,
                    e["tid"].as_u64().unwrap(),
                    e["ts"].as_u64().unwrap(),
                    e["dur"].as_u64().unwrap(),
                )),
                Some("i") => not_run.push(name),
                Some("M") => {}
                other => panic!("unexpected phase {other:?} in {e}"),
            }
        }
        (ran, not_run)
    }
    let s = Scratch::new("trace");
    let path = s.file("trace.json");
    let o = s.run(&["run", "--trace", path.to_str().unwrap(), wasm::README]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (ran, not_run) = spans(&t);
    assert!(not_run.is_empty(), "{t:#}");
    let by = |n: &str| {
        ran.iter()
            .find(|s| s.0 == n)
            .unwrap_or_else(|| panic!("{n}: {t:#}"))
    };
    let (f0, f1, f2) = (by("func0"), by("func1"), by("func2"));
    // func0 and func1 ran at once, on two slots; func2 after both, on a free one.
    assert_ne!(f0.1, f1.1, "{t:#}");
    assert!(f2.2 >= f0.2 + f0.3 && f2.2 >= f1.2 + f1.3, "{t:#}");
    assert_eq!(t["otherData"]["slots"], 2, "{t:#}");
    assert_eq!(by("func0").0, "func0");
    let threads: Vec<&str> = t["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(threads, ["slot 1", "slot 2"], "{t:#}");

    // Failed deps never run: instants on the row of their own.
    let path = s.file("failed.json");
    let o = s.run(&["run", "--trace", path.to_str().unwrap(), wasm::FAILED_DEPS]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let t: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (ran, mut not_run) = spans(&t);
    not_run.sort();
    assert_eq!(not_run, ["x_a", "x_a_a", "x_a_b", "x_b"], "{t:#}");
    assert!(ran.iter().any(|s| s.0 == "x"), "{t:#}");
    for a in &ran {
        for b in &ran {
            if a.0 != b.0 && a.1 == b.1 {
                assert!(a.2 + a.3 <= b.2 || b.2 + b.3 <= a.2, "{a:?} overlaps {b:?}");
            }
        }
    }
}

/// `--timings`: the page, rendered by a real headless Chromium, has built a bar for every
/// proc that ran (on its slot), a row for every scheduled proc, the critical path and the
/// summary; read from the DOM the page's script made, not from the file.
#[test]
fn the_timings_page_renders_every_proc_in_a_headless_browser() {
    let s = Scratch::new("timings");
    let page = s.file("timings.html");
    let o = s.run(&[
        "run",
        "--timings",
        page.to_str().unwrap(),
        wasm::FAILED_DEPS,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let source = std::fs::read_to_string(&page).unwrap();
    assert!(
        !source.contains("data-row=\""),
        "rows exist only once rendered"
    );
    // The DOM after the page's script ran, as headless Chromium dumps it.
    let render = |page: &Path| {
        let o = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--user-data-dir={}", s.file("chromium").display()))
            .arg("--dump-dom")
            .arg(format!("file://{}", page.display()))
            .stdin(Stdio::null())
            .output()
            .expect("chromium (guest-sdk/install-tools.sh installs it)");
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let dom = render(&page);
    assert!(dom.contains("data-rendered=\"10\""), "{dom}");
    let ran = ["a", "a_a", "a_b", "a_a_a", "a_a_b", "x"];
    for p in ran {
        assert!(
            dom.contains(&format!("data-proc=\"{p}\"")),
            "no bar for {p}:\n{dom}"
        );
    }
    for p in ran.iter().chain(&["x_a", "x_b", "x_a_a", "x_a_b"]) {
        assert!(
            dom.contains(&format!("data-row=\"{p}\"")),
            "no row for {p}:\n{dom}"
        );
    }
    // Procs that never ran have no bar.
    assert!(!dom.contains("data-proc=\"x_a\""), "{dom}");
    assert!(dom.contains("data-critical=\""), "a critical path: {dom}");
    assert!(dom.contains("data-summary=\"utilisation\""), "{dom}");
    assert!(
        dom.contains("class=\"bar FAILED"),
        "x's bar is a failure: {dom}"
    );
    assert!(dom.contains("no proc held a lock"), "{dom}");

    // A row per lock with the procs that held it.
    let page = s.file("locks.html");
    let o = s.run(&["run", "--timings", page.to_str().unwrap(), wasm::LOCKS]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dom = render(&page);
    for lock in ["a", "b"] {
        assert!(
            dom.contains(&format!("data-lock=\"{lock}\"")),
            "no row for {lock}: {dom}"
        );
    }
    for held in ["a l1", "a l2", "b l2", "b l3"] {
        assert!(
            dom.contains(&format!("data-holder=\"{held}\"")),
            "no {held}: {dom}"
        );
    }
    assert!(!dom.contains("data-holder=\"a free\""), "{dom}");
}

/// The live view on a short terminal (tmux, 80×15, 40 procs running at once): the status row
/// stays on the screen with the rows that do not fit counted on it, and Ctrl-C leaves no
/// row of a proc behind.
#[test]
fn on_a_short_terminal_the_status_row_stays_and_ctrl_c_leaves_no_row() {
    let s = Scratch::new("tmux");
    let session = format!("parproc-test-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux (guest-sdk/install-tools.sh installs it)")
    };
    let screen = || stdout(&tmux(&["capture-pane", "-p", "-t", &session]));
    let cmd = format!(
        "env PARPROC_LOG_DIR={} PARPROC_HISTORY_DIR={} PARPROC_CACHE_DIR={} TERM=xterm-256color \
         {} run --parallel 40 --param sleep_ms=60000 {} 'nap::*'; echo EXITED $?; sleep 60",
        s.logs().display(),
        s.history().display(),
        crate::test_cache_dir().display(),
        env!("CARGO_BIN_EXE_parproc-host"),
        wasm::READS
    );
    let o = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "80",
        "-y",
        "15",
        &cmd,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let wait_for = |what: &str| {
        let end = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let text = screen();
            if text.contains(what) {
                return text;
            }
            assert!(
                std::time::Instant::now() < end,
                "no {what:?} on the screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let live = wait_for("40 running");
    let status = live
        .lines()
        .find(|l| l.contains("40 running"))
        .expect("the status row");
    assert!(status.contains("more running"), "{live}");
    let rows = live.lines().filter(|l| l.contains("nap::")).count();
    assert!((1..=13).contains(&rows), "{rows} rows on 15 lines:\n{live}");
    let _ = tmux(&["send-keys", "-t", &session, "C-c"]);
    let after = wait_for("EXITED 130");
    let _ = tmux(&["kill-session", "-t", &session]);
    // No live row is left: every line naming a proc is a permanent one (cancelled) or the
    // summary's.
    for l in after.lines() {
        let first = l.chars().next().unwrap_or(' ');
        assert!(
            !('\u{2800}'..='\u{28ff}').contains(&first),
            "a stale row: {l:?}\n{after}"
        );
    }
    assert!(after.contains("cancelled"), "{after}");

    // At 60 columns nothing wraps: the status row is cut to fit, the summary's rows are laid
    // out for the width (`-J` joins what the terminal wrapped, so a wrapped row shows long).
    let session = format!("{session}-60");
    let cmd = cmd.replace("sleep_ms=60000", "sleep_ms=1500");
    let o = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "60",
        "-y",
        "15",
        &cmd,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let end = std::time::Instant::now() + Duration::from_secs(120);
    let mut seen_status = false;
    let text = loop {
        let text = stdout(&tmux(&["capture-pane", "-p", "-t", &session]));
        seen_status |= text
            .lines()
            .any(|l| l.starts_with("+ 27 more running · ") && l.contains(" running"));
        if text.contains("EXITED 0") {
            break stdout(&tmux(&["capture-pane", "-p", "-J", "-t", &session]));
        }
        assert!(
            std::time::Instant::now() < end,
            "the run did not end:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = tmux(&["kill-session", "-t", &session]);
    // The live area is gone; what stays (the lines, the summary) never wrapped.
    for l in text.lines() {
        assert!(l.chars().count() <= 60, "wider than 60: {l:?}\n{text}");
    }
    assert!(seen_status, "{text}");
    assert!(text.contains("40 succeeded"), "{text}");
}

#[test]
fn the_junit_report_reads_back() {
    let s = Scratch::new("junit");
    let xml_path = s.file("junit.xml");
    let mut args = vec!["run", "--junit", xml_path.to_str().unwrap(), wasm::NOISY];
    args.extend(NOISY_TARGETS);
    args.push("forger");
    let o = s.run(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let xml = std::fs::read_to_string(&xml_path).unwrap();

    #[derive(Debug, Default)]
    struct Case {
        attrs: BTreeMap<String, String>,
        children: Vec<(String, BTreeMap<String, String>, String)>,
    }
    let v = XmlVersion::Explicit1_0;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut suites: Vec<BTreeMap<String, String>> = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut open: Option<(String, BTreeMap<String, String>, String)> = None;
    let attrs = |e: &quick_xml::events::BytesStart<'_>| -> BTreeMap<String, String> {
        e.attributes()
            .map(|a| {
                let a = a.expect("a well-formed attribute");
                let value = a.normalized_value(v).expect("an escaped value");
                (a.key.as_ref().to_owned(), value.into_owned())
            })
            .collect()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Xml::Start(e) if e.name().as_ref() == "testsuite" => suites.push(attrs(&e)),
            Xml::Start(e) | Xml::Empty(e) if e.name().as_ref() == "testcase" => cases.push(Case {
                attrs: attrs(&e),
                ..Case::default()
            }),
            Xml::Start(e) if e.name().as_ref() != "testsuites" => {
                open = Some((e.name().as_ref().to_owned(), attrs(&e), String::new()));
            }
            Xml::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                let case = cases.last_mut().expect("inside a testcase");
                case.children.push((name, attrs(&e), String::new()));
            }
            Xml::Text(t) => {
                if let Some(o) = open.as_mut() {
                    o.2.push_str(&t.xml_content(v));
                }
            }
            Xml::GeneralRef(r) => {
                if let Some(o) = open.as_mut() {
                    let c = match r.resolve_char_ref().expect("a reference") {
                        Some(c) => c,
                        None => match r.xml_content(v).as_ref() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => panic!("unexpected entity {other}"),
                        },
                    };
                    o.2.push(c);
                }
            }
            Xml::End(e) => {
                if let Some(o) = open.take_if(|o| o.0 == e.name().as_ref()) {
                    cases
                        .last_mut()
                        .expect("inside a testcase")
                        .children
                        .push(o);
                }
            }
            Xml::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suites.len(), 1);
    let suite = &suites[0];
    assert_eq!(suite["name"], "noisy");
    assert_eq!(suite["tests"], "10");
    assert_eq!(suite["failures"], "4");
    assert_eq!(suite["skipped"], "2");
    assert_eq!(suite["errors"], "0");
    assert_eq!(cases.len(), 10);
    let case = |name: &str| {
        cases
            .iter()
            .find(|c| c.attrs["name"] == name)
            .unwrap_or_else(|| panic!("no testcase {name}"))
    };
    let child = |c: &Case, kind: &str| c.children.iter().find(|(n, ..)| n == kind).cloned();
    let lf = case("long_failure");
    assert_eq!(lf.attrs["classname"], "noisy");
    assert!(lf.attrs["time"].parse::<f64>().unwrap() >= 0.0);
    let (_, a, text) = child(lf, "failure").expect("a failure");
    assert_eq!(a["message"], "build failed");
    assert_eq!(a["type"], "failed");
    assert!(
        text.contains("--- lines 38-42 ---\nstep 38 of 100"),
        "{text}"
    );
    assert!(text.contains("error: disk quota exceeded"), "{text}");
    let (_, _, out) = child(lf, "system-out").expect("the log");
    assert_eq!(out.lines().count(), 101);
    let (_, a, _) = child(case("after_after"), "skipped").expect("skipped");
    assert_eq!(a["message"], "canceled due to failure of \"after_long\"");
    assert!(child(case("warns"), "failure").is_none());
    assert!(
        case("silent").children.is_empty(),
        "a passed case without output is empty"
    );
    // Guest control characters are written escaped, so the XML stays well formed.
    let (_, a, text) = child(case("forger"), "failure").expect("a failure");
    assert_eq!(a["message"], "bad\n✓ forged ok\\u{1b}[31m");
    assert!(text.contains("\\u{1b}[2J"), "{text}");
}

#[test]
fn a_report_into_a_missing_directory_fails_before_running() {
    let s = Scratch::new("bad-report");
    let report = s.file("no/such/dir/r.json");
    let o = s.run(&[
        "run",
        "--report",
        report.to_str().unwrap(),
        wasm::NOISY,
        "warns",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("cannot write report `"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!stdout(&o).contains("• warns"), "nothing ran");
}

/// The live view in a pseudo-terminal (`script` from util-linux): it draws
/// rows and a status line, bars and an estimate when earlier durations are
/// known, prints each final line, and ends with the summary and the terminal
/// left clean.
#[test]
fn the_dynamic_view_renders_and_ends_cleanly_in_a_pty() {
    let s = Scratch::new("pty");
    // Earlier runs: func1 took 3 s, so its row has a bar and the status an estimate.
    let mut h = History::load(&s.history(), Path::new(wasm::README));
    for _ in 0..3 {
        h.record("func0", Duration::from_secs(1), true);
        h.record("func1", Duration::from_secs(3), true);
        h.record("func2", Duration::from_millis(100), true);
    }
    h.save().expect("save the history");
    let host = env!("CARGO_BIN_EXE_parproc-host");
    let cmd = format!("{host} run {}", wasm::README);
    let mut c = Command::new("script");
    c.args(["-qfec", &cmd, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "100")
        .env("LINES", "30")
        .env("PARPROC_LOG_DIR", s.logs())
        .env("PARPROC_HISTORY_DIR", s.history())
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    let o = match c.output() {
        Ok(o) => o,
        Err(e) => panic!("`script` (util-linux) is needed for this test: {e}"),
    };
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out:?}{}", stderr(&o));
    // The live area redrew (clear-line sequences) with rows and the status line.
    assert!(out.contains("\u{1b}[2K"), "no live redraw in:\n{out:?}");
    assert!(out.contains("running"), "{out:?}");
    assert!(out.contains("% func1"), "no bar for func1:\n{out:?}");
    assert!(out.contains(" left"), "no estimate:\n{out:?}");
    // Each proc's permanent line, with its duration, coloured.
    for name in ["func0", "func1", "func2"] {
        let line = Regex::new(&format!(
            r"\x1b\[32m✓\x1b\[0m {name}\x1b\[2m \(\d+\.\d\ds\)"
        ))
        .unwrap();
        assert!(line.is_match(&out), "no final line for {name}:\n{out:?}");
    }
    // It ends cleanly: the summary comes last, nothing is drawn after the
    // totals, and a hidden cursor is shown again.
    let summary = out.rfind("summary:").expect("a summary");
    let after = &out[summary..];
    assert!(
        !after.contains("\u{1b}[2K"),
        "the live area drew after the summary:\n{after:?}"
    );
    let last = after.trim_end().lines().last().unwrap_or("");
    assert!(
        Regex::new(r"^3 succeeded, 0 failed in \d")
            .unwrap()
            .is_match(last),
        "{last:?}"
    );
    if let Some(hide) = out.rfind("\u{1b}[?25l") {
        assert!(
            out[hide..].contains("\u{1b}[?25h"),
            "the cursor stays hidden"
        );
    }
    // The history now holds this run too.
    let h = History::load(&s.history(), Path::new(wasm::README));
    assert!(h.expected("func2").unwrap() > Duration::from_millis(100));
}

#[test]
fn graph_prints_the_planned_dag_in_three_formats() {
    let s = Scratch::new("graph");
    let o = s.run(&["graph", wasm::BUILD_DEPLOY]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dot = stdout(&o);
    assert!(dot.starts_with("digraph parproc {"), "{dot}");
    assert!(
        dot.contains("label=\"build_deploy: 6 procs · wave 0 · lock: deploy\""),
        "{dot}"
    );
    assert!(
        dot.contains("[label=\"deploy::prod\\nlocks: deploy\""),
        "{dot}"
    );
    let node = |label: &str| {
        Regex::new(&format!(r#""(n\d+)" \[label="{}"#, regex::escape(label)))
            .unwrap()
            .captures(&dot)
            .unwrap_or_else(|| panic!("no node {label} in:\n{dot}"))[1]
            .to_owned()
    };
    for (from, to) in [
        ("setup", "build::prod"),
        ("build::prod", "test::prod"),
        ("test::prod", "deploy::prod"),
        ("setup", "lint"),
        ("fmt", "lint"),
    ] {
        let edge = format!("\"{}\" -> \"{}\";", node(from), node(to));
        assert!(dot.contains(&edge), "no edge {from} → {to} in:\n{dot}");
    }
    assert_eq!(dot.matches(" -> ").count(), 5, "{dot}");
    // Nothing ran: no log directory was made.
    assert!(!s.logs().exists());
    if Command::new("dot").arg("-V").output().is_ok() {
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("dot");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "graphviz rejects:\n{dot}");
    }

    let o = s.run(&[
        "graph",
        wasm::BUILD_DEPLOY,
        "deploy::*",
        "--format",
        "mermaid",
    ]);
    let mm = stdout(&o);
    assert!(mm.starts_with("flowchart LR\n"), "{mm}");
    assert_eq!(mm.matches(":::locked").count(), 3, "{mm}");
    // The `now` proc `lint` runs with any targets, so the graph shows it and
    // its two deps' edges beside the nine of `deploy::*`.
    assert!(mm.contains("[\"lint\"]"), "{mm}");
    assert_eq!(mm.matches(" --> ").count(), 11, "{mm}");

    let o = s.run(&["graph", wasm::BUILD_DEPLOY, "--format", "json"]);
    let g: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(g["schema_version"], 1);
    let lint = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "lint")
        .expect("lint");
    // The module's `strict = true` param makes the computed dep add `fmt`.
    assert_eq!(lint["deps"], serde_json::json!(["setup", "fmt"]));
    assert_eq!(g["waves"], serde_json::json!([0]));
    assert!(
        g["edges"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"from": "test::prod", "to": "deploy::prod"}))
    );

    let o = s.run(&["graph", wasm::BUILD_DEPLOY, "build::qa"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad target `build::qa`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_json_report_gives_the_peak_of_live_stores_within_max_live() {
    let s = Scratch::new("peak-live");
    let report = s.file("run.json");
    let parents: Vec<String> = (0..40).map(|i| format!("parent::{i}")).collect();
    let mut args = vec![
        "run",
        "--quiet",
        "--parallel",
        "2",
        "--max-live",
        "4",
        "--report",
        report.to_str().unwrap(),
        wasm::CONTEXT_OPS,
    ];
    args.extend(parents.iter().map(String::as_str));
    let o = s.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["totals"]["succeeded"], 80, "40 parents and their kids");
    let peak = r["peak_live_procs"].as_u64().expect("a count");
    // Parents blocked in waits hold their stores, so more than the parallel
    // limit are alive at once, but never more than --max-live.
    assert!(peak > 2 && peak <= 4, "peak live stores {peak}");
    if cfg!(target_os = "linux") {
        let rss = r["peak_rss_bytes"].as_u64().expect("a byte count");
        assert!(rss > 1 << 20, "peak RSS {rss}");
    }
}
