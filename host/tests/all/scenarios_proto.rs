//! parproc's proto scenarios (from its `tests/proto.py`): protos, name patterns, proto deps of every kind and value
//! conversion (S-DEPS-*, S-PAT-*, S-CAST-01), on `sc_proto` … `sc_proto_f`.
//!
//! parproc's `create` + `start` + `wait` on the returned names is [`create_start_wait`].

use parproc_host::outcome::ProcState;
use parproc_host::spec::{Mode, Value};
use parproc_test_artifacts::{
    SC_PROTO, SC_PROTO_B, SC_PROTO_C, SC_PROTO_D, SC_PROTO_E, SC_PROTO_F,
};
use serde_json::json;

use crate::harness::{Harness, plan, scenario, text};

/// `names = create(name); start(names); wait(names)`, checking every one succeeded.
async fn create_start_wait(h: &Harness, name: &str) -> Vec<String> {
    let names = h
        .create(name)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    start_wait(h, &names).await;
    names
}

/// `start(names); wait(names)`, checking every one succeeded.
async fn start_wait(h: &Harness, names: &[String]) {
    h.session.start(names).await.expect("start");
    let statuses = h.wait_names(names).await.expect("wait");
    for s in statuses {
        assert_eq!(
            s.state,
            ProcState::Succeeded,
            "{s:?}; results: {}",
            h.results_json()
        );
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

scenario!(s_deps_01_pattern_dep_filled_from_the_parents_args);
async fn s_deps_01_pattern_dep_filled_from_the_parents_args(mode: Mode) {
    let h = Harness::new(
        SC_PROTO,
        &["dep_proto::[value]", "main_proto::[value]"],
        mode,
    )
    .await;
    let created = h.create("main_proto::test").await.expect("create");
    assert_eq!(created, ["main_proto::test"]);
    assert!(h.exists("dep_proto::test"));
    start_wait(&h, &created).await;
    h.assert_results_include(&json!({
        "dep_proto::test": "dep_test",
        "main_proto::test": "main_test_dep_test"
    }));
}

scenario!(s_deps_02_computed_deps_single_list_mixed_any_context_name);
async fn s_deps_02_computed_deps_single_list_mixed_any_context_name(mode: Mode) {
    let h = Harness::new(
        SC_PROTO,
        &[
            "base::[x]",
            "helper::[y]",
            "single_lambda::[value]",
            "list_lambda::[value]",
            "mixed_deps::[value]",
            "manager_context::[value]",
        ],
        mode,
    )
    .await;
    for n in ["base::fixed", "base::test", "helper::test"] {
        assert_eq!(h.create_as(n, n).await, Ok(names(&[n])));
    }
    let mut all = names(&["base::fixed", "base::test", "helper::test"]);
    for n in [
        "single_lambda::test",
        "list_lambda::test",
        "mixed_deps::test",
        "manager_context::test",
    ] {
        all.extend(h.create(n).await.expect("create"));
    }
    assert_eq!(all.len(), 7);
    start_wait(&h, &all).await;
    h.assert_results_include(&json!({
        "single_lambda::test": "single_test_base_test",
        "list_lambda::test": "list_test_base_test_helper_test",
        "mixed_deps::test": "mixed_test_base_fixed_helper_test",
        "manager_context::test": "manager_test_base_test"
    }));
}

scenario!(s_deps_03_computed_dep_returning_a_filled_out_name_creates_it);
async fn s_deps_03_computed_dep_returning_a_filled_out_name_creates_it(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["dep::[x]::[y]", "main::[value]"], mode).await;
    create_start_wait(&h, "main::test").await;
    h.assert_results_include(&json!({
        "dep::test::123": "dep_test_123",
        "main::test": "main_test_dep_test_123"
    }));
}

scenario!(s_pat_01_only_placeholder_args_are_kept);
async fn s_pat_01_only_placeholder_args_are_kept(mode: Mode) {
    let h = Harness::new(SC_PROTO_E, &["dep::[x]::[y]"], mode).await;
    assert_eq!(h.run("dep::[x]::[y]").await, Ok(names(&["dep::test::42"])));
    assert!(h.wait_for_all().await);
    assert!(h.exists("dep::test::42"));
    assert_eq!(
        h.result("dep::test::42"),
        Some(json!({"x": "test", "y": 42}))
    );
    assert_eq!(
        h.args("dep::test::42"),
        [
            ("x".to_owned(), text("test")),
            ("y".to_owned(), Value::Integer(42))
        ]
    );
}

scenario!(s_deps_04_pattern_dep_receives_only_its_own_placeholders);
async fn s_deps_04_pattern_dep_receives_only_its_own_placeholders(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["dep::[x]::[y]", "main::[a]::[b]::[c]"], mode).await;
    create_start_wait(&h, "main::A::B::100").await;
    h.assert_results_include(&json!({
        "dep::test::42": "dep_test_42",
        "main::A::B::100": "main_A_B_100_dep_test_42"
    }));
}

scenario!(s_deps_05_filled_out_dep_name_matching_another_proto);
async fn s_deps_05_filled_out_dep_name_matching_another_proto(mode: Mode) {
    let h = Harness::new(SC_PROTO_B, &["dep::[x]::[y]", "main::[value]"], mode).await;
    create_start_wait(&h, "main::test").await;
    h.assert_results_include(&json!({
        "dep::override::999": "dep_override_999",
        "main::test": "main_test_dep_override_999"
    }));
}

scenario!(s_deps_06_computed_dep_builds_a_filled_out_name_from_the_parent);
async fn s_deps_06_computed_dep_builds_a_filled_out_name_from_the_parent(mode: Mode) {
    let h = Harness::new(SC_PROTO_C, &["dep::[x]::[y]", "main::[value]"], mode).await;
    create_start_wait(&h, "main::test").await;
    h.assert_results_include(&json!({
        "dep::lambda_test::123": "dep_lambda_test_123",
        "main::test": "main_test_dep_lambda_test_123"
    }));
}

scenario!(s_deps_07_computed_dep_list_and_free_form_literal_prefixes);
async fn s_deps_07_computed_dep_list_and_free_form_literal_prefixes(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["dep1-[x]", "dep2-[y]", "main-[value]"], mode).await;
    create_start_wait(&h, "main-test").await;
    h.assert_results_include(&json!({
        "dep1-from_lambda_test": "dep1_from_lambda_test",
        "dep2-456": "dep2_456",
        "main-test": "main_test_dep1_from_lambda_test_dep2_456"
    }));
}

scenario!(s_deps_08_pattern_filled_out_and_computed_deps_together);
async fn s_deps_08_pattern_filled_out_and_computed_deps_together(mode: Mode) {
    let h = Harness::new(
        SC_PROTO_F,
        &[
            "str_dep::[x]",
            "tuple_dep::[y]",
            "lambda_dep::[z]",
            "main::[value]",
        ],
        mode,
    )
    .await;
    create_start_wait(&h, "main::test").await;
    h.assert_results_include(&json!({
        "str_dep::test": "str_test",
        "tuple_dep::789": "tuple_789",
        "lambda_dep::lambda_test": "lambda_lambda_test",
        "main::test": "main_test_str_test_tuple_789_lambda_lambda_test"
    }));
}

scenario!(s_pat_02_missing_placeholder_value_is_an_error);
async fn s_pat_02_missing_placeholder_value_is_an_error(mode: Mode) {
    let h = Harness::new(SC_PROTO_F, &["dep::[x]::[y]"], mode).await;
    assert_eq!(
        h.create("dep::[x]::[y]").await,
        Err("Pattern \"dep::[x]::[y]\" requires argument \"y\" but was not provided".to_owned())
    );
    assert!(h.procs().is_empty());
}

scenario!(s_pat_03_name_generated_from_args);
async fn s_pat_03_name_generated_from_args(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["proto::[x]::[y]"], mode).await;
    let created = h
        .create_with(
            "proto::[x]::[y]",
            &[("x", text("test")), ("y", Value::Integer(42))],
        )
        .await;
    assert_eq!(created, Ok(names(&["proto::test::42"])));
    start_wait(&h, &names(&["proto::test::42"])).await;
    assert_eq!(
        h.result("proto::test::42"),
        Some(json!({"x": "test", "y": 42}))
    );
}

scenario!(s_deps_09_unmatched_pattern_dep_is_kept_as_a_missing_name);
async fn s_deps_09_unmatched_pattern_dep_is_kept_as_a_missing_name(mode: Mode) {
    let h = Harness::new(SC_PROTO_E, &["main::[value]"], mode).await;
    assert_eq!(
        h.create("main::ignored").await,
        Ok(names(&["main::ignored"]))
    );
    assert_eq!(h.deps("main::ignored"), ["dep::test::42"]);
    assert!(!h.exists("dep::test::42"));
    h.start(&["main::ignored"]).await.expect("start");
    assert!(!h.wait_for_all().await);
    assert_eq!(h.state("main::ignored"), ProcState::FailedDep);
    assert_eq!(
        h.message("main::ignored"),
        "dependency \"dep::test::42\" missing"
    );
}

scenario!(s_deps_10_filled_out_dep_resolved_against_its_proto_and_converted);
async fn s_deps_10_filled_out_dep_resolved_against_its_proto_and_converted(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["dep::[x]::[y]", "main"], mode).await;
    assert_eq!(h.create("main").await, Ok(names(&["main"])));
    assert!(h.exists("dep::test::42"));
    assert_eq!(
        h.args("dep::test::42"),
        [
            ("x".to_owned(), text("test")),
            ("y".to_owned(), Value::Integer(42))
        ]
    );
    assert_eq!(h.deps("main"), ["dep::test::42"]);
    start_wait(&h, &names(&["main"])).await;
    h.assert_results_include(&json!({"dep::test::42": "dep_test_42", "main": 1}));
}

scenario!(s_deps_11_missing_value_for_a_pattern_dep_fails_create_of_the_parent);
async fn s_deps_11_missing_value_for_a_pattern_dep_fails_create_of_the_parent(mode: Mode) {
    let h = Harness::new(SC_PROTO_D, &["dep::[x]::[y]", "main::[value]"], mode).await;
    let err = h.create("main::test").await.expect_err("y is missing");
    assert!(err.contains("requires argument \"y\""), "{err}");
    assert!(!h.exists("main::test"));
}

scenario!(s_pat_05_filled_out_name_extracts_and_converts_values);
async fn s_pat_05_filled_out_name_extracts_and_converts_values(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["task::[task_id]::[status]"], mode).await;
    create_start_wait(&h, "task::123::done").await;
    assert_eq!(h.result("task::123::done"), Some(json!("task_123_done")));
}

scenario!(s_deps_12_partially_fixed_pattern_deps);
async fn s_deps_12_partially_fixed_pattern_deps(mode: Mode) {
    // (a) a fully filled-out dep.
    let h = Harness::new(SC_PROTO, &["foo::[a]::[b]", "test-full::[x]"], mode).await;
    assert_eq!(
        h.create("test-full::10").await,
        Ok(names(&["test-full::10"]))
    );
    start_wait(&h, &names(&["test-full::10", "foo::1::2"])).await;
    assert_eq!(h.result("test-full::10"), Some(json!(22)));

    // (b) the first placeholder from the parent.
    let h = Harness::new(SC_PROTO, &["foo::[a]::[b]", "test-partial-a::[a]"], mode).await;
    assert_eq!(
        h.create("test-partial-a::3").await,
        Ok(names(&["test-partial-a::3"]))
    );
    assert!(h.exists("foo::3::2"));
    start_wait(&h, &names(&["test-partial-a::3", "foo::3::2"])).await;
    assert_eq!(h.result("test-partial-a::3"), Some(json!(35)));

    // (c) the second placeholder from the parent.
    let h = Harness::new(SC_PROTO, &["foo::[a]::[b]", "test-partial-b::[b]"], mode).await;
    assert_eq!(
        h.create("test-partial-b::4").await,
        Ok(names(&["test-partial-b::4"]))
    );
    assert!(h.exists("foo::1::4"));
    start_wait(&h, &names(&["test-partial-b::4", "foo::1::4"])).await;
    assert_eq!(h.result("test-partial-b::4"), Some(json!(18)));

    // (d) both forms at once.
    let h = Harness::new(SC_PROTO, &["foo::[a]::[b]", "test-mixed::[a]::[b]"], mode).await;
    assert_eq!(
        h.create("test-mixed::5::6").await,
        Ok(names(&["test-mixed::5::6"]))
    );
    assert!(h.exists("foo::5::2") && h.exists("foo::1::6"));
    start_wait(&h, &names(&["test-mixed::5::6", "foo::5::2", "foo::1::6"])).await;
    assert_eq!(h.result("test-mixed::5::6"), Some(json!(68)));
}

scenario!(s_cast_01_values_are_converted_to_the_declared_types);
async fn s_cast_01_values_are_converted_to_the_declared_types(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["calc::[a]::[b]"], mode).await;
    let created = create_start_wait(&h, "calc::10::20.5").await;
    assert_eq!(created, ["calc::10::20.5"]);
    assert_eq!(
        h.args("calc::10::20.5"),
        [
            ("a".to_owned(), Value::Integer(10)),
            ("b".to_owned(), Value::Float(20.5))
        ]
    );
    assert_eq!(h.result("calc::10::20.5"), Some(json!(30.5)));
}

scenario!(s_pat_06_ambiguous_proto_match_is_an_error);
async fn s_pat_06_ambiguous_proto_match_is_an_error(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["foo::[x]", "foo::[y]"], mode).await;
    assert_eq!(
        h.create("foo::test").await,
        Err("Name \"foo::test\" matches multiple protos: ['foo::[x]', 'foo::[y]']".to_owned())
    );
}

scenario!(s_deps_13_filled_out_deps_create_worker_procs);
async fn s_deps_13_filled_out_deps_create_worker_procs(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["worker::[worker_id]", "manager::[name]"], mode).await;
    create_start_wait(&h, "manager::alice").await;
    h.assert_results_include(&json!({
        "worker::1": "worker_1",
        "worker::2": "worker_2",
        "manager::alice": "manager_alice_worker_1_worker_2"
    }));
}

scenario!(s_deps_14_pattern_dep_takes_only_the_values_it_names);
async fn s_deps_14_pattern_dep_takes_only_the_values_it_names(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["helper::[x]::[y]", "main::[a]::[b]"], mode).await;
    create_start_wait(&h, "main::A::B").await;
    h.assert_results_include(&json!({
        "helper::test::42": "helper_test_42",
        "main::A::B": "main_A_B_helper_test_42"
    }));
}

scenario!(s_pat_07_values_may_contain_a_hyphen);
async fn s_pat_07_values_may_contain_a_hyphen(mode: Mode) {
    let h = Harness::new(SC_PROTO, &["k8s.build::[cluster_name]"], mode).await;
    let created = create_start_wait(&h, "k8s.build::my-cluster").await;
    assert_eq!(created, ["k8s.build::my-cluster"]);
    assert_eq!(
        h.result("k8s.build::my-cluster"),
        Some(json!("built_my-cluster"))
    );
}

scenario!(s_pat_08_proto_patterns_must_use_the_separator_between_placeholders);
async fn s_pat_08_proto_patterns_must_use_the_separator_between_placeholders(mode: Mode) {
    let err = Harness::with(SC_PROTO, &["foo-[x]-[y]"], plan(mode), Vec::new())
        .await
        .err()
        .expect("the pattern is refused");
    assert_eq!(
        err,
        "Pattern \"foo-[x]-[y]\" must use the configured separator \"::\" between placeholders; found \"-\""
    );
}
