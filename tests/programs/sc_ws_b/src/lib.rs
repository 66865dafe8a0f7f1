//! Scenario fixture: `WhenScheduled` on plain procs, alone (S-WS-13) and beside a plain rdep
//! (S-WS-10, S-WS-12).

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

fn pause() {
    sleep(Duration::from_millis(50));
}

#[proto(name = "A")]
fn proto_a() -> Result<String, Error> {
    Ok("A_done".to_owned())
}

#[proc(name = "B", rdeps = [when_scheduled("A")])]
fn proc_b() -> Result<String, Error> {
    pause();
    Ok("B_done".to_owned())
}

#[proto(name = "unconditional_target")]
fn unconditional_target() -> Result<String, Error> {
    Ok("unconditional_target_done".to_owned())
}

#[proto(name = "conditional_target")]
fn conditional_target() -> Result<String, Error> {
    Ok("conditional_target_done".to_owned())
}

#[proc(rdeps = ["unconditional_target", when_scheduled("conditional_target")])]
fn setup() -> Result<String, Error> {
    pause();
    Ok("setup_done".to_owned())
}

parproc_guest::export_jobs!(
    proto_a,
    proc_b,
    unconditional_target,
    conditional_target,
    setup
);
