//! Scenario fixture: `WhenTargetScheduled` (parproc's `WhenTargetScheduledTest`, S-WTS-01 …
//! S-WTS-10). Declarers sleep 50 ms; the tests read the order of execution from the host.

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;

fn pause() {
    sleep(Duration::from_millis(50));
}

// ---- S-WTS-01 … S-WTS-04 ----------------------------------------------------------------

#[proto(name = "A")]
fn proto_a() -> Result<String, Error> {
    Ok("A_done".to_owned())
}

#[proto(name = "B", rdeps = [when_target_scheduled("A")])]
fn proto_b() -> Result<String, Error> {
    pause();
    Ok("B_done".to_owned())
}

// ---- S-WTS-05: a declarer scheduled after its target finished ------------------------------------
//
// parproc declares `proc B` after `A` ran; a module declares everything up front, so the
// late declarer is a proto whose placeholder the rdep pattern does not supply: scheduling
// `A` creates nothing from it, and `B::1` is created and started afterwards.

#[proto(name = "B::[n]", rdeps = [when_target_scheduled("A")])]
fn late_b(_n: String) -> Result<String, Error> {
    Ok("B_done".to_owned())
}

// ---- S-WTS-07: parameterised ------------------------------------------------------------------

#[proto(name = "deploy::[env]")]
fn deploy_env(env: String) -> Result<String, Error> {
    Ok(format!("deploy_{env}"))
}

#[proto(name = "build::[env]", rdeps = [when_target_scheduled("deploy::[env]")])]
fn build_env(env: String) -> Result<String, Error> {
    pause();
    Ok(format!("build_{env}"))
}

// ---- S-WTS-08: cross-pattern -------------------------------------------------------------------

#[proto(name = "k8s.deploy::[target]::[component]")]
fn k8s_deploy(target: String, component: String) -> Result<String, Error> {
    Ok(format!("deploy::{target}::{component}"))
}

#[proto(
    name = "next.build::[target]",
    rdeps = [when_target_scheduled("k8s.deploy::[target]::frontend")],
)]
fn next_build(target: String) -> Result<String, Error> {
    pause();
    Ok(format!("build::{target}"))
}

// ---- S-WTS-09 / S-WTS-10: several targets ----------------------------------------------------------

#[proto(name = "target1")]
fn target1() -> Result<String, Error> {
    Ok("target1_done".to_owned())
}

#[proto(name = "target2")]
fn target2() -> Result<String, Error> {
    Ok("target2_done".to_owned())
}

#[proto(
    name = "setup",
    rdeps = [when_target_scheduled("target1"), when_target_scheduled("target2")],
)]
fn setup() -> Result<String, Error> {
    pause();
    Ok("setup_done".to_owned())
}

parproc_guest::export_jobs!(
    proto_a, proto_b, late_b, deploy_env, build_env, k8s_deploy, next_build, target1, target2,
    setup,
);
