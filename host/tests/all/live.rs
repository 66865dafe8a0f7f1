//! Bounded live stores (`--max-live`) on real components: procs blocked in waits
//! keep their store, the number of live stores stays under the limit, waited-for
//! procs get stores first, and waits nested deeper than the limit fail one proc
//! with the reason instead of hanging.

use std::path::Path;
use std::sync::Arc;

use parproc_host::outcome::{FailureKind, ProcState};
use parproc_host::plan::PlanOptions;
use parproc_host::report::NullReporter;
use parproc_host::runtime::{Runtime, RuntimeConfig};
use parproc_host::session::{Session, SessionConfig};
use parproc_test_artifacts as wasm;

async fn session(parallel: usize, max_live: usize) -> Session {
    let (runtime, manifest) =
        Runtime::load(Path::new(wasm::CONTEXT_OPS), RuntimeConfig::default()).expect("load");
    let runtime = Arc::new(runtime);
    Session::new(
        &manifest,
        PlanOptions {
            parallel,
            max_live,
            ..PlanOptions::default()
        },
        runtime.clone(),
        runtime,
        Arc::new(NullReporter),
        SessionConfig::default(),
    )
    .await
    .expect("session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::disallowed_macros,
    reason = "the peak is a figure worth seeing with --nocapture"
)]
async fn five_hundred_parents_waiting_on_children_fit_in_16_live_stores() {
    let s = session(2, 16).await;
    let mut names = Vec::new();
    for i in 0..500 {
        names.extend(s.create(&format!("parent::{i}"), &[], None).await.unwrap());
    }
    s.start(&names).await.unwrap();
    assert!(s.wait_for_all().await, "every parent and kid succeeds");
    for i in [0, 250, 499] {
        assert_eq!(
            s.status(&format!("parent::{i}")).await.unwrap().state,
            ProcState::Succeeded
        );
    }
    assert_eq!(s.results().await.len(), 1000);
    let peak = s.peak_live().await;
    eprintln!("peak live stores: {peak} of 16");
    assert!(peak <= 16, "peak live stores {peak} > 16");
    assert!(
        peak > 2,
        "parents blocked in waits kept their stores (peak {peak})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_nested_deeper_than_max_live_fail_one_proc_and_the_run_completes() {
    let s = session(4, 8).await;
    let names = s.create("nest::0", &[], None).await.unwrap();
    let quick = s.create("quick", &[], None).await.unwrap();
    s.start(&[names, quick].concat()).await.unwrap();
    assert!(!s.wait_for_all().await);
    let starved: Vec<_> = s
        .records()
        .await
        .into_iter()
        .filter(|r| {
            r.failure
                .as_ref()
                .is_some_and(|f| f.kind == FailureKind::Deadlock)
        })
        .collect();
    assert_eq!(starved.len(), 1, "exactly one proc could not get a store");
    assert_eq!(
        starved[0].failure.as_ref().unwrap().message,
        "no sandbox store free: all 8 live stores are blocked in waits (raise --max-live)"
    );
    assert!(s.peak_live().await <= 8);
    assert_eq!(s.status("quick").await.unwrap().state, ProcState::Succeeded);
    // Everything above the starved proc ended (its wait reported the failure).
    assert!(
        s.records()
            .await
            .iter()
            .all(|r| r.state != ProcState::Running)
    );
}
