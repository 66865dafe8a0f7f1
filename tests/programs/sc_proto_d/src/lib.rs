//! Scenario fixture: a `main::[value]` whose pattern dep lacks a value for `[y]`
//! (S-DEPS-11).

use parproc_guest::prelude::*;

#[proto(name = "dep::[x]::[y]")]
fn dep(x: String, y: i64) -> Result<String, Error> {
    Ok(format!("dep_{x}_{y}"))
}

#[proto(name = "main::[value]", deps = ["dep::[x]::[y]"], args(x = "test"))]
fn main_value(_value: String) -> Result<String, Error> {
    Ok("main".to_owned())
}

parproc_guest::export_jobs!(dep, main_value);
