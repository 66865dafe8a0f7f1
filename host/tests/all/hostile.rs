//! The hostile-guest suite: guests that attack the host or try to leave their
//! sandbox (`tests/programs/hostile`), and hand-written multi-memory
//! components. Each attack ends in its own outcome, the host stays up, and a
//! well-behaved proc beside them keeps its result.

#![expect(
    clippy::disallowed_macros,
    reason = "fuel figures go to the test output for the record"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parproc_host::exec::{Budget, Launch};
use parproc_host::logsink::LogSink;
use parproc_host::outcome::{FailureKind, Outcome, ProcState};
use parproc_host::plan::PlanOptions;
use parproc_host::policy::{BudgetRules, Grants, LimitArg, Rules, parse_dir_grant, parse_net_addr};
use parproc_host::report::{NullReporter, ProcRecord};
use parproc_host::runtime::{CompileCache, Runtime, RuntimeConfig};
use parproc_host::session::{Session, SessionConfig};
use parproc_test_artifacts::HOSTILE;

/// A fresh scratch directory under the test target dir.
fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hostile-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// One run of hostile procs in a session.
struct Setup {
    config: SessionConfig,
    runtime: RuntimeConfig,
    grants: Grants,
    params: Vec<(String, serde_json::Value)>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            config: SessionConfig {
                // Every attack below ends long before this; it only keeps a
                // broken build from hanging the suite.
                timeout: Some(Duration::from_secs(120)),
                ..SessionConfig::default()
            },
            runtime: RuntimeConfig::default(),
            grants: Grants::default(),
            params: Vec::new(),
        }
    }
}

impl Setup {
    /// Budget rules from `--fuel`-style flag values.
    fn fuel(mut self, args: &[LimitArg<u64>]) -> Self {
        let (default, rules) = Rules::from_args(args);
        self.config.fuel = default.unwrap_or(self.config.fuel);
        self.config.rules.fuel = rules;
        self
    }

    fn memory(mut self, args: &[LimitArg<u64>]) -> Self {
        let (default, rules) = Rules::from_args(args);
        self.config.memory = default.unwrap_or(self.config.memory);
        self.config.rules.memory = rules;
        self
    }

    fn timeout(mut self, args: &[LimitArg<Duration>]) -> Self {
        let (default, rules) = Rules::from_args(args);
        self.config.timeout = default.or(self.config.timeout);
        self.config.rules.timeout = rules;
        self
    }

    /// Run `targets` to the end; the records of every proc that ran.
    async fn run(self, targets: &[&str]) -> Records {
        let (rt, manifest) = Runtime::load_with(
            Path::new(HOSTILE),
            self.runtime,
            self.grants,
            &CompileCache::off(),
        )
        .expect("the hostile fixture loads");
        let rt = Arc::new(rt);
        let s = Session::new(
            &manifest,
            PlanOptions::default(),
            rt.clone(),
            rt,
            Arc::new(NullReporter),
            self.config,
        )
        .await
        .expect("session");
        s.set_params(self.params);
        let mut names = Vec::new();
        for t in targets {
            names.extend(s.create(t, &[], None).await.expect("create"));
        }
        s.start(&names).await.expect("start");
        s.wait_for_all().await;
        Records(s.records().await)
    }
}

fn rule<T>(pattern: &str, value: T) -> LimitArg<T> {
    LimitArg::Rule {
        pattern: pattern.to_owned(),
        value,
    }
}

struct Records(Vec<ProcRecord>);

impl Records {
    fn get(&self, name: &str) -> &ProcRecord {
        self.0
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no record for {name}"))
    }

    /// The failure kind and message of `name`, which must have failed.
    fn failed(&self, name: &str) -> (FailureKind, &str) {
        let r = self.get(name);
        let f = r
            .failure
            .as_ref()
            .unwrap_or_else(|| panic!("{name} did not fail: {:?} {:?}", r.state, r.result));
        (f.kind, f.message.as_str())
    }

    fn result(&self, name: &str) -> &str {
        let r = self.get(name);
        assert_eq!(r.state, ProcState::Succeeded, "{name}: {:?}", r.failure);
        r.result.as_deref().expect("a result")
    }
}

// ---- runaway guests ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_guests_end_in_their_own_outcome_and_others_keep_their_results() {
    let r = Setup::default()
        .fuel(&[
            rule("spin", 1_000_000_000),
            rule("greedy_spin", 1_000_000_000),
        ])
        .timeout(&[rule("sleep_forever", Duration::from_millis(500))])
        .memory(&[rule("memory_bomb", 64 << 20)])
        .run(&[
            "spin",
            "greedy_spin",
            "sleep_forever",
            "memory_bomb",
            "recursion",
            "panics",
            "aborts",
            "quick",
        ])
        .await;
    assert_eq!(
        r.failed("spin"),
        (FailureKind::OutOfFuel, "out of fuel after 1000000000 fuel")
    );
    assert_eq!(r.get("spin").fuel_used, Some(1_000_000_000));
    // It declared u64-sized budgets: it still ends at the user's limit.
    assert_eq!(
        r.failed("greedy_spin"),
        (FailureKind::OutOfFuel, "out of fuel after 1000000000 fuel")
    );
    assert_eq!(
        r.failed("sleep_forever"),
        (FailureKind::TimedOut, "timed out after 500ms")
    );
    let (kind, message) = r.failed("memory_bomb");
    assert_eq!(kind, FailureKind::MemoryLimit, "{message}");
    assert!(
        message.starts_with("memory limit of 64 MiB reached"),
        "{message}"
    );
    assert!(
        r.get("memory_bomb")
            .peak_memory
            .is_some_and(|p| p <= 64 << 20)
    );
    let (kind, message) = r.failed("recursion");
    assert_eq!(kind, FailureKind::Trapped, "{message}");
    assert!(
        message.contains("call stack exhausted") || message.contains("out of bounds"),
        "{message}"
    );
    let (kind, message) = r.failed("panics");
    assert_eq!(kind, FailureKind::Trapped);
    assert!(
        message.starts_with("panicked at tests/programs/hostile/src/lib.rs:")
            && message.ends_with(": hostile panic"),
        "{message}"
    );
    let (kind, message) = r.failed("aborts");
    assert_eq!(kind, FailureKind::Trapped);
    assert!(message.contains("unreachable"), "{message}");
    assert_eq!(r.result("quick"), "\"intact\"");
}

// ---- what a guest pushes at the host ----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_too_much_fails_the_proc_as_too_large_but_logs_are_cut() {
    let r = Setup::default()
        .memory(&[rule("huge_*", 1 << 30)])
        .run(&[
            "log_flood",
            "huge_result",
            "million_procs",
            "huge_name",
            "quick",
        ])
        .await;
    // 100 MB of output: the proc goes on; the log keeps its head and tail.
    let written: u64 = r.result("log_flood").parse().expect("a count");
    assert!(written >= 100_000_000, "{written}");
    let log = r.get("log_flood").log.as_ref().expect("a log");
    assert!(log.truncated());
    assert_eq!(log.bytes_written(), written);
    let records = log.records();
    assert!(
        records[0].text.starts_with("         0 xxx"),
        "{:?}",
        records[0]
    );
    assert!(
        records
            .iter()
            .any(|r| r.text.ends_with("bytes of output cut ...]")),
        "no cut marker"
    );
    let kept: usize = records.iter().map(|r| r.text.len()).sum();
    assert!(kept <= 2 << 20, "kept {kept} bytes");

    assert_eq!(
        r.failed("huge_result"),
        (
            FailureKind::TooLarge,
            "result is 100000002 bytes, over the limit of 16 MiB"
        )
    );
    assert_eq!(
        r.failed("million_procs"),
        (
            FailureKind::TooLarge,
            "created more than 10000 procs (the limit per proc; raise it with `--max-created`)"
        )
    );
    // The limit holds before creation: not one child past it exists.
    let children = r.0.iter().filter(|p| p.name.starts_with("child::")).count();
    assert_eq!(children, 10_000);
    assert_eq!(
        r.failed("huge_name"),
        (
            FailureKind::TooLarge,
            "the arguments of `context.create` are 100000000 bytes, over the limit of 1 MiB \
             (raise it with `--max-arg`)"
        )
    );
    assert_eq!(r.result("quick"), "\"intact\"");
}

// ---- waits that can never finish ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_that_can_never_finish_end_as_deadlocks() {
    let r = Setup::default()
        .run(&["wait_self", "pair_a", "quick"])
        .await;
    let (kind, message) = r.failed("wait_self");
    assert_eq!(kind, FailureKind::Deadlock, "{message}");
    assert!(message.starts_with("wait can never finish: "), "{message}");
    // pair_a starts pair_b by waiting on it; pair_b's wait on pair_a is refused.
    let (kind, message) = r.failed("pair_b");
    assert_eq!(kind, FailureKind::Deadlock, "{message}");
    assert!(message.starts_with("wait can never finish: "), "{message}");
    let (kind, message) = r.failed("pair_a");
    assert_eq!(kind, FailureKind::Failed, "{message}");
    assert!(message.contains("\"pair_b\""), "{message}");
    assert_eq!(r.result("quick"), "\"intact\"");
}

// ---- capabilities -------------------------------------------------------------

/// `data/` (granted read-only as `/data`) with `ok.txt`, a relative and an
/// absolute symlink to `secret.txt` beside it; `out/` (granted read-write).
fn files() -> (PathBuf, Grants, PathBuf) {
    let root = std::fs::canonicalize(scratch("files")).expect("canonical");
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::create_dir_all(root.join("out")).expect("out");
    std::fs::write(data.join("ok.txt"), "ok").expect("ok.txt");
    let secret = root.join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").expect("secret");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../secret.txt", data.join("link")).expect("link");
        std::os::unix::fs::symlink(&secret, data.join("abs_link")).expect("abs link");
    }
    let grants = Grants {
        dirs: vec![
            parse_dir_grant(&format!("{}::/data", data.display())).expect("grant"),
            parse_dir_grant(&format!("{}::/out:rw", root.join("out").display())).expect("grant"),
        ],
        ..Grants::default()
    };
    (root, grants, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proc_cannot_leave_its_granted_directories() {
    let (root, grants, secret) = files();
    let r = Setup {
        grants,
        params: vec![(
            "path".to_owned(),
            serde_json::json!(secret.display().to_string()),
        )],
        ..Setup::default()
    }
    .run(&[
        "read_ok",
        "read_dotdot",
        "read_absolute",
        "read_symlink",
        "read_abs_symlink",
        "write_readonly",
        "write_ok",
        "quick",
    ])
    .await;
    assert_eq!(r.result("read_ok"), "\"ok\"");
    for (name, path) in [
        ("read_dotdot", "/data/../secret.txt".to_owned()),
        ("read_absolute", secret.display().to_string()),
        ("read_symlink", "/data/link".to_owned()),
        ("read_abs_symlink", "/data/abs_link".to_owned()),
    ] {
        let (kind, message) = r.failed(name);
        assert_eq!(kind, FailureKind::Failed, "{name}: {message}");
        assert!(
            message.starts_with(&format!("{path}: ")),
            "{name}: {message}"
        );
        assert!(!message.contains("TOP SECRET"), "{name}: {message}");
    }
    let (kind, message) = r.failed("write_readonly");
    assert_eq!(kind, FailureKind::Failed, "{message}");
    assert!(message.starts_with("/data/written.txt: "), "{message}");
    assert!(!root.join("data/written.txt").exists());
    assert_eq!(r.get("write_ok").state, ProcState::Succeeded);
    assert_eq!(
        std::fs::read_to_string(root.join("out/written.txt"))
            .ok()
            .as_deref(),
        Some("fine")
    );
    assert_eq!(r.result("quick"), "\"intact\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_that_is_not_granted_fails_before_the_proc_starts() {
    let (_root, mut grants, _) = files();
    // `/out` granted read-only this time; no `PARPROC_TOKEN`.
    grants.dirs[1].writable = false;
    let r = Setup {
        grants,
        ..Setup::default()
    }
    .run(&["needs_grants", "quick"])
    .await;
    assert_eq!(
        r.failed("needs_grants"),
        (
            FailureKind::NotGranted,
            "not granted: write access to `/out`: `--dir` grants `/out` read-only (pass \
             `--dir HOST::/out:rw`); environment variable `PARPROC_TOKEN` (pass `--env \
             PARPROC_TOKEN` for the host's value or `--env PARPROC_TOKEN=VALUE`)"
        )
    );
    assert_eq!(r.get("needs_grants").fuel_used, None, "it never ran");
    assert_eq!(r.result("quick"), "\"intact\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proc_sees_only_the_environment_it_declared_and_was_granted() {
    let r = Setup {
        grants: Grants {
            env: vec![
                ("PARPROC_TOKEN".into(), "t0k3n".into()),
                ("OTHER".into(), "x".into()),
            ],
            ..Grants::default()
        },
        ..Setup::default()
    }
    .run(&["env_ungranted", "env_granted"])
    .await;
    assert_eq!(r.result("env_ungranted"), "[]");
    assert_eq!(r.result("env_granted"), "[[\"PARPROC_TOKEN\",\"t0k3n\"]]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_reaches_only_a_granted_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let params = vec![("port".to_owned(), serde_json::json!(port))];

    // Nothing granted: the proc that declares nothing and the one that
    // declares the address both fail, and nothing reaches the listener.
    let r = Setup {
        params: params.clone(),
        ..Setup::default()
    }
    .run(&["open_socket", "open_socket_granted"])
    .await;
    let (kind, message) = r.failed("open_socket");
    assert_eq!(kind, FailureKind::Failed, "{message}");
    assert!(
        message.starts_with(&format!("connect 127.0.0.1:{port}: ")),
        "{message}"
    );
    let (kind, message) = r.failed("open_socket_granted");
    assert_eq!(kind, FailureKind::NotGranted, "{message}");
    assert!(
        message.contains("pass `--allow-net 127.0.0.1:*`"),
        "{message}"
    );
    assert!(listener.accept().is_err(), "a connection got through");

    // Granted: only the proc that declared it connects.
    let r = Setup {
        params,
        grants: Grants {
            net: vec![parse_net_addr("127.0.0.1:*").expect("addr")],
            ..Grants::default()
        },
        ..Setup::default()
    }
    .run(&["open_socket", "open_socket_granted"])
    .await;
    assert_eq!(r.failed("open_socket").0, FailureKind::Failed);
    assert_eq!(
        r.result("open_socket_granted"),
        format!("\"connected to 127.0.0.1:{port}\"")
    );
    listener.set_nonblocking(false).expect("blocking");
    let (mut conn, _) = listener.accept().expect("the granted proc connected");
    let mut got = String::new();
    std::io::Read::read_to_string(&mut conn, &mut got).expect("read");
    assert_eq!(got, "hello");
}

/// Sockets count against the per-proc descriptor cap (`--max-open-files`): a proc that
/// opens sockets without end gets `new-socket-limit` at the cap, closes some and opens again;
/// its neighbour connects meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_hog_meets_the_descriptor_cap_and_its_neighbour_connects() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let r = Setup {
        params: vec![("port".to_owned(), serde_json::json!(port))],
        grants: Grants {
            net: vec![parse_net_addr("127.0.0.1:*").expect("addr")],
            ..Grants::default()
        },
        runtime: RuntimeConfig {
            max_open_files: 16,
            ..RuntimeConfig::default()
        },
        ..Setup::default()
    }
    .run(&["socket_hog", "open_socket_granted"])
    .await;
    let hog = r.result("socket_hog");
    assert!(
        hog.starts_with("\"opened 16; refused: No file descriptors available"),
        "{hog}"
    );
    assert!(hog.ends_with("; reopened\""), "{hog}");
    assert_eq!(
        r.result("open_socket_granted"),
        format!("\"connected to 127.0.0.1:{port}\"")
    );
    drop(listener);
}

// ---- reproducible budgets ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_proc_uses_the_same_fuel_on_every_run() {
    let first = Setup::default().run(&["compute"]).await;
    let second = Setup::default().run(&["compute"]).await;
    let fuel = first.get("compute").fuel_used.expect("metered");
    assert!(fuel > 0);
    assert_eq!(second.get("compute").fuel_used, Some(fuel));
    assert_eq!(first.result("compute"), second.result("compute"));
    eprintln!("compute used {fuel} fuel on both runs");
}

fn deterministic() -> Setup {
    let mut s = Setup::default();
    s.runtime.deterministic = true;
    s.config.deterministic = true;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deterministic_mode_fixes_randomness_clocks_and_the_results_view() {
    let first = deterministic()
        .run(&["nondeterministic", "panics", "view"])
        .await;
    let second = deterministic()
        .run(&["nondeterministic", "panics", "view"])
        .await;
    let a = first.get("nondeterministic");
    let b = second.get("nondeterministic");
    assert_eq!(a.result, b.result);
    assert_eq!(a.fuel_used, b.fuel_used);
    assert!(
        first
            .result("nondeterministic")
            .ends_with(" at 946684800\""),
        "{}",
        first.result("nondeterministic")
    );
    // Only its dep (`quick`) and what it waited for (`compute`), whatever else
    // has finished.
    assert_eq!(first.result("view"), "[\"compute\",\"quick\"]");
    assert_eq!(second.result("view"), "[\"compute\",\"quick\"]");
    assert_eq!(first.get("view").fuel_used, second.get("view").fuel_used);
    eprintln!(
        "deterministic: nondeterministic used {:?} fuel, result {}",
        a.fuel_used,
        first.result("nondeterministic")
    );
}

// ---- the host-wide memory total ----------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_are_admitted_against_the_host_wide_total() {
    let mut s =
        Setup::default().memory(&[LimitArg::Default(64 << 20), rule("greedy_spin", 200 << 20)]);
    s.runtime.max_total_memory = Some(100 << 20);
    // Procs of 64 MiB under a 100 MiB total run one at a time and all finish;
    // the bomb still ends at its own cap, not at what neighbours left.
    let r = s
        .run(&[
            "compute",
            "memory_bomb",
            "env_ungranted",
            "quick",
            "greedy_spin",
        ])
        .await;
    assert_eq!(r.result("compute"), "2262");
    assert_eq!(r.result("env_ungranted"), "[]");
    assert_eq!(r.result("quick"), "\"intact\"");
    let (kind, message) = r.failed("memory_bomb");
    assert_eq!(kind, FailureKind::MemoryLimit);
    assert!(
        message.starts_with("memory limit of 64 MiB reached"),
        "{message}"
    );
    // A cap larger than the whole total can never be admitted: it fails at once.
    assert_eq!(
        r.failed("greedy_spin"),
        (
            FailureKind::MemoryLimit,
            "its memory cap of 200 MiB is larger than the host-wide total of 100 MiB \
             (`--max-total-memory`); lower the cap with `--max-memory` or raise the total"
        )
    );
    assert_eq!(r.get("greedy_spin").fuel_used, None, "it never ran");
}

// ---- hand-written multi-memory components ------------------------------------------

/// A core module implementing the `jobs` world by hand: `describe` returns an
/// empty manifest, callbacks answer `Err("null")`, and `run` grows each of
/// `extra` further memories by `pages` 64 KiB pages before returning `null`
/// (trapping if a growth is refused).
fn multi_memory_core(extra: usize, pages: u32) -> String {
    let mut memories = String::new();
    let mut grows = String::new();
    for i in 1..=extra {
        memories.push_str(&format!("  (memory $m{i} 0)\n"));
        grows.push_str(&format!(
            "    (if (i32.eq (memory.grow $m{i} (i32.const {pages})) (i32.const -1)) (then unreachable))\n    (i32.store8 $m{i} (i32.const 0) (i32.const 1))\n"
        ));
    }
    format!(
        r#"(module
  (memory (export "memory") 1)
{memories}
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
      (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (block $done
      (loop $more
        (br_if $done (i32.le_u (global.get $heap) (i32.shl (memory.size) (i32.const 16))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (br $more)))
    (local.get $p))
  (func (export "parproc:jobs/declarations@0.1.0#describe") (result i32)
    (i32.const 1024))
  (func (export "parproc:jobs/declarations@0.1.0#resolve-deps")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 1200))
  (func (export "parproc:jobs/declarations@0.1.0#resolve-choices")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.const 1200))
  (func (export "parproc:jobs/procs@0.1.0#run")
    (param i32 i32 i32 i32 i32 i32) (result i32)
{grows}    (i32.const 1100))
  (data (i32.const 1100) "\00\00\00\00\00\08\00\00\04\00\00\00")
  (data (i32.const 1200) "\01\00\00\00\00\08\00\00\04\00\00\00")
  (data (i32.const 2048) "null"))
"#
    )
}

/// The core module `wat` as a component of the `jobs` world of
/// `parproc:jobs@0.1.0` (`wit/compat/`; its data is laid out for that version).
fn jobs_component(wat: &str) -> Vec<u8> {
    let mut module = wat::parse_str(wat).expect("valid WAT");
    let mut resolve = wit_parser::Resolve::default();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/compat/parproc-0.1.0.wit");
    let (pkg, _) = resolve.push_path(&wit).expect("the WIT contract parses");
    let world = resolve
        .select_world(&[pkg], Some("jobs"))
        .expect("the jobs world");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("embed the world");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("a core module")
        .validate(true)
        .encode()
        .expect("a valid component")
}

fn write_component(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch("components").join(name);
    std::fs::write(&path, bytes).expect("write component");
    path
}

fn memory_launch(memory: u64) -> Launch {
    Launch::new(
        "grow",
        Budget {
            fuel: 1_000_000_000,
            timeout: None,
            memory,
        },
    )
}

#[tokio::test]
async fn the_memory_cap_sums_every_memory_of_a_multi_memory_component() {
    // Eight extra memories of 8 MiB each: 64 MiB in all, every one of them
    // far below a 32 MiB cap on its own.
    let path = write_component("multi.wasm", &jobs_component(&multi_memory_core(8, 128)));
    let (rt, manifest) = Runtime::load(&path, RuntimeConfig::default()).expect("it loads");
    assert!(manifest.jobs.is_empty());

    let report = rt
        .run_without_context(memory_launch(32 << 20), LogSink::new(4096))
        .await;
    let Outcome::Failed(f) = &report.outcome else {
        panic!("expected the cap to stop it: {:?}", report.outcome);
    };
    assert_eq!(f.kind, FailureKind::MemoryLimit, "{f:?}");
    assert_eq!(f.message, "memory limit of 32 MiB reached");
    assert!(
        report.peak_memory.is_some_and(|p| p <= 32 << 20),
        "{report:?}"
    );

    let report = rt
        .run_without_context(memory_launch(128 << 20), LogSink::new(4096))
        .await;
    assert_eq!(report.outcome, Outcome::Succeeded("null".into()));
    assert!(
        report.peak_memory.is_some_and(|p| p >= 64 << 20),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_component_with_too_many_memories_is_refused() {
    let path = write_component("many.wasm", &jobs_component(&multi_memory_core(40, 0)));
    let err = Runtime::load(&path, RuntimeConfig::default())
        .expect_err("40 memories are over the count")
        .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(
        err.starts_with(&format!(
            "cannot load `{}`: `describe` failed: ",
            path.display()
        )),
        "{err}"
    );
    assert!(err.contains("memory"), "{err}");
}

/// A valid component of another world (`test:other/other`, exporting `run`).
pub(crate) fn other_world_component() -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve
        .push_str(
            "other.wit",
            "package test:other;\nworld other { export run: func() -> u32; }\n",
        )
        .expect("wit");
    let world = resolve.select_world(&[pkg], Some("other")).expect("world");
    let mut module = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
             (func (export "run") (result i32) (i32.const 7)))"#,
    )
    .expect("wat");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("embed");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("component")
}

#[tokio::test]
async fn a_component_of_another_world_is_a_load_error() {
    let path = write_component("other.wasm", &other_world_component());
    let err = Runtime::load(&path, RuntimeConfig::default())
        .expect_err("another world")
        .to_string();
    assert_eq!(
        err,
        format!(
            "cannot load `{}`: it is not a parproc job module: it does not export \
             `parproc:jobs/declarations@0.2.0`",
            path.display()
        )
    );
}

#[tokio::test]
async fn a_truncated_component_is_a_load_error() {
    let bytes = std::fs::read(HOSTILE).expect("the fixture");
    for cut in [9, bytes.len() / 2, bytes.len() - 1] {
        let path = write_component(&format!("truncated-{cut}.wasm"), &bytes[..cut]);
        let err = Runtime::load(&path, RuntimeConfig::default())
            .expect_err("truncated")
            .to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(
            err.starts_with(&format!(
                "cannot load `{}`: not a valid component: ",
                path.display()
            )),
            "{err}"
        );
    }
}

/// Budget rules reach the session: a rule raises a limit for matching procs
/// only, and the module's own declaration can only lower it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_rules_pick_per_proc_limits() {
    let (rt, manifest) =
        Runtime::load(Path::new(HOSTILE), RuntimeConfig::default()).expect("loads");
    let rt = Arc::new(rt);
    let (fuel, fuel_rules) =
        Rules::from_args(&[LimitArg::Default(1_000_000), rule("*spin", 5_000_000_000)]);
    let s = Session::new(
        &manifest,
        PlanOptions::default(),
        rt.clone(),
        rt,
        Arc::new(NullReporter),
        SessionConfig {
            fuel: fuel.expect("a default"),
            rules: BudgetRules {
                fuel: fuel_rules,
                ..BudgetRules::default()
            },
            ..SessionConfig::default()
        },
    )
    .await
    .expect("session");
    let mut fuel = Vec::new();
    for n in ["quick", "spin", "greedy_spin"] {
        fuel.push(s.budget_of(n).await.expect("a proc").fuel);
    }
    assert_eq!(fuel, [1_000_000, 5_000_000_000, 5_000_000_000]);
    assert_eq!(
        s.budget_of("greedy_spin").await.expect("a proc").memory,
        256 << 20
    );
}
