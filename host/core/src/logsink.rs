//! A bounded, per-proc log: the guest's stdout and stderr plus its context logs.
//!
//! ## Records
//!
//! Output arrives in chunks ([`LogSink::write`]); each stream keeps a partial
//! line until its newline (or [`LogSink::finish`]), and every complete line
//! becomes one [`LogRecord`] stamped with the time since the sink was created.
//! Context logs ([`LogSink::log`]) are one record per call. Records are ordered
//! by the moment they completed, across all streams.
//!
//! ## Bounds
//!
//! The sink keeps at most about `limit` bytes of text: the first half of the
//! limit (the *head*, whole records while they fit) and the most recent half
//! (the *tail*, a ring of records; a single record larger than the tail keeps
//! its end). Everything in between is counted, and one marker record
//! `[... N bytes of output cut ...]` stands where the cut is. A partial line
//! keeps only its last `limit / 2` bytes, so a huge line without a newline
//! costs bounded memory. The sink never fails a writer, and invalid UTF-8 is
//! replaced, not rejected.
//!
//! This module is pure: no wasmtime, no tokio. The runtime's stdout/stderr
//! streams write into it; the report module reads [`LogSink::records`] or
//! [`LogSink::render`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Severity of a context log record (mirrors the WIT `log-level`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LogLevel {
    /// Very detailed.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal output.
    Info,
    /// Something worth attention.
    Warn,
    /// An error.
    Error,
}

impl LogLevel {
    /// The word used in log files: `trace`, `debug`, `info`, `warning`, `error`.
    pub fn word(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warning",
            LogLevel::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Stream {
    /// The guest's standard output.
    Stdout,
    /// The guest's standard error (also used for the cut marker).
    Stderr,
    /// A `context.log` call at this level.
    Log(LogLevel),
}

/// One line of a proc's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// When the record completed, since the sink was created.
    pub at: Duration,
    /// Its stream.
    pub stream: Stream,
    /// The text, without its newline.
    pub text: String,
}

impl LogRecord {
    /// The record as one line of the log file (without the newline).
    pub fn render(&self) -> String {
        match self.stream {
            Stream::Stdout | Stream::Stderr => self.text.clone(),
            Stream::Log(level) => format!("{}: {}", level.word(), self.text),
        }
    }
}

/// The marker text that stands where output was cut.
fn marker_text(cut: u64) -> String {
    format!("[... {cut} bytes of output cut ...]")
}

/// A per-proc log sink; clones share the same log.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("LogSink")
            .field("limit", &inner.limit)
            .field("records", &(inner.head.len() + inner.tail.len()))
            .field("bytes_written", &inner.written)
            .field("cut", &inner.cut)
            .finish()
    }
}

impl Default for LogSink {
    fn default() -> Self {
        LogSink::new(DEFAULT_LIMIT)
    }
}

/// The default bound of a sink made with [`LogSink::default`]: 1 MiB.
pub const DEFAULT_LIMIT: usize = 1 << 20;

/// A partial line of one stream.
#[derive(Default)]
struct Partial {
    /// The kept bytes (the end of the line so far).
    bytes: Vec<u8>,
    /// Bytes dropped from the front because the line outgrew the tail.
    dropped: u64,
}

struct Inner {
    created: Instant,
    limit: usize,
    head_budget: usize,
    tail_budget: usize,
    head: Vec<LogRecord>,
    head_bytes: usize,
    head_closed: bool,
    tail: VecDeque<LogRecord>,
    tail_bytes: usize,
    cut: u64,
    written: u64,
    stdout: Partial,
    stderr: Partial,
}

impl LogSink {
    /// A sink that keeps about `limit_bytes` of text (half head, half tail).
    pub fn new(limit_bytes: usize) -> Self {
        LogSink {
            inner: Arc::new(Mutex::new(Inner::new(limit_bytes))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the sink inconsistent in a
        // way that matters for a log, so a poisoned lock is simply taken over.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Append a chunk of `stream` output. Complete lines become records; the
    /// rest waits for its newline. `Stream::Log(_)` chunks are logged as one
    /// record per line at that level. Never fails.
    pub fn write(&self, stream: Stream, bytes: &[u8]) {
        let mut inner = self.lock();
        inner.written += bytes.len() as u64;
        match stream {
            Stream::Stdout | Stream::Stderr => inner.write_stream(stream, bytes),
            Stream::Log(_) => {
                for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let text = String::from_utf8_lossy(line).into_owned();
                    inner.push(stream, text);
                }
            }
        }
    }

    /// Record a context log call.
    pub fn log(&self, level: LogLevel, message: &str) {
        let mut inner = self.lock();
        inner.written += message.len() as u64 + 1;
        inner.push(Stream::Log(level), message.to_owned());
    }

    /// Forget everything written so far and restart the clock (used between
    /// calls that share one sink).
    pub fn reset(&self) {
        let mut inner = self.lock();
        let limit = inner.limit;
        *inner = Inner::new(limit);
    }

    /// Flush partial lines as records (the proc has ended). Later writes still work.
    pub fn finish(&self) {
        let mut inner = self.lock();
        inner.flush_partial(Stream::Stdout);
        inner.flush_partial(Stream::Stderr);
    }

    /// The kept records in order, with the cut marker (a `Stderr` record) where
    /// output was cut. Partial lines are not included until [`LogSink::finish`].
    pub fn records(&self) -> Vec<LogRecord> {
        let inner = self.lock();
        let mut out = Vec::with_capacity(inner.head.len() + inner.tail.len() + 1);
        out.extend(inner.head.iter().cloned());
        if inner.cut > 0 {
            let at = inner
                .tail
                .front()
                .map_or_else(|| inner.created.elapsed(), |r| r.at);
            out.push(LogRecord {
                at,
                stream: Stream::Stderr,
                text: marker_text(inner.cut),
            });
        }
        out.extend(inner.tail.iter().cloned());
        out
    }

    /// The log file text: one line per record, stdout and stderr lines as they
    /// are, context logs as `<level>: <message>`.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for record in self.records() {
            text.push_str(&record.render());
            text.push('\n');
        }
        text
    }

    /// True when nothing was written or logged.
    pub fn is_empty(&self) -> bool {
        self.lock().written == 0
    }

    /// Total bytes written and logged, including what was cut (a context log
    /// counts its message and a newline).
    pub fn bytes_written(&self) -> u64 {
        self.lock().written
    }

    /// True when some output was cut.
    pub fn truncated(&self) -> bool {
        self.lock().cut > 0
    }
}

impl Inner {
    fn new(limit: usize) -> Self {
        let head_budget = limit / 2;
        Inner {
            created: Instant::now(),
            limit,
            head_budget,
            tail_budget: limit - head_budget,
            head: Vec::new(),
            head_bytes: 0,
            head_closed: false,
            tail: VecDeque::new(),
            tail_bytes: 0,
            cut: 0,
            written: 0,
            stdout: Partial::default(),
            stderr: Partial::default(),
        }
    }

    fn partial(&mut self, stream: Stream) -> &mut Partial {
        match stream {
            Stream::Stderr => &mut self.stderr,
            _ => &mut self.stdout,
        }
    }

    fn write_stream(&mut self, stream: Stream, mut bytes: &[u8]) {
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n') {
            self.append_partial(stream, &bytes[..pos]);
            self.flush_line(stream);
            bytes = &bytes[pos + 1..];
        }
        self.append_partial(stream, bytes);
    }

    fn append_partial(&mut self, stream: Stream, bytes: &[u8]) {
        let keep = self.tail_budget;
        let partial = self.partial(stream);
        partial.bytes.extend_from_slice(bytes);
        // Trim lazily (at twice the bound) so many small writes stay O(1) amortised.
        if partial.bytes.len() > keep.saturating_mul(2).max(64) {
            let drop = partial.bytes.len() - keep;
            partial.bytes.drain(..drop);
            partial.dropped += drop as u64;
        }
    }

    /// Turn the partial line of `stream` into a record (even when empty).
    fn flush_line(&mut self, stream: Stream) {
        let partial = std::mem::take(self.partial(stream));
        let mut bytes = partial.bytes.as_slice();
        let mut dropped = partial.dropped;
        if dropped > 0 {
            // Start on a character boundary after the cut.
            while let Some((&b, rest)) = bytes.split_first() {
                if b & 0xC0 != 0x80 {
                    break;
                }
                bytes = rest;
                dropped += 1;
            }
        }
        self.cut += dropped;
        if dropped > 0 {
            // The line is longer than the tail can hold: the head is past.
            self.head_closed = true;
        }
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text).to_owned();
        self.push(stream, text);
    }

    fn flush_partial(&mut self, stream: Stream) {
        let partial = self.partial(stream);
        if !partial.bytes.is_empty() || partial.dropped > 0 {
            self.flush_line(stream);
        }
    }

    fn push(&mut self, stream: Stream, text: String) {
        let record = LogRecord {
            at: self.created.elapsed(),
            stream,
            text,
        };
        // A record costs its text and its newline, so empty lines count too.
        let cost = record.text.len() + 1;
        if !self.head_closed && self.head_bytes + cost <= self.head_budget {
            self.head_bytes += cost;
            self.head.push(record);
            return;
        }
        self.head_closed = true;
        self.tail_bytes += cost;
        self.tail.push_back(record);
        while self.tail_bytes > self.tail_budget {
            let len = self.tail.len();
            let Some(front) = self.tail.front_mut() else {
                break;
            };
            let over = self.tail_bytes - self.tail_budget;
            let front_cost = front.text.len() + 1;
            if front_cost <= over || len > 1 {
                // Drop whole records from the front while more than one is left.
                self.tail_bytes -= front_cost;
                self.cut += front_cost as u64;
                self.tail.pop_front();
            } else {
                // A single record larger than the tail: keep its end.
                let mut at = over;
                while !front.text.is_char_boundary(at) {
                    at += 1;
                }
                front.text.drain(..at);
                self.tail_bytes -= at;
                self.cut += at as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sink: &LogSink) -> Vec<String> {
        sink.records().into_iter().map(|r| r.render()).collect()
    }

    #[test]
    fn orders_records_across_streams() {
        let sink = LogSink::new(1 << 16);
        sink.write(Stream::Stdout, b"one\n");
        sink.write(Stream::Stderr, b"two\n");
        sink.log(LogLevel::Info, "three");
        sink.write(Stream::Stdout, b"four\nfive\n");
        sink.log(LogLevel::Warn, "six");
        sink.log(LogLevel::Error, "seven");
        assert_eq!(
            texts(&sink),
            [
                "one",
                "two",
                "info: three",
                "four",
                "five",
                "warning: six",
                "error: seven"
            ]
        );
        let records = sink.records();
        assert_eq!(records[1].stream, Stream::Stderr);
        assert!(records.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(
            sink.render(),
            "one\ntwo\ninfo: three\nfour\nfive\nwarning: six\nerror: seven\n"
        );
        assert!(!sink.truncated());
        assert_eq!(sink.bytes_written(), 4 + 4 + 6 + 10 + 4 + 6);
    }

    #[test]
    fn keeps_partial_lines_per_stream() {
        let sink = LogSink::new(1 << 16);
        assert!(sink.is_empty());
        sink.write(Stream::Stdout, b"hel");
        sink.write(Stream::Stderr, b"err");
        sink.write(Stream::Stdout, b"lo\nwor");
        assert!(!sink.is_empty());
        assert_eq!(texts(&sink), ["hello"]);
        sink.write(Stream::Stderr, b"or\n");
        assert_eq!(texts(&sink), ["hello", "error"]);
        sink.finish();
        assert_eq!(texts(&sink), ["hello", "error", "wor"]);
        // Finishing twice adds nothing; an empty line is still a line.
        sink.finish();
        sink.write(Stream::Stdout, b"\n");
        assert_eq!(texts(&sink), ["hello", "error", "wor", ""]);
    }

    #[test]
    fn replaces_invalid_utf8_and_strips_cr() {
        let sink = LogSink::new(1 << 16);
        sink.write(Stream::Stdout, b"a\xffb\r\n");
        assert_eq!(texts(&sink), ["a\u{fffd}b"]);
    }

    #[test]
    fn cuts_the_middle_and_marks_it() {
        // 100 bytes: head 50, tail 50. Lines cost 10 bytes (9 and a newline).
        let sink = LogSink::new(100);
        for i in 0..100 {
            sink.write(Stream::Stdout, format!("line {i:04}\n").as_bytes());
        }
        let lines = texts(&sink);
        // Head: 5 whole lines; tail: the last 5 lines.
        assert_eq!(
            &lines[..5],
            [
                "line 0000",
                "line 0001",
                "line 0002",
                "line 0003",
                "line 0004"
            ]
        );
        let cut = 1000 - 10 * 10;
        assert_eq!(lines[5], format!("[... {cut} bytes of output cut ...]"));
        assert_eq!(
            &lines[6..],
            [
                "line 0095",
                "line 0096",
                "line 0097",
                "line 0098",
                "line 0099"
            ]
        );
        assert!(sink.truncated());
        assert_eq!(sink.bytes_written(), 1000);
    }

    #[test]
    fn keeps_the_end_of_a_huge_single_line() {
        let sink = LogSink::new(1000);
        sink.write(Stream::Stdout, b"start\n");
        let mut line = vec![b'x'; 10_000_000];
        line.extend_from_slice(b"THE END");
        for chunk in line.chunks(4096) {
            sink.write(Stream::Stdout, chunk);
        }
        sink.finish();
        let records = sink.records();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].text, "start");
        assert!(
            records[1].text.starts_with("[... "),
            "{:?}",
            records[1].text
        );
        assert!(records[2].text.ends_with("xxTHE END"));
        // The tail holds 500 bytes: 499 of text and the newline.
        assert_eq!(records[2].text.len(), 499);
        let cut = 10_000_007 + 1 - 500;
        assert_eq!(
            records[1].text,
            format!("[... {cut} bytes of output cut ...]")
        );
    }

    #[test]
    fn cuts_multibyte_text_on_char_boundaries() {
        // Tail 11 bytes: the kept end starts inside a two-byte character.
        let sink = LogSink::new(21);
        sink.write(Stream::Stderr, "é".repeat(1000).as_bytes());
        sink.write(Stream::Stderr, b"\n");
        let records = sink.records();
        let last = &records.last().expect("a record").text;
        assert!(last.chars().all(|c| c == 'é'), "{last:?}");
        assert!(last.len() <= 10);
    }

    #[test]
    fn many_small_writes_stay_cheap() {
        let sink = LogSink::new(4096);
        let start = Instant::now();
        for i in 0..200_000u32 {
            sink.write(Stream::Stdout, b"x");
            if i % 50 == 49 {
                sink.write(Stream::Stdout, b"\n");
            }
        }
        sink.finish();
        // Bounded memory: about the limit plus the marker.
        let kept: usize = sink.records().iter().map(|r| r.text.len()).sum();
        assert!(kept <= 4096 + 64, "{kept}");
        assert!(sink.truncated());
        // Linear: a quadratic implementation takes minutes here.
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn zero_limit_keeps_only_the_marker() {
        let sink = LogSink::new(0);
        sink.write(Stream::Stdout, b"abc\n");
        sink.log(LogLevel::Debug, "d");
        assert_eq!(texts(&sink), ["[... 6 bytes of output cut ...]"]);
        assert_eq!(sink.bytes_written(), 6);
    }
}
