//! A full module as a user writes it: the README example, protos with choices and computed
//! deps and choices, every option and every module setting.

use parproc_guest::prelude::*;
use parproc_guest::serde::Serialize;

#[proc(now)]
fn func0(_ctx: &Context) -> Result<(), Error> {
    std::thread::sleep(std::time::Duration::from_millis(1));
    Ok(())
}

#[proc(now)]
fn func1() -> Result<u32, Error> {
    Ok(1)
}

#[proc(now, deps = ["func0", "func1"])]
fn func2(ctx: &Context) -> Result<String, Error> {
    Ok(format!("after {:?}", ctx.result::<String>("func0")))
}

#[proto(name = "build::[env]", choices(env = ["dev", "prod"]))]
fn build(ctx: &Context, env: String) -> Result<String, Error> {
    let _ = ctx;
    Ok(format!("built {env}"))
}

fn lint_deps(d: &DepContext) -> Vec<String> {
    vec![format!("build::{}", d.arg("env").unwrap_or("dev"))]
}

fn envs(_d: &DepContext) -> Result<Vec<&'static str>, String> {
    Ok(vec!["dev", "prod"])
}

#[derive(Serialize)]
#[serde(crate = "parproc_guest::serde")]
struct Deployed {
    env: String,
    shard: u16,
}

/// Deploys one shard of one environment.
#[proto(
    name = "deploy::[env]::[shard]",
    deps = ["build::[env]", "func2", NO_FAILURES, lint_deps, |d| vec![format!("x::{}", d.proc_name())]],
    rdeps = ["release::[env]", when_scheduled("notify::[env]"), when_target_scheduled("audit")],
    locks = ["deploy"],
    wave = -1,
    timeout = 30,
    fuel = 10_000_000_000,
    memory = 128_000_000,
    args(dry_run = false, ratio = 1, extra = "only for deps"),
    choices(env = envs, shard = [1, 2, 3]),
    log_ignore = ["^debug"],
    log_ignore_if_succeeded = ["^warning"],
    needs(dirs = ["/src"], dirs_rw = ["/out"], env = ["HOME"], network = ["example.com:443"], input),
)]
fn deploy(ctx: &Context, env: String, shard: u16, dry_run: bool, ratio: f32) -> Result<Deployed, std::io::Error> {
    let _ = (ctx, dry_run, ratio);
    Ok(Deployed { env, shard })
}

#[proto(
    name = "matrix::[os]::[n]",
    choices = |_d| [("os", vec![Value::from("linux")]), ("n", vec![Value::from(1)])],
    description = "Every OS",
)]
fn matrix(os: String, n: i8) -> Result<Value, Error> {
    Ok(json!({ "os": os, "n": n }).to_string().into())
}

#[proc(now = false, deps = [|d| d.param::<String>("extra").ok_or("no extra param")])]
fn optional() -> Result<(), Error> {
    Err(Error::no_change("nothing changed"))
}

mod nested {
    use parproc_guest::prelude::*;

    #[proc(name = "nested::job")]
    pub(crate) fn job(ctx: &Context) -> Result<Vec<String>, Error> {
        let names = ctx.run("build::*")?;
        ctx.wait(&names)?;
        let statuses = ctx.wait_status(["func0"])?;
        ctx.info(&format!("{} done", statuses.len()));
        Ok(ctx.result_names())
    }
}

parproc_guest::export_jobs!(
    func0, func1, func2, build, deploy, matrix, optional, nested::job;
    targets = ["deploy::prod::*"],
    parallel = 4,
    mode = single,
    separator = "::",
    allow_missing_deps = false,
    params(region = "eu", retries = 3, zones = vec!["a", "b"]),
);

fn main() {}
