//! parproc's scenarios on basics, states and results (S-BASIC-*,
//! S-STATE-*, S-RES-*, S-API-*), options (S-OPT-*) and the supplementary
//! scenarios about failures, NO_FAILURES, timeouts and plain procs, on `sc_basic`.
//!
//! parproc's `throw(msg)` is the guest's `Error::failed(msg)`: the proc ends FAILED with the
//! message as its reason (parproc leaves `more_info` empty for code 1). parproc's
//! `ProcessError` from `wait_for_all` is `false`; its `wait` reports the states instead of
//! raising `Process error [2]`.

use std::time::{Duration, Instant};

use parproc_host::outcome::{FailureKind, ProcState};
use parproc_host::plan::PlanOptions;
use parproc_host::spec::Mode;
use parproc_test_artifacts::SC_BASIC;
use serde_json::json;

use crate::harness::{Harness, plan, plan_parallel, scenario};

/// The parallel limits parproc's parameterised tests use (P=1 and P=10); single mode has one.
fn limits(mode: Mode) -> &'static [usize] {
    match mode {
        Mode::Parallel => &[1, 10],
        Mode::Single => &[1],
    }
}

scenario!(s_basic_01_result_of_a_dep_is_visible_to_its_dependent);
async fn s_basic_01_result_of_a_dep_is_visible_to_its_dependent(mode: Mode) {
    for &p in limits(mode) {
        let h = Harness::with(SC_BASIC, &["t1", "t2"], plan_parallel(mode, p), Vec::new())
            .await
            .expect("session");
        assert!(h.wait_for_all().await, "P={p}");
        assert_eq!(
            h.results_json(),
            json!({"t2": "Me", "t1": "YouMe"}),
            "P={p}"
        );
        assert_eq!(h.state("t1"), ProcState::Succeeded);
        assert_eq!(h.state("t2"), ProcState::Succeeded);
    }
}

scenario!(s_state_01_idle_procs_only_run_when_needed);
async fn s_state_01_idle_procs_only_run_when_needed(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["x1", "x2", "x3", "x4"], mode).await;
    assert!(h.wait_for_all().await);
    assert_eq!(h.results_json(), json!({"x3": true, "x4": true}));
    assert_eq!(h.state("x1"), ProcState::Idle);
    assert_eq!(h.state("x2"), ProcState::Idle);

    h.start(&["x2"]).await.expect("start x2");
    assert!(h.wait_for_all().await);
    assert_eq!(
        h.results_json(),
        json!({"x1": true, "x2": true, "x3": true, "x4": true})
    );
}

scenario!(s_fail_01_failure_cascades_to_dependents_which_never_run);
async fn s_fail_01_failure_cascades_to_dependents_which_never_run(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["p0", "p1", "p2"], mode).await;
    assert!(!h.wait_for_all().await);
    assert_eq!(h.results_json(), json!({"p0": null}));
    assert_eq!(h.state("p0"), ProcState::Failed);
    assert_eq!(h.failure("p0"), Some(FailureKind::Failed));
    assert_eq!(h.message("p0"), "error");
    assert_eq!(h.state("p1"), ProcState::FailedDep);
    assert_eq!(h.failure("p1"), Some(FailureKind::DepFailed));
    assert_eq!(h.message("p1"), "canceled due to failure of \"p0\"");
    assert_eq!(h.state("p2"), ProcState::FailedDep);
    assert_eq!(h.message("p2"), "canceled due to failure of \"p1\"");
    assert_eq!((h.ran("p1"), h.ran("p2")), (0, 0));
}

scenario!(s_basic_02_collector_proc_and_a_wait_on_one_name);
async fn s_basic_02_collector_proc_and_a_wait_on_one_name(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["f0", "f1", "f"], mode).await;
    let statuses = h.wait(&["f"]).await.expect("wait");
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state, ProcState::Succeeded);
    assert_eq!(h.results_json(), json!({"f0": "ay", "f1": "ya", "f": null}));
}

// parproc: mp only (single passes values by reference); every result crosses the
// boundary as JSON here, so both modes check it.
scenario!(s_res_01_unserialisable_result_fails_the_proc);
async fn s_res_01_unserialisable_result_fails_the_proc(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["unpickleable"], mode).await;
    assert!(!h.wait_for_all().await);
    assert!(h.exists("unpickleable"));
    assert_eq!(h.state("unpickleable"), ProcState::Failed);
    assert_eq!(h.failure("unpickleable"), Some(FailureKind::Failed));
    let message = h.message("unpickleable");
    assert!(
        message.starts_with("result is not serialisable: "),
        "{message}"
    );
    assert_eq!(h.result("unpickleable"), Some(json!(null)));
}

scenario!(s_res_02_structured_results_arrive_as_plain_maps);
async fn s_res_02_structured_results_arrive_as_plain_maps(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["pydantic_task"], mode).await;
    assert!(h.wait_for_all().await);
    assert_eq!(h.failure("pydantic_task"), None);
    assert_eq!(
        h.result("pydantic_task"),
        Some(json!({"value": "ok", "count": 42}))
    );
}

scenario!(s_api_01_run_on_an_existing_proc_just_starts_it);
async fn s_api_01_run_on_an_existing_proc_just_starts_it(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["run_existing"], mode).await;
    assert_eq!(
        h.run("run_existing").await,
        Ok(vec!["run_existing".to_owned()])
    );
    assert!(h.wait_for_all().await);
    assert_eq!(h.results_json(), json!({"run_existing": "ran"}));
}

scenario!(s_api_02_start_and_run_on_a_non_idle_proc_are_no_ops);
async fn s_api_02_start_and_run_on_a_non_idle_proc_are_no_ops(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["noop_target"], mode).await;
    h.start(&["noop_target"]).await.expect("start");
    h.start(&["noop_target"]).await.expect("start again");
    h.run("noop_target").await.expect("run");
    assert!(h.wait_for_all().await);
    assert_eq!(h.results_json(), json!({"noop_target": 1}));
    assert_eq!(h.ran("noop_target"), 1);
}

// parproc: mp only (a worker process that dies with exit code 17). Here: a guest that
// exits without a result, in either mode. WASI 0.2's `exit` carries only success or
// failure, so the guest's `exit(17)` arrives as exit code 1.
scenario!(s_run_01_a_guest_that_exits_without_a_result_fails_not_hangs);
async fn s_run_01_a_guest_that_exits_without_a_result_fails_not_hangs(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["orphaned-child"], mode).await;
    h.start(&["orphaned-child"]).await.expect("start");
    assert!(!h.wait_for_all().await);
    assert_eq!(h.state("orphaned-child"), ProcState::Failed);
    assert_eq!(h.failure("orphaned-child"), Some(FailureKind::Trapped));
    assert_eq!(
        h.message("orphaned-child"),
        "exited with code 1 without a result"
    );
    assert_eq!(h.ran("orphaned-child"), 1);
    assert_eq!(h.result("orphaned-child"), Some(json!(null)));
}

scenario!(s_sup_01_cascade_messages_results_and_waits_on_failed_procs);
async fn s_sup_01_cascade_messages_results_and_waits_on_failed_procs(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["a", "b", "c", "d"], mode).await;
    assert!(!h.wait_for_all().await);
    assert_eq!(h.state("a"), ProcState::Failed);
    assert_eq!(h.message("a"), "boom");
    assert_eq!(h.state("b"), ProcState::FailedDep);
    assert_eq!(h.message("b"), "canceled due to failure of \"a\"");
    assert_eq!(h.state("c"), ProcState::FailedDep);
    assert_eq!(h.message("c"), "canceled due to failure of \"b\"");
    assert_eq!(h.state("d"), ProcState::FailedDep);
    assert_eq!(h.failure("d"), Some(FailureKind::DepMissing));
    assert_eq!(h.message("d"), "dependency \"zzz\" missing");
    assert_eq!(h.results_json(), json!({"a": null}));
    // parproc raises `Process error [2]`; our wait reports the states.
    for name in ["c", "a"] {
        let statuses = h.wait(&[name]).await.expect("wait on a finished proc");
        assert!(statuses[0].state.is_failure(), "{statuses:?}");
    }
}

scenario!(s_sup_04_no_failures_trips_when_another_proc_failed);
async fn s_sup_04_no_failures_trips_when_another_proc_failed(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["slow", "qf", "guarded"], mode).await;
    assert!(!h.wait_for_all().await);
    assert_eq!(h.state("slow"), ProcState::Succeeded);
    assert_eq!(h.state("qf"), ProcState::Failed);
    assert_eq!(h.state("guarded"), ProcState::FailedDep);
    assert_eq!(h.failure("guarded"), Some(FailureKind::NoFailures));
    assert_eq!(h.message("guarded"), "run aborted: a task has failed");
    assert_eq!(h.results_json(), json!({"slow": "slow", "qf": null}));
    assert_eq!(h.ran("guarded"), 0);
}

// Difference: parproc's `early` succeeds in mp (it launched before `qf` failed) and fails
// in single mode. Ours waits for every other wanted proc, so it fails in both.
scenario!(s_sup_04_variant_early_no_failures_proc_waits_for_the_others);
async fn s_sup_04_variant_early_no_failures_proc_waits_for_the_others(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["slow", "qf", "guarded", "early"], mode).await;
    assert!(!h.wait_for_all().await);
    assert_eq!(h.state("slow"), ProcState::Succeeded);
    assert_eq!(h.state("qf"), ProcState::Failed);
    for name in ["guarded", "early"] {
        assert_eq!(h.state(name), ProcState::FailedDep, "{name}");
        assert_eq!(h.message(name), "run aborted: a task has failed", "{name}");
        assert_eq!(h.ran(name), 0, "{name}");
    }
    assert_eq!(h.results_json(), json!({"slow": "slow", "qf": null}));
}

// Difference: parproc ignores timeouts in single mode (`sl` succeeds after 1 s there);
// ours hold in both modes.
scenario!(s_sup_05_timeouts_hold_in_both_modes);
async fn s_sup_05_timeouts_hold_in_both_modes(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["sl"], mode).await;
    let start = Instant::now();
    assert!(!h.wait_for_all().await);
    let took = start.elapsed();
    assert!(took < Duration::from_millis(900), "took {took:?}");
    assert_eq!(h.state("sl"), ProcState::Failed);
    assert_eq!(h.failure("sl"), Some(FailureKind::TimedOut));
    assert_eq!(h.message("sl"), "timed out after 200ms");
    assert_eq!(h.results_json(), json!({"sl": null}));
}

scenario!(s_sup_06_wait_for_all_reports_failure_and_keeps_reporting_it);
async fn s_sup_06_wait_for_all_reports_failure_and_keeps_reporting_it(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["x"], mode).await;
    // parproc: `Process error [1]`, then `wait_clear()` returns false.
    assert!(!h.wait_for_all().await);
    assert!(!h.wait_for_all().await);
    assert_eq!(h.state("x"), ProcState::Failed);
}

// Difference: a `#[proc]` takes every parameter from `args(...)`, so `b` (parproc's function
// default) is one of `ctx.args()` too.
scenario!(s_sup_23_plain_proc_args_become_arguments);
async fn s_sup_23_plain_proc_args_become_arguments(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["pa"], mode).await;
    assert!(h.wait_for_all().await);
    assert_eq!(h.result("pa"), Some(json!([1, 2, {"a": 1, "b": 2}])));
}

scenario!(s_sup_27_idle_procs_do_not_keep_wait_for_all_waiting);
async fn s_sup_27_idle_procs_do_not_keep_wait_for_all_waiting(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["A"], mode).await;
    assert!(h.wait_for_all().await);
    assert_eq!(h.state("A"), ProcState::Idle);
    assert_eq!(h.results_json(), json!({}));
}

scenario!(s_opt_01_allow_missing_deps_defaults_to_true);
async fn s_opt_01_allow_missing_deps_defaults_to_true(mode: Mode) {
    assert!(PlanOptions::default().allow_missing_deps);
    let h = Harness::new(SC_BASIC, &["proc_a"], mode).await;
    assert_eq!(
        h.session
            .with_planner(|p| p.options().allow_missing_deps)
            .await,
        Some(true)
    );
}

scenario!(s_opt_02_disallowed_missing_dep_is_an_error_naming_it);
async fn s_opt_02_disallowed_missing_dep_is_an_error_naming_it(mode: Mode) {
    let opts = PlanOptions {
        allow_missing_deps: false,
        ..plan(mode)
    };
    let expected = "Proc \"proc_b\" depends on \"nonexistent_proc\" which does not exist. \
                    Set allow_missing_deps=True to allow missing dependencies.";

    // Scheduling it by hand fails the call.
    let h = Harness::with(SC_BASIC, &["proc_a", "proc_b"], opts.clone(), Vec::new())
        .await
        .expect("session");
    assert_eq!(h.start(&["proc_b"]).await, Err(expected.to_owned()));
    assert_eq!(h.ran("proc_b"), 0);

    // Scheduled as a `now` proc, the error surfaces from the run.
    let h = Harness::with(SC_BASIC, &["proc_a", "proc_b"], opts, Vec::new())
        .await
        .expect("session");
    h.wait_for_all().await;
    let errors: Vec<String> = h
        .session
        .take_errors()
        .await
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors, vec![expected.to_owned()]);
    assert_eq!(h.ran("proc_b"), 0);
    assert_ne!(h.state("proc_b"), ProcState::Succeeded);
}

scenario!(s_opt_03_allowed_missing_dep_fails_the_dependent);
async fn s_opt_03_allowed_missing_dep_fails_the_dependent(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["proc_a", "proc_b"], mode).await;
    assert_eq!(h.state("proc_a"), ProcState::Idle);
    assert_eq!(h.state("proc_b"), ProcState::Idle);
    assert!(!h.wait_for_all().await);
    assert_eq!(h.state("proc_a"), ProcState::Succeeded);
    assert_eq!(h.state("proc_b"), ProcState::FailedDep);
    assert_eq!(h.failure("proc_b"), Some(FailureKind::DepMissing));
    assert_eq!(
        h.message("proc_b"),
        "dependency \"nonexistent_proc\" missing"
    );
    assert_eq!(h.results_json(), json!({"proc_a": "result_a"}));
}

// Difference: parproc keeps a plain proc's deps literal (`user` ends FAILED_DEP with
// `dependency "bb::dev" missing`); ours creates `bb::dev` from its proto, as for protos.
scenario!(s_sup_11_plain_proc_filled_out_dep_is_created_from_its_proto);
async fn s_sup_11_plain_proc_filled_out_dep_is_created_from_its_proto(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["bb::[env]", "user"], mode).await;
    assert!(h.wait_for_all().await);
    assert_eq!(h.state("user"), ProcState::Succeeded);
    assert_eq!(h.state("bb::dev"), ProcState::Succeeded);
    assert_eq!(h.deps("user"), ["bb::dev"]);
    let mut procs = h.procs();
    procs.sort();
    assert_eq!(procs, ["bb::dev", "user"]);
    assert_eq!(h.results_json(), json!({"bb::dev": "dev", "user": 1}));
}

scenario!(s_sup_24_a_dep_created_from_a_now_proto_starts_by_itself);
async fn s_sup_24_a_dep_created_from_a_now_proto_starts_by_itself(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["d::[x]", "m"], mode).await;
    assert_eq!(h.create("m").await, Ok(vec!["m".to_owned()]));
    assert!(h.wait_for_all().await);
    assert_eq!(h.state("d::1"), ProcState::Succeeded);
    assert_eq!(h.state("m"), ProcState::Idle);
    assert_eq!(h.results_json(), json!({"d::1": "1"}));
}

scenario!(s_sup_14_last_placeholder_is_greedy_and_may_be_empty);
async fn s_sup_14_last_placeholder_is_greedy_and_may_be_empty(mode: Mode) {
    let h = Harness::new(SC_BASIC, &["foo::[x]::[y]"], mode).await;
    assert_eq!(
        h.create("foo::a::b::c").await,
        Ok(vec!["foo::a::b::c".to_owned()])
    );
    assert_eq!(h.create("foo::a::").await, Ok(vec!["foo::a::".to_owned()]));
    assert_eq!(
        h.create("foo::::b").await,
        Err("No proto found matching \"foo::::b\"".to_owned())
    );
    h.start(&["foo::a::b::c", "foo::a::"]).await.expect("start");
    h.wait(&["foo::a::b::c", "foo::a::"]).await.expect("wait");
    assert_eq!(
        h.results_json(),
        json!({"foo::a::b::c": ["a", "b::c"], "foo::a::": ["a", ""]})
    );
}
