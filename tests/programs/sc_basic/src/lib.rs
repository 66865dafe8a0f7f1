//! Scenario fixture: the basics of parproc's `tests/simple.py`, the options tests and most
//! supplementary scenarios (the behaviour is described in `docs/planner.md`).
//!
//! Each test picks the procs and protos of its scenario from this module (the others are
//! left out of its session), so names only have to be unique here, not across scenarios.
//! parproc's `throw(msg)` (a generic exception) is `Error::failed(msg)`.

use std::collections::HashMap;
use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;
use parproc_guest::serde::Serialize;
use parproc_guest::serde_json::{Map, Value as Json};

fn pause(millis: u64) {
    sleep(Duration::from_millis(millis));
}

/// A finished proc's text result, or a failure naming what is missing.
fn text(ctx: &Context, name: &str) -> Result<String, Error> {
    ctx.result(name)
        .ok_or_else(|| Error::failed(format!("no text result for `{name}`")))
}

/// This proc's args as a JSON map.
fn args_json(ctx: &Context) -> Json {
    let mut map = Map::new();
    for arg in ctx.args() {
        map.insert(arg.name.clone(), arg.value.to_json());
    }
    Json::Object(map)
}

// ---- S-BASIC-01: t1 is declared before the t2 it depends on ----------------------------

#[proc(now, deps = ["t2"])]
fn t1(ctx: &Context) -> Result<String, Error> {
    Ok(format!("You{}", text(ctx, "t2")?))
}

#[proc(now)]
fn t2() -> Result<String, Error> {
    Ok("Me".to_owned())
}

// ---- S-STATE-01: IDLE procs only run when needed ----------------------------------------

#[proc]
fn x1() -> Result<bool, Error> {
    Ok(true)
}

#[proc(deps = ["x1"])]
fn x2() -> Result<bool, Error> {
    Ok(true)
}

#[proc]
fn x3() -> Result<bool, Error> {
    Ok(true)
}

#[proc(now, deps = ["x3"])]
fn x4() -> Result<bool, Error> {
    Ok(true)
}

// ---- S-FAIL-01: a failure cascades -------------------------------------------------------

#[proc(now)]
fn p0() -> Result<(), Error> {
    pause(100);
    Err(Error::failed("error"))
}

#[proc(now, deps = ["p0"])]
fn p1() -> Result<bool, Error> {
    Ok(true)
}

#[proc(now, deps = ["p1"])]
fn p2() -> Result<bool, Error> {
    Ok(true)
}

// ---- S-BASIC-02: a collector ---------------------------------------------------------------

#[proc]
fn f0() -> Result<String, Error> {
    Ok("ay".to_owned())
}

#[proc]
fn f1() -> Result<String, Error> {
    Ok("ya".to_owned())
}

#[proc(now, deps = ["f0", "f1"])]
fn f() {}

// ---- S-RES-01 / S-RES-02: results across the boundary ------------------------------------

/// A map with tuple keys: JSON cannot hold it (parproc's unpicklable value).
#[proc(now)]
fn unpickleable() -> Result<HashMap<(u8, u8), u8>, Error> {
    Ok(HashMap::from([((1, 2), 3)]))
}

#[derive(Serialize)]
#[serde(crate = "parproc_guest::serde")]
struct Model {
    value: String,
    count: u32,
}

#[proc(now)]
fn pydantic_task() -> Result<Model, Error> {
    Ok(Model {
        value: "ok".to_owned(),
        count: 42,
    })
}

// ---- S-API-01 / S-API-02 ----------------------------------------------------------------

#[proc]
fn run_existing() -> Result<String, Error> {
    Ok("ran".to_owned())
}

#[proc]
fn noop_target() -> Result<u32, Error> {
    Ok(1)
}

// ---- S-RUN-01: a guest that exits without a result ----------------------------------------

#[proc(name = "orphaned-child")]
fn orphaned_child() {
    std::process::exit(17);
}

// ---- S-SUP-01: cascade messages -------------------------------------------------------------

#[proc(now)]
fn a() -> Result<(), Error> {
    Err(Error::failed("boom"))
}

#[proc(now, deps = ["a"])]
fn b() -> Result<u32, Error> {
    Ok(1)
}

#[proc(now, deps = ["b"])]
fn c() -> Result<u32, Error> {
    Ok(2)
}

#[proc(now, deps = ["a", "zzz"])]
fn d() -> Result<u32, Error> {
    Ok(3)
}

// ---- S-SUP-04: NO_FAILURES ----------------------------------------------------------------

#[proc(now)]
fn slow() -> Result<String, Error> {
    pause(300);
    Ok("slow".to_owned())
}

#[proc(now)]
fn qf() -> Result<(), Error> {
    pause(50);
    Err(Error::failed("x"))
}

#[proc(now, deps = ["slow", NO_FAILURES])]
fn guarded() -> Result<String, Error> {
    Ok("g".to_owned())
}

#[proc(now, deps = [NO_FAILURES])]
fn early() -> Result<String, Error> {
    Ok("e".to_owned())
}

// ---- S-SUP-05: a timeout -------------------------------------------------------------------

#[proc(now, timeout = 0.2)]
fn sl() -> Result<String, Error> {
    pause(1000);
    Ok("done".to_owned())
}

// ---- S-SUP-06 ---------------------------------------------------------------------------

#[proc(now)]
fn x() -> Result<(), Error> {
    Err(Error::failed("x"))
}

// ---- S-SUP-23: plain proc args ---------------------------------------------------------------

/// parproc's `b=2` is a function default; here every parameter of a proc comes from `args`.
#[proc(now, args(a = 1, b = 2))]
fn pa(ctx: &Context, a: i64, b: i64) -> Result<Json, Error> {
    Ok(json!([a, b, args_json(ctx)]))
}

// ---- S-SUP-27: an IDLE proc ----------------------------------------------------------------

#[proc(name = "A")]
fn idle_a() -> Result<u32, Error> {
    Ok(1)
}

// ---- S-OPT-02 / S-OPT-03: a missing dep ---------------------------------------------------------

#[proc(now)]
fn proc_a() -> Result<String, Error> {
    Ok("result_a".to_owned())
}

#[proc(now, deps = ["nonexistent_proc"])]
fn proc_b() -> Result<String, Error> {
    Ok("result_b".to_owned())
}

// ---- S-SUP-11: a plain proc's filled-out dep -----------------------------------------------------

#[proto(name = "bb::[env]")]
fn bb(env: String) -> Result<String, Error> {
    Ok(env)
}

#[proc(now, deps = ["bb::dev"])]
fn user() -> Result<u32, Error> {
    Ok(1)
}

// ---- S-SUP-24: a dep created from a `now` proto ----------------------------------------------------

#[proto(name = "d::[x]", now)]
fn d_now(x: String) -> Result<String, Error> {
    Ok(x)
}

#[proto(name = "m", deps = ["d::1"])]
fn m() -> Result<String, Error> {
    Ok("m".to_owned())
}

// ---- S-SUP-14 / S-ARGC-06: the last placeholder; globs without choices ----------------------------

#[proto(name = "foo::[x]::[y]")]
fn foo(x: String, y: String) -> Result<Json, Error> {
    Ok(json!([x, y]))
}

parproc_guest::export_jobs!(
    t1,
    t2,
    x1,
    x2,
    x3,
    x4,
    p0,
    p1,
    p2,
    f0,
    f1,
    f,
    unpickleable,
    pydantic_task,
    run_existing,
    noop_target,
    orphaned_child,
    a,
    b,
    c,
    d,
    slow,
    qf,
    guarded,
    early,
    sl,
    x,
    pa,
    idle_a,
    proc_a,
    proc_b,
    bb,
    user,
    d_now,
    m,
    foo,
);
