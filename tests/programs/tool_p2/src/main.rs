//! A tool for the `context.exec` tests, built as a `wasi:cli/command`
//! component. `tests/tools/tool_p1.c` is the same tool as a preview1 command
//! module. The first argument chooses what it does:
//!
//! - `echo ARGS…`: prints `argv` (joined by spaces) and the env var `GREETING`;
//! - `cat FILE`: copies FILE to stdout;
//! - `write FILE TEXT`: writes TEXT to FILE;
//! - `stdin`: copies stdin to stdout;
//! - `flood N`: writes N bytes of `x` to stdout and N to stderr;
//! - `exit N`: exits with code N after a line on stderr;
//! - `spin`: loops for ever; `sleep`: sleeps for ever;
//! - `alloc MIB`: allocates and touches MIB mebibytes, then prints `allocated`;
//! - `tmp N`: writes N bytes to `/tmp/fill` in 64 KiB writes and prints what it wrote;
//! - `ls DIR`: lists DIR's names, sorted.

use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map(String::as_str).unwrap_or("");
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match op {
        "echo" => {
            println!("{}", args.join(" "));
            println!(
                "GREETING={}",
                std::env::var("GREETING").unwrap_or_else(|_| "<unset>".into())
            );
        }
        "cat" => match std::fs::read(arg(2)) {
            Ok(bytes) => std::io::stdout().write_all(&bytes).expect("stdout"),
            Err(e) => {
                eprintln!("cat: {}: {e}", arg(2));
                std::process::exit(2);
            }
        },
        "write" => {
            if let Err(e) = std::fs::write(arg(2), arg(3)) {
                eprintln!("write: {}: {e}", arg(2));
                std::process::exit(2);
            }
        }
        "stdin" => {
            let mut all = Vec::new();
            std::io::stdin().read_to_end(&mut all).expect("stdin");
            std::io::stdout().write_all(&all).expect("stdout");
        }
        "flood" => {
            let n: usize = arg(2).parse().expect("a count");
            let chunk = vec![b'x'; 4096];
            let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                out.write_all(&chunk[..k]).expect("stdout");
                err.write_all(&chunk[..k]).expect("stderr");
                left -= k;
            }
        }
        "exit" => {
            eprintln!("exiting with {}", arg(2));
            std::process::exit(arg(2).parse().expect("a code"));
        }
        "spin" => {
            let mut x: u64 = 1;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        "sleep" => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        "alloc" => {
            let mib: usize = arg(2).parse().expect("MiB");
            let mut v: Vec<Vec<u8>> = Vec::new();
            for _ in 0..mib {
                v.push(vec![1u8; 1 << 20]);
            }
            println!("allocated {}", v.len());
        }
        "tmp" => {
            let n: usize = arg(2).parse().expect("a count");
            let mut f = std::fs::File::create("/tmp/fill").expect("create /tmp/fill");
            let chunk = vec![b't'; 65536];
            let mut written = 0;
            while written < n {
                let k = (n - written).min(chunk.len());
                if let Err(e) = f.write_all(&chunk[..k]) {
                    println!("wrote {written} then: {e}");
                    std::process::exit(3);
                }
                written += k;
            }
            println!("wrote {written}");
        }
        "ls" => {
            let mut names: Vec<String> = match std::fs::read_dir(arg(2)) {
                Ok(d) => d
                    .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(e) => {
                    eprintln!("ls: {}: {e}", arg(2));
                    std::process::exit(2);
                }
            };
            names.sort();
            println!("{}", names.join(" "));
        }
        other => {
            eprintln!("unknown operation `{other}`");
            std::process::exit(64);
        }
    }
}
