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
    needs(
        dirs = ["/src"],
        dirs_rw = ["/out"],
        env = ["HOME"],
        network = ["example.com:443"],
        input,
        tools = ["kubectl"],
        http = ["https://*.example.com"],
    ),
)]
fn deploy(
    ctx: &Context,
    env: String,
    shard: u16,
    dry_run: bool,
    ratio: f32,
) -> Result<Deployed, std::io::Error> {
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

/// Uses every context call once.
#[proc(args(limit = 3), needs(input, dirs = ["/src"], tools = ["tool"]))]
fn api_tour(ctx: &Context, limit: usize) -> Result<Option<String>, Error> {
    let _: &str = ctx.proc_name();
    let _: &[parproc_guest::Arg] = ctx.args();
    let _: Option<usize> = ctx.arg("limit");
    let _: parproc_guest::serde_json::Map<String, parproc_guest::serde_json::Value> = ctx.params();
    let _: Option<Vec<String>> = ctx.param("zones");
    let _: Option<String> = ctx.result_json("func1");
    let _: bool = ctx.deps_changed();
    let _: Vec<String> = ctx.changed_deps();
    let created = ctx.create("build::dev")?;
    let more = ctx.create_with(
        "deploy::[env]::[shard]",
        [("env", Value::from("prod")), ("shard", 2.into())],
        None,
    )?;
    let named = ctx.create_with("build::[env]", [("env", "dev")], Some("custom"))?;
    ctx.start(&["func0", "func1"])?;
    ctx.start(&created)?;
    ctx.start(more.iter().take(limit))?;
    let _ = ctx.run("build::prod")?;
    let _ = ctx.run_with(
        "build::[env]",
        vec![("env".to_owned(), "dev".to_owned())],
        None,
    )?;
    ctx.wait(named)?;
    let statuses = ctx.wait_status(vec!["func0"])?;
    for status in statuses {
        if status.state != parproc_guest::ProcState::Succeeded {
            ctx.warn(&format!(
                "{} ended {:?}: {}",
                status.name, status.state, status.message
            ));
        }
    }
    let answer = ctx.get_input("name? ")?;
    let _secret = ctx.get_password("password? ")?;
    ctx.log(parproc_guest::LogLevel::Debug, "debug");
    ctx.trace("trace");
    ctx.debug("debug");
    ctx.error("error");
    let out: parproc_guest::ExecOutput = ctx
        .exec("tool")
        .arg("-q")
        .args(["a", "b"])
        .env("K", "v")
        .envs([("A", "1")])
        .stdin(b"in")
        .dir("/src", false)
        .max_output(1024)
        .run()?;
    let _: (bool, u32, bool) = (out.success(), out.exit_code, out.truncated);
    let _: (&[u8], &[u8]) = (&out.stdout, &out.stderr);
    ctx.info(&format!("{}{}", out.stdout_text(), out.stderr_text()));
    let mut exec = Exec::new(String::from("tool"));
    if limit > 1 {
        exec.arg("--verbose");
    }
    let _ = exec.stdin("text").run()?;
    Ok(Some(answer))
}

/// Declares every incremental option.
#[proto(
    name = "compile::[target]",
    needs(dirs = ["/src"], dirs_rw = ["/out"]),
    inputs = [
        "/src/[target]/*.c",
        regex_files("/src", r".*\.h$"),
        |d| vec![format!("/src/{}.cfg", d.arg("target").unwrap_or("none"))],
    ],
    inputs_ignore = ["/src/**/*.tmp"],
    outputs = ["/out/[target].o", output("/out/[target].map", max_age = "1h", enforce_freshness = false), output("/out/log", max_age = 90)],
    no_skip,
)]
fn compile(target: String) {
    let _ = target;
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
    func0, func1, func2, build, deploy, matrix, optional, api_tour, compile, nested::job;
    targets = ["deploy::prod::*"],
    parallel = 4,
    mode = single,
    separator = "::",
    allow_missing_deps = false,
    params(region = "eu", retries = 3, zones = vec!["a", "b"]),
    task_db,
    inputs_ignore = ["/src/**/*.bak"],
);

fn main() {}
