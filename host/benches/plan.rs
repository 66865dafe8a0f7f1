//! Planner benchmark (prints numbers; asserts nothing about time).
//!
//! Plans a graph of about 10,000 procs made from protos with pattern deps,
//! computed deps answered by a fake resolver, and rdeps, then runs it to the end
//! through `next_ready` / `finish` with a no-op runner. Then measures the real
//! guest-callback cost on the `build_deploy` example (computed choices), built
//! by `tests/artifacts` like every fixture.
//!
//! ```text
//! cargo bench -p parproc-host --bench plan
//! ```

#![expect(clippy::disallowed_macros, reason = "a benchmark prints its numbers")]

use std::time::{Duration, Instant};

use parproc_host::outcome::Outcome;
use parproc_host::plan::{
    Next, PlanError, PlanOptions, Planner, ResolveAnswer, ResolveRequest, Step,
};
use parproc_host::spec::{DepDecl, JobDecl, Manifest, RdepDecl, ValueType};

fn proto(name: &str, deps: Vec<DepDecl>) -> JobDecl {
    let mut d = JobDecl::proto(name);
    d.params = vec![("i".into(), ValueType::Integer)];
    d.deps = deps;
    d
}

fn manifest() -> Manifest {
    let mut prep = proto("prep::[i]", vec![]);
    prep.rdeps = vec![RdepDecl::Plain("test::[i]".into())];
    Manifest {
        jobs: vec![
            JobDecl::proc("setup"),
            proto("build::[i]", vec![DepDecl::Name("setup".into())]),
            proto("lint::[i]", vec![]),
            proto(
                "test::[i]",
                vec![DepDecl::Name("build::[i]".into()), DepDecl::Computed],
            ),
            prep,
        ],
        ..Manifest::default()
    }
}

/// The fake guest: `test::i`'s computed dep is `lint::i`.
fn answer(req: &ResolveRequest) -> ResolveAnswer {
    match req {
        ResolveRequest::Deps { ctx, .. } => {
            let i = ctx
                .args
                .iter()
                .find(|(k, _)| k == "i")
                .map(|(_, v)| v.clone());
            ResolveAnswer::Deps(Ok(vec![format!("lint::{}", i.unwrap_or_default())]))
        }
        ResolveRequest::Choices { .. } => ResolveAnswer::Choices(Ok(vec![])),
    }
}

fn retry<T>(p: &mut Planner, mut f: impl FnMut(&mut Planner) -> Result<Step<T>, PlanError>) -> T {
    loop {
        match f(p) {
            Ok(Step::Done(v)) => return v,
            Ok(Step::Need(r)) => {
                let a = answer(&r);
                p.provide(r, a);
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn bench_plan(targets: usize) -> (usize, Duration, Duration, Duration) {
    let mut p = Planner::new(&manifest(), PlanOptions::default()).expect("valid");
    retry(&mut p, |p| p.register_procs());
    let t0 = Instant::now();
    let mut names = Vec::with_capacity(targets);
    for i in 0..targets {
        names.extend(retry(&mut p, |p| {
            p.create(&format!("test::{i}"), &[], None)
        }));
    }
    let created = t0.elapsed();
    let t1 = Instant::now();
    retry(&mut p, |p| p.start(&names));
    let started = t1.elapsed();
    let t2 = Instant::now();
    let mut running = Vec::new();
    loop {
        while let Some(Next::Launch(id) | Next::Resume(id)) = p.next_ready() {
            running.push(id);
        }
        let Some(id) = running.pop() else { break };
        p.finish(id, Outcome::Succeeded("null".into()));
    }
    let ran = t2.elapsed();
    assert!(p.is_idle());
    (p.len(), created, started, ran)
}

fn main() {
    println!("planner (pure, fake resolver, no-op runner):");
    for targets in [1_000, 2_500, 10_000] {
        let (procs, created, started, ran) = bench_plan(targets);
        println!(
            "  {procs:>6} procs: create {:>8.1} ms, start (rdeps injected) {:>7.1} ms, run to the end {:>7.1} ms, total {:>8.1} ms",
            created.as_secs_f64() * 1e3,
            started.as_secs_f64() * 1e3,
            ran.as_secs_f64() * 1e3,
            (created + started + ran).as_secs_f64() * 1e3
        );
    }
    guest_callbacks();
}

/// The real cost of a guest callback: computed choices of `build_deploy`'s
/// `test::[env]`, answered by its declarations instance.
fn guest_callbacks() {
    use parproc_host::exec::Resolver;
    use parproc_host::plan::DepContext;
    use parproc_host::runtime::{Runtime, RuntimeConfig};
    let path = std::path::Path::new(parproc_test_artifacts::BUILD_DEPLOY);
    let (runtime, _) = match Runtime::load(path, RuntimeConfig::default()) {
        Ok(loaded) => loaded,
        Err(e) => {
            println!(
                "guest callbacks: skipped ({} did not load: {e:#})",
                path.display()
            );
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let n = 2_000;
    let elapsed = rt.block_on(async {
        let t = Instant::now();
        for i in 0..n {
            let req = ResolveRequest::Choices {
                decl: "test::[env]".into(),
                param: Some("env".into()),
                ctx: DepContext {
                    proc_name: format!("test::x{i}"),
                    args: vec![("env".into(), format!("x{i}"))],
                    params: vec![],
                },
            };
            match runtime.resolve(req).await {
                ResolveAnswer::Choices(Ok(_)) => {}
                other => panic!("unexpected answer {other:?}"),
            }
        }
        t.elapsed()
    });
    println!(
        "guest callbacks (build_deploy, resolve-choices): {n} calls, {:.1} µs per call",
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
}
