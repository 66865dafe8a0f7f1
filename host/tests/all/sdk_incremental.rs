//! The incremental options of `parproc:jobs@0.2.0` through the Python and JavaScript SDKs:
//! the manifest each SDK makes of tests/polyglot/incremental.{py,js} (declared inputs,
//! `inputs_ignore`, outputs with `max_age`, `no_skip`, `task_db` and the module's
//! `inputs_ignore`), the same modules run twice through the binary with a state store
//! (computed inputs answered through `resolve-inputs`, `[param]`s, globs, `regex_files`,
//! outputs checked, a wait on an UP_TO_DATE proc), and the SDKs' declaration checks
//! (tests/polyglot/decl_checks.{py,mjs}, run without building a component).
//!
//! The modules are built as polyglot.rs builds its own (the same tools, the same reuse while
//! the build is newer than the script, the SDK and the WIT).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use parproc_host::policy::Grants;
use parproc_host::runtime::{CompileCache, Runtime, RuntimeConfig};
use parproc_host::spec::{Incremental, InputDecl, Manifest, OutputDecl};

use crate::polyglot::{Lang, repo};

/// tests/polyglot/incremental.{py,js} built into a component, once per test binary.
fn component(lang: Lang) -> PathBuf {
    crate::polyglot::component(lang, &format!("tests/polyglot/incremental.{}", lang.ext()))
}

fn manifest(lang: Lang) -> Manifest {
    let cache = CompileCache::at(crate::test_cache_dir());
    let (_rt, manifest) = Runtime::load_with(
        &component(lang),
        RuntimeConfig::default(),
        Grants::default(),
        &cache,
    )
    .unwrap_or_else(|e| panic!("the {lang:?} module loads: {e:#}"));
    manifest
}

fn path(p: &str) -> InputDecl {
    InputDecl::Path(p.into())
}

fn out(p: &str, max_age: Option<Duration>, enforce_freshness: bool) -> OutputDecl {
    OutputDecl {
        path: p.into(),
        max_age,
        enforce_freshness,
    }
}

fn inputs(list: Vec<InputDecl>) -> Incremental {
    Incremental {
        inputs: list,
        ..Incremental::default()
    }
}

fn outputs(list: Vec<OutputDecl>) -> Incremental {
    Incremental {
        outputs: list,
        ..Incremental::default()
    }
}

/// What both fixtures declare, declaration by declaration.
fn expected() -> BTreeMap<&'static str, Incremental> {
    let secs = Duration::from_secs;
    BTreeMap::from([
        ("build", inputs(vec![path("/t/src.txt")])),
        (
            "deploy",
            Incremental {
                no_skip: true,
                ..Incremental::default()
            },
        ),
        ("plain", Incremental::default()),
        (
            "waiter",
            Incremental {
                no_skip: true,
                ..Incremental::default()
            },
        ),
        ("computed::[target]", inputs(vec![InputDecl::Computed])),
        (
            "filled::[target]",
            inputs(vec![path("/t/src_[target].txt")]),
        ),
        ("computed_one", inputs(vec![InputDecl::Computed])),
        (
            "computed_bad",
            inputs(vec![path("/t/src.txt"), InputDecl::Computed]),
        ),
        (
            "regex_build",
            inputs(vec![InputDecl::RegexFiles {
                root: "/t/sub".into(),
                pattern: r".*\.py$".into(),
            }]),
        ),
        (
            "regex_bad",
            inputs(vec![InputDecl::RegexFiles {
                root: "/t/not_a_dir".into(),
                pattern: ".*".into(),
            }]),
        ),
        (
            "globbed",
            Incremental {
                inputs: vec![path("/t/g/**/*.txt")],
                inputs_ignore: vec!["*.tmp.txt".into()],
                ..Incremental::default()
            },
        ),
        ("global_ignored", inputs(vec![path("/t/h/*.txt")])),
        (
            "written_with_open",
            outputs(vec![out("/t/with_open.txt", None, true)]),
        ),
        (
            "out_missing",
            outputs(vec![out("/t/missing_output.txt", None, true)]),
        ),
        (
            "out_created",
            outputs(vec![out("/t/output.txt", None, true)]),
        ),
        (
            "out_aged",
            Incremental {
                inputs: vec![path("/t/src.txt")],
                outputs: vec![out("/t/aged.txt", Some(secs(3600)), true)],
                ..Incremental::default()
            },
        ),
        (
            "out_backdated",
            outputs(vec![out("/t/old.txt", Some(secs(1)), true)]),
        ),
        (
            "out_half",
            outputs(vec![out(
                "/t/half.txt",
                Some(Duration::from_millis(500)),
                true,
            )]),
        ),
        (
            "out_words",
            outputs(vec![out("/t/words.txt", Some(secs(60)), true)]),
        ),
        (
            "out_lenient",
            outputs(vec![out("/t/lenient.txt", Some(secs(1)), false)]),
        ),
        (
            "out_lenient_missing",
            outputs(vec![out("/t/missing_lenient.txt", None, false)]),
        ),
    ])
}

fn declares_the_incremental_options(lang: Lang) {
    let m = manifest(lang);
    let got: BTreeMap<&str, Incremental> = m
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.incremental.clone()))
        .collect();
    let want = expected();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{lang:?}"
    );
    for (name, inc) in &want {
        assert_eq!(&got[name], inc, "{lang:?}: {name}");
    }
    // `task_db_path` only asks; the module's path is not sent.
    assert_eq!(m.options.task_db, Some(true), "{lang:?}");
    assert_eq!(m.options.inputs_ignore, ["*.skip.txt"], "{lang:?}");
}

#[tokio::test]
async fn python_sdk_declares_the_incremental_options() {
    declares_the_incremental_options(Lang::Python);
}

#[tokio::test]
async fn js_sdk_declares_the_incremental_options() {
    declares_the_incremental_options(Lang::Js);
}

use crate::scenarios_incremental::Proc;

/// A temp dir T (granted as `/t`) with the state store beside it.
struct Scenario {
    dir: PathBuf,
    module: PathBuf,
}

impl Scenario {
    fn new(lang: Lang, tag: &str) -> Scenario {
        let module = component(lang);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "sdk-inc-{tag}-{}-{}",
            lang.ext(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("t")).expect("T");
        Scenario { dir, module }
    }

    fn t(&self, rel: &str) -> PathBuf {
        self.dir.join("t").join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.t(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        std::fs::write(p, text).expect("write");
    }

    /// Set the modification time of T/`rel` to `ago` before now.
    fn backdate(&self, rel: &str, ago: Duration) {
        std::fs::File::options()
            .write(true)
            .open(self.t(rel))
            .and_then(|f| f.set_modified(SystemTime::now() - ago))
            .expect("backdate");
    }

    /// `parproc-host run` with `/t` granted, the store when `store`, `extra` flags and the
    /// targets: exit code, output and the procs of the report.
    fn session(
        &self,
        store: bool,
        extra: &[&str],
        targets: &[&str],
    ) -> (Option<i32>, String, BTreeMap<String, Proc>) {
        let report = self.dir.join("r.json");
        let _ = std::fs::remove_file(&report);
        let grant = format!("{}::/t:rw", self.t("").display());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parproc-host"));
        cmd.arg("run");
        if store {
            cmd.args(["--state-dir", self.dir.join("db").to_str().expect("utf-8")]);
        }
        let o = cmd
            .args(["--report", report.to_str().expect("utf-8")])
            .args(["--log-dir", self.dir.join("logs").to_str().expect("utf-8")])
            .args(["--dir", &grant])
            .args(extra)
            .arg(&self.module)
            .args(targets)
            .env("NO_COLOR", "1")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .env_remove("PARPROC_STATE_DIR")
            .output()
            .expect("run parproc-host");
        crate::scenarios_incremental::read_report(&o, &report)
    }

    fn run(&self, targets: &[&str]) -> (Option<i32>, String, BTreeMap<String, Proc>) {
        self.session(true, &[], targets)
    }
}

fn state<'a>(procs: &'a BTreeMap<String, Proc>, name: &str) -> &'a str {
    &procs
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {procs:?}"))
        .state
}

const INPUTS: [&str; 8] = [
    "build",
    "plain",
    "computed::a",
    "filled::a",
    "computed_one",
    "regex_build",
    "globbed",
    "global_ignored",
];

const OUTPUTS: [&str; 8] = [
    "out_missing",
    "out_created",
    "out_aged",
    "out_backdated",
    "out_half",
    "out_words",
    "out_lenient",
    "out_lenient_missing",
];

/// The fixture's files. A JavaScript proc cannot write files, so its outputs are made here
/// (the Python procs write theirs again): fresh ones, and hour-old ones for the procs that
/// must fail the freshness check (or skip it).
fn files(sc: &Scenario) {
    for (rel, text) in [
        ("src.txt", "v1"),
        ("src_a.txt", "a"),
        ("src_b.txt", "b"),
        ("one.txt", "1"),
        ("sub/deep.py", "print(1)"),
        ("sub/readme.txt", "read me"),
        ("not_a_dir", "a file"),
        ("g/a.txt", "a"),
        ("g/deep/b.txt", "b"),
        ("g/c.tmp.txt", "c"),
        ("h/a.txt", "a"),
        ("h/b.skip.txt", "b"),
        ("output.txt", "out"),
        ("aged.txt", "aged"),
        ("words.txt", "words"),
        ("old.txt", "old"),
        ("half.txt", "half"),
        ("lenient.txt", "lenient"),
    ] {
        sc.write(rel, text);
    }
    for rel in ["old.txt", "half.txt", "lenient.txt"] {
        sc.backdate(rel, Duration::from_secs(7200));
    }
}

fn incremental_runs(lang: Lang) {
    let sc = Scenario::new(lang, "runs");
    files(&sc);
    let mut targets: Vec<&str> = INPUTS.to_vec();
    targets.extend(["deploy", "waiter", "regex_bad", "computed_bad"]);
    targets.extend(OUTPUTS);
    let (code, text, p) = sc.run(&targets);
    assert_eq!(code, Some(1), "{text}");
    for name in INPUTS.iter().chain(&["deploy", "waiter"]) {
        assert_eq!(state(&p, name), "SUCCEEDED", "{name}:\n{text}");
    }
    assert_eq!(p["computed::a"].result, "built_a");
    assert_eq!(p["filled::a"].result, "built_a");
    assert_eq!(state(&p, "regex_bad"), "FAILED", "{text}");
    assert_eq!(
        p["regex_bad"].message,
        "regex_files root is not a directory: /t/not_a_dir"
    );
    // A computed input's error fails its proc, with the SDK's message (index 1 is asked).
    assert_eq!(state(&p, "computed_bad"), "FAILED", "{text}");
    let got = match lang {
        Lang::Python => "int",
        Lang::Js => "number",
        Lang::C => unreachable!("the incremental fixture has no C version"),
    };
    assert_eq!(
        p["computed_bad"].message,
        format!(
            "`resolve-inputs` of `computed_bad` failed: Callable input must return str or \
             list[str], got {got}"
        )
    );
    // Outputs are checked after every successful run, with parproc's texts.
    for (name, message) in [
        (
            "out_missing",
            "outputs not refreshed: /t/missing_output.txt",
        ),
        ("out_backdated", "outputs older than max_age: /t/old.txt"),
        ("out_half", "outputs older than max_age: /t/half.txt"),
        (
            "out_lenient_missing",
            "outputs not refreshed: /t/missing_lenient.txt",
        ),
    ] {
        assert_eq!(state(&p, name), "FAILED", "{name}:\n{text}");
        assert_eq!(p[name].message, message, "{name}");
    }
    for name in ["out_created", "out_aged", "out_words", "out_lenient"] {
        assert_eq!(state(&p, name), "SUCCEEDED", "{name}:\n{text}");
    }
    if lang == Lang::Python {
        assert_eq!(
            std::fs::read_to_string(sc.t("_ran")).expect("build ran"),
            "1"
        );
    }

    // Nothing changed: restored, but `no_skip` runs; a wait on a restored proc succeeds.
    let (_, text, p) = sc.run(&targets);
    for name in INPUTS
        .iter()
        .chain(&["out_created", "out_aged", "out_words"])
    {
        assert_eq!(state(&p, name), "UP_TO_DATE", "{name}:\n{text}");
    }
    assert_eq!(p["computed::a"].result, "built_a");
    assert_eq!(state(&p, "deploy"), "SUCCEEDED", "no_skip:\n{text}");
    assert_eq!(state(&p, "waiter"), "SUCCEEDED", "{text}");
    match lang {
        Lang::Python => assert_eq!(p["waiter"].result, "plain"),
        Lang::Js => assert_eq!(
            p["waiter"].result,
            serde_json::json!({ "plain": "plain", "state": "up-to-date" }),
            "the JS SDK reports the state of a restored proc"
        ),
        Lang::C => unreachable!("the incremental fixture has no C version"),
    }

    // Ignored and unmatched files change nothing; another target's file is not an input.
    sc.write("g/c.tmp.txt", "ignored");
    sc.write("g/deep/d.bin", "not matched");
    sc.write("h/b.skip.txt", "ignored by the module");
    sc.write("sub/readme.txt", "not matched");
    sc.write("src_b.txt", "b2");
    let (_, text, p) = sc.run(&INPUTS);
    for name in INPUTS {
        assert_eq!(state(&p, name), "UP_TO_DATE", "{name}:\n{text}");
    }

    // Each declared input re-runs its proc: computed (resolve-inputs), filled, globbed.
    sc.write("src.txt", "v2");
    sc.write("src_a.txt", "a2");
    sc.write("one.txt", "2");
    sc.write("sub/more/new.py", "print(2)");
    sc.write("g/deep/b.txt", "b2");
    sc.write("h/a.txt", "a2");
    let (_, text, p) = sc.session(true, &["--explain"], &INPUTS);
    for name in INPUTS {
        let want = if name == "plain" {
            "UP_TO_DATE"
        } else {
            "SUCCEEDED"
        };
        assert_eq!(state(&p, name), want, "{name}:\n{text}");
    }
    assert!(text.contains("input `/t/src_a.txt` changed"), "{text}");
    assert!(text.contains("input `/t/one.txt` changed"), "{text}");
}

#[test]
fn python_incremental_runs_restore_rerun_and_check_outputs() {
    incremental_runs(Lang::Python);
}

#[test]
fn js_incremental_runs_restore_rerun_and_check_outputs() {
    incremental_runs(Lang::Js);
}

/// S-OUT-03: an output older than its `max_age` makes the proc stale; a deleted output the
/// proc wrote is put back from the store (Python: a JavaScript proc writes none).
#[test]
fn python_an_aged_output_reruns_and_a_deleted_one_is_restored() {
    let sc = Scenario::new(Lang::Python, "aged");
    sc.write("src.txt", "v1");
    let (_, text, p) = sc.run(&["out_aged"]);
    assert_eq!(state(&p, "out_aged"), "SUCCEEDED", "{text}");
    std::fs::remove_file(sc.t("aged.txt")).expect("delete the output");
    let (_, text, p) = sc.run(&["out_aged"]);
    assert_eq!(state(&p, "out_aged"), "UP_TO_DATE", "restored:\n{text}");
    assert_eq!(
        std::fs::read_to_string(sc.t("aged.txt")).expect("back"),
        "aged"
    );
    sc.backdate("aged.txt", Duration::from_secs(7200));
    let (_, text, p) = sc.session(true, &["--explain"], &["out_aged"]);
    assert_eq!(state(&p, "out_aged"), "SUCCEEDED", "{text}");
    assert!(
        text.contains("output `/t/aged.txt` is older than max_age"),
        "{text}"
    );
}

/// The same for JavaScript: the proc wrote nothing, so a deleted output is not put back and
/// the proc runs (and fails, as the output is still missing); an aged one runs it too.
#[test]
fn js_a_missing_or_aged_output_reruns_the_proc() {
    let sc = Scenario::new(Lang::Js, "aged");
    sc.write("src.txt", "v1");
    sc.write("aged.txt", "aged");
    let (_, text, p) = sc.run(&["out_aged"]);
    assert_eq!(state(&p, "out_aged"), "SUCCEEDED", "{text}");
    let (_, text, p) = sc.run(&["out_aged"]);
    assert_eq!(state(&p, "out_aged"), "UP_TO_DATE", "{text}");
    sc.backdate("aged.txt", Duration::from_secs(7200));
    let (_, text, p) = sc.session(true, &["--explain"], &["out_aged"]);
    assert!(
        text.contains("output `/t/aged.txt` is older than max_age"),
        "{text}"
    );
    assert_eq!(state(&p, "out_aged"), "FAILED", "{text}");
    assert_eq!(
        p["out_aged"].message,
        "outputs older than max_age: /t/aged.txt"
    );
    std::fs::remove_file(sc.t("aged.txt")).expect("delete the output");
    let (_, text, p) = sc.run(&["out_aged"]);
    assert_eq!(state(&p, "out_aged"), "FAILED", "{text}");
    assert_eq!(p["out_aged"].message, "outputs not refreshed: /t/aged.txt");
}

/// `set_options(task_db_path=...)` / `setOptions({ taskDbPath })`: without a store the run
/// says how to turn one on; the module's path is never used.
fn task_db_asks_for_a_store(lang: Lang) {
    let sc = Scenario::new(lang, "taskdb");
    let (code, text, p) = sc.session(false, &[], &["plain"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(state(&p, "plain"), "SUCCEEDED");
    assert!(
        text.contains("this module asks for incremental runs (task_db)"),
        "{text}"
    );
    assert!(!Path::new("/never").exists());
}

#[test]
fn python_task_db_path_asks_for_a_store() {
    task_db_asks_for_a_store(Lang::Python);
}

#[test]
fn js_task_db_path_asks_for_a_store() {
    task_db_asks_for_a_store(Lang::Js);
}

/// A Python proc that writes its output with `open(path, 'w')` is remembered like one that
/// writes it with `os.open`: CPython stats the file it has just opened for writing, and that
/// stat of its own output is not an input (were it one, the write would change it: "input
/// `/t/with_open.txt` changed while the proc ran").
#[test]
fn python_a_file_written_with_open_is_remembered() {
    let sc = Scenario::new(Lang::Python, "open");
    let (_, text, p) = sc.run(&["written_with_open"]);
    assert_eq!(state(&p, "written_with_open"), "SUCCEEDED", "{text}");
    let (_, text, p) = sc.session(true, &["--explain"], &["written_with_open"]);
    assert_eq!(state(&p, "written_with_open"), "UP_TO_DATE", "{text}");
}

/// The declaration layers of both SDKs, without a component: what they record and send for
/// the new options, and the errors of bad ones (an invalid `regex_files` pattern is a
/// `UserError` naming the regex at build time, as in parproc).
#[test]
fn sdk_declaration_checks_pass() {
    let python = Command::new("python3")
        .arg("-B")
        .arg(repo().join("tests/polyglot/decl_checks.py"))
        .env("PYTHONPATH", repo().join("guest-sdk/python"))
        .output()
        .expect("run python3");
    assert!(
        python.status.success() && python.stdout == b"ok\n",
        "Python:\n{}{}",
        String::from_utf8_lossy(&python.stdout),
        String::from_utf8_lossy(&python.stderr)
    );
    let node = Command::new("node")
        .arg(repo().join("tests/polyglot/decl_checks.mjs"))
        .output()
        .expect("run node");
    assert!(
        node.status.success() && node.stdout == b"ok\n",
        "JavaScript:\n{}{}",
        String::from_utf8_lossy(&node.stdout),
        String::from_utf8_lossy(&node.stderr)
    );
}

/// A bad declaration fails the build of the component with the SDK's message.
#[test]
fn an_invalid_regex_fails_the_python_build_naming_the_regex() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sdk-inc-badregex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("bad_regex.py");
    std::fs::write(
        &script,
        "import parproc as pp\n\n\
         @pp.Proc(inputs=[pp.regex_files('/src', '(unclosed')])\n\
         def build(context):\n    pass\n",
    )
    .expect("script");
    let o = Command::new("bash")
        .arg(repo().join("guest-sdk/python/build.sh"))
        .arg(&script)
        .arg(dir.join("bad_regex.wasm"))
        .output()
        .expect("run build.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("UserError: Invalid regex in regex_files: '(unclosed'"),
        "{text}"
    );
}
