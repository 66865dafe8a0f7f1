//! Scenario fixture: plain rdeps keep working beside conditional ones (S-WS-14).

use parproc_guest::prelude::*;

#[proc(rdeps = ["target::[x]"])]
fn setup() -> Result<String, Error> {
    Ok("setup_done".to_owned())
}

#[proto(name = "target::[x]")]
fn target(x: String) -> Result<String, Error> {
    Ok(format!("target_{x}"))
}

parproc_guest::export_jobs!(setup, target);
