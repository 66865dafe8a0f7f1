//! Scenario fixture: protos, name patterns, every kind of proto dep and value conversion,
//! from parproc's `tests/proto.py`.
//!
//! Each test picks the protos of its scenario; the variants of `main::[value]` that other
//! scenarios need live in `sc_proto_b` … `sc_proto_f`. parproc's dependency lambdas
//! `λ(m, value) -> …` are computed deps reading the raw arg `value` from the `DepContext`.

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;
use parproc_guest::serde_json::{Map, Value as Json};

/// A finished proc's text result, or a failure naming what is missing.
fn text(ctx: &Context, name: &str) -> Result<String, Error> {
    ctx.result(name)
        .ok_or_else(|| Error::failed(format!("no text result for `{name}`")))
}

/// A finished proc's integer result.
fn int(ctx: &Context, name: &str) -> Result<i64, Error> {
    ctx.result(name)
        .ok_or_else(|| Error::failed(format!("no integer result for `{name}`")))
}

/// This proc's args as a JSON map.
fn args_json(ctx: &Context) -> Json {
    let mut map = Map::new();
    for arg in ctx.args() {
        map.insert(arg.name.clone(), arg.value.to_json());
    }
    Json::Object(map)
}

/// The raw arg `value` of the proc being created.
fn raw_value(d: &DepContext) -> String {
    d.arg("value").unwrap_or_default().to_owned()
}

// ---- dep::[x]::[y] as most proto scenarios declare it -------------------------------------

#[proto(name = "dep::[x]::[y]")]
fn dep(x: String, y: i64) -> Result<String, Error> {
    Ok(format!("dep_{x}_{y}"))
}

// ---- S-DEPS-01: a pattern dep filled from the parent's args ------------------------------------

#[proto(name = "dep_proto::[value]")]
fn dep_proto(value: String) -> Result<String, Error> {
    sleep(Duration::from_millis(100));
    Ok(format!("dep_{value}"))
}

#[proto(name = "main_proto::[value]", deps = ["dep_proto::[value]"], args(value = "test"))]
fn main_proto(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "main_{value}_{}",
        text(ctx, &format!("dep_proto::{value}"))?
    ))
}

// ---- S-DEPS-02: computed deps of every shape ----------------------------------------------------

#[proto(name = "base::[x]")]
fn base(x: String) -> Result<String, Error> {
    Ok(format!("base_{x}"))
}

#[proto(name = "helper::[y]")]
fn helper(y: String) -> Result<String, Error> {
    Ok(format!("helper_{y}"))
}

#[proto(name = "single_lambda::[value]", deps = [|m| format!("base::{}", raw_value(m))])]
fn single_lambda(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "single_{value}_{}",
        text(ctx, &format!("base::{value}"))?
    ))
}

#[proto(
    name = "list_lambda::[value]",
    deps = [|m| vec![format!("base::{}", raw_value(m)), format!("helper::{}", raw_value(m))]],
)]
fn list_lambda(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "list_{value}_{}_{}",
        text(ctx, &format!("base::{value}"))?,
        text(ctx, &format!("helper::{value}"))?
    ))
}

#[proto(
    name = "mixed_deps::[value]",
    deps = ["base::fixed", |m| format!("helper::{}", raw_value(m))],
)]
fn mixed_deps(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "mixed_{value}_{}_{}",
        text(ctx, "base::fixed")?,
        text(ctx, &format!("helper::{value}"))?
    ))
}

/// The computed dep's context parameter may have any name.
#[proto(
    name = "manager_context::[value]",
    deps = [|context| format!("base::{}", raw_value(context))],
)]
fn manager_context(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "manager_{value}_{}",
        text(ctx, &format!("base::{value}"))?
    ))
}

// ---- S-DEPS-03: a computed dep returning a filled-out name ----------------------------------------

#[proto(name = "main::[value]", deps = [|m| format!("dep::{}::123", raw_value(m))])]
fn main_value(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "main_{value}_{}",
        text(ctx, &format!("dep::{value}::123"))?
    ))
}

// ---- S-DEPS-04: a pattern dep takes only its own placeholders ------------------------------------

#[proto(name = "main::[a]::[b]::[c]", deps = ["dep::[x]::[y]"], args(x = "test", y = 42))]
fn main_abc(ctx: &Context, a: String, b: String, c: i64) -> Result<String, Error> {
    Ok(format!("main_{a}_{b}_{c}_{}", text(ctx, "dep::test::42")?))
}

// ---- S-DEPS-07: free-form literal prefixes ---------------------------------------------------------

#[proto(name = "dep1-[x]")]
fn dep1(x: String) -> Result<String, Error> {
    Ok(format!("dep1_{x}"))
}

#[proto(name = "dep2-[y]")]
fn dep2(y: i64) -> Result<String, Error> {
    Ok(format!("dep2_{y}"))
}

#[proto(
    name = "main-[value]",
    deps = [|m| vec![format!("dep1-from_lambda_{}", raw_value(m)), "dep2-456".to_owned()]],
)]
fn main_dash(ctx: &Context, value: String) -> Result<String, Error> {
    Ok(format!(
        "main_{value}_{}_{}",
        text(ctx, &format!("dep1-from_lambda_{value}"))?,
        text(ctx, "dep2-456")?
    ))
}

// ---- S-PAT-03: a name generated from args ---------------------------------------------------------

#[proto(name = "proto::[x]::[y]")]
fn proto_xy(ctx: &Context, _x: String, _y: i64) -> Result<Json, Error> {
    Ok(args_json(ctx))
}

// ---- S-DEPS-10: a plain name dep on a filled-out proto name -----------------------------------------

#[proto(name = "main", deps = ["dep::test::42"])]
fn main_plain() -> Result<i64, Error> {
    Ok(1)
}

// ---- S-PAT-05 ------------------------------------------------------------------------------------

#[proto(name = "task::[task_id]::[status]")]
fn task(task_id: i64, status: String) -> Result<String, Error> {
    Ok(format!("task_{task_id}_{status}"))
}

// ---- S-DEPS-12: partially fixed pattern deps ----------------------------------------------------------

#[proto(name = "foo::[a]::[b]")]
fn foo_ab(a: i64, b: i64) -> Result<i64, Error> {
    Ok(a * 10 + b)
}

#[proto(name = "test-full::[x]", deps = ["foo::1::2"])]
fn test_full(ctx: &Context, x: i64) -> Result<i64, Error> {
    Ok(int(ctx, "foo::1::2")? + x)
}

#[proto(name = "test-partial-a::[a]", deps = ["foo::[a]::2"])]
fn test_partial_a(ctx: &Context, a: i64) -> Result<i64, Error> {
    Ok(int(ctx, &format!("foo::{a}::2"))? + a)
}

#[proto(name = "test-partial-b::[b]", deps = ["foo::1::[b]"])]
fn test_partial_b(ctx: &Context, b: i64) -> Result<i64, Error> {
    Ok(int(ctx, &format!("foo::1::{b}"))? + b)
}

#[proto(name = "test-mixed::[a]::[b]", deps = ["foo::[a]::2", "foo::1::[b]"])]
fn test_mixed(ctx: &Context, a: i64, b: i64) -> Result<i64, Error> {
    Ok(int(ctx, &format!("foo::{a}::2"))? + int(ctx, &format!("foo::1::{b}"))?)
}

// ---- S-CAST-01 -------------------------------------------------------------------------------------

/// The SDK hands over an `i64` and an `f64`: the declared types.
#[proto(name = "calc::[a]::[b]")]
fn calc(a: i64, b: f64) -> Result<f64, Error> {
    Ok(a as f64 + b)
}

// ---- S-PAT-06: two protos matching one name ----------------------------------------------------------

#[proto(name = "foo::[x]")]
fn foo_x(x: String) -> Result<String, Error> {
    Ok(x)
}

#[proto(name = "foo::[y]")]
fn foo_y(y: String) -> Result<String, Error> {
    Ok(y)
}

// ---- S-DEPS-13: filled-out deps create workers -------------------------------------------------------

#[proto(name = "worker::[worker_id]")]
fn worker(worker_id: i64) -> Result<String, Error> {
    Ok(format!("worker_{worker_id}"))
}

#[proto(name = "manager::[name]", deps = ["worker::1", "worker::2"])]
fn manager(ctx: &Context, name: String) -> Result<String, Error> {
    Ok(format!(
        "manager_{name}_{}_{}",
        text(ctx, "worker::1")?,
        text(ctx, "worker::2")?
    ))
}

// ---- S-DEPS-14: a pattern dep takes only the values it names -------------------------------------------

#[proto(name = "helper::[x]::[y]")]
fn helper_xy(x: String, y: i64) -> Result<String, Error> {
    Ok(format!("helper_{x}_{y}"))
}

#[proto(
    name = "main::[a]::[b]",
    deps = ["helper::[x]::[y]"],
    args(x = "test", y = 42, z = "ignored"),
)]
fn main_ab(ctx: &Context, a: String, b: String) -> Result<String, Error> {
    Ok(format!("main_{a}_{b}_{}", text(ctx, "helper::test::42")?))
}

// ---- S-PAT-07: values with "-" ---------------------------------------------------------------------

#[proto(name = "k8s.build::[cluster_name]")]
fn k8s_build(cluster_name: String) -> Result<String, Error> {
    Ok(format!("built_{cluster_name}"))
}

// ---- S-PAT-08: a pattern without the separator between placeholders ----------------------------------

#[proto(name = "foo-[x]-[y]")]
fn foo_dash(_x: String, _y: String) {}

parproc_guest::export_jobs!(
    dep,
    dep_proto,
    main_proto,
    base,
    helper,
    single_lambda,
    list_lambda,
    mixed_deps,
    manager_context,
    main_value,
    main_abc,
    dep1,
    dep2,
    main_dash,
    proto_xy,
    main_plain,
    task,
    foo_ab,
    test_full,
    test_partial_a,
    test_partial_b,
    test_mixed,
    calc,
    foo_x,
    foo_y,
    worker,
    manager,
    helper_xy,
    main_ab,
    k8s_build,
    foo_dash,
);
