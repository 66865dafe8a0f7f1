//! Test fixture for the host's hostile-guest suite: every proc here attacks
//! the host (or tries to escape its sandbox) in one way, beside `quick`, a
//! well-behaved proc whose result must survive them all.
//!
//! The escape attempts return what they managed to read or write as their
//! result, and fail with the error the sandbox gave them otherwise, so a test
//! sees both that the attempt was refused and why.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parproc_guest::prelude::*;

/// Spins forever; only the fuel budget (or a timeout) ends it.
#[proc]
fn spin(_ctx: &Context) -> Result<(), Error> {
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Declares the largest budgets it can, then spins: it must still end at the
/// user's fuel limit.
#[proc(
    fuel = 9_223_372_036_854_775_807,
    memory = 9_223_372_036_854_775_807,
    timeout = 1_000_000_000
)]
fn greedy_spin(_ctx: &Context) -> Result<(), Error> {
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

/// Allocates and touches memory until something stops it.
#[proc]
fn memory_bomb(_ctx: &Context) -> Result<usize, Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![0xa5; 1 << 20]);
        std::hint::black_box(&hoard);
        if hoard.len() == usize::MAX {
            return Ok(hoard.len());
        }
    }
}

#[expect(unconditional_recursion, reason = "the attack")]
fn recurse(depth: u64, trail: &mut [u64; 16]) -> u64 {
    trail[(depth % 16) as usize] = depth;
    std::hint::black_box(recurse(depth + 1, std::hint::black_box(trail))) + 1
}

/// Recurses without end.
#[proc]
fn recursion(_ctx: &Context) -> Result<u64, Error> {
    let mut trail = [0u64; 16];
    Ok(recurse(0, &mut trail))
}

/// Panics.
#[proc]
fn panics(_ctx: &Context) -> Result<(), Error> {
    panic!("hostile panic")
}

/// Aborts the process.
#[proc]
fn aborts(_ctx: &Context) -> Result<(), Error> {
    std::process::abort()
}

/// Writes 100 MB to stdout, then succeeds.
#[proc]
fn log_flood(_ctx: &Context) -> Result<u64, Error> {
    let line = [b'x'; 99];
    let mut chunk = Vec::with_capacity(1 << 16);
    let mut written = 0u64;
    let mut out = std::io::stdout().lock();
    let mut n = 0u64;
    while written < 100_000_000 {
        chunk.clear();
        while chunk.len() + 120 < (1 << 16) {
            let _ = write!(chunk, "{n:>10} ");
            chunk.extend_from_slice(&line[..88]);
            chunk.push(b'\n');
            n += 1;
        }
        out.write_all(&chunk)?;
        written += chunk.len() as u64;
    }
    out.flush()?;
    Ok(written)
}

/// Returns a 100 MB result.
#[proc]
fn huge_result(_ctx: &Context) -> Result<String, Error> {
    Ok("x".repeat(100_000_000))
}

/// Fails with a 10 MB message (every line of it a different number).
#[proc]
fn huge_message(_ctx: &Context) -> Result<(), Error> {
    let mut text = String::with_capacity(10_000_000);
    let mut i = 0u64;
    while text.len() < 10_000_000 {
        text.push_str(&format!("line {i} of a very long failure message\n"));
        i += 1;
    }
    text.truncate(10_000_000);
    Err(Error::failed(text))
}

/// Opens `/data/a.txt` until an open fails, holds every file for 1.5 s, closes
/// them all and opens once more: what it managed and what it was told.
#[proc(needs(dirs = ["/data"]))]
fn fd_hog(_ctx: &Context) -> Result<String, Error> {
    let mut held = Vec::new();
    let error = loop {
        match std::fs::File::open("/data/a.txt") {
            Ok(f) => held.push(f),
            Err(e) => break e.to_string(),
        }
        if held.len() >= 100_000 {
            break "no limit".to_owned();
        }
    };
    let opened = held.len();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(held);
    let again = std::fs::File::open("/data/a.txt").is_ok();
    Ok(format!("opened {opened}, then: {error}; reopened: {again}"))
}

/// Opens `/data/a.txt` ten times at once while `fd_hog` holds its files.
#[proc(needs(dirs = ["/data"]))]
fn fd_neighbour(_ctx: &Context) -> Result<usize, Error> {
    std::thread::sleep(std::time::Duration::from_millis(500));
    let files = (0..10)
        .map(|_| std::fs::File::open("/data/a.txt"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::failed(e.to_string()))?;
    Ok(files.len())
}

/// A child of `million_procs`.
#[proto(name = "child::[i]")]
fn child(_ctx: &Context, i: u32) -> Result<u32, Error> {
    Ok(i)
}

/// Creates a million procs, one at a time.
#[proc]
fn million_procs(ctx: &Context) -> Result<u32, Error> {
    for i in 0..1_000_000u32 {
        ctx.create(&format!("child::{i}"))?;
    }
    Ok(1_000_000)
}

/// Passes a 100 MB name to `context.create`.
#[proc]
fn huge_name(ctx: &Context) -> Result<Vec<String>, Error> {
    ctx.create(&"x".repeat(100_000_000))
}

/// Waits on itself.
#[proc]
fn wait_self(ctx: &Context) -> Result<(), Error> {
    ctx.wait(["wait_self"])
}

/// Waits on `pair_b`, which waits on it.
#[proc]
fn pair_a(ctx: &Context) -> Result<(), Error> {
    ctx.wait(["pair_b"])
}

/// Waits on `pair_a`, which waits on it.
#[proc]
fn pair_b(ctx: &Context) -> Result<(), Error> {
    ctx.wait(["pair_a"])
}

fn read(path: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::failed(format!("{path}: {e}")))
}

/// Reads a file in its granted directory.
#[proc(needs(dirs = ["/data"]))]
fn read_ok(_ctx: &Context) -> Result<String, Error> {
    read("/data/ok.txt")
}

/// Reads through `..` out of its granted directory.
#[proc(needs(dirs = ["/data"]))]
fn read_dotdot(_ctx: &Context) -> Result<String, Error> {
    read("/data/../secret.txt")
}

/// Reads the param `path` (an absolute host path) directly.
#[proc(needs(dirs = ["/data"]))]
fn read_absolute(ctx: &Context) -> Result<String, Error> {
    let path: String = ctx
        .param("path")
        .unwrap_or_else(|| "/etc/passwd".to_owned());
    read(&path)
}

/// Reads a symlink in its granted directory that points outside (relative).
#[proc(needs(dirs = ["/data"]))]
fn read_symlink(_ctx: &Context) -> Result<String, Error> {
    read("/data/link")
}

/// Reads a symlink in its granted directory that points outside (absolute).
#[proc(needs(dirs = ["/data"]))]
fn read_abs_symlink(_ctx: &Context) -> Result<String, Error> {
    read("/data/abs_link")
}

/// Writes into a directory granted read-only (it declares it read-only too).
#[proc(needs(dirs = ["/data"]))]
fn write_readonly(_ctx: &Context) -> Result<(), Error> {
    std::fs::write("/data/written.txt", "pwned")
        .map_err(|e| Error::failed(format!("/data/written.txt: {e}")))
}

/// Writes into a directory granted read-write.
#[proc(needs(dirs_rw = ["/out"]))]
fn write_ok(_ctx: &Context) -> Result<(), Error> {
    std::fs::write("/out/written.txt", "fine")
        .map_err(|e| Error::failed(format!("/out/written.txt: {e}")))
}

/// Needs a directory (read-write) that a test may not grant.
#[proc(needs(dirs_rw = ["/out"], env = ["PARPROC_TOKEN"]))]
fn needs_grants(_ctx: &Context) -> Result<(), Error> {
    Ok(())
}

/// Lists the environment it sees (declares nothing).
#[proc]
fn env_ungranted(_ctx: &Context) -> Result<Vec<(String, String)>, Error> {
    Ok(std::env::vars().collect())
}

/// Lists the environment it sees (declares `PARPROC_TOKEN`).
#[proc(needs(env = ["PARPROC_TOKEN"]))]
fn env_granted(_ctx: &Context) -> Result<Vec<(String, String)>, Error> {
    Ok(std::env::vars().collect())
}

fn connect(ctx: &Context) -> Result<String, Error> {
    let port: u16 = ctx.param("port").unwrap_or(9);
    let addr = format!("127.0.0.1:{port}");
    match std::net::TcpStream::connect(&addr) {
        Ok(mut s) => {
            let _ = s.write_all(b"hello");
            Ok(format!("connected to {addr}"))
        }
        Err(e) => Err(Error::failed(format!("connect {addr}: {e}"))),
    }
}

/// Opens a socket to `127.0.0.1:<param port>` (declares nothing).
#[proc]
fn open_socket(ctx: &Context) -> Result<String, Error> {
    connect(ctx)
}

/// Opens a socket to `127.0.0.1:<param port>` (declares it).
#[proc(needs(network = ["127.0.0.1:*"]))]
fn open_socket_granted(ctx: &Context) -> Result<String, Error> {
    connect(ctx)
}

/// Opens sockets to `127.0.0.1:<param port>` and keeps them until one fails,
/// then closes four and opens one again: `opened N; refused: E; reopened`.
#[proc(needs(network = ["127.0.0.1:*"]))]
fn socket_hog(ctx: &Context) -> Result<String, Error> {
    let port: u16 = ctx.param("port").unwrap_or(9);
    let mut held = Vec::new();
    let refused = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) if held.len() < 10_000 => held.push(s),
            Ok(_) => break "never".to_owned(),
            Err(e) => break e.to_string(),
        }
    };
    let opened = held.len();
    held.truncate(opened.saturating_sub(4));
    let again = std::net::TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| Error::failed(format!("opened {opened}; refused: {refused}; then {e}")))?;
    held.push(again);
    Ok(format!("opened {opened}; refused: {refused}; reopened"))
}

/// Uses randomness (a `HashMap`'s seed, random bytes) and the clock; its fuel
/// and result are reproducible only with `--deterministic`.
#[proc]
fn nondeterministic(_ctx: &Context) -> Result<String, Error> {
    let map: HashMap<u32, u32> = (0..64).map(|i| (i, i * i)).collect();
    let order: Vec<u32> = map.keys().copied().take(8).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(format!("{order:?} at {now}"))
}

/// Plain computation: the same fuel on every run.
#[proc(args(n = 20_000))]
fn compute(_ctx: &Context, n: u64) -> Result<u64, Error> {
    let mut primes = 0;
    for i in 2..n {
        if (2..i).take_while(|d| d * d <= i).all(|d| i % d != 0) {
            primes += 1;
        }
    }
    Ok(primes)
}

/// Finishes at once with a result that must survive every attack.
#[proc]
fn quick(_ctx: &Context) -> Result<String, Error> {
    Ok("intact".into())
}

/// Lists the results it can see after waiting for `compute` (deps: `quick`).
#[proc(deps = ["quick"])]
fn view(ctx: &Context) -> Result<Vec<String>, Error> {
    ctx.wait(["compute"])?;
    Ok(ctx.result_names())
}

parproc_guest::export_jobs!(
    spin,
    greedy_spin,
    sleep_forever,
    memory_bomb,
    recursion,
    panics,
    aborts,
    log_flood,
    huge_result,
    huge_message,
    fd_hog,
    fd_neighbour,
    child,
    million_procs,
    huge_name,
    wait_self,
    pair_a,
    pair_b,
    read_ok,
    read_dotdot,
    read_absolute,
    read_symlink,
    read_abs_symlink,
    write_readonly,
    write_ok,
    needs_grants,
    env_ungranted,
    env_granted,
    open_socket,
    open_socket_granted,
    socket_hog,
    nondeterministic,
    compute,
    quick,
    view,
);
