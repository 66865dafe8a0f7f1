//! parproc's incremental scenarios (S-INC, S-OUT): procs with declared inputs,
//! declared outputs (with `max_age` and `enforce_freshness`), `no_skip`, and
//! procs that write what `deps_changed` said. Everything lives in the granted
//! directory `/t` (parproc's temp dir T).

use std::time::{Duration, SystemTime};

use parproc_guest::prelude::*;

fn fail(e: std::io::Error) -> Error {
    Error::failed(e.to_string())
}

fn write(path: &str, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(fail)
}

/// Set the modification time of `path` to `ago` before now.
fn backdate(path: &str, ago: Duration) -> Result<(), Error> {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .map_err(fail)?;
    let then = SystemTime::now()
        .checked_sub(ago)
        .ok_or_else(|| Error::failed("clock before the epoch"))?;
    file.set_modified(then).map_err(fail)
}

/// S-INC-01…04, 12: declares `/t/src.txt` without reading it.
#[proc(needs(dirs_rw = ["/t"]), inputs = ["/t/src.txt"])]
fn build() -> Result<String, Error> {
    write("/t/_ran", "1")?;
    Ok("built".into())
}

/// S-INC-05: always runs.
#[proc(needs(dirs_rw = ["/t"]), no_skip)]
fn deploy() -> Result<String, Error> {
    Ok("deployed".into())
}

/// S-INC-06: declares nothing and is granted nothing.
#[proc]
fn plain() -> Result<String, Error> {
    Ok("deployed".into())
}

/// S-INC-07/08: its result is what `/t/src.txt` holds.
#[proc(needs(dirs = ["/t"]), inputs = ["/t/src.txt"])]
fn dep_build() -> Result<String, Error> {
    let text = std::fs::read_to_string("/t/src.txt").map_err(fail)?;
    Ok(format!("built:{}", text.trim()))
}

/// S-INC-07/08: depends on `dep_build`.
#[proc(deps = ["dep_build"])]
fn dep_deploy(ctx: &Context) -> Result<String, Error> {
    let built: String = ctx.result("dep_build").unwrap_or_default();
    Ok(format!("deployed:{built}"))
}

/// S-INC-09: writes `/t/_deps_changed` (`1` or `0`).
#[proc(needs(dirs_rw = ["/t"]), deps = ["dep_build"], no_skip)]
fn marker(ctx: &Context) -> Result<(), Error> {
    write(
        "/t/_deps_changed",
        if ctx.deps_changed() { "1" } else { "0" },
    )
}

/// S-INC-10: nothing changed.
#[proc]
fn nochange_build() -> Result<(), Error> {
    Err(Error::no_change("nothing to do"))
}

/// S-INC-10: writes `/t/_nc_deps_changed`.
#[proc(needs(dirs_rw = ["/t"]), deps = ["nochange_build"], no_skip)]
fn nochange_test(ctx: &Context) -> Result<(), Error> {
    write(
        "/t/_nc_deps_changed",
        if ctx.deps_changed() { "1" } else { "0" },
    )
}

/// S-INC-13: a computed input (parproc's callable) naming `/t/src_<target>.txt`.
#[proto(
    name = "computed::[target]",
    needs(dirs = ["/t"]),
    inputs = [|d| vec![format!("/t/src_{}.txt", d.arg("target").unwrap_or("none"))]],
)]
fn computed(target: String) -> Result<String, Error> {
    Ok(format!("built_{target}"))
}

/// S-INC-13, with the input's placeholder filled by the host.
#[proto(name = "filled::[target]", needs(dirs = ["/t"]), inputs = ["/t/src_[target].txt"])]
fn filled(target: String) -> Result<String, Error> {
    Ok(format!("built_{target}"))
}

/// S-INC-15: the `.py` files below `/t/sub`.
#[proc(needs(dirs = ["/t"]), inputs = [regex_files("/t/sub", r".*\.py$")])]
fn regex_build() -> Result<String, Error> {
    Ok("built".into())
}

/// S-INC-16: a `regex_files` root that is not a directory.
#[proc(needs(dirs = ["/t"]), inputs = [regex_files("/t/not_a_dir", ".*")])]
fn regex_bad() -> Result<String, Error> {
    Ok("never".into())
}

/// A glob with an ignore rule: every `.txt` below `/t/g` but `*.tmp.txt`.
#[proc(
    needs(dirs = ["/t"]),
    inputs = ["/t/g/**/*.txt"],
    inputs_ignore = ["*.tmp.txt"],
)]
fn globbed() -> Result<String, Error> {
    Ok("globbed".into())
}

/// S-OUT-01: declares an output it never writes.
#[proc(needs(dirs_rw = ["/t"]), outputs = ["/t/missing_output.txt"])]
fn out_missing() -> Result<String, Error> {
    Ok("built".into())
}

/// S-OUT-02: writes its output.
#[proc(needs(dirs_rw = ["/t"]), outputs = ["/t/output.txt"])]
fn out_created() -> Result<String, Error> {
    write("/t/output.txt", "out")?;
    Ok("built".into())
}

/// S-OUT-03: an output that must be younger than an hour.
#[proc(
    needs(dirs_rw = ["/t"]),
    inputs = ["/t/src.txt"],
    outputs = [output("/t/aged.txt", max_age = "1h")],
)]
fn out_aged() -> Result<String, Error> {
    write("/t/aged.txt", "aged")?;
    Ok("built".into())
}

/// S-OUT-04: writes its output, then makes it an hour old.
#[proc(needs(dirs_rw = ["/t"]), outputs = [output("/t/old.txt", max_age = "1s")])]
fn out_backdated() -> Result<String, Error> {
    write("/t/old.txt", "old")?;
    backdate("/t/old.txt", Duration::from_secs(3600))?;
    Ok("built".into())
}

/// S-OUT-05: `max_age` in words.
#[proc(needs(dirs_rw = ["/t"]), outputs = [output("/t/words.txt", max_age = "1 minutes")])]
fn out_words() -> Result<String, Error> {
    write("/t/words.txt", "words")?;
    Ok("built".into())
}

/// S-OUT-06: an hour-old output without the post-run freshness check.
#[proc(
    needs(dirs_rw = ["/t"]),
    outputs = [output("/t/lenient.txt", max_age = "1s", enforce_freshness = false)],
)]
fn out_lenient() -> Result<String, Error> {
    write("/t/lenient.txt", "lenient")?;
    backdate("/t/lenient.txt", Duration::from_secs(3600))?;
    Ok("built".into())
}

/// S-OUT-07: existence is still required without the freshness check.
#[proc(
    needs(dirs_rw = ["/t"]),
    outputs = [output("/t/missing_lenient.txt", enforce_freshness = false)],
)]
fn out_lenient_missing() -> Result<String, Error> {
    Ok("built".into())
}

parproc_guest::export_jobs!(
    build, deploy, plain, dep_build, dep_deploy, marker, nochange_build, nochange_test,
    computed, filled, regex_build, regex_bad, globbed, out_missing, out_created, out_aged,
    out_backdated, out_words, out_lenient, out_lenient_missing;
    task_db,
);
