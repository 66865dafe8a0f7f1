//! Scenario fixture: a running proc's context — create/run/start/wait, waits that report
//! failures and timeouts, params, args and the results view (S-TIME-01, S-SUP-21,
//! S-SUP-22).

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;
use parproc_guest::serde_json::{Map, Value as Json};

fn pause(millis: u64) {
    sleep(Duration::from_millis(millis));
}

fn args_json(ctx: &Context) -> Json {
    let mut map = Map::new();
    for arg in ctx.args() {
        map.insert(arg.name.clone(), arg.value.to_json());
    }
    Json::Object(map)
}

fn sorted_result_names(ctx: &Context) -> Vec<String> {
    let mut names = ctx.result_names();
    names.sort();
    names
}

// ---- S-TIME-01 -----------------------------------------------------------------------------

/// Sleeps far past its timeout.
#[proto(name = "sleepy", timeout = 0.5, now)]
fn sleepy() {
    pause(10_000);
}

/// Waits on `sleepy` and reports whether the wait failed.
#[proc(now)]
fn got_exception(ctx: &Context) -> Result<bool, Error> {
    let names = ctx.create("sleepy")?;
    Ok(ctx.wait(&names).is_err())
}

// ---- S-SUP-21 ------------------------------------------------------------------------------

#[proto(name = "w::[n]")]
fn w(n: i64) -> Result<i64, Error> {
    Ok(n * 10)
}

/// What each context call returns, then the results it waited for.
#[proc(now)]
fn parent(ctx: &Context) -> Result<Json, Error> {
    let r1 = ctx.create("w::1")?;
    let r2 = ctx.run("w::2")?;
    // `start` returns nothing (parproc's `None`).
    ctx.start(&r1)?;
    let r3 = Json::Null;
    ctx.wait(["w::1", "w::2"])?;
    Ok(json!([
        r1,
        r2,
        r3,
        ctx.result::<i64>("w::1"),
        ctx.result::<i64>("w::2")
    ]))
}

#[proto(name = "bad")]
fn bad() -> Result<(), Error> {
    Err(Error::failed("division"))
}

/// Waits on a proc that fails and returns what the wait said.
#[proc(now)]
fn parent2(ctx: &Context) -> Result<String, Error> {
    let names = ctx.create("bad")?;
    match ctx.wait(&names) {
        Ok(()) => Ok("no error".to_owned()),
        Err(e) => Ok(format!("caught {}", e.message())),
    }
}

// ---- S-SUP-22 --------------------------------------------------------------------------------

#[proc(now)]
fn u1() -> Result<String, Error> {
    Ok("u1".to_owned())
}

#[proc(now)]
fn u2(ctx: &Context) -> Result<Vec<String>, Error> {
    // parproc sleeps 0.2 s; longer here so `late` surely starts while u2 still runs.
    pause(500);
    Ok(sorted_result_names(ctx))
}

/// The context's fields; parproc's `input_fingerprint` (incremental builds) is always null.
#[proc(now, deps = ["u1"])]
fn late(ctx: &Context) -> Result<Json, Error> {
    Ok(json!([
        sorted_result_names(ctx),
        ctx.params(),
        args_json(ctx),
        ctx.proc_name(),
        ctx.deps_changed(),
        ctx.changed_deps(),
        Json::Null
    ]))
}

parproc_guest::export_jobs!(sleepy, got_exception, w, parent, bad, parent2, u1, u2, late);
