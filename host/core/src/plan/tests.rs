//! Table-style planner tests: no wasm, no tokio. Each drives `start / next /
//! finish` and checks what the planner hands out.

use super::*;
use crate::spec::{ChoiceSource, DepDecl, JobDecl, Manifest, RdepDecl, ValueType};

fn proc_(name: &str, deps: &[&str]) -> JobDecl {
    let mut d = JobDecl::proc(name);
    d.deps = deps.iter().map(|s| DepDecl::Name((*s).into())).collect();
    d
}

fn now(mut d: JobDecl) -> JobDecl {
    d.now = true;
    d
}

/// Test shorthand for planner calls that may stop for a guest answer.
trait Finished<T> {
    /// The value of a call that completed (panics otherwise).
    fn done(self) -> T;
    /// The question of a call that stopped for one (panics otherwise).
    fn need(self) -> ResolveRequest;
}

impl<T: std::fmt::Debug> Finished<T> for Result<Step<T>, PlanError> {
    fn done(self) -> T {
        match self {
            Ok(Step::Done(v)) => v,
            other => panic!("expected the call to complete, got {other:?}"),
        }
    }

    fn need(self) -> ResolveRequest {
        match self {
            Ok(Step::Need(r)) => r,
            other => panic!("expected a resolution request, got {other:?}"),
        }
    }
}

fn planner(jobs: Vec<JobDecl>) -> Planner {
    planner_with(jobs, PlanOptions::default())
}

fn planner_with(jobs: Vec<JobDecl>, opts: PlanOptions) -> Planner {
    let m = Manifest {
        jobs,
        ..Manifest::default()
    };
    let mut p = Planner::new(&m, opts).expect("valid manifest");
    p.register_procs().done();
    p
}

fn ok() -> Outcome {
    Outcome::Succeeded("null".into())
}

fn fail(msg: &str) -> Outcome {
    Outcome::Failed(Failure::new(FailureKind::Failed, msg))
}

/// Launch everything that may start now; returns the names.
fn launch_all(p: &mut Planner) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(n) = p.next_ready() {
        match n {
            Next::Launch(id) | Next::Resume(id) => out.push(p.name(id).to_owned()),
        }
    }
    out
}

fn finish(p: &mut Planner, name: &str, o: Outcome) {
    let id = p.id(name).expect("proc exists");
    p.finish(id, o);
}

fn state(p: &Planner, name: &str) -> ProcState {
    p.state(p.id(name).expect("proc exists"))
}

fn message(p: &Planner, name: &str) -> String {
    p.status(p.id(name).expect("proc exists")).message
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn s_basic_01_dep_declared_later_runs_first() {
    let mut p = planner(vec![now(proc_("t1", &["t2"])), now(proc_("t2", &[]))]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["t2"]);
    finish(&mut p, "t2", Outcome::Succeeded("\"Me\"".into()));
    assert_eq!(launch_all(&mut p), ["t1"]);
    finish(&mut p, "t1", ok());
    assert!(p.is_idle());
    assert_eq!(p.result("t2", u64::MAX), Some("\"Me\""));
}

#[test]
fn s_state_01_idle_procs_run_only_when_needed() {
    let mut p = planner(vec![
        proc_("x1", &[]),
        proc_("x2", &["x1"]),
        proc_("x3", &[]),
        now(proc_("x4", &["x3"])),
    ]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["x3"]);
    finish(&mut p, "x3", ok());
    assert_eq!(launch_all(&mut p), ["x4"]);
    finish(&mut p, "x4", ok());
    assert!(p.is_idle());
    assert_eq!(state(&p, "x1"), ProcState::Idle);
    p.start(&names(&["x2"])).done();
    assert_eq!(launch_all(&mut p), ["x1"]);
}

#[test]
fn s_fail_01_failure_cascades_naming_the_failed_dep() {
    let mut p = planner(vec![
        now(proc_("p0", &[])),
        now(proc_("p1", &["p0"])),
        now(proc_("p2", &["p1"])),
    ]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["p0"]);
    finish(&mut p, "p0", fail("error"));
    assert_eq!(state(&p, "p1"), ProcState::FailedDep);
    assert_eq!(message(&p, "p1"), "canceled due to failure of \"p0\"");
    assert_eq!(state(&p, "p2"), ProcState::FailedDep);
    assert_eq!(message(&p, "p2"), "canceled due to failure of \"p1\"");
    assert!(p.is_idle());
    assert_eq!(launch_all(&mut p), Vec::<String>::new());
    // Only the proc that ran has a results entry (null).
    assert_eq!(p.results(), vec![("p0", None)]);
    let completed = p.drain_completed();
    assert_eq!(completed.len(), 3);
}

#[test]
fn missing_dep_fails_with_parproc_text_and_a_suggestion() {
    let mut p = planner(vec![
        now(proc_("build", &[])),
        now(proc_("deploy", &["biuld"])),
    ]);
    p.start_deferred().done();
    assert_eq!(state(&p, "deploy"), ProcState::FailedDep);
    assert_eq!(
        message(&p, "deploy"),
        "dependency \"biuld\" missing; did you mean \"build\"?"
    );
    assert_eq!(
        p.failure(p.id("deploy").unwrap()).unwrap().kind,
        FailureKind::DepMissing
    );
}

#[test]
fn missing_dep_message_wins_over_an_earlier_failed_dep() {
    // parproc: deps [a, zzz] with a failed ends with `dependency "zzz" missing`.
    let mut p = planner(vec![now(proc_("a", &[])), now(proc_("d", &["a", "zzz"]))]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["a"]);
    finish(&mut p, "a", fail("x"));
    assert_eq!(message(&p, "d"), "dependency \"zzz\" missing");
}

#[test]
fn s_opt_02_disallowed_missing_dep_is_an_error_naming_it() {
    let opts = PlanOptions {
        allow_missing_deps: false,
        ..PlanOptions::default()
    };
    let mut p = planner_with(vec![proc_("a", &["nope"])], opts);
    let err = p.start(&names(&["a"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Proc \"a\" depends on \"nope\" which does not exist. Set allow_missing_deps=True to allow missing dependencies."
    );
    // Kept apart as what they are, each once, so a front end can name them.
    let mut p = planner_with(
        vec![proc_("a", &["nope", "gone"]), proc_("b", &["nope"])],
        PlanOptions {
            allow_missing_deps: false,
            ..PlanOptions::default()
        },
    );
    let err = p.start(&names(&["a", "b"])).unwrap_err();
    let PlanError::MissingDeps(missing) = &err else {
        panic!("{err:?}");
    };
    let pairs: Vec<(&str, &str)> = missing
        .iter()
        .map(|m| (m.proc.as_str(), m.dep.as_str()))
        .collect();
    assert_eq!(pairs, [("a", "nope"), ("a", "gone"), ("b", "nope")]);
    assert_eq!(err.to_string().lines().count(), 3);
}

#[test]
fn parallel_limit_caps_running_procs() {
    let jobs = (0..5).map(|i| now(proc_(&format!("j{i}"), &[]))).collect();
    let mut p = planner_with(
        jobs,
        PlanOptions {
            parallel: 2,
            ..PlanOptions::default()
        },
    );
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["j0", "j1"]);
    finish(&mut p, "j1", ok());
    assert_eq!(launch_all(&mut p), ["j2"]);
    assert_eq!(p.running(), 2);
}

#[test]
fn single_mode_runs_one_at_a_time_in_registration_order() {
    let jobs = vec![
        now(proc_("c", &["a"])),
        now(proc_("a", &[])),
        now(proc_("b", &[])),
    ];
    let mut p = planner_with(
        jobs,
        PlanOptions {
            mode: Mode::Single,
            ..PlanOptions::default()
        },
    );
    p.start_deferred().done();
    let mut order = Vec::new();
    while let Some(Next::Launch(id)) = p.next_ready() {
        order.push(p.name(id).to_owned());
        assert_eq!(launch_all(&mut p), Vec::<String>::new(), "one at a time");
        p.finish(id, ok());
    }
    // As parproc: when `a` completes, WANTED procs are tried in registration order.
    assert_eq!(order, ["a", "c", "b"]);
}

#[test]
fn s_lock_overtaking_l1_and_l3_together_then_l2() {
    let lock = |name: &str, locks: &[&str]| {
        let mut d = now(proc_(name, &[]));
        d.locks = locks.iter().map(|s| (*s).into()).collect();
        d
    };
    let mut p = planner(vec![
        lock("L1", &["a"]),
        lock("L2", &["a", "b"]),
        lock("L3", &["b"]),
    ]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["L1", "L3"]);
    finish(&mut p, "L1", ok());
    assert_eq!(launch_all(&mut p), Vec::<String>::new(), "b is still held");
    finish(&mut p, "L3", ok());
    assert_eq!(launch_all(&mut p), ["L2"]);
}

#[test]
fn s_wave_01_lower_waves_first_deps_respected() {
    let wave = |mut d: JobDecl, w: i32| {
        d.wave = w;
        d
    };
    let mut p = planner(vec![
        proc_("A", &[]),
        proc_("B", &["A"]),
        wave(proc_("C", &["B"]), 2),
        wave(proc_("D", &[]), 1),
    ]);
    p.start(&names(&["C", "D"])).done();
    let mut order = Vec::new();
    loop {
        let launched = launch_all(&mut p);
        if launched.is_empty() {
            break;
        }
        for n in launched {
            finish(&mut p, &n, ok());
            order.push(n);
        }
    }
    assert_eq!(order, ["A", "B", "D", "C"]);
}

fn build_deploy() -> Vec<JobDecl> {
    let mut setup = proc_("setup", &[]);
    setup.description = "prepare".into();
    let mut build = JobDecl::proto("build::[env]");
    build.params = vec![("env".into(), ValueType::Text)];
    build.deps = vec![DepDecl::Name("setup".into())];
    build.choices = vec![(
        "env".into(),
        ChoiceSource::Fixed(vec![
            Value::Text("dev".into()),
            Value::Text("staging".into()),
            Value::Text("prod".into()),
        ]),
    )];
    let mut deploy = JobDecl::proto("deploy::[env]");
    deploy.params = vec![("env".into(), ValueType::Text)];
    deploy.deps = vec![DepDecl::Name("build::[env]".into())];
    vec![setup, build, deploy]
}

#[test]
fn proto_created_from_a_filled_out_name_with_a_pattern_dep() {
    let mut p = planner(build_deploy());
    assert_eq!(p.create("deploy::prod", &[], None).done(), ["deploy::prod"]);
    let id = p.id("deploy::prod").unwrap();
    assert_eq!(p.deps(id), ["build::prod"]);
    assert_eq!(p.deps(p.id("build::prod").unwrap()), ["setup"]);
    assert_eq!(
        p.args(id),
        [("env".to_string(), Value::Text("prod".into()))]
    );
    // Idempotent: a second create returns the same proc.
    assert_eq!(p.create("deploy::prod", &[], None).done(), ["deploy::prod"]);
    assert_eq!(p.len(), 3);
    p.start(&names(&["deploy::prod"])).done();
    assert_eq!(launch_all(&mut p), ["setup"]);
}

#[test]
fn s_argc_globs_expand_in_choice_order() {
    let mut p = planner(build_deploy());
    assert_eq!(
        p.create("build::*", &[], None).done(),
        ["build::dev", "build::staging", "build::prod"]
    );
    assert_eq!(p.create("build::?ev", &[], None).done(), ["build::dev"]);
    let err = p.create("build::x*", &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Glob pattern \"x*\" for argument \"env\" matched no allowed values. Allowed: ['dev', 'staging', 'prod']"
    );
    let err = p.create("build::qa", &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Argument \"env\" value 'qa' is not in allowed choices: ['dev', 'staging', 'prod']"
    );
    let err = p.create("deploy::*", &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Glob patterns (* and ?) in argument values are only allowed when the proto defines arg_choices for that argument."
    );
    let err = p.create("nothing::here", &[], None).unwrap_err();
    assert_eq!(err.to_string(), "No proto found matching \"nothing::here\"");
}

#[test]
fn create_with_args_fills_the_pattern() {
    let mut p = planner(build_deploy());
    let got = p
        .create(
            "deploy::[env]",
            &[("env".into(), Value::Text("dev".into()))],
            None,
        )
        .done();
    assert_eq!(got, ["deploy::dev"]);
    let err = p.create("deploy::[env]", &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Pattern \"deploy::[env]\" requires argument \"env\" but was not provided"
    );
}

#[test]
fn values_are_converted_and_names_kept_as_asked() {
    let mut n = JobDecl::proto("n::[v]");
    n.params = vec![("v".into(), ValueType::Integer)];
    let mut p = planner(vec![n]);
    assert_eq!(p.create("n::007", &[], None).done(), ["n::007"]);
    let id = p.id("n::007").unwrap();
    assert_eq!(p.args(id), [("v".to_string(), Value::Integer(7))]);
    let err = p.create("n::x", &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Argument \"v\" of \"n::x\" must be of type integer: \"x\" is not an integer"
    );
}

#[test]
fn computed_deps_stop_for_an_answer_then_resume() {
    let mut lint = JobDecl::proto("lint::[lang]");
    lint.params = vec![("lang".into(), ValueType::Text)];
    lint.deps = vec![DepDecl::Name("setup".into()), DepDecl::Computed];
    let mut p = planner(vec![proc_("setup", &[]), proc_("fmt-rust", &[]), lint]);
    let req = p.create("lint::rust", &[], None).need();
    let ResolveRequest::Deps { decl, index, ctx } = &req else {
        panic!("expected a deps request, got {req:?}");
    };
    assert_eq!((decl.as_str(), *index), ("lint::[lang]", 1));
    assert_eq!(ctx.proc_name, "lint::rust");
    assert_eq!(ctx.args, [("lang".to_string(), "rust".to_string())]);
    p.provide(
        req.clone(),
        ResolveAnswer::Deps(Ok(vec!["fmt-[lang]".into()])),
    );
    assert_eq!(p.create("lint::rust", &[], None).done(), ["lint::rust"]);
    assert_eq!(p.deps(p.id("lint::rust").unwrap()), ["setup", "fmt-rust"]);
    // A guest error answer fails only this create.
    let req = p.create("lint::go", &[], None).need();
    p.provide(req, ResolveAnswer::Deps(Err("guest trapped".into())));
    let err = p.create("lint::go", &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "computed dependency of \"lint::go\" failed: guest trapped"
    );
    assert!(p.id("lint::go").is_none());
}

#[test]
fn computed_choices_drive_globs() {
    let mut b = JobDecl::proto("b::[x]");
    b.params = vec![("x".into(), ValueType::Integer)];
    b.choices = vec![("x".into(), ChoiceSource::Computed)];
    let mut p = planner(vec![b]);
    let req = p.create("b::*", &[], None).need();
    p.provide(
        req,
        ResolveAnswer::Choices(Ok(vec![(
            "x".into(),
            vec![Value::Integer(2), Value::Integer(1)],
        )])),
    );
    assert_eq!(p.create("b::*", &[], None).done(), ["b::2", "b::1"]);
    assert_eq!(
        p.args(p.id("b::2").unwrap()),
        [("x".to_string(), Value::Integer(2))]
    );
}

#[test]
fn proto_dep_cycle_is_an_error_naming_the_cycle() {
    let mut a = JobDecl::proto("a::[x]");
    a.deps = vec![DepDecl::Name("b::[x]".into())];
    let mut b = JobDecl::proto("b::[x]");
    b.deps = vec![DepDecl::Name("a::[x]".into())];
    let mut p = planner(vec![a, b]);
    let err = p.create("a::1", &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: \"a::1\" -> \"b::1\" -> \"a::1\""
    );
}

#[test]
fn a_waiting_proc_gives_its_slot_back_and_resumes_first() {
    let mut p = planner_with(
        vec![
            now(proc_("parent", &[])),
            proc_("child", &[]),
            now(proc_("other", &[])),
        ],
        PlanOptions {
            parallel: 1,
            ..PlanOptions::default()
        },
    );
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["parent"]);
    let parent = p.id("parent").unwrap();
    let child = p.id("child").unwrap();
    p.start(&names(&["child"])).done();
    p.block(parent, &[child]).unwrap();
    // The slot went back: the next ready proc in registration order launches.
    assert_eq!(p.next_ready(), Some(Next::Launch(child)));
    assert_eq!(p.next_ready(), None);
    p.finish(child, ok());
    p.request_resume(parent);
    // The resumed parent goes ahead of `other`.
    assert_eq!(p.next_ready(), Some(Next::Resume(parent)));
    assert_eq!(p.next_ready(), None);
    p.finish(parent, ok());
    assert_eq!(launch_all(&mut p), ["other"]);
}

#[test]
fn waits_that_can_never_finish_are_refused() {
    let mut p = planner(vec![now(proc_("a", &[])), proc_("b", &["a"])]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["a"]);
    let a = p.id("a").unwrap();
    let b = p.id("b").unwrap();
    let err = p.block(a, &[a]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wait can never finish: \"a\" waits for itself"
    );
    p.start(&names(&["b"])).done();
    let err = p.block(a, &[b]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wait can never finish: \"a\" waits for \"b\" waits for \"a\""
    );
}

#[test]
fn a_blocked_proc_that_times_out_is_finished_cleanly() {
    let mut p = planner(vec![now(proc_("w", &[])), proc_("slow", &[])]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["w"]);
    let w = p.id("w").unwrap();
    let slow = p.id("slow").unwrap();
    p.start(&names(&["slow"])).done();
    p.block(w, &[slow]).unwrap();
    assert_eq!(launch_all(&mut p), ["slow"]);
    p.finish(
        w,
        Outcome::Failed(Failure::new(FailureKind::TimedOut, "timed out after 1s")),
    );
    assert_eq!(p.state(w), ProcState::Failed);
    assert_eq!(p.running(), 1, "only `slow` holds a slot");
}

#[test]
fn results_view_only_shows_what_finished_before() {
    let mut p = planner(vec![now(proc_("a", &[])), now(proc_("b", &[]))]);
    p.start_deferred().done();
    launch_all(&mut p);
    let before = p.result_view();
    finish(&mut p, "a", Outcome::Succeeded("1".into()));
    assert_eq!(p.result("a", before), None);
    assert_eq!(p.result("a", p.result_view()), Some("1"));
}

#[test]
fn no_failures_trips_after_a_failure() {
    let mut guarded = now(proc_("guarded", &["first"]));
    guarded.deps.push(DepDecl::NoFailures);
    let mut p = planner(vec![
        now(proc_("bad", &[])),
        now(proc_("first", &[])),
        guarded,
    ]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["bad", "first"]);
    finish(&mut p, "bad", fail("x"));
    finish(&mut p, "first", ok());
    assert_eq!(launch_all(&mut p), Vec::<String>::new());
    assert_eq!(state(&p, "guarded"), ProcState::FailedDep);
    assert_eq!(message(&p, "guarded"), "run aborted: a task has failed");
}

#[test]
fn a_late_registered_missing_dep_is_scheduled_and_waited_for() {
    let mut dep = JobDecl::proto("late::[x]");
    dep.params = vec![("x".into(), ValueType::Text)];
    let mut p = planner(vec![
        now(proc_("slow", &[])),
        now(proc_("d", &["slow", "late::1"])),
        dep,
    ]);
    // `late::1` matches a proto, so creating `d` created it: not missing.
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["slow", "late::1"]);
    let _ = p.id("late::1").expect("created from its proto");
}

#[test]
fn duplicate_and_placeholder_proc_names_are_rejected() {
    let m = Manifest {
        jobs: vec![proc_("a", &[]), proc_("a", &[])],
        ..Manifest::default()
    };
    let err = Planner::new(&m, PlanOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "Proc \"a\" already created");
    let m = Manifest {
        jobs: vec![proc_("a::[x]", &[])],
        ..Manifest::default()
    };
    let err = Planner::new(&m, PlanOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Proc name \"a::[x]\" contains proto pattern placeholders. Proc names must be fully resolved (no [param] placeholders)."
    );
}

#[test]
fn rdeps_onto_the_declarer_or_every_name_are_refused_at_load() {
    let refused = |d: JobDecl| {
        let m = Manifest {
            jobs: vec![d, proto_("build::[env]", &["env"])],
            ..Manifest::default()
        };
        Planner::new(&m, PlanOptions::default())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused(rdep(proc_("x", &[]), vec![RdepDecl::Plain("x".into())])),
        "Proc \"x\" has rdep \"x\" onto itself: a proc cannot be its own dependency"
    );
    assert_eq!(
        refused(rdep(
            proc_("x", &[]),
            vec![RdepDecl::WhenTargetScheduled("[any]".into())]
        )),
        "Proc \"x\" has rdep \"[any]\", which matches every name, its own too: a proc cannot be its own dependency; name the procs it must run before (e.g. \"build::[env]\")"
    );
    // A pattern matching the declarer's own name.
    assert!(
        refused(rdep(
            proto_("x::[a]", &["a"]),
            vec![RdepDecl::Plain("x::[b]".into())]
        ))
        .ends_with("onto itself: a proc cannot be its own dependency")
    );
    assert!(
        refused(rdep(
            proc_("x", &[]),
            vec![RdepDecl::WhenScheduled("x".into())]
        ))
        .contains("onto itself")
    );
    assert!(
        refused(rdep(proc_("x", &[]), vec![RdepDecl::Plain("a[".into())]))
            .starts_with("Proc \"x\" has an invalid rdep: ")
    );
    // A WhenScheduled target is filled, not matched: `[x]` names one proc.
    let m = Manifest {
        jobs: vec![rdep(
            proto_("setup::[t]", &["t"]),
            vec![RdepDecl::WhenScheduled("[t]".into())],
        )],
        ..Manifest::default()
    };
    assert!(Planner::new(&m, PlanOptions::default()).is_ok());
}

#[test]
fn cancel_ends_wanted_procs_cancelled() {
    let mut p = planner(vec![now(proc_("a", &[])), now(proc_("b", &["a"]))]);
    p.start_deferred().done();
    launch_all(&mut p);
    p.cancel_wanted("interrupted");
    assert_eq!(state(&p, "b"), ProcState::Cancelled);
    finish(
        &mut p,
        "a",
        Outcome::Failed(Failure::new(FailureKind::Cancelled, "interrupted")),
    );
    assert_eq!(state(&p, "a"), ProcState::Cancelled);
    assert!(p.is_idle());
}

#[test]
fn a_long_chain_plans_without_deep_recursion() {
    let n = 20_000;
    let jobs: Vec<JobDecl> = (0..n)
        .map(|i| {
            if i == 0 {
                proc_("c0", &[])
            } else {
                proc_(&format!("c{i}"), &[&format!("c{}", i - 1)])
            }
        })
        .collect();
    let mut p = planner(jobs);
    p.start(&names(&[&format!("c{}", n - 1)])).done();
    for i in 0..n {
        assert_eq!(launch_all(&mut p), [format!("c{i}")]);
        finish(&mut p, &format!("c{i}"), ok());
    }
    assert!(p.is_idle());
}

fn rdep(mut d: JobDecl, rules: Vec<RdepDecl>) -> JobDecl {
    d.rdeps = rules;
    d
}

fn proto_(name: &str, params: &[&str]) -> JobDecl {
    let mut d = JobDecl::proto(name);
    d.params = params
        .iter()
        .map(|p| ((*p).into(), ValueType::Text))
        .collect();
    d
}

/// Run everything to the end, finishing procs in launch order; returns the order.
fn run_all(p: &mut Planner) -> Vec<String> {
    let mut order = Vec::new();
    loop {
        let launched = launch_all(p);
        if launched.is_empty() {
            break;
        }
        for n in launched {
            finish(p, &n, ok());
            order.push(n);
        }
    }
    order
}

#[test]
fn s_rdep_04_several_procs_rdep_onto_the_same_target() {
    let mut p = planner(vec![
        rdep(
            proc_("setup1", &[]),
            vec![RdepDecl::Plain("B::[a]::[b]".into())],
        ),
        rdep(
            proc_("setup2", &[]),
            vec![RdepDecl::Plain("B::[a]::[b]".into())],
        ),
        proto_("B::[a]::[b]", &["a", "b"]),
    ]);
    p.create("B::test::2", &[], None).done();
    p.start(&names(&["B::test::2"])).done();
    let order = run_all(&mut p);
    assert_eq!(order, ["setup1", "setup2", "B::test::2"]);
}

#[test]
fn s_rdep_08_cross_pattern_rdep_creates_the_matching_instance() {
    let mut p = planner(vec![
        rdep(
            proto_("next.build::[target]", &["target"]),
            vec![RdepDecl::Plain(
                "k8s.build-image::[target]::frontend".into(),
            )],
        ),
        proto_("k8s.build-image::[target]::[image]", &["target", "image"]),
    ]);
    p.create("k8s.build-image::stage::frontend", &[], None)
        .done();
    p.start(&names(&["k8s.build-image::stage::frontend"]))
        .done();
    assert_eq!(
        run_all(&mut p),
        ["next.build::stage", "k8s.build-image::stage::frontend"]
    );
    // The backend image matches no rdep: nothing is injected.
    p.create("k8s.build-image::stage::backend", &[], None)
        .done();
    p.start(&names(&["k8s.build-image::stage::backend"])).done();
    assert_eq!(run_all(&mut p), ["k8s.build-image::stage::backend"]);
}

#[test]
fn s_rdep_09_rdeps_fire_for_procs_reached_only_as_deps() {
    let mut images = proto_("k8s.build-images::[target]", &["target"]);
    images.deps = vec![
        DepDecl::Name("k8s.build-image::[target]::frontend".into()),
        DepDecl::Name("k8s.build-image::[target]::backend".into()),
    ];
    let mut p = planner(vec![
        rdep(
            proto_("next.build::[target]", &["target"]),
            vec![RdepDecl::Plain(
                "k8s.build-image::[target]::frontend".into(),
            )],
        ),
        proto_("k8s.build-image::[target]::[image]", &["target", "image"]),
        images,
    ]);
    p.create("k8s.build-images::stage", &[], None).done();
    p.start(&names(&["k8s.build-images::stage"])).done();
    let order = run_all(&mut p);
    let pos = |n: &str| order.iter().position(|x| x == n).unwrap();
    assert!(pos("next.build::stage") < pos("k8s.build-image::stage::frontend"));
    assert_eq!(order.last().unwrap(), "k8s.build-images::stage");
    assert_eq!(order.len(), 4);
}

#[test]
fn s_rdep_03_a_proto_rdep_that_does_not_supply_placeholders_creates_nothing() {
    let mut p = planner(vec![
        rdep(
            proto_("setup::[env]", &["env"]),
            vec![RdepDecl::Plain("B::[a]::[b]".into())],
        ),
        proto_("B::[a]::[b]", &["a", "b"]),
    ]);
    p.create("B::test::2", &[], None).done();
    p.start(&names(&["B::test::2"])).done();
    assert_eq!(run_all(&mut p), ["B::test::2"]);
    assert_eq!(p.len(), 1);
}

#[test]
fn s_ws_when_scheduled_runs_declarer_first_only_when_declarer_is_scheduled() {
    let jobs = || {
        vec![
            proc_("deploy", &[]),
            rdep(
                proc_("build", &[]),
                vec![RdepDecl::WhenScheduled("deploy".into())],
            ),
        ]
    };
    // S-WS-01: scheduling the declarer schedules the target, declarer first.
    let mut p = planner(jobs());
    p.start(&names(&["build"])).done();
    assert_eq!(run_all(&mut p), ["build", "deploy"]);
    // S-WS-02: scheduling only the target leaves the declarer out.
    let mut p = planner(jobs());
    p.start(&names(&["deploy"])).done();
    assert_eq!(run_all(&mut p), ["deploy"]);
    // S-WS-04: both in one call, target first: the declarer still runs first.
    let mut p = planner(jobs());
    p.start(&names(&["deploy", "build"])).done();
    assert_eq!(run_all(&mut p), ["build", "deploy"]);
}

#[test]
fn s_ws_07_parameterised_when_scheduled() {
    let mut p = planner(vec![
        rdep(
            proto_("build::[env]", &["env"]),
            vec![RdepDecl::WhenScheduled("deploy::[env]".into())],
        ),
        proto_("deploy::[env]", &["env"]),
    ]);
    p.create("build::prod", &[], None).done();
    p.start(&names(&["build::prod"])).done();
    assert_eq!(run_all(&mut p), ["build::prod", "deploy::prod"]);
}

#[test]
fn s_wts_when_target_scheduled() {
    let jobs = || {
        vec![
            proc_("deploy", &[]),
            rdep(
                proc_("lint", &[]),
                vec![RdepDecl::WhenTargetScheduled("deploy".into())],
            ),
        ]
    };
    // S-WTS-01: scheduling the target runs the declarer first.
    let mut p = planner(jobs());
    p.start(&names(&["deploy"])).done();
    assert_eq!(run_all(&mut p), ["lint", "deploy"]);
    // S-WTS-02: scheduling only the declarer does not schedule the target.
    let mut p = planner(jobs());
    p.start(&names(&["lint"])).done();
    assert_eq!(run_all(&mut p), ["lint"]);
    // S-WTS-05: declarer scheduled after the target finished: too late.
    let mut p = planner(jobs());
    p.start(&names(&["deploy"])).done();
    // `lint` was injected and ran first; start a fresh declarer case instead.
    assert_eq!(run_all(&mut p), ["lint", "deploy"]);
    let mut p = planner(vec![
        proc_("deploy", &[]),
        rdep(
            proc_("late", &[]),
            vec![RdepDecl::WhenScheduled("deploy".into())],
        ),
    ]);
    p.start(&names(&["deploy"])).done();
    assert_eq!(run_all(&mut p), ["deploy"]);
    let err = p.start(&names(&["late"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Proc \"late\" has a WhenScheduled rdep on \"deploy\", but \"deploy\" is already SUCCEEDED. The ordering contract (run \"late\" before \"deploy\") cannot be satisfied because \"late\" was scheduled too late."
    );
}

#[test]
fn wave_inversion_is_an_error_naming_both_procs() {
    let mut hi = proc_("hi", &[]);
    hi.wave = 2;
    let mut p = planner(vec![hi, proc_("low_wave", &["hi"])]);
    let err = p.start(&names(&["low_wave"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Proc \"low_wave\" (wave 0) cannot depend on proc \"hi\" (wave 2). Dependencies must have equal or lower wave number to avoid deadlock."
    );
}

#[test]
fn no_failures_waits_for_every_other_wanted_proc() {
    // S-SUP-04 variant: `early` has no deps but must wait for `slow`, which fails.
    let mut early = now(proc_("early", &[]));
    early.deps = vec![DepDecl::NoFailures];
    let mut after = now(proc_("after_early", &["early"]));
    after.deps.push(DepDecl::Name("early".into()));
    let mut p = planner(vec![early, now(proc_("slow", &[])), after]);
    p.start_deferred().done();
    assert_eq!(
        launch_all(&mut p),
        ["slow"],
        "early waits although it is ready"
    );
    finish(&mut p, "slow", fail("x"));
    assert_eq!(launch_all(&mut p), Vec::<String>::new());
    assert_eq!(state(&p, "early"), ProcState::FailedDep);
    assert_eq!(message(&p, "early"), "run aborted: a task has failed");
    assert_eq!(state(&p, "after_early"), ProcState::FailedDep);
    // Without a failure it runs, last.
    let mut early = now(proc_("early", &[]));
    early.deps = vec![DepDecl::NoFailures];
    let mut p = planner(vec![early, now(proc_("slow", &[]))]);
    p.start_deferred().done();
    assert_eq!(run_all(&mut p), ["slow", "early"]);
}

#[test]
fn a_wait_on_a_child_needing_a_held_lock_or_a_higher_wave_is_refused() {
    let mut parent = now(proc_("parent", &[]));
    parent.locks = vec!["db".into()];
    let mut child = proc_("child", &[]);
    child.locks = vec!["db".into()];
    let mut high = proc_("high", &[]);
    high.wave = 3;
    let mut p = planner(vec![parent, child, high]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["parent"]);
    let parent = p.id("parent").unwrap();
    p.start(&names(&["child", "high"])).done();
    let err = p.block(parent, &[p.id("child").unwrap()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wait can never finish: \"child\" needs lock \"db\", which the waiting proc \"parent\" holds"
    );
    let err = p.block(parent, &[p.id("high").unwrap()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wait can never finish: \"high\" (wave 3) cannot start while \"parent\" (wave 0) waits for it"
    );
}

#[test]
fn live_stores_are_bounded_and_waited_for_procs_get_them_first() {
    // 50 parents each waiting on its own child, 4 live stores, 2 slots.
    let mut jobs: Vec<JobDecl> = (0..50).map(|i| now(proc_(&format!("p{i}"), &[]))).collect();
    jobs.extend((0..50).map(|i| proc_(&format!("c{i}"), &[])));
    let mut p = planner_with(
        jobs,
        PlanOptions {
            parallel: 2,
            max_live: 4,
            ..PlanOptions::default()
        },
    );
    p.start_deferred().done();
    let mut done = 0;
    while done < 100 {
        let Some(next) = p.next_ready() else {
            panic!("stalled after {done} finished");
        };
        assert!(p.live() <= 4);
        match next {
            Next::Launch(id) if p.name(id).starts_with('p') => {
                let child = format!("c{}", &p.name(id)[1..]);
                p.start(&names(&[&child])).done();
                let c = p.id(&child).unwrap();
                p.block(id, &[c]).unwrap();
            }
            Next::Launch(id) => {
                let parent = format!("p{}", &p.name(id)[1..]);
                p.finish(id, ok());
                done += 1;
                p.request_resume(p.id(&parent).unwrap());
            }
            Next::Resume(id) => {
                p.finish(id, ok());
                done += 1;
            }
        }
    }
    assert!(p.peak_live() <= 4);
    assert!(p.is_idle());
}

#[test]
fn waits_nested_deeper_than_the_live_limit_fail_one_proc_with_the_reason() {
    let jobs: Vec<JobDecl> = (0..6)
        .map(|i| {
            let d = proc_(&format!("n{i}"), &[]);
            if i == 0 { now(d) } else { d }
        })
        .collect();
    let mut p = planner_with(
        jobs,
        PlanOptions {
            max_live: 3,
            ..PlanOptions::default()
        },
    );
    p.start_deferred().done();
    // n0 waits n1 waits n2 ...: the third level cannot get a store.
    let mut level = 0;
    while let Some(Next::Launch(id)) = p.next_ready() {
        let child = format!("n{}", level + 1);
        p.start(&names(&[&child])).done();
        p.block(id, &[p.id(&child).unwrap()]).unwrap();
        level += 1;
    }
    assert_eq!(level, 3);
    let n3 = p.id("n3").unwrap();
    assert_eq!(p.state(n3), ProcState::Failed);
    assert_eq!(
        p.status(n3).message,
        "no sandbox store free: all 3 live stores are blocked in waits (raise --max-live)"
    );
    assert_eq!(p.failure(n3).unwrap().kind, FailureKind::Deadlock);
}

#[test]
fn a_dependency_cycle_among_wanted_procs_is_an_error_and_fails_them() {
    let mut p = planner(vec![
        proc_("a", &["b"]),
        proc_("b", &["c"]),
        proc_("c", &["a"]),
        proc_("d", &["a"]),
        proc_("fine", &[]),
    ]);
    let err = p.start(&names(&["d", "fine"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: \"a\" -> \"b\" -> \"c\" -> \"a\""
    );
    for n in ["a", "b", "c"] {
        assert_eq!(state(&p, n), ProcState::FailedDep, "{n}");
    }
    assert_eq!(state(&p, "d"), ProcState::FailedDep);
    assert_eq!(run_all(&mut p), ["fine"]);
    assert!(p.is_idle(), "nothing hangs");
}

#[test]
fn a_self_dependency_is_a_cycle() {
    let mut p = planner(vec![proc_("selfish", &["selfish"])]);
    let err = p.start(&names(&["selfish"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: \"selfish\" -> \"selfish\""
    );
    assert!(p.is_idle());
}

#[test]
fn a_failed_callback_of_an_injected_rdep_fails_the_target_and_is_reported() {
    // `prep::[i]` injects itself before `test::[i]`; its computed dep fails.
    let mut prep = proto_("prep::[i]", &["i"]);
    prep.rdeps = vec![RdepDecl::Plain("test::[i]".into())];
    prep.deps = vec![DepDecl::Computed];
    let mut p = planner(vec![prep, proto_("test::[i]", &["i"])]);
    p.create("test::1", &[], None).done();
    let req = p.start(&names(&["test::1"])).need();
    assert!(matches!(&req, ResolveRequest::Deps { decl, .. } if decl == "prep::[i]"));
    p.provide(req, ResolveAnswer::Deps(Err("guest trapped".into())));
    let err = p.start(&names(&["test::1"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "computed dependency of \"prep::1\" failed: guest trapped"
    );
    // The target never runs without the dep that was to be injected.
    assert_eq!(launch_all(&mut p), Vec::<String>::new());
    assert_eq!(state(&p, "test::1"), ProcState::FailedDep);
    assert!(p.is_idle());
}

#[test]
fn state_counts_follow_every_change() {
    let mut p = planner(vec![
        proc_("a", &[]),
        proc_("b", &["a"]),
        proc_("c", &["x"]),
        proc_("idle", &[]),
    ]);
    let count = |p: &Planner, s| p.counts().get(s);
    assert_eq!(count(&p, ProcState::Idle), 4);
    p.start(&names(&["b", "c"])).done();
    assert_eq!(count(&p, ProcState::Wanted), 2);
    assert_eq!(count(&p, ProcState::FailedDep), 1, "c's dep does not exist");
    assert_eq!(
        p.first_wanted(5).map(|id| p.name(id)).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(launch_all(&mut p), ["a"]);
    assert_eq!(count(&p, ProcState::Running), 1);
    finish(&mut p, "a", fail("boom"));
    assert_eq!(count(&p, ProcState::Failed), 1);
    assert_eq!(count(&p, ProcState::FailedDep), 2);
    assert_eq!(count(&p, ProcState::Idle), 1);
    assert_eq!(p.counts().complete(), 3);
    assert_eq!(p.first_wanted(5).count(), 0);
    // The counts agree with a walk over every proc.
    for s in [
        ProcState::Idle,
        ProcState::Wanted,
        ProcState::Running,
        ProcState::Failed,
    ] {
        assert_eq!(count(&p, s), p.ids().filter(|&id| p.state(id) == s).count());
    }
}

#[test]
fn create_at_most_refuses_the_proc_past_the_limit_before_it_exists() {
    let mut p = planner(vec![proc_("setup", &[]), proto_("child::[i]", &["i"]), {
        let mut b = proto_("build::[i]", &["i"]);
        b.deps = vec![DepDecl::Name("child::[i]".into())];
        b
    }]);
    let before = p.len();
    assert_eq!(
        p.create_at_most("child::1", &[], None, 1).done(),
        ["child::1"]
    );
    assert_eq!(p.created_in_last_call(), 1);
    // An existing proc is not new.
    assert_eq!(
        p.create_at_most("child::1", &[], None, 0).done(),
        ["child::1"]
    );
    assert_eq!(p.created_in_last_call(), 0);
    let err = p.create_at_most("build::2", &[], None, 0).unwrap_err();
    assert_eq!(err, PlanError::CreateLimit(0));
    assert_eq!(p.len(), before + 1, "nothing past the limit was created");
    assert!(p.id("build::2").is_none());
    assert_eq!(
        p.create_at_most("build::2", &[], None, 5).done(),
        ["build::2"]
    );
    assert_eq!(p.created_in_last_call(), p.len() - before - 1);
}

#[test]
fn an_up_to_date_proc_counts_as_success_keeps_its_result_and_is_not_a_changed_dep() {
    let mut p = planner(vec![
        proc_("cached", &[]),
        proc_("fresh", &[]),
        proc_("both", &["cached", "fresh"]),
    ]);
    p.start(&["both".into()]).done();
    let id = |p: &Planner, n: &str| p.id(n).expect("proc");
    let mut launched = Vec::new();
    while let Some(Next::Launch(l)) = p.next_ready() {
        launched.push(l);
    }
    assert_eq!(launched, [id(&p, "cached"), id(&p, "fresh")]);
    p.finish(id(&p, "cached"), Outcome::UpToDate("41".into()));
    p.finish(id(&p, "fresh"), Outcome::Succeeded("1".into()));
    assert_eq!(p.state(id(&p, "cached")), ProcState::UpToDate);
    assert_eq!(p.counts().get(ProcState::UpToDate), 1);
    assert_eq!(p.next_ready(), Some(Next::Launch(id(&p, "both"))));
    assert_eq!(p.changed_deps(id(&p, "both")), ["fresh"]);
    assert_eq!(p.result("cached", p.result_view()), Some("41"));
}

#[test]
fn no_change_is_a_skip_with_its_reason_kept_and_a_plain_skip_has_none() {
    let mut p = planner(vec![now(proc_("same", &[])), now(proc_("skip", &[]))]);
    p.start_deferred().done();
    assert_eq!(launch_all(&mut p), ["same", "skip"]);
    let skipped = |no_change| Outcome::Skipped {
        no_change,
        message: "nothing to do".into(),
    };
    finish(&mut p, "same", skipped(true));
    finish(&mut p, "skip", skipped(false));
    for name in ["same", "skip"] {
        assert_eq!(state(&p, name), ProcState::Skipped);
    }
    let id = |n| p.id(n).expect("proc exists");
    assert_eq!(
        p.failure(id("same")),
        Some(&Failure::new(FailureKind::NoChange, ""))
    );
    assert_eq!(p.failure(id("skip")), None);
}

/// A `now` proto `[n]` with these rdeps (the inputs the `manifest` fuzz target found),
/// after creating and starting `c` under `opts` (missing deps allowed).
fn self_feeding_rdeps(rdeps: &[&str], wave: i32, opts: PlanOptions) -> Planner {
    let mut proto = JobDecl::proto("[n]");
    proto.rdeps = rdeps
        .iter()
        .map(|r| RdepDecl::WhenScheduled((*r).into()))
        .collect();
    proto.now = true;
    proto.wave = wave;
    let manifest = Manifest {
        jobs: vec![proto],
        ..Manifest::default()
    };
    let opts = PlanOptions {
        allow_missing_deps: true,
        ..opts
    };
    let mut p = Planner::new(&manifest, opts).expect("loads");
    let Ok(Step::Done(names)) = p.create("c", &[], None) else {
        panic!("c is created");
    };
    let _ = p.start(&names);
    let _ = p.start_deferred();
    p
}

#[test]
fn an_rdep_that_keeps_growing_names_stops_at_the_name_limit() {
    // Each proc of the proto `[n]` is made to inject a proc whose name holds its own twice,
    // which the proto matches again. It ends (before, it doubled names until memory ran
    // out): the proc whose injected rdep could not be made is failed, as any failed rdep
    // creation fails its target.
    let p = self_feeding_rdeps(&["ssetu;\0[n]:[n]"], 108, PlanOptions::default());
    assert!(p.len() < 32, "{} procs", p.len());
}

#[test]
fn rdeps_that_keep_injecting_new_names_stop_at_the_total_of_name_bytes() {
    // Every proc of `[n]` injects two longer names matching `[n]` again, so procs multiply
    // with names of up to 4 KiB each; the total of name bytes stops them long before memory
    // does.
    let opts = PlanOptions {
        max_name_bytes: 64 << 10,
        ..PlanOptions::default()
    };
    let p = self_feeding_rdeps(&["sAL\0\0\0\0\0\0\0[n]:", "etu;\0[n]:[n]"], 0, opts);
    let bytes: usize = (0..p.len() as u32).map(|i| p.name(ProcId(i)).len()).sum();
    assert!(
        bytes <= 64 << 10,
        "{bytes} bytes of names in {} procs",
        p.len()
    );
    assert!(p.len() > 1, "the rdeps ran");
}
