//! Scenario fixture: a `dep::[x]::[y]` whose args lack `y` (S-PAT-02), and a
//! `main::[value]` with a pattern dep, a filled-out dep and a computed dep (S-DEPS-08).

use parproc_guest::prelude::*;

/// A finished proc's text result, or a failure naming what is missing.
fn text(ctx: &Context, name: &str) -> Result<String, Error> {
    ctx.result(name)
        .ok_or_else(|| Error::failed(format!("no text result for `{name}`")))
}

#[proto(name = "dep::[x]::[y]", args(x = "test", value = "test"))]
fn dep(x: String, y: i64) -> Result<String, Error> {
    Ok(format!("dep_{x}_{y}"))
}

#[proto(name = "str_dep::[x]")]
fn str_dep(x: String) -> Result<String, Error> {
    Ok(format!("str_{x}"))
}

#[proto(name = "tuple_dep::[y]")]
fn tuple_dep(y: i64) -> Result<String, Error> {
    Ok(format!("tuple_{y}"))
}

#[proto(name = "lambda_dep::[z]")]
fn lambda_dep(z: String) -> Result<String, Error> {
    Ok(format!("lambda_{z}"))
}

#[proto(
    name = "main::[value]",
    deps = [
        "str_dep::[x]",
        "tuple_dep::789",
        |m| format!("lambda_dep::lambda_{}", m.arg("value").unwrap_or_default()),
    ],
    args(x = "test"),
)]
fn main_value(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "main_{value}_{}_{}_{}",
        text(ctx, "str_dep::test")?,
        text(ctx, "tuple_dep::789")?,
        text(ctx, &format!("lambda_dep::lambda_{value}"))?
    ))
}

parproc_guest::export_jobs!(dep, str_dep, tuple_dep, lambda_dep, main_value);
