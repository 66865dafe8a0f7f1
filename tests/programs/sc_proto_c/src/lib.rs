//! Scenario fixture: a `main::[value]` whose computed dep builds a filled-out name from the
//! parent's value (S-DEPS-06).

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

#[proto(
    name = "main::[value]",
    deps = [|m| format!("dep::lambda_{}::123", m.arg("value").unwrap_or_default())],
)]
fn main_value(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "main_{value}_{}",
        text(ctx, &format!("dep::lambda_{value}::123"))?
    ))
}

parproc_guest::export_jobs!(dep, main_value);
