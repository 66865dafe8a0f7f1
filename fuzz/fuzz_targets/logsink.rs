//! The log sink: any sequence of writes and log lines, under any limit, keeps within its
//! limit (plus the cut note) and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parproc_core::logsink::{LogLevel, LogSink, Stream};

#[derive(Debug, arbitrary::Arbitrary)]
enum Op {
    Out(Vec<u8>),
    Err(Vec<u8>),
    Log(u8, String),
}

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    limit: u16,
    ops: Vec<Op>,
}

fuzz_target!(|i: Input| {
    let limit = usize::from(i.limit);
    let sink = LogSink::new(limit);
    let mut written = 0usize;
    for op in i.ops {
        match op {
            Op::Out(b) => {
                written += b.len();
                sink.write(Stream::Stdout, &b);
            }
            Op::Err(b) => {
                written += b.len();
                sink.write(Stream::Stderr, &b);
            }
            Op::Log(l, m) => {
                written += m.len();
                let level = match l % 5 {
                    0 => LogLevel::Trace,
                    1 => LogLevel::Debug,
                    2 => LogLevel::Info,
                    3 => LogLevel::Warn,
                    _ => LogLevel::Error,
                };
                sink.log(level, &m);
            }
        }
    }
    let kept: usize = sink.records().iter().map(|r| r.render().len()).sum();
    // What is kept is bounded by the limit, whatever was written (a cut note aside).
    assert!(
        kept <= limit.max(written.min(limit)) + 4096,
        "kept {kept} of limit {limit}"
    );
});
