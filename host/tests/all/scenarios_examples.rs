//! parproc's examples as scenarios (S-EX-01, S-EX-02, S-EX-03), with every sleep scaled by
//! 0.1, on `sc_examples` and `sc_examples_error`.

use parproc_host::outcome::{FailureKind, ProcState};
use parproc_host::spec::Mode;
use parproc_test_artifacts::{SC_EXAMPLES, SC_EXAMPLES_ERROR};
use serde_json::json;

use crate::harness::{Harness, scenario};

scenario!(s_ex_01_success_deps_parallel_start_and_skipped_counts_as_success);
async fn s_ex_01_success_deps_parallel_start_and_skipped_counts_as_success(mode: Mode) {
    let names = ["skipped_task", "func0", "func1", "func2", "func3", "func4"];
    let h = Harness::new(SC_EXAMPLES, &names, mode).await;
    assert!(h.wait_for_all().await);
    assert_eq!(h.state("skipped_task"), ProcState::Skipped);
    for name in &names[1..] {
        assert_eq!(h.state(name), ProcState::Succeeded, "{name}");
    }
    assert_eq!(
        h.results_json(),
        json!({
            "skipped_task": null, "func0": null, "func1": null,
            "func2": null, "func3": null, "func4": null
        })
    );
    h.assert_before("func0", "func2");
    h.assert_before("func1", "func2");
    h.assert_before("func2", "func3");
    h.assert_before("func3", "func4");
    if mode == Mode::Parallel {
        h.assert_overlap("func0", "func1");
        let (skipped_start, _) = h.span("skipped_task");
        let (_, func0_end) = h.span("func0");
        assert!(
            skipped_start < func0_end,
            "skipped_task started with the others"
        );
    }
}

scenario!(s_ex_02_error_independent_failures_do_not_stop_the_others);
async fn s_ex_02_error_independent_failures_do_not_stop_the_others(mode: Mode) {
    let names = ["func0", "func1", "func2", "func3", "func4"];
    let h = Harness::new(SC_EXAMPLES_ERROR, &names, mode).await;
    assert!(!h.wait_for_all().await);
    for name in ["func0", "func1"] {
        assert_eq!(h.state(name), ProcState::Failed, "{name}");
        assert_eq!(h.failure(name), Some(FailureKind::Failed), "{name}");
        assert_eq!(h.message(name), "Failure", "{name}");
    }
    for name in ["func2", "func3", "func4"] {
        assert_eq!(h.state(name), ProcState::Succeeded, "{name}");
    }
    assert_eq!(
        h.results_json(),
        json!({"func0": null, "func1": null, "func2": null, "func3": null, "func4": null})
    );
}

scenario!(s_ex_03_failed_deps_a_failure_isolates_only_its_subtree);
async fn s_ex_03_failed_deps_a_failure_isolates_only_its_subtree(mode: Mode) {
    let good = ["a", "a_a", "a_b", "a_a_a", "a_a_b"];
    let bad = ["x_a", "x_b", "x_a_a", "x_a_b"];
    let mut names = good.to_vec();
    names.push("x");
    names.extend(bad);
    let h = Harness::new(SC_EXAMPLES, &names, mode).await;
    assert!(!h.wait_for_all().await);
    for name in good {
        assert_eq!(h.state(name), ProcState::Succeeded, "{name}");
    }
    assert_eq!(h.state("x"), ProcState::Failed);
    assert_eq!(h.failure("x"), Some(FailureKind::Failed));
    for (name, cause) in [
        ("x_a", "x"),
        ("x_b", "x"),
        ("x_a_a", "x_a"),
        ("x_a_b", "x_a"),
    ] {
        assert_eq!(h.state(name), ProcState::FailedDep, "{name}");
        assert_eq!(
            h.message(name),
            format!("canceled due to failure of \"{cause}\""),
            "{name}"
        );
        assert_eq!(h.ran(name), 0, "{name}");
    }
    assert_eq!(
        h.results_json(),
        json!({"a": null, "a_a": null, "a_b": null, "a_a_a": null, "a_a_b": null, "x": null})
    );
}
