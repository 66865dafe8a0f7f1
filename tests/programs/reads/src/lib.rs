//! Procs that read a granted directory `/data` in every way the trace of an
//! incremental run records: a file, a file below a subdirectory, a file that
//! may not exist, a directory listing, a size, a symlink; one that writes, and
//! one that reads slowly (so a test can change the file while it runs), a
//! parent that creates and waits for one of them, and `nap::[i]`, procs that
//! only sleep. Each
//! result says what the proc saw, so a test can tell a restored result from a
//! fresh one.

use parproc_guest::prelude::*;

fn read(path: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::failed(format!("{path}: {e}")))
}

/// Reads `/data/a.txt`.
#[proc(needs(dirs = ["/data"]))]
fn cat(_ctx: &Context) -> Result<String, Error> {
    read("/data/a.txt")
}

/// The upper-cased result of `cat` (reads nothing itself, but is granted `/data`).
#[proc(needs(dirs = ["/data"]), deps = ["cat"])]
fn upper(ctx: &Context) -> Result<String, Error> {
    let text: String = ctx.result("cat").unwrap_or_default();
    Ok(text.to_uppercase())
}

/// Reads `/data/sub/f.txt`.
#[proc(needs(dirs = ["/data"]))]
fn nested(_ctx: &Context) -> Result<String, Error> {
    read("/data/sub/f.txt")
}

/// Whether `/data/maybe.txt` exists.
#[proc(needs(dirs = ["/data"]))]
fn probe(_ctx: &Context) -> Result<bool, Error> {
    Ok(std::fs::metadata("/data/maybe.txt").is_ok())
}

/// The sorted names in `/data/list`.
#[proc(needs(dirs = ["/data"]))]
fn list(_ctx: &Context) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = std::fs::read_dir("/data/list")
        .map_err(|e| Error::failed(format!("/data/list: {e}")))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// The size of `/data/big.bin` (only a stat: its bytes are not read).
#[proc(needs(dirs = ["/data"]))]
fn size(_ctx: &Context) -> Result<u64, Error> {
    std::fs::metadata("/data/big.bin")
        .map(|m| m.len())
        .map_err(|e| Error::failed(format!("/data/big.bin: {e}")))
}

/// Reads through the symlink `/data/link.txt`.
#[proc(needs(dirs = ["/data"]))]
fn linked(_ctx: &Context) -> Result<String, Error> {
    read("/data/link.txt")
}

/// Writes `/data/out.txt`.
#[proc(needs(dirs_rw = ["/data"]))]
fn write_out(_ctx: &Context) -> Result<String, Error> {
    std::fs::write("/data/out.txt", "written").map_err(|e| Error::failed(e.to_string()))?;
    Ok("wrote".into())
}

/// Builds `/data/out/app.bin` from `/data/a.txt` (creating `/data/out`), and
/// removes `/data/stale.tmp` if it is there.
#[proc(needs(dirs_rw = ["/data"]))]
fn build_out(_ctx: &Context) -> Result<usize, Error> {
    let fail = |e: std::io::Error| Error::failed(e.to_string());
    let src = std::fs::read("/data/a.txt").map_err(fail)?;
    std::fs::create_dir_all("/data/out").map_err(fail)?;
    let built: Vec<u8> = src.iter().rev().copied().collect();
    std::fs::write("/data/out/app.bin", &built).map_err(fail)?;
    let _ = std::fs::remove_file("/data/stale.tmp");
    Ok(built.len())
}

/// Opens `/data/slow.txt`, sleeps for the param `sleep_ms` (default 2000),
/// then reads it through the open file (so a test can change it in between).
#[proc(needs(dirs = ["/data"]))]
fn slow_cat(ctx: &Context) -> Result<String, Error> {
    use std::io::Read;
    let fail = |e: std::io::Error| Error::failed(format!("/data/slow.txt: {e}"));
    let mut file = std::fs::File::open("/data/slow.txt").map_err(fail)?;
    let ms: u64 = ctx.param("sleep_ms").unwrap_or(2000);
    std::thread::sleep(std::time::Duration::from_millis(ms));
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(fail)?;
    Ok(text)
}

/// The value of the granted environment variable `PARPROC_TOKEN`.
#[proc(needs(env = ["PARPROC_TOKEN"]))]
fn token(_ctx: &Context) -> Result<String, Error> {
    std::env::var("PARPROC_TOKEN").map_err(|e| Error::failed(e.to_string()))
}

/// Creates and starts `nested` (not a dep), waits for it and returns what it
/// read: an incremental run replays these calls before restoring it.
#[proc]
fn parent(ctx: &Context) -> Result<String, Error> {
    ctx.run("nested")?;
    ctx.wait(["nested"])?;
    let child: String = ctx.result("nested").unwrap_or_default();
    Ok(format!("parent of {child}"))
}

/// Reads the result of `cat`, which is neither a dep nor waited for: what it
/// sees depends on timing.
#[proc]
fn peek(ctx: &Context) -> Result<String, Error> {
    Ok(ctx.result::<String>("cat").unwrap_or_default())
}

fn naps(d: &DepContext) -> Vec<u32> {
    (0..d.param("naps").unwrap_or(40)).collect()
}

/// Sleeps for the param `sleep_ms` (default 2000): many at once fill the live
/// view (`--parallel 40 'nap::*'`).
#[proto(name = "nap::[i]", choices(i = naps))]
fn nap(ctx: &Context, _i: u32) -> Result<(), Error> {
    let ms: u64 = ctx.param("sleep_ms").unwrap_or(2000);
    std::thread::sleep(std::time::Duration::from_millis(ms));
    Ok(())
}

parproc_guest::export_jobs!(
    cat, upper, nested, probe, list, size, linked, write_out, build_out, slow_cat, token, parent,
    peek, nap
);
