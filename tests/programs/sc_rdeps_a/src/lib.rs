//! Scenario fixture: plain reverse dependencies (parproc's `tests/rdeps.py` and the rdep
//! tests of `tests/proto.py`: S-RDEP-01, -03, -04, -08, -09).

use parproc_guest::prelude::*;

// ---- S-RDEP-01 / -03 / -04: B::[a]::[b] and the procs that rdep onto it ------------------

#[proto(name = "B::[a]::[b]")]
fn proto_b(a: String, b: i64) -> Result<String, Error> {
    Ok(format!("B_{a}_{b}"))
}

#[proc(rdeps = ["B::[a]::[b]"])]
fn setup() -> Result<String, Error> {
    Ok("setup_done".to_owned())
}

/// Its placeholder is not supplied by the rdep pattern: matching `B::…` creates nothing.
#[proto(name = "setup::[env]", rdeps = ["B::[a]::[b]"])]
fn setup_env(env: String) -> Result<String, Error> {
    Ok(format!("setup_{env}"))
}

#[proc(rdeps = ["B::[a]::[b]"])]
fn setup1() -> Result<String, Error> {
    Ok("setup1".to_owned())
}

#[proc(rdeps = ["B::[a]::[b]"])]
fn setup2() -> Result<String, Error> {
    Ok("setup2".to_owned())
}

// ---- S-RDEP-08 / -09: a cross-pattern rdep on a proto ------------------------------------------

#[proto(name = "next.build::[target]", rdeps = ["k8s.build-image::[target]::frontend"])]
fn next_build(target: String) -> Result<String, Error> {
    Ok(format!("next_build_{target}"))
}

#[proto(name = "k8s.build-image::[target]::[image]")]
fn build_image(target: String, image: String) -> Result<String, Error> {
    Ok(format!("k8s_{target}_{image}"))
}

#[proto(
    name = "k8s.build-images::[target]",
    deps = ["k8s.build-image::[target]::frontend", "k8s.build-image::[target]::backend"],
)]
fn build_images(target: String) -> Result<String, Error> {
    Ok(format!("build_images_{target}"))
}

parproc_guest::export_jobs!(
    proto_b,
    setup,
    setup_env,
    setup1,
    setup2,
    next_build,
    build_image,
    build_images,
);
