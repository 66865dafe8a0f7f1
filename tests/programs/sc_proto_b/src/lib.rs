//! Scenario fixture: a `main::[value]` whose dep is a filled-out name of another proto
//! (S-DEPS-05).

use parproc_guest::prelude::*;

/// A finished proc's text result, or a failure naming what is missing.
fn text(ctx: &Context, name: &str) -> Result<String, Error> {
    ctx.result(name)
        .ok_or_else(|| Error::failed(format!("no text result for `{name}`")))
}

#[proto(name = "dep::[x]::[y]")]
fn dep(x: String, y: i64) -> Result<String, Error> {
    Ok(format!("dep_{x}_{y}"))
}

#[proto(name = "main::[value]", deps = ["dep::override::999"])]
fn main_value(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!("main_{value}_{}", text(ctx, "dep::override::999")?))
}

parproc_guest::export_jobs!(dep, main_value);
