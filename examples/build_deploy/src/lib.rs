//! A build pipeline made of protos: `build::[env]` → `test::[env]` → `deploy::[env]`, over
//! the environments `dev`, `staging` and `prod`.
//!
//! It shows protos with placeholder choices (fixed and computed), dep patterns filled from a
//! proc's args (`test::[env]` depends on `build::[env]`), globs over the choices
//! (`deploy::*`), a lock, an `args(...)` default, module params, a `now` proc with a computed
//! dep, and results as JSON objects read by dependents. Without a target the module runs its
//! default target `deploy::prod` (plus `lint`, which is `now`).
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/build_deploy/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/build_deploy.wasm
//! parproc-host run target/wasm32-wasip2/release/build_deploy.wasm 'deploy::*'
//! ```

use std::thread::sleep;
use std::time::Duration;

use parproc_guest::prelude::*;
use parproc_guest::serde_json::Value as Json;

/// The environments every proto accepts.
const ENVS: [&str; 3] = ["dev", "staging", "prod"];

fn pause(millis: u64) {
    sleep(Duration::from_millis(millis));
}

/// A string field of another proc's JSON result.
fn field(ctx: &Context, proc_name: &str, key: &str) -> Option<String> {
    let result: Json = ctx.result(proc_name)?;
    result.get(key)?.as_str().map(str::to_owned)
}

/// Prepares the shared workspace.
#[proc]
fn setup(ctx: &Context) -> Result<Json, Error> {
    pause(100);
    let release: String = ctx.param("release").unwrap_or_else(|| "0.0.0".to_owned());
    Ok(json!({ "workspace": "workspace", "release": release }))
}

/// Builds the artifact of one environment.
#[proto(name = "build::[env]", deps = ["setup"], choices(env = ["dev", "staging", "prod"]))]
fn build(ctx: &Context, env: String) -> Result<Json, Error> {
    let release = field(ctx, "setup", "release").unwrap_or_default();
    pause(300);
    Ok(json!({ "env": env, "artifact": format!("app-{release}-{env}.tar") }))
}

/// The environments `test::[env]` accepts (computed choices).
fn test_envs(_d: &DepContext) -> [&'static str; 3] {
    ENVS
}

/// Tests the artifact built for one environment.
#[proto(
    name = "test::[env]",
    deps = ["build::[env]"],
    choices(env = test_envs),
    args(shards = 2),
)]
fn test(ctx: &Context, env: String, shards: u32) -> Result<Json, Error> {
    let artifact = field(ctx, &format!("build::{env}"), "artifact")
        .ok_or_else(|| Error::failed(format!("no artifact was built for `{env}`")))?;
    pause(200);
    Ok(json!({ "env": env, "artifact": artifact, "shards": shards, "passed": true }))
}

/// Deploys one environment; one deployment at a time.
#[proto(
    name = "deploy::[env]",
    deps = ["test::[env]"],
    choices(env = ["dev", "staging", "prod"]),
    locks = ["deploy"],
    timeout = 10,
)]
fn deploy(ctx: &Context, env: String) -> Result<Json, Error> {
    let artifact = field(ctx, &format!("build::{env}"), "artifact").unwrap_or_default();
    ctx.info(&format!("deploying {artifact} to {env}"));
    pause(200);
    Ok(json!({ "env": env, "artifact": artifact, "url": format!("https://{env}.example.com") }))
}

/// Checks the formatting.
#[proc]
fn fmt() {
    pause(100);
}

/// Lint runs after `setup`, and after `fmt` too when the `strict` param is true.
fn lint_deps(d: &DepContext) -> Vec<&'static str> {
    if d.param::<bool>("strict").unwrap_or(false) {
        vec!["setup", "fmt"]
    } else {
        vec!["setup"]
    }
}

/// Lints the sources.
#[proc(now, deps = [lint_deps])]
fn lint() -> Result<Json, Error> {
    pause(150);
    Ok(json!({ "warnings": 0 }))
}

parproc_guest::export_jobs!(
    setup, build, test, deploy, fmt, lint;
    targets = ["deploy::prod"],
    params(release = "1.4.2", strict = true),
);
