//! Procs created at run time: `release` looks at a param, creates one `package::[target]`
//! proc per target through its context, starts them, waits for all, and returns what
//! they built. The waiting proc gives its parallel slot back, so this works even with
//! `--parallel 1`.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/dynamic/Cargo.toml
//! parproc-host run target/wasm32-wasip2/release/dynamic.wasm --param targets='["linux","macos","windows"]'
//! ```

use parproc_guest::prelude::*;

/// Packages one target.
#[proto(name = "package::[target]")]
fn package(_ctx: &Context, target: String) -> Result<String, Error> {
    std::thread::sleep(std::time::Duration::from_millis(200));
    Ok(format!("app-{target}.tar.gz"))
}

/// Creates, starts and waits for one package proc per target.
#[proc(now)]
fn release(ctx: &Context) -> Result<Vec<String>, Error> {
    let targets: Vec<String> = ctx
        .param("targets")
        .unwrap_or_else(|| vec!["linux".to_owned(), "macos".to_owned()]);
    let mut names = Vec::new();
    for t in &targets {
        names.extend(ctx.run(&format!("package::{t}"))?);
    }
    ctx.info(&format!("waiting for {} packages", names.len()));
    ctx.wait(&names)?;
    Ok(names
        .iter()
        .filter_map(|n| ctx.result::<String>(n))
        .collect())
}

parproc_guest::export_jobs!(package, release);
