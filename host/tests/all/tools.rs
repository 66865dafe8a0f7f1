//! WASI tools as sub-steps (`context.exec`): a preview1 command module built
//! here with clang-19 (`tests/tools/tool_p1.c`, turned into a component by the
//! host's command adapter) and a `wasi:cli/command` component
//! (`tests/programs/tool_p2`), run by the procs of `tests/programs/tool_jobs`
//! through the real binary: arguments, environment, stdin, exit codes,
//! output bounds, the directories a proc passes (never more than its own),
//! the private `/tmp` and its quota, fuel and timeout shared with the proc,
//! memory within the proc's cap, undeclared and ungranted tools, pins, and
//! `--pooling`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use parproc_test_artifacts as wasm;
use serde_json::{Value, json};

use crate::scenarios_incremental::{Proc, read_report};

/// The preview1 tool, compiled once per test run.
fn tool_p1() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools");
        std::fs::create_dir_all(&dir).expect("tools dir");
        let out = dir.join(format!("tool_p1-{}.wasm", std::process::id()));
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tools/tool_p1.c");
        let o = Command::new("clang-19")
            .args([
                "--target=wasm32-wasi",
                "--sysroot=/usr",
                "-O2",
                "-fuse-ld=lld",
                "-o",
            ])
            .arg(&out)
            .arg(&src)
            .output()
            .expect("clang-19 is on PATH (guest-sdk/install-tools.sh installs it)");
        assert!(
            o.status.success(),
            "clang-19: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    })
}

/// A scratch directory with `data/in.txt` (granted read-only at `/data`),
/// an empty `out/` (read-write at `/out`) and `secret/` (not granted).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tools-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["data", "out", "secret"] {
            std::fs::create_dir_all(dir.join(sub)).expect("scratch dir");
        }
        std::fs::write(dir.join("data/in.txt"), "hello data\n").expect("write input");
        std::fs::write(dir.join("secret/key"), "hidden").expect("write secret");
        Scratch(dir)
    }

    /// `parproc-host run` of `tool_jobs` with both tools and the two grants,
    /// plus `flags`, for `targets`.
    fn run(
        &self,
        flags: &[&str],
        targets: &[&str],
    ) -> (Option<i32>, String, BTreeMap<String, Proc>) {
        let report = self.0.join("report.json");
        let _ = std::fs::remove_file(&report);
        let p1 = format!("p1={}", tool_p1().display());
        let p2 = format!("p2={}", wasm::TOOL_P2);
        let data = format!("{}::/data", self.0.join("data").display());
        let out = format!("{}::/out:rw", self.0.join("out").display());
        let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
            .env("NO_COLOR", "1")
            .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
            .arg("run")
            .args(["--tool", &p1, "--tool", &p2, "--dir", &data, "--dir", &out])
            .args(["--progress", "static", "--report"])
            .arg(&report)
            .args(flags)
            .arg(wasm::TOOL_JOBS)
            .args(targets)
            .output()
            .expect("run parproc-host");
        read_report(&o, &report)
    }
}

fn result<'a>(procs: &'a BTreeMap<String, Proc>, name: &str, text: &str) -> &'a Value {
    let p = procs
        .get(name)
        .unwrap_or_else(|| panic!("no proc `{name}`:\n{text}"));
    assert_eq!(p.state, "SUCCEEDED", "{name}: {}\n{text}", p.message);
    &p.result
}

#[test]
fn both_kinds_of_tool_get_their_arguments_environment_stdin_and_exit_status() {
    let s = Scratch::new("basics");
    let targets = [
        "p1::echo",
        "p2::echo",
        "p1::stdin",
        "p2::stdin",
        "p1::exit",
        "p2::exit",
    ];
    let (code, text, procs) = s.run(&[], &targets);
    assert_eq!(code, Some(0), "{text}");
    for tool in ["p1", "p2"] {
        let echo = result(&procs, &format!("{tool}::echo"), &text);
        // argv[0] is the tool's name; nothing of the host's environment.
        assert_eq!(
            echo["stdout"],
            format!("{tool} echo a b c\nGREETING=hi\n"),
            "{text}"
        );
        assert_eq!(echo["exit"], 0);
        let stdin = result(&procs, &format!("{tool}::stdin"), &text);
        assert_eq!(stdin["stdout"], "piped in");
        // WASI 0.2's `exit` carries success or failure: a code of 7 is a failure.
        let exit = result(&procs, &format!("{tool}::exit"), &text);
        assert_eq!(exit["exit"], 1, "{text}");
        assert_eq!(exit["stderr"], "exiting with 7\n");
    }
}

#[test]
fn a_tool_sees_only_the_directories_it_is_passed_and_a_private_tmp() {
    let s = Scratch::new("dirs");
    let targets = [
        "p1::cat",
        "p2::cat",
        "p2::cat_unpassed",
        "p2::cat_outside",
        "p2::write_ro",
        "p1::write_out",
        "p2::pass_writable",
        "p2::pass_ungranted",
        "p2::ls_root",
        "twice",
    ];
    let (code, text, procs) = s.run(&[], &targets);
    assert_eq!(code, Some(0), "{text}");
    for tool in ["p1", "p2"] {
        assert_eq!(
            result(&procs, &format!("{tool}::cat"), &text)["stdout"],
            "hello data\n"
        );
    }
    // The proc has /data, but did not pass it: the tool cannot see it.
    let unpassed = result(&procs, "p2::cat_unpassed", &text);
    assert_eq!(unpassed["exit"], 1);
    assert!(
        unpassed["stderr"]
            .as_str()
            .unwrap()
            .contains("No such file or directory"),
        "{unpassed}"
    );
    // `..` does not lead out of a passed directory.
    let outside = result(&procs, "p2::cat_outside", &text);
    assert_eq!(outside["exit"], 1, "{outside}");
    assert_eq!(outside["stdout"], "");
    // Passed read-only: a write fails; passed writable: the file is on the host.
    assert_eq!(result(&procs, "p2::write_ro", &text)["exit"], 1);
    assert!(!s.0.join("data/new.txt").exists());
    assert_eq!(result(&procs, "p1::write_out", &text)["exit"], 0);
    assert_eq!(
        std::fs::read_to_string(s.0.join("out/hello.txt")).expect("the tool's output"),
        "written by a tool"
    );
    // More than the proc has is refused before the tool starts.
    assert_eq!(
        result(&procs, "p2::pass_writable", &text)["err"],
        "cannot pass the tool `p2` a directory the proc was not granted: write access to \
         `/data`: `--dir` grants `/data` read-only (the proc would need `--dir HOST::/data:rw`)"
    );
    assert_eq!(
        result(&procs, "p2::pass_ungranted", &text)["err"],
        "cannot pass the tool `p2` a directory the proc was not granted: directory `/secret` \
         (the proc would need `--dir HOST::/secret`)"
    );
    // No root preopen: `/` itself is not there.
    assert_eq!(result(&procs, "p2::ls_root", &text)["exit"], 1);
    // /tmp is writable, and each tool run gets a fresh, empty one.
    let twice = result(&procs, "twice", &text);
    assert_eq!(twice[0]["stdout"], "wrote 2000000\n", "{twice}");
    assert_eq!(twice[1]["stdout"], "\n", "{twice}");
}

#[test]
fn output_over_the_bound_is_cut_and_flagged_and_never_fails_the_tool() {
    let s = Scratch::new("output");
    let (code, text, procs) = s.run(&[], &["p2::flood", "p2::flood_default"]);
    assert_eq!(code, Some(0), "{text}");
    let asked = result(&procs, "p2::flood", &text);
    assert_eq!(asked["exit"], 0);
    assert_eq!(
        (asked["stdout_len"].clone(), asked["stderr_len"].clone()),
        (json!(1000), json!(1000))
    );
    assert_eq!(asked["truncated"], true);
    // The host's cap (1 MiB) when the proc asks for nothing (or more).
    let default = result(&procs, "p2::flood_default", &text);
    assert_eq!(default["stdout_len"], 1 << 20);
    assert_eq!(default["truncated"], true);
}

#[test]
fn a_tool_spends_the_procs_fuel_and_time_and_shares_its_memory_cap() {
    let s = Scratch::new("budgets");
    let flags = [
        "--fuel",
        "p?::spin=2e9",
        "--timeout",
        "p2::sleep=1s",
        "--max-memory",
        "p2::alloc=64MiB",
    ];
    let (code, text, procs) = s.run(
        &flags,
        &["p1::spin", "p2::spin", "p2::sleep", "p2::alloc", "p2::echo"],
    );
    assert_eq!(code, Some(1), "{text}");
    for tool in ["p1", "p2"] {
        let spin = &procs[&format!("{tool}::spin")];
        assert_eq!(spin.state, "FAILED", "{text}");
        assert_eq!(
            spin.message,
            format!("out of fuel after 2000000000 fuel (the tool `{tool}` used the rest)")
        );
    }
    let sleep = &procs["p2::sleep"];
    assert_eq!(
        (sleep.state.as_str(), sleep.message.as_str()),
        ("FAILED", "timed out after 1s"),
        "{text}"
    );
    // 512 MiB does not fit in the proc's 64 MiB: the tool traps, the proc goes on.
    let alloc = result(&procs, "p2::alloc", &text);
    assert_eq!(alloc["exit"], 134, "{alloc}");
    assert!(
        alloc["stderr"]
            .as_str()
            .unwrap()
            .ends_with("parproc: the tool `p2` trapped: memory limit of 64 MiB reached\n"),
        "{alloc}"
    );
    // A neighbour is untouched.
    assert_eq!(result(&procs, "p2::echo", &text)["exit"], 0);
}

#[test]
fn undeclared_ungranted_and_unpinned_tools_are_refused_by_name() {
    let s = Scratch::new("refused");
    let (code, text, procs) = s.run(&[], &["undeclared", "p2::unknown_tool"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        result(&procs, "undeclared", &text)["err"],
        "the proc did not declare the tool `p2`: add it to its needs (`tools`) and pass \
         `--tool p2=PATH.wasm`"
    );
    assert_eq!(
        result(&procs, "p2::unknown_tool", &text)["err"],
        "the proc did not declare the tool `nope`: add it to its needs (`tools`) and pass \
         `--tool nope=PATH.wasm`"
    );
    // A proc whose tool is not granted fails before it starts, naming the flag.
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .env("NO_COLOR", "1")
        .args(["run", "--progress", "static", "--dir"])
        .arg(format!("{}::/data", s.0.join("data").display()))
        .arg("--dir")
        .arg(format!("{}::/out:rw", s.0.join("out").display()))
        .arg(wasm::TOOL_JOBS)
        .arg("p2::echo")
        .output()
        .expect("run");
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("not granted: tool `p2` (pass `--tool p2=PATH.wasm`)"),
        "{text}"
    );
    // A pinned digest that does not match is a host error naming both digests.
    let bad = format!("p2={}#blake3={}", wasm::TOOL_P2, "0".repeat(64));
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .env("NO_COLOR", "1")
        .args(["run", "--tool", &bad])
        .arg(wasm::TOOL_JOBS)
        .arg("p2::echo")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("has the BLAKE3 digest")
            && err.contains(&format!("not the pinned {}", "0".repeat(64))),
        "{err}"
    );
    // The right pin runs.
    let digest = blake3::hash(&std::fs::read(wasm::TOOL_P2).expect("tool"))
        .to_hex()
        .to_string();
    let good = format!("p2={}#blake3={digest}", wasm::TOOL_P2);
    let (code, text, procs) = s.run(&["--tool", &good], &["p2::echo"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(result(&procs, "p2::echo", &text)["exit"], 0);
}

#[test]
fn the_tmp_quota_stops_a_tool_that_fills_its_scratch_directory() {
    let s = Scratch::new("quota");
    let (code, text, procs) = s.run(&["--tool-tmp-size", "1MiB"], &["p2::tmp"]);
    assert_eq!(code, Some(0), "{text}");
    let tmp = result(&procs, "p2::tmp", &text);
    assert_eq!(tmp["exit"], 1, "{tmp}");
    let out = tmp["stdout"].as_str().unwrap();
    assert!(out.starts_with("wrote 1048576 then: "), "{out}");
}

#[test]
fn tools_run_under_pooling_and_dry_run_lists_them() {
    let s = Scratch::new("pooling");
    let (code, text, procs) = s.run(
        &["--pooling", "--max-live", "2"],
        &["p1::cat", "p2::echo", "twice"],
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(result(&procs, "p1::cat", &text)["stdout"], "hello data\n");
    assert_eq!(result(&procs, "twice", &text)[1]["stdout"], "\n");
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .env("NO_COLOR", "1")
        .args(["run", "--dry-run", "--tool"])
        .arg(format!("p2={}", wasm::TOOL_P2))
        .arg("--dir")
        .arg(format!("{}::/data", s.0.join("data").display()))
        .arg("--dir")
        .arg(format!("{}::/out:rw", s.0.join("out").display()))
        .arg(wasm::TOOL_JOBS)
        .arg("p2::echo")
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("tool p2 (runs it through context.exec)"),
        "{out}"
    );
}

/// `context.exec` from the Python, JavaScript and C SDKs (`tests/polyglot/exec.*`, one
/// module in each): arguments, environment, stdin, the output bound, a passed and an
/// unpassed directory, and an undeclared tool, each answered alike.
fn sdk_exec(lang: crate::polyglot::Lang, file: &str) {
    let module = crate::polyglot::component(lang, file);
    let s = Scratch::new(&format!("sdk-{}", lang.ext()));
    let report = s.0.join("report.json");
    let o = Command::new(env!("CARGO_BIN_EXE_parproc-host"))
        .env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .args(["run", "--progress", "static", "--report"])
        .arg(&report)
        .arg("--tool")
        .arg(format!("p1={}", tool_p1().display()))
        .arg("--dir")
        .arg(format!("{}::/data", s.0.join("data").display()))
        .arg(&module)
        .args(["echo", "cut", "stdin", "cat", "unpassed", "undeclared"])
        .output()
        .expect("run parproc-host");
    let (code, text, procs) = read_report(&o, &report);
    assert_eq!(code, Some(0), "{text}");
    let r = |name: &str| result(&procs, name, &text).clone();
    let ran = |stdout: &str, truncated: bool| json!({"exit": 0, "stdout": stdout, "stderr": "", "truncated": truncated});
    assert_eq!(
        r("echo"),
        ran("p1 echo a b\nGREETING=hi\n", false),
        "{text}"
    );
    assert_eq!(r("cut"), ran("p1 e", true), "{text}");
    assert_eq!(r("stdin"), ran("piped in", false), "{text}");
    assert_eq!(r("cat"), ran("hello data\n", false), "{text}");
    // Without the directory, wasi-libc finds no preopen for the path at all.
    assert_eq!(
        r("unpassed"),
        json!({"exit": 1, "stdout": "", "stderr": "/data/in.txt: Capabilities insufficient\n",
               "truncated": false}),
        "{text}"
    );
    assert_eq!(
        r("undeclared")["err"],
        "the proc did not declare the tool `p2`: add it to its needs (`tools`) and pass \
         `--tool p2=PATH.wasm`",
        "{text}"
    );
}

#[test]
fn python_sdk_runs_tools() {
    sdk_exec(crate::polyglot::Lang::Python, "tests/polyglot/exec.py");
}

#[test]
fn js_sdk_runs_tools() {
    sdk_exec(crate::polyglot::Lang::Js, "tests/polyglot/exec.js");
}

#[test]
fn c_sdk_runs_tools() {
    sdk_exec(crate::polyglot::Lang::C, "tests/polyglot/exec.c");
}
