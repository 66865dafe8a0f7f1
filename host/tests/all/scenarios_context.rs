//! parproc scenarios on a running proc's context and on timeouts (S-TIME-01, S-SUP-21,
//! S-SUP-22), on `sc_context`.

use std::time::{Duration, Instant};

use parproc_host::outcome::{FailureKind, ProcState};
use parproc_host::spec::Mode;
use parproc_test_artifacts::SC_CONTEXT;
use serde_json::json;

use crate::harness::{Harness, plan, scenario};

// parproc: mp only (single ignores timeouts). Ours hold in both modes.
scenario!(s_time_01_timeouts_fail_the_proc_and_a_waiting_proc_sees_it);
async fn s_time_01_timeouts_fail_the_proc_and_a_waiting_proc_sees_it(mode: Mode) {
    let h = Harness::new(SC_CONTEXT, &["sleepy"], mode).await;
    let start = Instant::now();
    let names = h.create("sleepy").await.expect("create");
    assert_eq!(names, ["sleepy"]);
    let statuses = h.wait_names(&names).await.expect("wait");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    assert_eq!(statuses[0].state, ProcState::Failed);
    assert_eq!(h.failure("sleepy"), Some(FailureKind::TimedOut));
    assert_eq!(h.result("sleepy"), Some(json!(null)));

    let h = Harness::new(SC_CONTEXT, &["sleepy", "got_exception"], mode).await;
    h.wait(&["got_exception"]).await.expect("wait");
    assert_eq!(h.result("got_exception"), Some(json!(true)));
    assert_eq!(h.failure("sleepy"), Some(FailureKind::TimedOut));
}

// Difference: our `ctx.run` returns the names it created and started (parproc's returns
// `None`), and a failed wait says which proc failed and why after `Process error [3]`.
scenario!(s_sup_21_context_call_results_and_the_wait_failure_text);
async fn s_sup_21_context_call_results_and_the_wait_failure_text(mode: Mode) {
    let h = Harness::new(SC_CONTEXT, &["w::[n]", "parent", "bad", "parent2"], mode).await;
    assert!(!h.wait_for_all().await);
    assert_eq!(
        h.result("parent"),
        Some(json!([["w::1"], ["w::2"], null, 10, 20]))
    );
    assert_eq!(
        h.result("parent2"),
        Some(json!("caught Process error [3]: \"bad\" failed: division"))
    );
    assert_eq!(h.result("bad"), Some(json!(null)));
}

scenario!(s_sup_22_results_snapshot_and_context_fields);
async fn s_sup_22_results_snapshot_and_context_fields(mode: Mode) {
    let h = Harness::with(
        SC_CONTEXT,
        &["u1", "u2", "late"],
        plan(mode),
        vec![("color".to_owned(), json!("red"))],
    )
    .await
    .expect("session");
    assert!(h.wait_for_all().await);
    let fields =
        |seen: serde_json::Value| json!([seen, {"color": "red"}, {}, "late", true, ["u1"], null]);
    match mode {
        // Started together: u2's view is empty; late starts after u1, while u2 sleeps.
        Mode::Parallel => {
            assert_eq!(h.result("u2"), Some(json!([])));
            assert_eq!(h.result("late"), Some(fields(json!(["u1"]))));
        }
        // One at a time, in registration order.
        Mode::Single => {
            assert_eq!(h.result("u2"), Some(json!(["u1"])));
            assert_eq!(h.result("late"), Some(fields(json!(["u1", "u2"]))));
        }
    }
}
