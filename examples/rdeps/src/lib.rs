//! Reverse dependencies: procs that attach themselves in front of others.
//!
//! - `migrate::[env]` declares the rdep `deploy::[env]`: whenever a deploy is scheduled,
//!   the matching migration is created and runs first (plain rdep).
//! - `announce` declares `WhenScheduled("deploy::prod")`: scheduling `announce` schedules
//!   the prod deploy after it; scheduling only the deploy leaves `announce` out.
//! - `audit` declares `WhenTargetScheduled("deploy::prod")`: it runs before the prod deploy
//!   whenever that deploy is scheduled, and never schedules it by itself.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/rdeps/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/rdeps.wasm deploy::staging   # migrate::staging, deploy::staging
//! parproc-host run target/wasm32-wasip2/release/rdeps.wasm announce          # announce, audit, migrate::prod, deploy::prod
//! ```

use parproc_guest::prelude::*;

fn pause() {
    std::thread::sleep(std::time::Duration::from_millis(100));
}

/// Deploys one environment.
#[proto(name = "deploy::[env]", choices(env = ["staging", "prod"]))]
fn deploy(ctx: &Context, env: String) -> Result<String, Error> {
    pause();
    let migrated: Option<String> = ctx.result(&format!("migrate::{env}"));
    Ok(format!(
        "deployed {env} after {}",
        migrated.unwrap_or_default()
    ))
}

/// Runs the database migration of one environment before its deploy.
#[proto(name = "migrate::[env]", rdeps = ["deploy::[env]"])]
fn migrate(_ctx: &Context, env: String) -> Result<String, Error> {
    pause();
    Ok(format!("migrated {env}"))
}

/// Announces a prod release; scheduling it schedules the prod deploy after it.
#[proc(rdeps = [when_scheduled("deploy::prod")])]
fn announce(_ctx: &Context) -> Result<String, Error> {
    pause();
    Ok("announced".into())
}

/// Audits before any prod deploy that is scheduled.
#[proc(rdeps = [when_target_scheduled("deploy::prod")])]
fn audit(_ctx: &Context) -> Result<String, Error> {
    pause();
    Ok("audited".into())
}

parproc_guest::export_jobs!(deploy, migrate, announce, audit; targets = ["announce"]);
