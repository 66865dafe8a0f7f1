//! Test fixture for the host's integration tests: procs that never end (spinning,
//! sleeping, waiting on a proc that never finishes) beside well-behaved ones, and
//! procs that create, start and wait for others through the context.

use std::time::Duration;

use parproc_guest::prelude::*;

/// Spins forever; only the fuel budget (or the timeout) ends it.
#[proc]
fn spin(_ctx: &Context) -> Result<(), Error> {
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Sleeps for a day; only the timeout ends it.
#[proc]
fn sleep_forever(_ctx: &Context) -> Result<(), Error> {
    std::thread::sleep(Duration::from_secs(86_400));
    Ok(())
}

/// Never finishes (the target of `waits_on_never`).
#[proc]
fn never(_ctx: &Context) -> Result<(), Error> {
    std::thread::sleep(Duration::from_secs(86_400));
    Ok(())
}

/// Blocks in a context wait on `never`; its own timeout (shorter than any the
/// tests give `never`) ends it while it is blocked.
#[proc(timeout = 0.5)]
fn waits_on_never(ctx: &Context) -> Result<(), Error> {
    ctx.wait(["never"])
}

/// Finishes at once with a result.
#[proc]
fn quick(_ctx: &Context) -> Result<String, Error> {
    Ok("quick".into())
}

/// A child: returns its number.
#[proto(name = "child::[i]")]
fn child(_ctx: &Context, i: u32) -> Result<u32, Error> {
    Ok(i)
}

/// Creates and starts `count` children, waits for all, returns the sum of their results.
#[proc(args(count = 100))]
fn fanout(ctx: &Context, count: u32) -> Result<u64, Error> {
    let mut names = Vec::new();
    for i in 0..count {
        names.extend(ctx.create(&format!("child::{i}"))?);
    }
    ctx.start(&names)?;
    ctx.wait(&names)?;
    let mut sum = 0u64;
    for n in &names {
        sum += ctx
            .result::<u64>(n)
            .ok_or_else(|| Error::failed(format!("no result for {n} after waiting")))?;
    }
    Ok(sum)
}

/// Waits on a proc that fails and reports what the wait said.
#[proc]
fn waits_on_failure(ctx: &Context) -> Result<String, Error> {
    match ctx.wait(["fails"]) {
        Ok(()) => Err(Error::failed("the wait should have reported the failure")),
        Err(e) => Ok(e.to_string()),
    }
}

/// Fails with a message.
#[proc]
fn fails(_ctx: &Context) -> Result<(), Error> {
    Err(Error::failed("fails on purpose"))
}

/// Reads its results view before and after a wait: a wait moves the view forward.
#[proc(deps = ["quick"])]
fn view(ctx: &Context) -> Result<Vec<String>, Error> {
    let before = ctx.result_names();
    ctx.run("child::7")?;
    ctx.wait(["child::7"])?;
    let after = ctx.result_names();
    Ok(vec![before.join(","), after.join(",")])
}

/// A parent: runs its own kid and waits for it; returns the kid's result.
#[proto(name = "parent::[i]")]
fn parent(ctx: &Context, i: u32) -> Result<u32, Error> {
    let kids = ctx.run(&format!("kid::{i}"))?;
    ctx.wait(&kids)?;
    ctx.result::<u32>(&kids[0])
        .ok_or_else(|| Error::failed("the kid left no result"))
}

/// A kid: returns its number.
#[proto(name = "kid::[i]")]
fn kid(_ctx: &Context, i: u32) -> Result<u32, Error> {
    Ok(i)
}

/// Nested waits: `nest::d` runs `nest::d+1` and waits for it, down to depth 30.
#[proto(name = "nest::[d]")]
fn nest(ctx: &Context, d: u32) -> Result<u32, Error> {
    if d >= 30 {
        return Ok(d);
    }
    let next = ctx.run(&format!("nest::{}", d + 1))?;
    ctx.wait(&next)?;
    Ok(d)
}

parproc_guest::export_jobs!(
    parent,
    kid,
    nest,
    spin,
    sleep_forever,
    never,
    waits_on_never,
    quick,
    child,
    fanout,
    waits_on_failure,
    fails,
    view,
);
