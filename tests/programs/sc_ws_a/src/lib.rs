//! Scenario fixture: `WhenScheduled` on protos (parproc's `tests/conditional_rdeps.py`,
//! S-WS-01 … S-WS-11), the wave error it can raise (S-SUP-10), and `WhenScheduled` beside
//! `WhenTargetScheduled` (S-WTS-12). Declarers sleep 50 ms; the tests read the order of
//! execution from the host.

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

fn pause() {
    sleep(Duration::from_millis(50));
}

// ---- S-WS-01 … S-WS-04 -----------------------------------------------------------------

#[proto(name = "A")]
fn proto_a() -> Result<String, Error> {
    Ok("A_done".to_owned())
}

#[proto(name = "B", rdeps = [when_scheduled("A")])]
fn proto_b() -> Result<String, Error> {
    pause();
    Ok("B_done".to_owned())
}

// ---- S-WS-07: parameterised ------------------------------------------------------------------

#[proto(name = "deploy::[env]")]
fn deploy_env(env: String) -> Result<String, Error> {
    Ok(format!("deploy_{env}"))
}

#[proto(name = "build::[env]", rdeps = [when_scheduled("deploy::[env]")])]
fn build_env(env: String) -> Result<String, Error> {
    pause();
    Ok(format!("build_{env}"))
}

// ---- S-WS-08: cross-pattern -------------------------------------------------------------------

#[proto(name = "k8s.deploy::[target]::[component]")]
fn k8s_deploy(target: String, component: String) -> Result<String, Error> {
    Ok(format!("deploy::{target}::{component}"))
}

#[proto(name = "next.build::[target]", rdeps = [when_scheduled("k8s.deploy::[target]::frontend")])]
fn next_build(target: String) -> Result<String, Error> {
    pause();
    Ok(format!("build::{target}"))
}

// ---- S-WS-09: several rules on one declarer -----------------------------------------------------

#[proto(name = "target1")]
fn target1() -> Result<String, Error> {
    Ok("target1_done".to_owned())
}

#[proto(name = "target2")]
fn target2() -> Result<String, Error> {
    Ok("target2_done".to_owned())
}

#[proto(name = "setup", rdeps = [when_scheduled("target1"), when_scheduled("target2")])]
fn setup() -> Result<String, Error> {
    pause();
    Ok("setup_done".to_owned())
}

// ---- S-WS-11: an unscheduled declarer ------------------------------------------------------------

#[proto(name = "target")]
fn target() -> Result<String, Error> {
    Ok("target_done".to_owned())
}

#[proc(rdeps = [when_scheduled("target")])]
fn unrelated_setup() -> Result<String, Error> {
    Ok("unrelated_setup_done".to_owned())
}

#[proc(now)]
fn independent() -> Result<String, Error> {
    Ok("independent_done".to_owned())
}

// ---- S-SUP-10: a wave violation through WhenScheduled ----------------------------------------------

#[proto(name = "T")]
fn proto_t() -> Result<String, Error> {
    Ok("T_done".to_owned())
}

#[proc(name = "S", wave = 1, rdeps = [when_scheduled("T")])]
fn proc_s() -> Result<String, Error> {
    Ok("S_done".to_owned())
}

// ---- S-WTS-12: WhenScheduled and WhenTargetScheduled together ----------------------------------------

#[proto(name = "deploy")]
fn deploy() -> Result<String, Error> {
    Ok("deploy_done".to_owned())
}

#[proto(name = "build", rdeps = [when_scheduled("deploy")])]
fn build() -> Result<String, Error> {
    pause();
    Ok("build_done".to_owned())
}

#[proto(name = "lint", rdeps = [when_target_scheduled("deploy")])]
fn lint() -> Result<String, Error> {
    pause();
    Ok("lint_done".to_owned())
}

parproc_guest::export_jobs!(
    proto_a,
    proto_b,
    deploy_env,
    build_env,
    k8s_deploy,
    next_build,
    target1,
    target2,
    setup,
    target,
    unrelated_setup,
    independent,
    proto_t,
    proc_s,
    deploy,
    build,
    lint,
);
