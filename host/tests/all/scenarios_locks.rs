//! parproc scenarios on locks, waves and the parallel limit (S-LOCK-01, S-WAVE-01,
//! S-SUP-07, S-SUP-08), on `sc_locks`. `stamp` procs return the `[start, end]` of their body
//! in the guest's own milliseconds; the order in which procs were launched comes from the
//! host.

use parproc_host::spec::Mode;
use parproc_test_artifacts::SC_LOCKS;
use serde_json::json;

use crate::harness::{Harness, plan_parallel, scenario};

/// The `[start, end]` a stamp proc returned.
fn stamp(h: &Harness, name: &str) -> (f64, f64) {
    let value = h
        .result(name)
        .unwrap_or_else(|| panic!("no result for {name}"));
    let pair = value
        .as_array()
        .filter(|a| a.len() == 2)
        .unwrap_or_else(|| panic!("{name} returned {value}"));
    let ms = |i: usize| pair[i].as_f64().expect("a number");
    (ms(0), ms(1))
}

/// The most stamp intervals open at one time.
fn most_at_once(h: &Harness, names: &[&str]) -> usize {
    let spans: Vec<(f64, f64)> = names.iter().map(|n| stamp(h, n)).collect();
    spans
        .iter()
        .map(|&(start, _)| {
            spans
                .iter()
                .filter(|&&(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn limits(mode: Mode) -> &'static [usize] {
    match mode {
        Mode::Parallel => &[1, 10],
        Mode::Single => &[1],
    }
}

scenario!(s_lock_01_procs_sharing_a_lock_never_overlap);
async fn s_lock_01_procs_sharing_a_lock_never_overlap(mode: Mode) {
    for &p in limits(mode) {
        let h = Harness::with(
            SC_LOCKS,
            &["t1", "t2", "t3"],
            plan_parallel(mode, p),
            Vec::new(),
        )
        .await
        .expect("session");
        assert!(h.wait_for_all().await);
        let (t1, t2, t3) = (stamp(&h, "t1"), stamp(&h, "t2"), stamp(&h, "t3"));
        assert!(t2.0 >= t1.1, "P={p}: t1 {t1:?} and t2 {t2:?} overlap");
        if mode == Mode::Parallel && p > 1 {
            assert!(t1.0 < t2.0 && t3.0 < t2.0, "P={p}: {t1:?} {t2:?} {t3:?}");
        } else {
            assert!(t1.0 < t2.0 && t2.0 < t3.0, "P={p}: {t1:?} {t2:?} {t3:?}");
            assert_eq!(h.start_order(), ["t1", "t2", "t3"]);
        }
    }
}

// parproc: mp only; single mode runs one proc at a time, which is the limit 1.
scenario!(s_sup_07_parallel_limit);
async fn s_sup_07_parallel_limit(mode: Mode) {
    let names = ["p0", "p1", "p2", "p3", "p4"];
    let h = Harness::with(SC_LOCKS, &names, plan_parallel(mode, 2), Vec::new())
        .await
        .expect("session");
    assert!(h.wait_for_all().await);
    let limit = if mode == Mode::Parallel { 2 } else { 1 };
    let most = most_at_once(&h, &names);
    assert!(most <= limit, "{most} ran at once");
    if mode == Mode::Parallel {
        assert_eq!(most, 2, "the limit is used");
    }
    assert_eq!(h.start_order(), names);
}

scenario!(s_sup_08_locks_are_granted_without_queueing);
async fn s_sup_08_locks_are_granted_without_queueing(mode: Mode) {
    let h = Harness::with(
        SC_LOCKS,
        &["L1", "L2", "L3", "L4"],
        plan_parallel(mode, 10),
        Vec::new(),
    )
    .await
    .expect("session");
    assert!(h.wait_for_all().await);
    let [l1, l2, l3, l4] = ["L1", "L2", "L3", "L4"].map(|n| stamp(&h, n));
    match mode {
        Mode::Parallel => {
            // L1, L3 and L4 run together; L2 (needing a and b) only after L1 and L3.
            assert!(l3.0 < l1.1 && l1.0 < l3.1, "L1 {l1:?} L3 {l3:?}");
            assert!(l4.0 < l1.1 && l1.0 < l4.1, "L1 {l1:?} L4 {l4:?}");
            assert!(
                l2.0 >= l1.1 && l2.0 >= l3.1,
                "L2 {l2:?} L1 {l1:?} L3 {l3:?}"
            );
        }
        Mode::Single => {
            assert_eq!(h.start_order(), ["L1", "L2", "L3", "L4"]);
            assert!(l2.0 >= l1.1 && l3.0 >= l2.1 && l4.0 >= l3.1);
        }
    }
}

scenario!(s_wave_01_lower_waves_first_deps_respected);
async fn s_wave_01_lower_waves_first_deps_respected(mode: Mode) {
    let h = Harness::new(SC_LOCKS, &["A", "B", "C", "D"], mode).await;
    h.start(&["C", "D"]).await.expect("start");
    assert!(h.wait_for_all().await);
    assert_eq!(
        h.results_json(),
        json!({"A": "A", "B": "B", "C": "C", "D": "D"})
    );
    assert_eq!(h.start_order(), ["A", "B", "D", "C"]);
    h.assert_before("A", "B");
    h.assert_before("B", "D");
    h.assert_before("D", "C");
}
