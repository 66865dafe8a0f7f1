//! Distributed runs (docs/distributed.md) on a real `nats-server` with JetStream on loopback,
//! real `parproc-host worker` processes and real components: the same outcomes as a local
//! run for a scenario of each group, and the faults (a worker killed or stopped, the server
//! restarted, the coordinator killed, a worker refusing what its policy does not allow).
//!
//! Each test starts its own server on a free port with its own store directory and stops it
//! (and its workers) when it ends. `nats-server` must be on `PATH` (`.ci/run` installs it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parproc_test_artifacts as wasm;
use serde_json::Value as Json;

const HOST: &str = env!("CARGO_BIN_EXE_parproc-host");

/// A fresh directory under the test target dir.
fn scratch(tag: &str) -> PathBuf {
    crate::fresh_dir(&format!("dist-{tag}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child whose stdout and stderr lines are kept, each with when it arrived.
struct Watched {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Watched {
    fn spawn(mut cmd: Command) -> Watched {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().expect("stdout"));
        let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().expect("stderr"));
        for pipe in [out, err] {
            let keep = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    keep.lock().unwrap().push((Instant::now(), line));
                }
            });
        }
        Watched { child, lines }
    }

    /// When a line containing `text` arrived (waiting up to `limit` for it).
    fn wait_for(&self, text: &str, limit: Duration) -> Instant {
        let end = Instant::now() + limit;
        loop {
            if let Some((at, _)) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|(_, l)| l.contains(text))
            {
                return *at;
            }
            assert!(
                Instant::now() < end,
                "no line with `{text}` within {limit:?}; got:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn text(&self) -> String {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `nats-server -js` on loopback.
struct Nats {
    server: Option<Watched>,
    port: u16,
    store: PathBuf,
    extra: Vec<String>,
}

impl Nats {
    fn start(dir: &Path, extra: &[&str]) -> Nats {
        let mut nats = Nats {
            server: None,
            port: free_port(),
            store: dir.join("nats-store"),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        nats.up();
        nats
    }

    fn up(&mut self) {
        let mut cmd = Command::new("nats-server");
        cmd.args([
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-sd",
        ])
        .arg(&self.store)
        .args(&self.extra);
        if Command::new("nats-server")
            .arg("--version")
            .output()
            .is_err()
        {
            panic!(
                "cannot start `nats-server`: install it (`apt-get install nats-server`; `.ci/run` does)"
            );
        }
        let server = Watched::spawn(cmd);
        server.wait_for("Server is ready", Duration::from_secs(20));
        self.server = Some(server);
    }

    /// SIGKILL the server (its store stays).
    fn kill(&mut self) {
        self.server = None;
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

fn host_cmd() -> Command {
    let mut cmd = Command::new(HOST);
    cmd.env("NO_COLOR", "1")
        .env("PARPROC_CACHE_DIR", crate::test_cache_dir())
        .env_remove("PARPROC_NATS_TOKEN")
        .env_remove("PARPROC_NATS_PASSWORD")
        .env_remove("PARPROC_NATS_NKEY");
    cmd
}

/// A worker serving `nats` with a fast heartbeat.
fn worker(nats: &Nats, name: &str, extra: &[&str]) -> Watched {
    let mut cmd = host_cmd();
    cmd.args([
        "worker",
        "--nats",
        &nats.url(),
        "--name",
        name,
        "--heartbeat",
        "200ms",
    ])
    .args(extra);
    let w = Watched::spawn(cmd);
    w.wait_for("serves", Duration::from_secs(30));
    w
}

/// `run` with a fast coordinator (lapse 1 s, heartbeat 500 ms) on `nats`, or locally.
fn run_cmd(nats: Option<&Nats>, module: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = host_cmd();
    cmd.arg("run")
        .arg(module)
        .args(args)
        .args(["-q", "--no-history", "--progress", "static"]);
    cmd.arg("--log-dir").arg(dir.join("logs"));
    if let Some(n) = nats {
        cmd.args([
            "--nats",
            &n.url(),
            "--worker-lapse",
            "1s",
            "--coordinator-heartbeat",
            "500ms",
        ]);
    }
    cmd
}

fn run(nats: Option<&Nats>, module: &str, dir: &Path, args: &[&str]) -> (Output, Json) {
    std::fs::create_dir_all(dir).unwrap();
    let report = dir.join("report.json");
    let out = run_cmd(nats, module, dir, args)
        .arg("--report")
        .arg(&report)
        .output()
        .expect("run parproc-host");
    let json = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Json::Null);
    (out, json)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Each proc's name, state, reason and (unless `timing` names it) result and fuel, sorted
/// by name.
fn outcomes(report: &Json, timing: &[&str]) -> Vec<Json> {
    let mut procs: Vec<Json> = report["procs"]
        .as_array()
        .unwrap_or_else(|| panic!("no procs in {report}"))
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default();
            let (result, fuel) = match timing.contains(&name) {
                true => (Json::Null, Json::Null),
                false => (p["result"].clone(), p["fuel_used"].clone()),
            };
            serde_json::json!({
                "name": p["name"], "state": p["state"], "reason": p["reason"],
                "result": result, "fuel": fuel,
            })
        })
        .collect();
    procs.sort_by_key(|p| p["name"].as_str().unwrap_or_default().to_owned());
    procs
}

/// The per-proc log files of a run: name and text.
fn logs(report: &Json) -> Vec<(String, String)> {
    let Some(dir) = report["log_dir"].as_str().map(PathBuf::from) else {
        return Vec::new();
    };
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.map_while(Result::ok)
                .map(|e| {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    (e.file_name().to_string_lossy().into_owned(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The summary's lines, sorted (procs finish in another order on workers), with durations,
/// the run's own directory and the fuel of the procs `timing` names masked.
fn summary(o: &Output, dir: &Path, timing: &[&str]) -> Vec<String> {
    let text = String::from_utf8_lossy(&o.stdout).replace(&dir.display().to_string(), "DIR");
    let time = regex::Regex::new(r"\d+(\.\d+)?(ms|s)\b").unwrap();
    let logs = regex::Regex::new(r"parproc-logs/\S+|logs/\S+").unwrap();
    let fuel = regex::Regex::new(r"[\d.]+k? fuel").unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            let line = logs
                .replace_all(&time.replace_all(line, "T"), "LOGS")
                .into_owned();
            match timing.iter().any(|t| line.contains(&format!(" {t} "))) {
                true => fuel.replace_all(&line, "F fuel").into_owned(),
                false => line,
            }
        })
        .collect();
    lines.sort();
    lines
}

/// The README module's run on `nats` writing its results to `dir/results.json`.
fn readme_run(nats: &Nats, dir: &Path) -> Watched {
    let mut c = run_cmd(Some(nats), wasm::README, dir, &[]);
    c.arg(format!("--results={}", dir.join("results.json").display()));
    Watched::spawn(c)
}

/// Every result of the README module's run came back.
fn assert_readme_results(dir: &Path) {
    let results: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let want = serde_json::json!({
        "func0": 1, "func1": 3, "func2": "func0 and func1 slept 4 s, func2 slept 2 s"
    });
    assert_eq!(results, want);
}

/// The test's own connection to `nats` (it plays a worker or a coordinator).
async fn test_link(nats: &Nats) -> parproc_host::remote::conn::Link {
    use parproc_host::remote::conn;
    let config = conn::NatsConfig::from_sources(
        &nats.url(),
        &conn::AuthSources::default(),
        conn::Tls::default(),
        Duration::from_secs(10),
        |_| None,
    )
    .unwrap()
    .0;
    conn::connect(config, "test").await.expect("connect")
}

fn test_limits() -> parproc_host::remote::wire::JobLimits {
    parproc_host::remote::wire::JobLimits {
        log_limit: 1 << 20,
        result_limit: 1 << 20,
        max_arg: 1 << 20,
        max_created: 100,
        deterministic: false,
    }
}

/// The record of the proc `name` in a JSON report.
fn proc_of<'a>(report: &'a Json, name: &str) -> &'a Json {
    report["procs"]
        .as_array()
        .unwrap_or_else(|| panic!("no procs in {report}"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn a_scenario_of_every_group_has_the_same_outcomes_through_two_workers_as_locally() {
    let dir = scratch("same");
    let nats = Nats::start(&dir, &[]);
    let w1 = worker(&nats, "w1", &["--slots", "2"]);
    let w2 = worker(&nats, "w2", &["--slots", "2"]);
    // (group, module, targets, procs whose results are timestamps). Every run but the
    // locks' is `--deterministic` (seeded randomness, frozen clocks, a results view of the
    // deps only), so fuel must match to the instruction; the locks' results are the times
    // their procs held the lock.
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        // basic, deps and failures: results, deps, FAILED_DEP, NO_FAILURES, timeouts.
        ("basic", wasm::SC_BASIC, &[], &[]),
        ("protos", wasm::SC_PROTO_B, &["main::1"], &[]),
        (
            "rdeps",
            wasm::SC_RDEPS_A,
            &["B::1::2", "k8s.build-images::prod"],
            &[],
        ),
        ("waves", wasm::SC_WS_A, &[], &[]),
        ("context", wasm::SC_CONTEXT, &[], &[]),
        (
            "locks",
            wasm::SC_LOCKS,
            &[],
            &[
                "t1", "t2", "t3", "p0", "p1", "p2", "p3", "p4", "L1", "L2", "L3", "L4",
            ],
        ),
    ];
    for (group, module, targets, timing) in cases {
        let mut args = targets.to_vec();
        if *group != "locks" {
            args.push("--deterministic");
        }
        let (local_out, local) = run(None, module, &dir.join(format!("{group}-local")), &args);
        let (remote_out, remote) = run(
            Some(&nats),
            module,
            &dir.join(format!("{group}-remote")),
            &args,
        );
        assert_eq!(
            local_out.status.code(),
            remote_out.status.code(),
            "{group}: exit status; remote stderr:\n{}",
            stderr(&remote_out)
        );
        assert!(
            local.is_object(),
            "{group}: no local report:\n{}",
            stderr(&local_out)
        );
        assert!(
            remote.is_object(),
            "{group}: no remote report:\n{}",
            stderr(&remote_out)
        );
        let want = outcomes(&local, timing);
        assert!(!want.is_empty(), "{group}: the local run ran nothing");
        assert_eq!(want, outcomes(&remote, timing), "{group}: outcomes differ");
        assert_eq!(logs(&local), logs(&remote), "{group}: log files differ");
        assert_eq!(
            summary(&local_out, &dir.join(format!("{group}-local")), timing),
            summary(&remote_out, &dir.join(format!("{group}-remote")), timing),
            "{group}: summaries differ"
        );
        if *group == "locks" {
            // Procs holding `lock1` never overlap on the workers either.
            let span = |name: &str| {
                let p = remote["procs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == name)
                    .unwrap_or_else(|| panic!("no {name}"));
                let r: Vec<f64> =
                    serde_json::from_str::<Vec<f64>>(p["result"].to_string().as_str())
                        .or_else(|_| serde_json::from_value(p["result"].clone()))
                        .unwrap_or_else(|e| panic!("{name}: {e}: {}", p["result"]));
                (r[0], r[1])
            };
            let (a, b) = (span("t1"), span("t2"));
            assert!(a.1 <= b.0 || b.1 <= a.0, "t1 {a:?} and t2 {b:?} overlap");
        }
    }
    drop(nats);
    assert!(
        w1.text().contains("finished `"),
        "w1 ran nothing:\n{}",
        w1.text()
    );
    assert!(
        w2.text().contains("finished `"),
        "w2 ran nothing:\n{}",
        w2.text()
    );
}

#[expect(
    clippy::disallowed_macros,
    reason = "the fault tests print their timings for the note"
)]
fn timing(what: &str, d: Duration) {
    eprintln!("timing: {what}: {} ms", d.as_millis());
}

/// Once worker `a` runs `func1`, send it `signal`, start worker `b`, and wait until `b` runs
/// `func1` again; prints how long that took, as `what`.
fn hand_over(nats: &Nats, a: &Watched, signal: libc::c_int, what: &str) -> Watched {
    a.wait_for("started `func1`", Duration::from_secs(60));
    a.signal(signal);
    let sent = Instant::now();
    let b = worker(nats, "b", &["--slots", "2"]);
    let again = b.wait_for("started `func1`", Duration::from_secs(30));
    timing(what, again - sent);
    b
}

#[test]
fn a_worker_killed_mid_proc_is_replaced_and_the_run_completes_with_every_result() {
    let dir = scratch("kill");
    let nats = Nats::start(&dir, &[]);
    let a = worker(&nats, "a", &["--slots", "2"]);
    let coordinator = readme_run(&nats, &dir);
    let b = hand_over(
        &nats,
        &a,
        libc::SIGKILL,
        "SIGKILL to the proc running again on another worker",
    );
    coordinator.wait_for("3 succeeded", Duration::from_secs(60));
    let mut c = coordinator;
    assert_eq!(c.child.wait().unwrap().code(), Some(0), "{}", c.text());
    assert!(
        c.text().contains("stopped beating for `func1`"),
        "{}",
        c.text()
    );
    assert_readme_results(&dir);
    assert!(
        b.text().contains("finished `func2` (attempt"),
        "{}",
        b.text()
    );
}

#[test]
fn a_stopped_worker_that_comes_back_has_its_late_attempt_ignored() {
    let dir = scratch("stop");
    let nats = Nats::start(&dir, &[]);
    let a = worker(&nats, "a", &["--slots", "2"]);
    let coordinator = Watched::spawn(run_cmd(Some(&nats), wasm::README, &dir, &[]));
    let b = hand_over(
        &nats,
        &a,
        libc::SIGSTOP,
        "SIGSTOP to the proc running again on another worker",
    );
    // Past func1's own sleep: the stopped attempt would have finished by now.
    std::thread::sleep(Duration::from_millis(1500));
    a.signal(libc::SIGCONT);
    coordinator.wait_for("3 succeeded", Duration::from_secs(60));
    let ignored = coordinator.wait_for("ignored attempt", Duration::from_secs(10));
    let mut c = coordinator;
    assert_eq!(c.child.wait().unwrap().code(), Some(0), "{}", c.text());
    let text = c.text();
    assert!(
        text.contains("from worker `a`: the proc was given to another worker"),
        "{text}"
    );
    let _ = ignored;
    // The summary lists func1 once, succeeded.
    assert_eq!(text.matches("SUCCEEDED  func1").count(), 1, "{text}");
    let a_text = a.text();
    assert!(
        a_text.contains("was ignored") || a_text.contains("stopped `func1`"),
        "the late attempt was neither ignored nor stopped:\n{a_text}"
    );
    assert!(
        b.text().contains("finished `func1` (attempt"),
        "{}",
        b.text()
    );
}

#[test]
fn the_run_survives_a_server_restart_within_the_timeout() {
    let dir = scratch("restart");
    let mut nats = Nats::start(&dir, &[]);
    let _a = worker(&nats, "a", &["--slots", "2"]);
    let coordinator = readme_run(&nats, &dir);
    // Down while func0 and func1 run, back after 2 s (the timeout is 30 s).
    std::thread::sleep(Duration::from_millis(500));
    let _ = &coordinator;
    nats.kill();
    let down = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    nats.up();
    timing("server down", down.elapsed());
    coordinator.wait_for("3 succeeded", Duration::from_secs(90));
    let mut c = coordinator;
    assert_eq!(c.child.wait().unwrap().code(), Some(0), "{}", c.text());
    assert_readme_results(&dir);
}

#[test]
fn past_the_timeout_the_procs_still_out_fail_naming_the_server() {
    let dir = scratch("lost");
    let mut nats = Nats::start(&dir, &[]);
    let _a = worker(&nats, "a", &["--slots", "2"]);
    let coordinator = Watched::spawn({
        let mut c = run_cmd(Some(&nats), wasm::README, &dir, &["--nats-timeout", "2s"]);
        c.arg("--report").arg(dir.join("report.json"));
        c
    });
    std::thread::sleep(Duration::from_millis(500));
    nats.kill();
    let mut c = coordinator;
    let status = c.child.wait().unwrap();
    let text = c.text();
    assert_eq!(status.code(), Some(1), "{text}");
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let url = nats.url();
    let lost = report["procs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["reason"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("lost the NATS server") && m.contains(&url))
        })
        .count();
    assert!(lost >= 1, "no proc failed naming the server:\n{report}");
}

#[test]
fn workers_abandon_a_killed_coordinators_procs_and_serve_the_next_run() {
    let dir = scratch("coord");
    let nats = Nats::start(&dir, &[]);
    let a = worker(&nats, "a", &["--slots", "2"]);
    let first = Watched::spawn(run_cmd(Some(&nats), wasm::README, &dir.join("first"), &[]));
    a.wait_for("started `func1`", Duration::from_secs(60));
    first.signal(libc::SIGKILL);
    let killed = Instant::now();
    let abandoned = a.wait_for("went silent", Duration::from_secs(10));
    // The coordinator's heartbeat is 500 ms: abandoned within 2× that plus a worker beat.
    timing(
        "coordinator SIGKILL to its procs abandoned",
        abandoned - killed,
    );
    assert!(
        abandoned - killed < Duration::from_secs(3),
        "{:?}",
        abandoned - killed
    );
    a.wait_for("stopped `func1`", Duration::from_secs(5));
    let (out, report) = run(Some(&nats), wasm::README, &dir.join("second"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["totals"]["succeeded"], 3, "{report}");
}

#[test]
fn a_worker_refuses_what_its_policy_does_not_allow_and_keeps_serving() {
    let dir = scratch("policy");
    let nats = Nats::start(&dir, &[]);
    let _a = worker(
        &nats,
        "strict",
        &[
            "--slots",
            "2",
            "--max-memory",
            "64MiB",
            "--max-timeout",
            "30s",
        ],
    );
    let (out, report) = run(
        Some(&nats),
        wasm::README,
        &dir.join("big"),
        &["--max-memory", "128MiB", "--timeout", "20s"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let func0 = proc_of(&report, "func0");
    assert_eq!(func0["reason"]["kind"], "not_granted", "{func0}");
    let message = func0["reason"]["message"].as_str().unwrap();
    assert!(
        message.contains("worker `strict` accepts at most 64 MiB")
            && message.contains("`--max-memory`"),
        "{message}"
    );
    // No timeout asked: refused by `--max-timeout`.
    let (_, report) = run(
        Some(&nats),
        wasm::README,
        &dir.join("untimed"),
        &["--max-memory", "32MiB"],
    );
    let func1 = proc_of(&report, "func1");
    assert!(
        func1["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("`--max-timeout`"),
        "{func1}"
    );
    // Within its ceilings the same worker runs it.
    let (out, report) = run(
        Some(&nats),
        wasm::README,
        &dir.join("fits"),
        &["--max-memory", "32MiB", "--timeout", "20s"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["totals"]["succeeded"], 3, "{report}");
}

#[test]
fn files_are_granted_by_guest_path_from_the_workers_own_directory() {
    let dir = scratch("files");
    let nats = Nats::start(&dir, &[]);
    let mine = dir.join("worker-data");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("a.txt"), "on the worker").unwrap();
    let spec = format!("{}::/data", mine.display());
    let _a = worker(&nats, "a", &["--dir", &spec]);
    let (out, report) = run(Some(&nats), wasm::READS, &dir.join("run"), &["cat"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cat = proc_of(&report, "cat");
    assert_eq!(cat["result"], "on the worker", "{cat}");
    // A proc needing a directory the worker does not offer fails naming its policy.
    let (_, report) = run(Some(&nats), wasm::READS, &dir.join("rw"), &["write_out"]);
    let w = proc_of(&report, "write_out");
    assert_eq!(w["reason"]["kind"], "not_granted", "{w}");
    assert!(
        w["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("on worker `a`, whose policy offers directories /data (read-only)"),
        "{w}"
    );
}

#[test]
fn a_large_result_and_large_args_come_back_through_the_object_store() {
    let dir = scratch("large");
    let nats = Nats::start(&dir, &[]);
    let _a = worker(&nats, "a", &[]);
    let (out, report) = run(
        Some(&nats),
        wasm::BENCH_JOBS,
        &dir.join("run"),
        &["--param", "n=2", "--param", "bytes=3000000", "big::*"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for p in report["procs"].as_array().unwrap() {
        assert_eq!(
            p["result"].as_str().map(str::len),
            Some(3_000_000),
            "{}",
            p["name"]
        );
    }
}

#[test]
fn credentials_come_from_the_environment_a_wrong_one_is_a_clear_error_and_none_is_printed() {
    let dir = scratch("auth");
    let token = "s3cr3t-t0ken-4-tests";
    let nats = Nats::start(&dir, &["--auth", token]);
    let mut w = host_cmd();
    w.args([
        "worker",
        "--nats",
        &nats.url(),
        "--name",
        "a",
        "--heartbeat",
        "200ms",
    ])
    .env("PARPROC_NATS_TOKEN", token);
    let a = Watched::spawn(w);
    a.wait_for("serves", Duration::from_secs(30));
    let report = dir.join("report.json");
    let out = run_cmd(Some(&nats), wasm::README, &dir, &[])
        .env("PARPROC_NATS_TOKEN", token)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = format!(
        "{}{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out),
        std::fs::read_to_string(&report).unwrap(),
        a.text()
    );
    assert!(!all.contains(token), "the token was printed:\n{all}");
    // A wrong token: exit 2, naming the server, with a hint.
    let out = run_cmd(Some(&nats), wasm::README, &dir, &[])
        .env("PARPROC_NATS_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: cannot connect to the NATS server `{}`",
            nats.url()
        )),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
    // In the URL it works, is not shown, and warns.
    let url = format!("nats://{token}@127.0.0.1:{}", nats.port);
    let out = host_cmd()
        .args(["run", wasm::README, "-q", "--no-history", "--nats", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: the NATS URL carries credentials"),
        "{err}"
    );
    assert!(!err.contains(token) && !String::from_utf8_lossy(&out.stdout).contains(token));
}

#[test]
fn a_state_store_with_nats_is_refused_until_traces_come_back() {
    let dir = scratch("state");
    let out = host_cmd()
        .args([
            "run",
            wasm::README,
            "--incremental",
            "--nats",
            "nats://127.0.0.1:9",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`--nats` cannot be used with a state store yet"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn a_proc_waiting_on_another_gives_its_worker_slot_back() {
    let dir = scratch("wait");
    let nats = Nats::start(&dir, &[]);
    // One worker, one slot: `parent` waits on the procs it creates, which can only run in
    // the slot it gives back while it waits.
    let a = worker(&nats, "a", &["--slots", "1"]);
    let (out, report) = run(
        Some(&nats),
        wasm::SC_CONTEXT,
        &dir.join("run"),
        &["parent", "--timeout", "30s"],
    );
    // The module's `now` procs include ones that fail on purpose (`bad`, `sleepy`).
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stderr(&out), a.text());
    let parent = proc_of(&report, "parent");
    assert_eq!(parent["state"], "SUCCEEDED", "{parent}");
    assert!(a.text().contains("finished `w::1`"), "{}", a.text());
}

/// The coordinator's side of the protocol, with this test as both the worker (raw NATS
/// messages) and the driver (the proc's channel): a call sent twice with the same number
/// reaches the driver once and gets the same answer twice; a report of an attempt that is
/// not the proc's is refused; the proc's report ends its run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_sent_again_takes_effect_once_and_a_stale_report_is_refused() {
    use futures_util::StreamExt as _;
    use parproc_host::exec::{ContextReply, ContextRequest, ProcChannel, ProcRunner};
    use parproc_host::logsink::LogSink;
    use parproc_host::remote::{coordinator, wire};

    let dir = scratch("protocol");
    let nats = Nats::start(&dir, &[]);
    let link = test_link(&nats).await;
    let limits = test_limits();
    let timing = coordinator::Timing {
        beat: Duration::from_millis(500),
        lapse: Duration::from_secs(30),
        max_losses: 3,
    };
    let runner =
        coordinator::RemoteRunner::start(link.clone(), Path::new(wasm::README), limits, timing)
            .await
            .expect("start");
    let run_id = runner.run_id().to_owned();
    // The driver's end of the proc's channel.
    let (calls, mut driver) = tokio::sync::mpsc::unbounded_channel();
    let channel = ProcChannel::new(parproc_host::plan::ProcId(7), calls, LogSink::default());
    let launch = parproc_host::exec::Launch::new(
        "func0",
        parproc_host::exec::Budget {
            fuel: 1,
            timeout: None,
            memory: 1 << 20,
        },
    );
    let report = tokio::spawn(ProcRunner::run(&runner, launch, channel));
    // The worker: take the job, claim it.
    let consumer = coordinator::work_queue(&link.js).await.unwrap();
    let buckets = wire::Buckets::open(&link.js).await.unwrap();
    let msg = loop {
        let mut batch = consumer.fetch().max_messages(1).messages().await.unwrap();
        if let Some(Ok(m)) = batch.next().await {
            break m;
        }
    };
    let job: wire::Job = buckets.decode(&msg.payload).await.unwrap();
    assert_eq!(
        (job.run.as_str(), job.launch.name.as_str()),
        (run_id.as_str(), "func0")
    );
    assert_eq!(job.module, runner.module_digest());
    msg.ack().await.unwrap();
    let ask = |subject: &str, payload: Vec<u8>| {
        let client = link.client.clone();
        let subject = wire::to_coordinator(&run_id, subject);
        async move {
            client
                .request(subject, payload.into())
                .await
                .unwrap()
                .payload
        }
    };
    let claim = serde_json::to_vec(&wire::Claim {
        job: job.job,
        worker: "fake".into(),
    })
    .unwrap();
    let attempt = match serde_json::from_slice(&ask("claim", claim.clone()).await).unwrap() {
        wire::ClaimReply::Go { attempt } => attempt,
        other => panic!("{other:?}"),
    };
    // A second claim while the first attempt beats is dropped.
    let again: wire::ClaimReply = serde_json::from_slice(&ask("claim", claim).await).unwrap();
    assert!(matches!(again, wire::ClaimReply::Drop { .. }), "{again:?}");
    // Call 0, sent twice.
    let call = wire::Call {
        attempt,
        seq: 0,
        request: ContextRequest::ResultNames,
    };
    let payload = buckets.encode(&call).await.unwrap().to_vec();
    let first = tokio::spawn(ask("call", payload.clone()));
    let asked = driver.recv().await.expect("the driver is asked");
    assert_eq!(asked.request, ContextRequest::ResultNames);
    let second = tokio::spawn(ask("call", payload.clone()));
    // Answered once; the pending copy waits for it, so answer after a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    asked
        .reply
        .send(ContextReply::Names(vec!["x".into()]))
        .unwrap();
    let first: wire::CallReply = buckets.decode(&first.await.unwrap()).await.unwrap();
    let want = wire::CallReply::Reply {
        seq: 0,
        reply: ContextReply::Names(vec!["x".into()]),
    };
    assert_eq!(first, want);
    // The copy sent while the call was pending got no answer of its own (the worker sends
    // again after a while); sent again now, it gets the recorded answer.
    second.abort();
    let third: wire::CallReply = buckets.decode(&ask("call", payload).await).await.unwrap();
    assert_eq!(third, want);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), driver.recv())
            .await
            .is_err(),
        "the driver was asked twice"
    );
    // A report from another attempt is refused; the attempt's own ends the run.
    let done = |attempt| wire::Done {
        attempt,
        worker: "fake".into(),
        report: parproc_host::exec::RunReport {
            outcome: parproc_host::outcome::Outcome::Succeeded("1".into()),
            fuel_used: Some(5),
            peak_memory: None,
            trace: Default::default(),
        },
        log: vec![(parproc_host::logsink::Stream::Stdout, "hello".into())],
        refused: false,
    };
    let stale = buckets.encode(&done(attempt + 100)).await.unwrap().to_vec();
    let answer: wire::DoneReply = serde_json::from_slice(&ask("done", stale).await).unwrap();
    assert_eq!(answer, wire::DoneReply::Stale);
    let own = buckets.encode(&done(attempt)).await.unwrap().to_vec();
    let answer: wire::DoneReply = serde_json::from_slice(&ask("done", own.clone()).await).unwrap();
    assert_eq!(answer, wire::DoneReply::Taken);
    // Sent again (a lost acknowledgement): taken, not run twice.
    let answer: wire::DoneReply = serde_json::from_slice(&ask("done", own).await).unwrap();
    assert_eq!(answer, wire::DoneReply::Taken);
    let report = report.await.unwrap();
    assert_eq!(
        report.outcome,
        parproc_host::outcome::Outcome::Succeeded("1".into())
    );
    assert_eq!(report.fuel_used, Some(5));
    let stats = runner.stats();
    assert_eq!(
        (stats.claimed, stats.repeated_calls, stats.stale),
        (1, 1, 1),
        "{stats:?}"
    );
}

#[test]
fn tls_with_the_servers_root_works_and_without_it_is_refused() {
    let dir = scratch("tls");
    let (ca, cert, key) = crate::certs::issue(&["127.0.0.1", "localhost"]);
    std::fs::write(dir.join("ca.pem"), ca).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let nats = Nats::start(
        &dir,
        &[
            "--tls",
            "--tlscert",
            cert_path.to_str().unwrap(),
            "--tlskey",
            key_path.to_str().unwrap(),
        ],
    );
    let url = format!("tls://127.0.0.1:{}", nats.port);
    let ca_path = dir.join("ca.pem");
    let ca_arg = ca_path.to_str().unwrap();
    let mut w = host_cmd();
    w.args([
        "worker",
        "--nats",
        &url,
        "--nats-tls-ca",
        ca_arg,
        "--name",
        "a",
    ]);
    let a = Watched::spawn(w);
    a.wait_for("serves", Duration::from_secs(30));
    let out = host_cmd()
        .args([
            "run",
            wasm::README,
            "-q",
            "--no-history",
            "--nats",
            &url,
            "--nats-tls-ca",
            ca_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), a.text());
    // Without the root the server's certificate is not trusted: a clear error, exit 2.
    let out = host_cmd()
        .args([
            "run",
            wasm::README,
            "-q",
            "--no-history",
            "--nats",
            &url,
            "--nats-timeout",
            "5s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("the NATS server `{url}`")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_worker_stopped_with_ctrl_c_gives_its_procs_back_at_once() {
    let dir = scratch("sigint");
    let nats = Nats::start(&dir, &[]);
    let a = worker(&nats, "a", &["--slots", "2"]);
    // A lapse far longer than the test: only the worker's word can requeue its procs.
    let mut cmd = host_cmd();
    cmd.args([
        "run",
        wasm::README,
        "-q",
        "--no-history",
        "--nats",
        &nats.url(),
    ])
    .args(["--worker-lapse", "60s"]);
    let coordinator = Watched::spawn(cmd);
    let _b = hand_over(
        &nats,
        &a,
        libc::SIGINT,
        "SIGINT to the proc running again on another worker",
    );
    coordinator.wait_for("3 succeeded", Duration::from_secs(60));
    assert!(
        coordinator
            .text()
            .contains("worker `a` stopped and gave back `func1`"),
        "{}",
        coordinator.text()
    );
    let mut a = a;
    assert_eq!(a.child.wait().unwrap().code(), Some(130), "{}", a.text());
}

#[test]
fn a_user_and_password_from_a_file_work_and_a_missing_password_is_a_clear_error() {
    let dir = scratch("userpass");
    let nats = Nats::start(&dir, &["--user", "ci", "--pass", "pa55-w0rd-xyz"]);
    std::fs::write(dir.join("pw"), "pa55-w0rd-xyz\n").unwrap();
    let pw = dir.join("pw");
    let pw = pw.to_str().unwrap();
    let mut w = host_cmd();
    w.args([
        "worker",
        "--nats",
        &nats.url(),
        "--name",
        "a",
        "--nats-user",
        "ci",
    ])
    .env("PARPROC_NATS_PASSWORD", "pa55-w0rd-xyz");
    let a = Watched::spawn(w);
    a.wait_for("serves", Duration::from_secs(30));
    let out = run_cmd(
        Some(&nats),
        wasm::README,
        &dir,
        &["--nats-user", "ci", "--nats-password-file", pw],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), a.text());
    let out = run_cmd(Some(&nats), wasm::README, &dir, &["--nats-user", "ci"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`--nats-user ci` needs a password"),
        "{}",
        stderr(&out)
    );
}

/// A worker runs a module only when its bytes have the digest the job names: here the test
/// plays the coordinator and puts other bytes under a module's digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_refuses_a_module_whose_bytes_do_not_have_the_digest_the_job_names() {
    use futures_util::StreamExt as _;
    use parproc_host::remote::{coordinator, wire};

    let dir = scratch("digest");
    let nats = Nats::start(&dir, &[]);
    let _a = worker(
        &nats,
        "a",
        &["--module-dir", dir.join("modules").to_str().unwrap()],
    );
    let link = test_link(&nats).await;
    let buckets = wire::Buckets::open(&link.js).await.unwrap();
    coordinator::work_queue(&link.js).await.unwrap();
    // The real module's digest, other bytes under it.
    let real = std::fs::read(wasm::README).unwrap();
    let digest = blake3::hash(&real).to_hex().to_string();
    let fake = std::fs::read(wasm::SUCCESS).unwrap();
    buckets
        .modules
        .put(digest.as_str(), &mut fake.as_slice())
        .await
        .unwrap();
    let run = "digesttest";
    let mut inbound = link
        .client
        .subscribe(wire::to_coordinator(run, "*"))
        .await
        .unwrap();
    let job = wire::Job {
        run: run.into(),
        job: 1,
        module: digest.clone(),
        launch: parproc_host::exec::Launch::new(
            "func0",
            parproc_host::exec::Budget {
                fuel: 10_000_000,
                timeout: Some(Duration::from_secs(10)),
                memory: 64 << 20,
            },
        ),
        limits: test_limits(),
        coordinator_beat_ms: 500,
    };
    let payload = buckets.encode(&job).await.unwrap();
    link.js
        .publish(wire::work_subject(run), payload)
        .await
        .unwrap()
        .await
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(msg) = inbound.next().await {
            let reply = msg.reply.clone();
            match msg.subject.rsplit('.').next() {
                Some("claim") => {
                    let go = serde_json::to_vec(&wire::ClaimReply::Go { attempt: 1 }).unwrap();
                    link.client
                        .publish(reply.unwrap(), go.into())
                        .await
                        .unwrap();
                }
                Some("done") => {
                    let done: wire::Done = buckets.decode(&msg.payload).await.unwrap();
                    let taken = serde_json::to_vec(&wire::DoneReply::Taken).unwrap();
                    link.client
                        .publish(reply.unwrap(), taken.into())
                        .await
                        .unwrap();
                    return done.report;
                }
                _ => {}
            }
        }
        panic!("the subscription ended");
    })
    .await
    .expect("a report within 30 s");
    match report.outcome {
        parproc_host::outcome::Outcome::Failed(f) => {
            assert_eq!(f.kind, parproc_host::outcome::FailureKind::HostError);
            assert!(
                f.message
                    .contains(&format!("module {digest} from the NATS server has digest")),
                "{}",
                f.message
            );
            assert!(f.message.contains("refused"), "{}", f.message);
        }
        other => panic!("ran a module with the wrong digest: {other:?}"),
    }
    assert!(
        !dir.join("modules").join(format!("{digest}.wasm")).exists(),
        "the wrong bytes were kept"
    );
}

#[test]
fn an_nkey_seed_from_a_file_or_the_environment_logs_in() {
    let dir = scratch("nkey");
    let pair = nkeys::KeyPair::new_user();
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "authorization {{ users = [ {{ nkey: \"{}\" }} ] }}\n",
            pair.public_key()
        ),
    )
    .unwrap();
    let seed = pair.seed().unwrap();
    std::fs::write(dir.join("seed"), &seed).unwrap();
    let nats = Nats::start(&dir, &["-c", conf.to_str().unwrap()]);
    let mut w = host_cmd();
    w.args(["worker", "--nats", &nats.url(), "--name", "a"])
        .env("PARPROC_NATS_NKEY", &seed);
    let a = Watched::spawn(w);
    a.wait_for("serves", Duration::from_secs(30));
    let seed_file = dir.join("seed");
    let out = run_cmd(
        Some(&nats),
        wasm::README,
        &dir,
        &["--nats-nkey-file", seed_file.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stderr(&out), a.text());
    assert!(!stderr(&out).contains(&seed) && !a.text().contains(&seed));
    // Without credentials the server refuses: exit 2.
    let out = run_cmd(Some(&nats), wasm::README, &dir, &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_tool_the_worker_offers_runs_there_and_one_it_does_not_is_not_granted() {
    let dir = scratch("tool");
    let nats = Nats::start(&dir, &[]);
    let tool = format!("p2={}", wasm::TOOL_P2);
    // The tool procs of the fixture are granted `/data` and `/out` too.
    let (data, out_dir) = tool_dirs(&dir);
    let _a = worker(
        &nats,
        "a",
        &["--tool", &tool, "--dir", &data, "--dir", &out_dir],
    );
    let (out, report) = run(
        Some(&nats),
        wasm::TOOL_JOBS,
        &dir.join("run"),
        &["p2::echo"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let echo = proc_of(&report, "p2::echo");
    assert_eq!(echo["result"]["exit"], 0, "{echo}");
    assert_eq!(
        echo["result"]["stdout"], "p2 echo a b c\nGREETING=hi\n",
        "{echo}"
    );
    drop(_a);
    // A worker without the tool refuses the proc, naming what it offers.
    let _b = worker(&nats, "b", &["--dir", &data, "--dir", &out_dir]);
    let (_, report) = run(
        Some(&nats),
        wasm::TOOL_JOBS,
        &dir.join("none"),
        &["p2::echo"],
    );
    let echo = proc_of(&report, "p2::echo");
    assert_eq!(echo["reason"]["kind"], "not_granted", "{echo}");
    assert!(echo["reason"]["message"].as_str().unwrap().contains("not granted: tool `p2`")
            && echo["reason"]["message"].as_str().unwrap().contains("on worker `b`, whose policy offers directories /data (read-only), /out; no environment; no network; no tools"), "{echo}");
}

#[test]
fn a_proc_that_keeps_losing_its_worker_fails_instead_of_running_forever() {
    let dir = scratch("losses");
    let nats = Nats::start(&dir, &[]);
    let a = worker(&nats, "a", &["--slots", "2"]);
    let report = dir.join("report.json");
    let mut c = run_cmd(
        Some(&nats),
        wasm::README,
        &dir,
        &["--max-worker-losses", "1"],
    );
    c.arg("--report").arg(&report);
    let coordinator = Watched::spawn(c);
    a.wait_for("started `func1`", Duration::from_secs(60));
    a.signal(libc::SIGKILL);
    let _b = worker(&nats, "b", &["--slots", "2"]);
    let mut c = coordinator;
    assert_eq!(c.child.wait().unwrap().code(), Some(1), "{}", c.text());
    let report: Json = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let func1 = proc_of(&report, "func1");
    assert_eq!(func1["reason"]["kind"], "host_error", "{func1}");
    let message = func1["reason"]["message"].as_str().unwrap();
    assert!(
        message.contains("lost its worker once (the last: `a`)")
            && message.contains("`--max-worker-losses 1`"),
        "{message}"
    );
}

/// Workers `/data` and `/out` for the tool fixture's procs, under `dir`.
fn tool_dirs(dir: &Path) -> (String, String) {
    for d in ["data", "out"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    (
        format!("{}::/data", dir.join("data").display()),
        format!("{}::/out:rw", dir.join("out").display()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proc_one_worker_refuses_goes_to_another_that_offers_what_it_needs() {
    let dir = scratch("reoffer");
    let nats = Nats::start(&dir, &[]);
    let (data, out) = tool_dirs(&dir);
    let a = worker(&nats, "a", &["--dir", &data, "--dir", &out]);
    // `b` says it is there before it runs, so `a`'s refusal sends the proc back to the queue.
    let link = test_link(&nats).await;
    let present = tokio::spawn(async move {
        loop {
            let p = serde_json::to_vec(&parproc_host::remote::wire::Presence {
                worker: "b".into(),
                slots: 1,
            })
            .unwrap();
            let _ = link
                .client
                .publish(parproc_host::remote::wire::PRESENCE, p.into())
                .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = dir.join("report.json");
    let mut c = run_cmd(Some(&nats), wasm::TOOL_JOBS, &dir, &["p2::echo"]);
    c.arg("--report").arg(&report);
    let mut coordinator = Watched::spawn(c);
    tokio::task::block_in_place(|| a.wait_for("refused `p2::echo`", Duration::from_secs(30)));
    let tool = format!("p2={}", wasm::TOOL_P2);
    let b = tokio::task::block_in_place(|| {
        worker(
            &nats,
            "b",
            &["--tool", &tool, "--dir", &data, "--dir", &out],
        )
    });
    let status = tokio::task::block_in_place(|| coordinator.child.wait().unwrap());
    present.abort();
    assert_eq!(
        status.code(),
        Some(0),
        "{}\n{}\n{}",
        coordinator.text(),
        a.text(),
        b.text()
    );
    assert!(b.text().contains("finished `p2::echo`"), "{}", b.text());
}

#[test]
fn a_proc_every_worker_refuses_fails_with_each_workers_reason() {
    let dir = scratch("allrefuse");
    let nats = Nats::start(&dir, &[]);
    let (data, out) = tool_dirs(&dir);
    let _a = worker(&nats, "a", &["--dir", &data, "--dir", &out]);
    let _b = worker(&nats, "b", &["--dir", &data, "--dir", &out]);
    let (o, report) = run(
        Some(&nats),
        wasm::TOOL_JOBS,
        &dir.join("run"),
        &["p2::echo"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let echo = proc_of(&report, "p2::echo");
    assert_eq!(echo["reason"]["kind"], "not_granted", "{echo}");
    let message = echo["reason"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("not granted by any worker: `"),
        "{message}"
    );
    assert!(
        message.contains("on worker `a`") && message.contains("on worker `b`"),
        "{message}"
    );
}

#[test]
fn with_no_worker_the_run_says_so_and_ctrl_c_stops_it_at_once() {
    let dir = scratch("noworker");
    let nats = Nats::start(&dir, &[]);
    let mut coordinator = Watched::spawn(run_cmd(Some(&nats), wasm::README, &dir, &[]));
    coordinator.wait_for(
        &format!("no worker serves `{}`: procs wait in its queue", nats.url()),
        Duration::from_secs(30),
    );
    coordinator.signal(libc::SIGINT);
    let sent = Instant::now();
    let status = coordinator.child.wait().unwrap();
    timing("Ctrl-C to the coordinator's exit", sent.elapsed());
    assert_eq!(status.code(), Some(130), "{}", coordinator.text());
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "{:?}",
        sent.elapsed()
    );
}
