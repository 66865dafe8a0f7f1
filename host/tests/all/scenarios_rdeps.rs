//! parproc scenarios on plain reverse dependencies (S-RDEP-01 … -09, S-WS-14), on
//! `sc_rdeps_a` … `sc_rdeps_d`. `a ≺ b` is checked on the host's record of when each body ran.

use parproc_host::outcome::ProcState;
use parproc_host::spec::Mode;
use parproc_test_artifacts::{SC_RDEPS_A, SC_RDEPS_B, SC_RDEPS_C, SC_RDEPS_D};
use serde_json::json;

use crate::harness::{Harness, scenario};

/// `names = create(name); start(names); wait(names)`, checking every one succeeded.
async fn create_start_wait(h: &Harness, name: &str) {
    let names = h
        .create(name)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    h.session.start(&names).await.expect("start");
    for s in h.wait_names(&names).await.expect("wait") {
        assert_eq!(
            s.state,
            ProcState::Succeeded,
            "{s:?}; results {}",
            h.results_json()
        );
    }
}

scenario!(s_rdep_01_a_procs_rdep_makes_it_a_dep_of_matching_procs);
async fn s_rdep_01_a_procs_rdep_makes_it_a_dep_of_matching_procs(mode: Mode) {
    let h = Harness::new(SC_RDEPS_A, &["B::[a]::[b]", "setup"], mode).await;
    create_start_wait(&h, "B::test::2").await;
    h.assert_results_include(&json!({"setup": "setup_done", "B::test::2": "B_test_2"}));
    h.assert_before("setup", "B::test::2");
}

scenario!(s_rdep_03_proto_rdeps_create_procs_only_when_the_pattern_supplies_them);
async fn s_rdep_03_proto_rdeps_create_procs_only_when_the_pattern_supplies_them(mode: Mode) {
    // (a) the rdep pattern does not supply `[env]`: nothing is created.
    let h = Harness::new(SC_RDEPS_A, &["B::[a]::[b]", "setup::[env]"], mode).await;
    create_start_wait(&h, "B::test::2").await;
    assert_eq!(h.result("B::test::2"), Some(json!("B_test_2")));
    assert_eq!(h.result("setup::test"), None);
    assert!(!h.exists("setup::test"), "procs: {:?}", h.procs());

    // (b) an existing `setup::test` is injected.
    let h = Harness::new(SC_RDEPS_A, &["B::[a]::[b]", "setup::[env]"], mode).await;
    assert_eq!(
        h.create("setup::test").await,
        Ok(vec!["setup::test".to_owned()])
    );
    create_start_wait(&h, "B::test::2").await;
    h.assert_results_include(&json!({"setup::test": "setup_test", "B::test::2": "B_test_2"}));
    h.assert_before("setup::test", "B::test::2");
}

scenario!(s_rdep_04_several_procs_rdep_onto_one_target);
async fn s_rdep_04_several_procs_rdep_onto_one_target(mode: Mode) {
    let h = Harness::new(SC_RDEPS_A, &["B::[a]::[b]", "setup1", "setup2"], mode).await;
    create_start_wait(&h, "B::test::2").await;
    h.assert_results_include(&json!({
        "setup1": "setup1", "setup2": "setup2", "B::test::2": "B_test_2"
    }));
    h.assert_before("setup1", "B::test::2");
    h.assert_before("setup2", "B::test::2");
}

scenario!(s_rdep_05_one_proc_with_several_rdep_patterns);
async fn s_rdep_05_one_proc_with_several_rdep_patterns(mode: Mode) {
    let jobs = ["setup", "B::[a]::[b]", "C::[x]::[y]"];
    let h = Harness::new(SC_RDEPS_B, &jobs, mode).await;
    create_start_wait(&h, "B::test::2").await;
    h.assert_results_include(&json!({"setup": "setup_done", "B::test::2": "B_test_2"}));
    h.assert_before("setup", "B::test::2");

    let h = Harness::new(SC_RDEPS_B, &jobs, mode).await;
    create_start_wait(&h, "C::foo::42").await;
    h.assert_results_include(&json!({"setup": "setup_done", "C::foo::42": "C_foo_42"}));
    h.assert_before("setup", "C::foo::42");
}

scenario!(s_rdep_06_rdep_runs_strictly_before_its_target);
async fn s_rdep_06_rdep_runs_strictly_before_its_target(mode: Mode) {
    let h = Harness::new(SC_RDEPS_C, &["setup", "B::[a]::[b]"], mode).await;
    create_start_wait(&h, "B::test::2").await;
    // `B_before_setup` would mean B ran without setup's result.
    h.assert_results_include(&json!({"setup": "setup_done", "B::test::2": "B_test_2"}));
    h.assert_before("setup", "B::test::2");
}

scenario!(s_rdep_08_cross_pattern_rdep_on_a_proto_creates_the_instance);
async fn s_rdep_08_cross_pattern_rdep_on_a_proto_creates_the_instance(mode: Mode) {
    let h = Harness::new(
        SC_RDEPS_A,
        &["next.build::[target]", "k8s.build-image::[target]::[image]"],
        mode,
    )
    .await;
    create_start_wait(&h, "k8s.build-image::stage::frontend").await;
    h.assert_results_include(&json!({
        "next.build::stage": "next_build_stage",
        "k8s.build-image::stage::frontend": "k8s_stage_frontend"
    }));
    h.assert_before("next.build::stage", "k8s.build-image::stage::frontend");
}

scenario!(s_rdep_09_rdeps_fire_for_procs_reached_only_as_dependencies);
async fn s_rdep_09_rdeps_fire_for_procs_reached_only_as_dependencies(mode: Mode) {
    let h = Harness::new(
        SC_RDEPS_A,
        &[
            "next.build::[target]",
            "k8s.build-image::[target]::[image]",
            "k8s.build-images::[target]",
        ],
        mode,
    )
    .await;
    create_start_wait(&h, "k8s.build-images::stage").await;
    h.assert_results_include(&json!({
        "next.build::stage": "next_build_stage",
        "k8s.build-image::stage::frontend": "k8s_stage_frontend",
        "k8s.build-image::stage::backend": "k8s_stage_backend",
        "k8s.build-images::stage": "build_images_stage"
    }));
    h.assert_before("next.build::stage", "k8s.build-image::stage::frontend");
}

scenario!(s_ws_14_plain_rdeps_unaffected);
async fn s_ws_14_plain_rdeps_unaffected(mode: Mode) {
    let h = Harness::new(SC_RDEPS_D, &["setup", "target::[x]"], mode).await;
    let names = h.create("target::foo").await.expect("create");
    h.session.start(&names).await.expect("start");
    assert!(h.wait_for_all().await);
    h.assert_results_include(&json!({"setup": "setup_done", "target::foo": "target_foo"}));
    h.assert_before("setup", "target::foo");
}
