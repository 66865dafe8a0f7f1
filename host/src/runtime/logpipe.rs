//! The guest's stdout and stderr: WASI output streams that write into a
//! [`LogSink`] and never fail the guest.
//!
//! wasmtime-wasi's `MemoryOutputPipe` fails writes once it is full, which would
//! trap a chatty guest; the sink instead keeps the head and tail of the output
//! and counts what it cuts, so every write here succeeds.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::logsink::{LogSink, Stream};

/// How many bytes a guest may write per `check-write` permit.
const PERMIT: usize = 64 * 1024;

/// One output stream of a guest, writing into a log sink (and, for a tool
/// run through `context.exec`, into a bounded [`Capture`] as well).
#[derive(Clone)]
pub(crate) struct LogPipe {
    sink: LogSink,
    stream: Stream,
    capture: Option<Capture>,
}

impl LogPipe {
    /// A pipe that writes `stream` records into `sink`.
    pub(crate) fn new(sink: LogSink, stream: Stream) -> Self {
        LogPipe {
            sink,
            stream,
            capture: None,
        }
    }

    /// A pipe that also keeps the first bytes written in `capture`.
    pub(crate) fn capturing(sink: LogSink, stream: Stream, capture: Capture) -> Self {
        LogPipe {
            sink,
            stream,
            capture: Some(capture),
        }
    }

    fn put(&self, bytes: &[u8]) {
        self.sink.write(self.stream, bytes);
        if let Some(c) = &self.capture {
            c.put(bytes);
        }
    }
}

/// The first `max` bytes written to a stream, and whether there were more:
/// what `context.exec` returns of a tool's stdout or stderr. Writing past the
/// bound never fails the writer.
#[derive(Clone, Debug)]
pub(crate) struct Capture {
    inner: std::sync::Arc<std::sync::Mutex<Captured>>,
}

#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    max: usize,
    truncated: bool,
}

impl Capture {
    /// A capture keeping at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Capture {
            inner: std::sync::Arc::new(std::sync::Mutex::new(Captured {
                bytes: Vec::new(),
                max,
                truncated: false,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep what fits of `bytes`.
    pub(crate) fn put(&self, bytes: &[u8]) {
        let mut c = self.lock();
        let room = c.max.saturating_sub(c.bytes.len());
        if bytes.len() > room {
            c.truncated = true;
        }
        let take = bytes.len().min(room);
        c.bytes.extend_from_slice(&bytes[..take]);
    }

    /// What was kept, and whether more was written.
    pub(crate) fn take(&self) -> (Vec<u8>, bool) {
        let mut c = self.lock();
        (std::mem::take(&mut c.bytes), c.truncated)
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.put(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.put(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_keeps_the_head_and_says_it_was_cut() {
        let c = Capture::new(5);
        c.put(b"abc");
        c.put(b"defg");
        assert_eq!(c.take(), (b"abcde".to_vec(), true));
        let c = Capture::new(5);
        c.put(b"abcde");
        assert_eq!(c.take(), (b"abcde".to_vec(), false));
    }
}
