//! Scaling benchmark of the host (prints numbers; asserts nothing about time).
//!
//! Runs the graphs of `tests/programs/bench_jobs` (fan-out, chain, lattice of
//! no-op procs; see that crate) at each size, every proc in its own store, four
//! ways:
//!
//! - `planner`: the session with a native resolver (the graphs' deps computed in
//!   Rust) and an in-process no-op runner: no wasm at all, the limit the wasm
//!   layer is measured against;
//! - `planner+callbacks`: the same with the guest answering the computed deps
//!   and choices (the module's declarations instance), still a no-op runner;
//! - `wasm`: the session with the real runtime: every proc instantiated in a
//!   fresh store and run;
//! - `cli`: `parproc-host run --quiet` as a user runs it (process start, module
//!   loaded from a warm compile cache, summary), with its peak RSS.
//!
//! Then the cold and warm start of the CLI and the cost of fuel metering on a
//! CPU-bound proc. Every line is also written as JSON to `--json FILE`.
//!
//! ```text
//! cargo bench -p parproc-host --bench scale -- [--sizes 1000,10000,100000]
//!     [--graphs fanout,chain,lattice] [--json FILE] [--host PATH] [--python PATH]
//! ```
//!
//! `bench/run.sh` builds what this needs and runs it with the peers.

#![expect(clippy::disallowed_macros, reason = "a benchmark prints its numbers")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parproc_host::exec::{BoxFuture, Launch, ProcChannel, ProcRunner, Resolver, RunReport};
use parproc_host::outcome::Outcome;
use parproc_host::plan::{PlanOptions, ResolveAnswer, ResolveRequest};
use parproc_host::report::NullReporter;
use parproc_host::runtime::{CompileCache, Runtime, RuntimeConfig};
use parproc_host::session::{Session, SessionConfig};
use parproc_host::spec::{Manifest, Value};
use serde_json::json;

const WIDTH: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Graph {
    Fanout,
    Chain,
    Lattice,
}

impl Graph {
    fn name(self) -> &'static str {
        match self {
            Graph::Fanout => "fanout",
            Graph::Chain => "chain",
            Graph::Lattice => "lattice",
        }
    }

    /// The targets, created in this order (see `bench_jobs`).
    fn targets(self) -> &'static [&'static str] {
        match self {
            Graph::Fanout => &["sink"],
            Graph::Chain => &["c::*"],
            Graph::Lattice => &["l::*::*", "lsink"],
        }
    }

    fn procs(self, n: u64) -> u64 {
        match self {
            Graph::Chain => n,
            Graph::Fanout | Graph::Lattice => n + 1,
        }
    }
}

/// The graphs' computed deps and choices, answered in Rust.
struct NativeResolver {
    n: u64,
}

fn arg(ctx: &parproc_host::plan::DepContext, name: &str) -> u64 {
    ctx.args
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

impl Resolver for NativeResolver {
    fn resolve(&self, request: ResolveRequest) -> BoxFuture<'_, ResolveAnswer> {
        let answer = match &request {
            ResolveRequest::Choices { param, .. } => {
                let param = param.clone().unwrap_or_default();
                let upto = match param.as_str() {
                    "d" => self.n / WIDTH,
                    "w" => WIDTH,
                    _ => self.n,
                };
                let values = (0..upto).map(|i| Value::Integer(i as i64)).collect();
                ResolveAnswer::Choices(Ok(vec![(param, values)]))
            }
            ResolveRequest::Deps { decl, ctx, .. } => {
                ResolveAnswer::Deps(Ok(match decl.as_str() {
                    "c::[i]" => {
                        let i = arg(ctx, "i");
                        if i > 0 {
                            vec![format!("c::{}", i - 1)]
                        } else {
                            vec![]
                        }
                    }
                    "l::[d]::[w]" => {
                        let (d, w) = (arg(ctx, "d"), arg(ctx, "w"));
                        if d == 0 {
                            vec![]
                        } else {
                            vec![
                                format!("l::{}::{w}", d - 1),
                                format!("l::{}::{}", d - 1, (w + 1) % WIDTH),
                            ]
                        }
                    }
                    "lsink" => {
                        let last = (self.n / WIDTH).saturating_sub(1);
                        (0..WIDTH).map(|w| format!("l::{last}::{w}")).collect()
                    }
                    other => panic!("no computed deps for {other}"),
                }))
            }
        };
        Box::pin(async move { answer })
    }
}

/// Finishes every proc at once with a `null` result.
struct NoopRunner;

impl ProcRunner for NoopRunner {
    fn run(&self, _: Launch, _: ProcChannel) -> BoxFuture<'static, RunReport> {
        Box::pin(async {
            RunReport {
                outcome: Outcome::Succeeded("null".into()),
                fuel_used: None,
                peak_memory: None,
                trace: parproc_host::trace::Traced::No,
            }
        })
    }
}

fn with_n(manifest: &Manifest, n: u64) -> Manifest {
    let mut m = manifest.clone();
    m.params.retain(|(k, _)| k != "n");
    m.params.push(("n".into(), json!(n)));
    m
}

/// Run `graph` at size `n` in one session; the wall time from creating the
/// target to the end.
async fn session_run(
    manifest: &Manifest,
    graph: Graph,
    n: u64,
    runner: Arc<dyn ProcRunner>,
    resolver: Arc<dyn Resolver>,
) -> Duration {
    let m = with_n(manifest, n);
    let opts = PlanOptions {
        parallel: 2,
        ..PlanOptions::default()
    };
    let t = Instant::now();
    let s = Session::new(
        &m,
        opts,
        runner,
        resolver,
        Arc::new(NullReporter),
        SessionConfig::default(),
    )
    .await
    .expect("session");
    let mut names = Vec::new();
    for target in graph.targets() {
        names.extend(s.create(target, &[], None).await.expect("create"));
    }
    let created = t.elapsed();
    s.start(&names).await.expect("start");
    let started = t.elapsed();
    s.go();
    assert!(s.wait_for_all().await, "{} n={n} failed", graph.name());
    let elapsed = t.elapsed();
    if std::env::var_os("SCALE_PHASES").is_some() {
        println!(
            "  phases {} n={n}: create {created:?}, start {:?}, run {:?}",
            graph.name(),
            started - created,
            elapsed - started
        );
    }
    let records = s.records().await;
    let ran = records
        .iter()
        .filter(|r| r.state == parproc_host::outcome::ProcState::Succeeded)
        .count() as u64;
    assert_eq!(
        ran,
        graph.procs(n),
        "every proc of {} n={n} ran",
        graph.name()
    );
    elapsed
}

/// `parproc-host run --report` as a child: its wall time and report.
///
/// Peak memory comes from the report (`VmHWM` of the host's own address
/// space): `wait4`'s `ru_maxrss` of a child also counts what this process had
/// mapped when it forked, which is more than the host itself uses.
fn cli_run(host: &Path, cache: &Path, args: &[String]) -> (Duration, serde_json::Value) {
    let report = std::env::temp_dir().join(format!("pp-bench-report-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&report);
    let t = Instant::now();
    let status = Command::new(host)
        .arg(&args[0])
        .arg("--report")
        .arg(&report)
        .args(&args[1..])
        .env("PARPROC_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start parproc-host");
    let elapsed = t.elapsed();
    assert!(status.success(), "parproc-host {args:?} failed: {status}");
    let r = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    let _ = std::fs::remove_file(&report);
    (elapsed, r)
}

struct Opts {
    sizes: Vec<u64>,
    graphs: Vec<Graph>,
    json: Option<PathBuf>,
    host: PathBuf,
    python: Option<PathBuf>,
    cli: bool,
}

fn parse_args() -> Opts {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut o = Opts {
        sizes: vec![1_000, 10_000, 100_000],
        graphs: vec![Graph::Fanout, Graph::Chain, Graph::Lattice],
        json: None,
        host: root.join("target/release/parproc-host"),
        python: None,
        cli: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sizes" => {
                o.sizes = args
                    .next()
                    .expect("--sizes LIST")
                    .split(',')
                    .map(|s| s.parse().expect("a size"))
                    .collect();
            }
            "--graphs" => {
                o.graphs = args
                    .next()
                    .expect("--graphs LIST")
                    .split(',')
                    .map(|g| match g {
                        "fanout" => Graph::Fanout,
                        "chain" => Graph::Chain,
                        "lattice" => Graph::Lattice,
                        other => panic!("unknown graph {other}"),
                    })
                    .collect();
            }
            "--json" => o.json = Some(args.next().expect("--json FILE").into()),
            "--host" => o.host = args.next().expect("--host PATH").into(),
            "--python" => o.python = Some(args.next().expect("--python PATH").into()),
            "--no-cli" => o.cli = false,
            // `cargo bench` passes `--bench`.
            _ => {}
        }
    }
    o
}

struct Out {
    lines: Vec<serde_json::Value>,
}

impl Out {
    fn record(&mut self, v: serde_json::Value) {
        self.lines.push(v);
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn main() {
    let o = parse_args();
    let module = PathBuf::from(parproc_test_artifacts::BENCH_JOBS);
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-cache");
    let mut out = Out { lines: Vec::new() };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let (runtime, manifest) = Runtime::load_with(
        &module,
        RuntimeConfig::default(),
        Default::default(),
        &CompileCache::at(&cache),
    )
    .expect("load bench_jobs");
    let runtime = Arc::new(runtime);
    let (pooled, _) = Runtime::load_with(
        &module,
        RuntimeConfig {
            pool_instances: Some(parproc_host::plan::DEFAULT_MAX_LIVE as u32 + 8),
            ..RuntimeConfig::default()
        },
        Default::default(),
        &CompileCache::at(&cache),
    )
    .expect("load bench_jobs pooled");
    let pooled = Arc::new(pooled);
    let cli = o.cli && o.host.exists();
    if o.cli && !cli {
        println!(
            "cli runs skipped: {} not built (cargo build --release -p parproc-host)",
            o.host.display()
        );
    }

    println!(
        "{:<8} {:>7} {:>7} | {:>10} {:>10} {:>10} {:>10} | {:>9} {:>9} | {:>9}",
        "graph",
        "n",
        "procs",
        "planner",
        "+callbacks",
        "wasm",
        "cli",
        "µs/proc",
        "cli µs/p",
        "cli RSS"
    );
    for &graph in &o.graphs {
        for &n in &o.sizes {
            let procs = graph.procs(n);
            let native = rt.block_on(session_run(
                &manifest,
                graph,
                n,
                Arc::new(NoopRunner),
                Arc::new(NativeResolver { n }),
            ));
            let callbacks = rt.block_on(session_run(
                &manifest,
                graph,
                n,
                Arc::new(NoopRunner),
                runtime.clone(),
            ));
            let wasm = rt.block_on(session_run(
                &manifest,
                graph,
                n,
                runtime.clone(),
                runtime.clone(),
            ));
            let wasm_pooled = rt.block_on(session_run(
                &manifest,
                graph,
                n,
                pooled.clone(),
                runtime.clone(),
            ));
            let (cli_t, rss, cli_pooled, rss_pooled) = if cli {
                let args = vec![
                    "run".into(),
                    "--quiet".into(),
                    "--parallel".into(),
                    "2".into(),
                    "--param".into(),
                    format!("n={n}"),
                    module.display().to_string(),
                ];
                let args: Vec<String> = args
                    .into_iter()
                    .chain(graph.targets().iter().map(|t| (*t).to_owned()))
                    .collect();
                let (t, r) = cli_run(&o.host, &cache, &args);
                let mut pooled_args = args.clone();
                pooled_args.insert(1, "--pooling".into());
                let (tp, rp) = cli_run(&o.host, &cache, &pooled_args);
                (
                    Some(t),
                    r["peak_rss_bytes"].as_u64().map(|b| b / 1024),
                    Some(tp),
                    rp["peak_rss_bytes"].as_u64().map(|b| b / 1024),
                )
            } else {
                (None, None, None, None)
            };
            let per = (wasm.as_secs_f64() - callbacks.as_secs_f64()) / procs as f64 * 1e6;
            let per_pooled =
                (wasm_pooled.as_secs_f64() - callbacks.as_secs_f64()) / procs as f64 * 1e6;
            let per_native = (wasm.as_secs_f64() - native.as_secs_f64()) / procs as f64 * 1e6;
            let cli_per =
                cli_t.map(|t| (t.as_secs_f64() - native.as_secs_f64()) / procs as f64 * 1e6);
            println!(
                "{:<8} {:>7} {:>7} | {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>10} | {:>9.2} {:>9} | {:>9} | pooled {:.1}ms {:.2}µs/proc",
                graph.name(),
                n,
                procs,
                ms(native),
                ms(callbacks),
                ms(wasm),
                cli_t.map_or("-".into(), |t| format!("{:.1}ms", ms(t))),
                per,
                cli_per.map_or("-".into(), |p| format!("{p:.2}")),
                rss.map_or("-".into(), |r| format!("{:.1}MiB", r as f64 / 1024.0)),
                ms(wasm_pooled),
                per_pooled,
            );
            out.record(json!({
                "kind": "graph", "graph": graph.name(), "n": n, "procs": procs,
                "planner_ms": ms(native), "callbacks_ms": ms(callbacks), "wasm_ms": ms(wasm), "wasm_pooled_ms": ms(wasm_pooled),
                "wasm_pooled_us_per_proc": per_pooled,
                "cli_ms": cli_t.map(ms), "cli_peak_rss_kib": rss,
                "cli_pooled_ms": cli_pooled.map(ms), "cli_pooled_peak_rss_kib": rss_pooled,
                "wasm_us_per_proc": per, "wasm_us_per_proc_vs_planner": per_native,
                "cli_us_per_proc_vs_planner": cli_per,
            }));
        }
    }

    if let Some(py) = &o.python {
        python_fanout(&rt, py, &cache, &mut out);
    }
    if cli {
        starts(&o, &cache, &module, &mut out);
    }
    fuel(&rt, &module, &mut out);

    if let Some(path) = &o.json {
        let text: String = out.lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(path, text).expect("write --json");
    }
}

/// The per-proc cost of a Python guest: its fan-out of 1,000 procs with the
/// real runtime against the same session with a no-op runner.
fn python_fanout(rt: &tokio::runtime::Runtime, module: &Path, cache: &Path, out: &mut Out) {
    let (runtime, manifest) = Runtime::load_with(
        module,
        RuntimeConfig::default(),
        Default::default(),
        &CompileCache::at(cache),
    )
    .expect("load the Python bench module");
    let runtime = Arc::new(runtime);
    let n = 1_000;
    let graph = Graph::Fanout;
    let noop = rt.block_on(session_run(
        &manifest,
        graph,
        n,
        Arc::new(NoopRunner),
        runtime.clone(),
    ));
    let wasm = rt.block_on(session_run(
        &manifest,
        graph,
        n,
        runtime.clone(),
        runtime.clone(),
    ));
    let per = (wasm.as_secs_f64() - noop.as_secs_f64()) / graph.procs(n) as f64 * 1e6;
    println!(
        "python fanout n={n}: planner+callbacks {:.1} ms, wasm {:.1} ms, {per:.1} µs per proc",
        ms(noop),
        ms(wasm)
    );
    out.record(json!({
        "kind": "python", "graph": "fanout", "n": n, "procs": graph.procs(n),
        "callbacks_ms": ms(noop), "wasm_ms": ms(wasm), "wasm_us_per_proc": per,
    }));
}

/// Cold (empty cache) and warm CLI starts of a one-proc run, Rust and Python.
fn starts(o: &Opts, cache: &Path, module: &Path, out: &mut Out) {
    let mut modules = vec![("rust", module.to_path_buf(), "spin::1".to_owned())];
    if let Some(py) = &o.python {
        modules.push(("python", py.clone(), "noop".to_owned()));
    }
    for (lang, path, target) in modules {
        let cold_cache = std::env::temp_dir().join(format!("pp-bench-cold-{}", std::process::id()));
        let args = vec![
            "run".into(),
            "--quiet".into(),
            path.display().to_string(),
            target.clone(),
        ];
        let figure = |c: &Path| {
            let (t, r) = cli_run(&o.host, c, &args);
            (
                t,
                r["load_s"].as_f64().unwrap_or(f64::NAN),
                r["compile_cache"].clone(),
            )
        };
        let _ = std::fs::remove_dir_all(&cold_cache);
        let cold = figure(&cold_cache);
        let _ = std::fs::remove_dir_all(&cold_cache);
        let _ = figure(cache);
        let warm = figure(cache);
        println!(
            "start ({lang}, one proc): cold {:.1} ms (load {:.1} ms, cache {}), warm {:.1} ms (load {:.1} ms, cache {})",
            ms(cold.0),
            cold.1 * 1e3,
            cold.2,
            ms(warm.0),
            warm.1 * 1e3,
            warm.2
        );
        out.record(json!({
            "kind": "start", "lang": lang,
            "cold_ms": ms(cold.0), "cold_load_ms": cold.1 * 1e3,
            "warm_ms": ms(warm.0), "warm_load_ms": warm.1 * 1e3, "warm_cache": warm.2,
        }));
    }
}

/// Fuel metering's cost on a CPU-bound proc: the same proc in a runtime with
/// fuel and in one without.
fn fuel(rt: &tokio::runtime::Runtime, module: &Path, out: &mut Out) {
    let k = 200_000_000u64;
    let mut times = Vec::new();
    for metered in [true, false] {
        let config = RuntimeConfig {
            fuel_metering: metered,
            ..RuntimeConfig::default()
        };
        let (runtime, manifest) =
            Runtime::load_with(module, config, Default::default(), &CompileCache::off())
                .expect("load");
        let runtime = Arc::new(runtime);
        let m = manifest.clone();
        let best = (0..3)
            .map(|_| {
                rt.block_on(async {
                    let s = Session::new(
                        &m,
                        PlanOptions::default(),
                        runtime.clone(),
                        runtime.clone(),
                        Arc::new(NullReporter),
                        SessionConfig::default(),
                    )
                    .await
                    .expect("session");
                    let names = s
                        .create(&format!("spin::{k}"), &[], None)
                        .await
                        .expect("create");
                    let t = Instant::now();
                    s.start(&names).await.expect("start");
                    s.go();
                    assert!(s.wait_for_all().await);
                    t.elapsed()
                })
            })
            .min()
            .expect("runs");
        times.push(best);
    }
    let overhead = times[0].as_secs_f64() / times[1].as_secs_f64() - 1.0;
    println!(
        "fuel metering (spin::{k}, best of 3): on {:.1} ms, off {:.1} ms, cost {:+.1}%",
        ms(times[0]),
        ms(times[1]),
        overhead * 100.0
    );
    out.record(json!({
        "kind": "fuel", "rounds": k, "on_ms": ms(times[0]), "off_ms": ms(times[1]),
        "overhead": overhead,
    }));
}
