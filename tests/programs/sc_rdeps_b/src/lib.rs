//! Scenario fixture: one proc with two rdep patterns (S-RDEP-05).

use parproc_guest::prelude::*;

#[proc(rdeps = ["B::[a]::[b]", "C::[x]::[y]"])]
fn setup() -> Result<String, Error> {
    Ok("setup_done".to_owned())
}

#[proto(name = "B::[a]::[b]")]
fn proto_b(a: String, b: i64) -> Result<String, Error> {
    Ok(format!("B_{a}_{b}"))
}

#[proto(name = "C::[x]::[y]")]
fn proto_c(x: String, y: i64) -> Result<String, Error> {
    Ok(format!("C_{x}_{y}"))
}

parproc_guest::export_jobs!(setup, proto_b, proto_c);
