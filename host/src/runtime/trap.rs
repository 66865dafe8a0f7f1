//! How a guest call that did not return ended: out of fuel, over the memory
//! cap, a panic or another trap, told apart from the error, the store's
//! limiter and the guest's stderr.

use wasmtime::Trap;

use super::state::MemoryLimiter;
use crate::logsink::{LogSink, Stream};
use crate::outcome::{Failure, FailureKind};

/// The host stopped a proc for what it pushed at it (an argument or a count
/// over a cap): the failure to report, raised as a trap from a host call.
#[derive(Debug)]
pub(crate) struct HostStop(pub(crate) Failure);

impl std::fmt::Display for HostStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for HostStop {}

/// Classify `err`, raised by a guest call that ran with `fuel` fuel.
pub(crate) fn classify(
    err: &wasmtime::Error,
    fuel: u64,
    limiter: &MemoryLimiter,
    log: &LogSink,
) -> Failure {
    if let Some(stop) = err.downcast_ref::<HostStop>() {
        return stop.0.clone();
    }
    let trap = err.downcast_ref::<Trap>();
    if matches!(trap, Some(Trap::OutOfFuel)) {
        return Failure::new(
            FailureKind::OutOfFuel,
            format!("out of fuel after {fuel} fuel"),
        );
    }
    let root = one_line(&err.root_cause().to_string());
    if limiter.hit() {
        let mut message = format!("memory limit of {} reached", size(limiter.cap()));
        if let Some(line) = stderr_line(log, "memory allocation of") {
            message.push_str(&format!(" ({line})"));
        }
        return Failure::new(FailureKind::MemoryLimit, message);
    }
    if root.contains("resource limit exceeded") {
        return Failure::new(FailureKind::MemoryLimit, root);
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::new(
            FailureKind::Trapped,
            format!("exited with code {} without a result", exit.0),
        );
    }
    let message = guest_panic(log)
        .or_else(|| trap.map(|t| t.to_string()))
        .unwrap_or(root);
    Failure::new(FailureKind::Trapped, message)
}

/// The guest's panic as one line (`panicked at src/lib.rs:10:5: boom`), taken
/// from the Rust panic message on its stderr, if there is one.
pub(crate) fn guest_panic(log: &LogSink) -> Option<String> {
    let stderr: Vec<String> = log
        .records()
        .into_iter()
        .filter(|r| r.stream == Stream::Stderr)
        .map(|r| r.text)
        .collect();
    let at = stderr.iter().rposition(|l| l.contains("panicked at "))?;
    let line = &stderr[at];
    let start = line.find("panicked at ")?;
    let location = line[start..].trim_end().trim_end_matches(':');
    // Since Rust 1.73 the message follows on the next line; before, on the same.
    match stderr.get(at + 1) {
        Some(next) if line.trim_end().ends_with(':') && !next.starts_with("note: ") => {
            Some(one_line(&format!("{location}: {next}")))
        }
        _ => Some(one_line(location)),
    }
}

/// The last stderr line containing `needle`.
fn stderr_line(log: &LogSink, needle: &str) -> Option<String> {
    log.records()
        .into_iter()
        .rev()
        .find(|r| r.stream == Stream::Stderr && r.text.contains(needle))
        .map(|r| one_line(r.text.trim()))
}

/// `text` on one line, at most a few hundred characters.
pub(crate) fn one_line(text: &str) -> String {
    const MAX: usize = 500;
    let mut line: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if line.len() > MAX {
        let mut end = MAX;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}

pub(crate) use crate::units::fmt_size as size;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_panic_line() {
        let log = LogSink::new(1 << 16);
        log.write(Stream::Stdout, b"panicked at nothing\n");
        log.write(
            Stream::Stderr,
            b"\nthread '<unnamed>' panicked at src/lib.rs:10:5:\nboom\nnote: run with `RUST_BACKTRACE=1`\n",
        );
        assert_eq!(
            guest_panic(&log).as_deref(),
            Some("panicked at src/lib.rs:10:5: boom")
        );
        let old = LogSink::new(1 << 16);
        old.write(
            Stream::Stderr,
            b"thread 'main' panicked at 'boom', src/lib.rs:1:1\n",
        );
        assert_eq!(
            guest_panic(&old).as_deref(),
            Some("panicked at 'boom', src/lib.rs:1:1")
        );
        assert_eq!(guest_panic(&LogSink::new(10)), None);
    }

    #[test]
    fn formats_sizes_and_lines() {
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(1000), "1000 bytes");
        assert_eq!(one_line("a\n\n  b \n"), "a; b");
        assert_eq!(one_line(&"é".repeat(400)).chars().count(), 251);
    }
}
