//! Scenario fixture: locks, waves and the parallel limit (S-LOCK-01, S-WAVE-01, S-SUP-07,
//! S-SUP-08). `stamp(ms)` returns the guest's own `[start, end]` wall-clock times in
//! milliseconds, so the tests can check which bodies overlapped.

use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parproc_guest::prelude::*;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// parproc's `stamp(s)`: `t0 = now; sleep(s); return [t0, now]`.
fn stamp(millis: u64) -> Result<[f64; 2], Error> {
    let start = now_ms();
    sleep(Duration::from_millis(millis));
    Ok([start, now_ms()])
}

// ---- S-LOCK-01 ------------------------------------------------------------------------

#[proc(now, locks = ["lock1"])]
fn t1() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(now, locks = ["lock1"])]
fn t2() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(now)]
fn t3() -> Result<[f64; 2], Error> {
    stamp(200)
}

// ---- S-SUP-07: the parallel limit -----------------------------------------------------------

#[proc(now)]
fn p0() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(now)]
fn p1() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(now)]
fn p2() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(now)]
fn p3() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(now)]
fn p4() -> Result<[f64; 2], Error> {
    stamp(200)
}

// ---- S-SUP-08: locks without head-of-line blocking ---------------------------------------------

#[proc(name = "L1", now, locks = ["a"])]
fn l1() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(name = "L2", now, locks = ["a", "b"])]
fn l2() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(name = "L3", now, locks = ["b"])]
fn l3() -> Result<[f64; 2], Error> {
    stamp(200)
}

#[proc(name = "L4", now)]
fn l4() -> Result<[f64; 2], Error> {
    stamp(200)
}

// ---- S-WAVE-01 -------------------------------------------------------------------------------

#[proc(name = "A")]
fn wave_a() -> Result<String, Error> {
    sleep(Duration::from_millis(50));
    Ok("A".to_owned())
}

#[proc(name = "B", deps = ["A"])]
fn wave_b() -> Result<String, Error> {
    sleep(Duration::from_millis(50));
    Ok("B".to_owned())
}

#[proc(name = "C", wave = 2, deps = ["B"])]
fn wave_c() -> Result<String, Error> {
    sleep(Duration::from_millis(50));
    Ok("C".to_owned())
}

#[proc(name = "D", wave = 1)]
fn wave_d() -> Result<String, Error> {
    sleep(Duration::from_millis(50));
    Ok("D".to_owned())
}

parproc_guest::export_jobs!(
    t1, t2, t3, p0, p1, p2, p3, p4, l1, l2, l3, l4, wave_a, wave_b, wave_c, wave_d,
);
