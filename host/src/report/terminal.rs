//! Static terminal output: one line per state change and a summary at the end.
//! This is the only module of the host that prints.

#![expect(clippy::print_stderr, reason = "the one printing module")]

use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::time::Duration;

use super::{Event, ProcRecord, Reporter};
use crate::outcome::ProcState;
use crate::session::fmt_duration;

/// Prints parproc's static lines (`• name` when a proc starts, `✓ name (1.00s)`
/// when it ends) to stdout.
#[derive(Debug, Default)]
pub struct StaticReporter {
    quiet: bool,
    out: Mutex<()>,
}

impl StaticReporter {
    /// A reporter; `quiet` prints nothing per proc (the summary still prints).
    pub fn new(quiet: bool) -> Self {
        StaticReporter {
            quiet,
            out: Mutex::new(()),
        }
    }
}

/// The icon parproc shows for a final state.
pub fn icon(state: ProcState) -> &'static str {
    match state {
        ProcState::Succeeded => "✓",
        ProcState::Failed => "✗",
        ProcState::FailedDep => "🚫",
        ProcState::Skipped => "⊘",
        ProcState::Cancelled => "⊗",
        _ => "•",
    }
}

/// Guest text made safe for a terminal: control characters (escape sequences,
/// carriage returns, newlines) are shown escaped, so a guest cannot move the
/// cursor or forge lines.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The final line for a proc: `✗ x (1.00s) - Failure`.
pub fn final_line(rec: &ProcRecord) -> String {
    let mut line = format!("{} {}", icon(rec.state), sanitize(&rec.name));
    if let Some(d) = rec.duration {
        line.push_str(&format!(" ({})", fmt_secs(d)));
    }
    if let Some(f) = &rec.failure {
        line.push_str(&format!(" - {}", sanitize(&f.to_string())));
    }
    line
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

impl Reporter for StaticReporter {
    fn event(&self, event: Event<'_>) {
        if self.quiet {
            return;
        }
        let _guard = self.out.lock();
        let mut out = std::io::stdout().lock();
        let _ = match event {
            Event::Started { name } => writeln!(out, "• {}", sanitize(name)),
            Event::Finished(rec) => writeln!(out, "{}", final_line(rec)),
        };
    }

    fn prompt(&self, prompt: &str, _password: bool) -> Result<String, String> {
        let _guard = self.out.lock();
        eprint!("{}", sanitize(prompt));
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read input: {e}"))?;
        Ok(line)
    }
}

/// Print the end-of-run summary: each proc that was scheduled, its state,
/// duration and the reason for any failure, then the totals.
pub fn print_summary(records: &[ProcRecord], elapsed: Duration) {
    let shown: Vec<&ProcRecord> = records
        .iter()
        .filter(|r| r.state != ProcState::Idle)
        .collect();
    let width = shown
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\nsummary:");
    let mut counts = [0usize; 4];
    for r in &shown {
        let slot = match r.state {
            ProcState::Succeeded => 0,
            ProcState::Skipped => 1,
            ProcState::Failed | ProcState::FailedDep => 2,
            _ => 3,
        };
        counts[slot] += 1;
        let dur = r.duration.map(fmt_secs).unwrap_or_else(|| "-".into());
        let mut line = format!(
            "  {} {:<10} {:<width$} {:>8}",
            icon(r.state),
            r.state.name(),
            sanitize(&r.name),
            dur
        );
        if let Some(f) = &r.failure {
            line.push_str(&format!("  {}", sanitize(&f.to_string())));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{} succeeded, {} skipped, {} failed, {} other in {}",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        fmt_duration(elapsed)
    );
}

/// Print a host error (exit status 2): one line.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("error: {}", sanitize(&format!("{err:#}")));
}

/// Print text to stdout as it is (JSON output, listings).
pub fn print_raw(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
}
