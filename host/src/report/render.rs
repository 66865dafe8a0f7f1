//! The text people see, as strings: proc lines, log chunks, the end-of-run
//! summary, failure and warning blocks. Pure: [`super::terminal`] prints it.
//!
//! Everything that came from a guest (names, messages, log lines) goes through
//! [`sanitize`] or [`sanitize_log_line`] first, so a guest cannot move the
//! cursor, clear the screen or forge a line of our output.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::ProcRecord;
use super::snippet::{self, Chunk, Extract, IgnoreRules};
use crate::outcome::{FailureKind, ProcState};

/// How to decorate text: colours and terminal hyperlinks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
    /// Mark names and paths as links to their files (OSC 8).
    pub links: bool,
}

impl Style {
    /// Plain text: no colours, no links.
    pub const PLAIN: Style = Style {
        color: false,
        links: false,
    };

    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\u{1b}[{sgr}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    /// Green text.
    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Red text.
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Yellow text.
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Dim text.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Bold text.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// `text` as a link to the file `path` when links are on.
    pub fn link(&self, text: &str, path: Option<&Path>) -> String {
        match path {
            Some(p) if self.links => {
                format!("\u{1b}]8;;{}\u{1b}\\{text}\u{1b}]8;;\u{1b}\\", file_url(p))
            }
            _ => text.to_owned(),
        }
    }

    /// The icon of a final state, coloured.
    pub fn icon(&self, state: ProcState) -> String {
        let i = icon(state);
        match state {
            ProcState::Succeeded => self.green(i),
            ProcState::Failed => self.red(i),
            ProcState::FailedDep | ProcState::Cancelled => self.yellow(i),
            _ => i.to_owned(),
        }
    }
}

/// A `file://` URL for an absolute path, percent-encoding what must be.
pub fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    let text = path.to_string_lossy();
    if !text.starts_with('/') {
        url.push('/');
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

/// The icon parproc shows for a final state.
pub fn icon(state: ProcState) -> &'static str {
    match state {
        ProcState::Succeeded => "✓",
        ProcState::Failed => "✗",
        ProcState::FailedDep => "🚫",
        ProcState::Skipped => "⊘",
        ProcState::Cancelled => "⊗",
        ProcState::UpToDate => "↷",
        _ => "•",
    }
}

pub use parproc_core::text::{sanitize, sanitize_log_line};

pub use crate::units::fmt_secs as secs;

/// parproc's suffix for a final state (docs/planner.md §14): ` skipped`, ` dependency failed`,
/// ` failed`, ` timeout`, …; empty for success.
pub fn suffix(rec: &ProcRecord) -> String {
    match rec.state {
        ProcState::Skipped => match rec.failure.as_ref().map(|f| f.kind) {
            Some(FailureKind::NoChange) => " no change".into(),
            _ => " skipped".into(),
        },
        ProcState::FailedDep => " dependency failed".into(),
        ProcState::Cancelled => " cancelled".into(),
        ProcState::UpToDate => " up-to-date".into(),
        ProcState::Failed => match rec.failure.as_ref().map(|f| f.kind) {
            Some(FailureKind::TimedOut) => " timeout".into(),
            Some(kind) => format!(" {}", kind.label()),
            None => " failed".into(),
        },
        _ => String::new(),
    }
}

/// The most characters of a failure message shown on a proc's end line and its
/// summary row; the `failures:` block shows it whole (README "What a run shows").
pub const SHORT_MESSAGE: usize = 240;

/// The most characters of one log line shown in a snippet.
pub const SNIPPET_LINE: usize = 2000;

/// `text` cut to `max` characters, with `…` when cut.
fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]).into(),
        None => text.into(),
    }
}

/// The reason shown after ` - `: the failure message (shortened), or for a
/// failed proc without one, `logfile: <path>`.
fn info(rec: &ProcRecord, log: Option<&Path>) -> Option<String> {
    let f = rec.failure.as_ref()?;
    if !f.message.is_empty() {
        return Some(sanitize(&shorten(&f.message, SHORT_MESSAGE)));
    }
    match log {
        Some(p) if rec.state == ProcState::Failed => {
            Some(format!("logfile: {}", sanitize(&p.display().to_string())))
        }
        _ => None,
    }
}

/// The line printed when a proc starts (static mode): `• name`.
pub fn started_line(name: &str) -> String {
    format!("• {}", sanitize(name))
}

/// `  why: input `/data/a.txt` changed` under a proc's line, when `--explain`
/// left its reason in the record (guest text escaped).
pub fn why_line(rec: &ProcRecord) -> Option<String> {
    rec.why.as_ref().map(|w| format!("  why: {}", sanitize(w)))
}

/// The line printed when a proc ends in static mode (parproc's static output):
/// `<icon> <name>[ - <info>]<suffix>`.
pub fn static_line(rec: &ProcRecord, log: Option<&Path>, style: Style) -> String {
    let mut line = format!(
        "{} {}",
        style.icon(rec.state),
        style.link(&sanitize(&rec.name), log)
    );
    if let Some(i) = info(rec, log) {
        let _ = write!(line, " - {i}");
    }
    line.push_str(&style.dim(&suffix(rec)));
    line
}

/// The permanent line printed when a proc ends in the live view, worded to
/// read as a sentence (the static lines keep parproc's order):
/// `<icon> <name> (<secs>)[ <state>][: <message>]`, for example
/// `✗ link (1.20s) failed: no windows linker`, `⊗ test cancelled: interrupted`,
/// `✗ f (0.10s) trapped (logfile: <path>)`; a proc not run for a failed dep
/// shows parproc's message alone (it says why).
pub fn dynamic_line(rec: &ProcRecord, log: Option<&Path>, style: Style) -> String {
    let mut line = format!(
        "{} {}",
        style.icon(rec.state),
        style.link(&sanitize(&rec.name), log)
    );
    if let Some(d) = rec.duration {
        line.push_str(&style.dim(&format!(" ({})", secs(d))));
    }
    let word = match rec.state {
        ProcState::FailedDep => String::new(),
        _ => suffix(rec),
    };
    line.push_str(&style.dim(&word));
    let message = rec.failure.as_ref().is_some_and(|f| !f.message.is_empty());
    match info(rec, log) {
        Some(i) if message => {
            let _ = write!(line, ": {i}");
        }
        Some(i) => {
            let _ = write!(line, " ({i})");
        }
        None => {}
    }
    line
}

/// The chunks to show for a finished proc, from its log text. A proc that
/// ran and failed shows its snippet; any other (a success, or a proc stopped
/// by an interrupt) only its keyword lines.
pub fn chunks_for(rec: &ProcRecord, text: &str, full_log: bool) -> Vec<Chunk> {
    let rules = IgnoreRules::new(&rec.log_ignore);
    snippet::extract(
        text,
        Extract {
            failed: rec.state == ProcState::Failed,
            succeeded: rec.state.is_success(),
            full_log,
        },
        &rules,
    )
}

/// How a chunk's header counts its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// As parproc's static mode prints it: `--- lines a-b ---` over the lines
    /// the chunk covers, a trailing empty line included.
    Parproc,
    /// Over the lines shown: `--- lines 1-2 ---` above two lines, `--- line 7 ---`
    /// above one (the summary's blocks).
    Shown,
}

/// Chunks with a header (`--- lines a-b ---`, see [`Header`]) and each line
/// indented by `indent` (empty lines stay empty; a trailing empty line is not
/// shown).
pub fn chunk_lines(chunks: &[Chunk], indent: &str, header: Header, style: Style) -> Vec<String> {
    let mut out = Vec::new();
    for c in chunks {
        let mut lines: Vec<&str> = c.lines().collect();
        let trailing = lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty());
        if trailing {
            lines.pop();
        }
        let last = match header {
            Header::Shown if trailing => c.last.saturating_sub(1).max(c.first),
            _ => c.last,
        };
        let title = match header {
            Header::Shown if last == c.first => format!("--- line {last} ---"),
            _ => format!("--- lines {}-{last} ---", c.first),
        };
        out.push(format!("{indent}{}", style.dim(&title)));
        for l in lines {
            if l.is_empty() {
                out.push(String::new());
            } else {
                let l = shorten(l, SNIPPET_LINE);
                out.push(format!("{indent}{}", sanitize_log_line(&l, style.color)));
            }
        }
    }
    out
}

/// The live view's log panel for a finished proc: a rule with the log's path,
/// the chunks separated by blank lines, a closing rule; red for a failure,
/// yellow otherwise.
pub fn panel(rec: &ProcRecord, chunks: &[Chunk], log: Option<&Path>, style: Style) -> Vec<String> {
    let paint = |s: &str| {
        if rec.state.is_failure() {
            style.red(s)
        } else {
            style.yellow(s)
        }
    };
    let title = match log {
        Some(p) => style.link(&sanitize(&p.display().to_string()), Some(p)),
        None => sanitize(&rec.name),
    };
    let mut out = vec![format!("  {} {title} {}", paint("──"), paint("──"))];
    for (i, c) in chunks.iter().enumerate() {
        if i > 0 {
            out.push(format!("  {}", paint("│")));
        }
        let mut lines: Vec<&str> = c.lines().collect();
        if lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        for l in lines {
            out.push(format!(
                "  {} {}",
                paint("│"),
                sanitize_log_line(l, style.color)
            ));
        }
    }
    out.push(format!("  {}", paint("──")));
    out
}

/// Everything known at the end of a run, for the summary.
#[derive(Debug)]
pub struct Finished<'a> {
    /// Every proc record.
    pub records: &'a [ProcRecord],
    /// Log files by proc name.
    pub logs: &'a HashMap<String, std::path::PathBuf>,
    /// The run's log directory, if one was made.
    pub log_dir: Option<&'a Path>,
    /// How long the run took.
    pub elapsed: Duration,
    /// `--full-log-on-failure`.
    pub full_log: bool,
    /// The terminal's width in columns, when the summary goes to one: rows
    /// are laid out to fit it (no log-file column when it does not fit, the
    /// reason cut), so a row never wraps.
    pub width: Option<usize>,
}

impl Finished<'_> {
    fn log(&self, name: &str) -> Option<&Path> {
        self.logs.get(name).map(|p| p.as_path())
    }

    fn chunks(&self, rec: &ProcRecord) -> Vec<Chunk> {
        match self
            .log(&rec.name)
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            Some(text) => chunks_for(rec, &text, self.full_log),
            None => match super::logs::log_text(rec) {
                Some(text) => chunks_for(rec, &text, self.full_log),
                None => Vec::new(),
            },
        }
    }
}

/// The end-of-run text: the summary table, warning and failure blocks, the log
/// directory and the totals.
/// Fuel used, machine-independent: `7.29M fuel`, `950 fuel`.
fn fuel(n: u64) -> String {
    let n_f = n as f64;
    if n < 10_000 {
        format!("{n} fuel")
    } else if n < 10_000_000 {
        format!("{:.1}k fuel", n_f / 1e3)
    } else if n < 10_000_000_000 {
        format!("{:.2}M fuel", n_f / 1e6)
    } else {
        format!("{:.2}G fuel", n_f / 1e9)
    }
}

/// The end-of-run summary: one line per scheduled proc, then the totals.
pub fn summary(f: &Finished<'_>, style: Style) -> String {
    let shown: Vec<&ProcRecord> = f
        .records
        .iter()
        .filter(|r| r.state != ProcState::Idle)
        .collect();
    let mut out = String::from("\nsummary:\n");
    let name_w = width(shown.iter().map(|r| sanitize(&r.name)), 60);
    let log_name = |r: &ProcRecord| {
        f.log(&r.name)
            .and_then(|p| p.file_name())
            .map(|n| sanitize(&n.to_string_lossy()))
    };
    let mut log_w = width(shown.iter().filter_map(|r| log_name(r)), 60);
    // `  ✓ SUCCEEDED  name  duration  fuel`: the columns before the log file.
    const FIXED: usize = 2 + 2 + 1 + 10 + 1 + 1 + 8 + 2 + 12;
    let reasons = shown.iter().any(|r| r.failure.is_some());
    if let Some(w) = f.width
        && (FIXED + name_w + 2 + log_w > w || (reasons && FIXED + name_w + 2 + log_w + 2 + 24 > w))
    {
        // The log files are named in the failures block and the log directory;
        // a reason needs the room more.
        log_w = 0;
    }
    for r in &shown {
        let dur = r.duration.map(secs).unwrap_or_else(|| "-".into());
        let state = format!("{:<10}", r.state.name());
        let state = match r.state {
            ProcState::Succeeded => style.green(&state),
            ProcState::Failed => style.red(&state),
            ProcState::FailedDep | ProcState::Cancelled => style.yellow(&state),
            _ => state,
        };
        let name = sanitize(&r.name);
        let fuel = r.fuel_used.map(fuel).unwrap_or_else(|| "-".into());
        // Every icon takes two columns, so the columns after it line up.
        let icon_pad = match columns(icon(r.state)) {
            0 | 1 => " ",
            _ => "",
        };
        let mut line = format!(
            "  {}{icon_pad} {state} {}{} {:>8}  {:>12}",
            style.icon(r.state),
            name,
            pad(&name, name_w),
            dur,
            fuel
        );
        let mut used = FIXED + name_w;
        if log_w > 0 {
            let l = log_name(r).unwrap_or_else(|| "-".into());
            let padding = pad(&l, log_w);
            let _ = write!(line, "  {}{padding}", style.link(&l, f.log(&r.name)));
            used += 2 + log_w;
        }
        if let Some(fail) = &r.failure {
            let reason = sanitize(&shorten(&fail.to_string(), SHORT_MESSAGE));
            // Too little room: the failures block below has every reason whole.
            let reason = match f.width.map(|w| w.saturating_sub(used + 2)) {
                Some(room) if room < 8 => String::new(),
                Some(room) => fit(&reason, room),
                None => reason,
            };
            let _ = write!(line, "  {reason}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }

    let warned: Vec<(&ProcRecord, Vec<Chunk>)> = shown
        .iter()
        .filter(|r| r.state == ProcState::Succeeded)
        .map(|r| (*r, f.chunks(r)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    if !warned.is_empty() {
        out.push_str(&format!("\n{}\n", style.yellow("warnings:")));
        for (r, chunks) in warned {
            let _ = writeln!(
                out,
                "{} {}",
                style.yellow("!"),
                style.bold(&sanitize(&r.name))
            );
            if let Some(p) = f.log(&r.name) {
                let _ = writeln!(out, "    log: {}", path_text(p, style));
            }
            for l in chunk_lines(&chunks, "    ", Header::Shown, style) {
                let _ = writeln!(out, "{l}");
            }
        }
    }

    let failures = failure_blocks(f, &shown, style);
    if !failures.is_empty() {
        out.push_str(&format!("\n{}\n", style.red("failures:")));
        out.push_str(&failures);
    }

    out.push('\n');
    if let Some(dir) = f.log_dir {
        let _ = writeln!(out, "logs: {}", path_text(dir, style));
    }
    out.push_str(&totals(&shown, f.elapsed));
    out.push('\n');
    out
}

fn path_text(p: &Path, style: Style) -> String {
    style.link(&sanitize(&p.display().to_string()), Some(p))
}

/// Columns `text` takes on a terminal (a wide character takes two).
fn columns(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

fn width(items: impl Iterator<Item = String>, max: usize) -> usize {
    items.map(|s| columns(&s)).max().unwrap_or(0).min(max)
}

fn pad(text: &str, w: usize) -> String {
    " ".repeat(w.saturating_sub(columns(text)))
}

/// `text` cut to at most `max` columns, with `…` when cut.
fn fit(text: &str, max: usize) -> String {
    if columns(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `5 succeeded, 1 failed, 4 dependency failed in 9.02s` (zero counts other
/// than succeeded and failed are left out).
pub fn totals(shown: &[&ProcRecord], elapsed: Duration) -> String {
    let count = |s: ProcState| shown.iter().filter(|r| r.state == s).count();
    let mut parts = vec![
        format!("{} succeeded", count(ProcState::Succeeded)),
        format!("{} failed", count(ProcState::Failed)),
    ];
    for (state, word) in [
        (ProcState::FailedDep, "dependency failed"),
        (ProcState::Skipped, "skipped"),
        (ProcState::Cancelled, "cancelled"),
        (ProcState::UpToDate, "up-to-date"),
        (ProcState::Wanted, "not run"),
        (ProcState::Running, "still running"),
    ] {
        let n = count(state);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    format!(
        "{} in {}",
        parts.join(", "),
        crate::units::fmt_duration(elapsed)
    )
}

/// The dep a FAILED_DEP proc was cancelled for: the name in its message when
/// that is a proc of the run, else its first dep in a failure state.
pub fn cause<'a>(
    rec: &ProcRecord,
    by_name: &HashMap<&str, &'a ProcRecord>,
) -> Option<&'a ProcRecord> {
    let f = rec.failure.as_ref()?;
    if f.kind != FailureKind::DepFailed {
        return None;
    }
    let named = f
        .message
        .strip_prefix("canceled due to failure of \"")
        .and_then(|m| m.strip_suffix('"'))
        .and_then(|n| by_name.get(n).copied());
    named.or_else(|| {
        rec.deps
            .iter()
            .filter_map(|d| by_name.get(d.as_str()).copied())
            .find(|d| d.state.is_failure())
    })
}

/// One block per root failure: its name and reason, its log file, its chunks,
/// and the procs that did not run because of it (as a tree).
fn failure_blocks(f: &Finished<'_>, shown: &[&ProcRecord], style: Style) -> String {
    let by_name: HashMap<&str, &ProcRecord> = shown.iter().map(|r| (r.name.as_str(), *r)).collect();
    let mut children: HashMap<&str, Vec<&ProcRecord>> = HashMap::new();
    let mut roots: Vec<&ProcRecord> = Vec::new();
    for r in shown {
        match r.state {
            ProcState::Failed => roots.push(r),
            ProcState::FailedDep => match cause(r, &by_name) {
                Some(c) if c.name != r.name => children.entry(c.name.as_str()).or_default().push(r),
                _ => roots.push(r),
            },
            _ => {}
        }
    }
    let mut out = String::new();
    for r in roots {
        let label = match r.state {
            ProcState::FailedDep => r
                .failure
                .as_ref()
                .map_or("dependency failed", |f| f.kind.label()),
            _ => r.failure.as_ref().map_or("failed", |f| f.kind.label()),
        };
        let mut head = format!(
            "{} {} {}",
            style.icon(r.state),
            style.bold(&sanitize(&r.name)),
            style.red(label)
        );
        if let Some(d) = r.duration {
            head.push_str(&style.dim(&format!(" after {}", secs(d))));
        }
        let _ = writeln!(out, "{head}");
        if let Some(fail) = &r.failure
            && !fail.message.is_empty()
        {
            let _ = writeln!(out, "    reason: {}", sanitize(&fail.message));
        }
        if let Some(p) = f.log(&r.name) {
            let _ = writeln!(out, "    log: {}", path_text(p, style));
        }
        for l in chunk_lines(&f.chunks(r), "    ", Header::Shown, style) {
            let _ = writeln!(out, "{l}");
        }
        if children.contains_key(r.name.as_str()) {
            let _ = writeln!(out, "    not run because {} failed:", sanitize(&r.name));
            tree(&children, &r.name, 3, &mut out, style, &mut Vec::new());
        }
    }
    let cancelled: Vec<String> = shown
        .iter()
        .filter(|r| r.state == ProcState::Cancelled)
        .map(|r| sanitize(&r.name))
        .collect();
    if !cancelled.is_empty() {
        // On a terminal, wrapped between names (never inside one).
        let mut line = format!("{} cancelled:", style.icon(ProcState::Cancelled));
        let mut used = columns(icon(ProcState::Cancelled)) + 11;
        for (i, name) in cancelled.iter().enumerate() {
            let sep = if i + 1 < cancelled.len() { "," } else { "" };
            let w = columns(name) + sep.len() + 1;
            if f.width.is_some_and(|max| used + w > max && used > 4) {
                out.push_str(&line);
                out.push('\n');
                line = String::from("   ");
                used = 3;
            }
            let _ = write!(line, " {name}{sep}");
            used += w;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn tree<'a>(
    children: &HashMap<&str, Vec<&'a ProcRecord>>,
    name: &str,
    depth: usize,
    out: &mut String,
    style: Style,
    seen: &mut Vec<&'a str>,
) {
    for c in children.get(name).into_iter().flatten() {
        if seen.contains(&c.name.as_str()) {
            continue;
        }
        seen.push(&c.name);
        let _ = writeln!(
            out,
            "{}{} {}",
            "  ".repeat(depth),
            style.icon(c.state),
            sanitize(&c.name)
        );
        tree(children, &c.name, depth + 1, out, style, seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Failure;

    fn rec(name: &str, state: ProcState, failure: Option<Failure>, deps: &[&str]) -> ProcRecord {
        ProcRecord {
            failure,
            deps: deps.iter().map(|d| d.to_string()).collect(),
            duration: matches!(state, ProcState::Succeeded | ProcState::Failed)
                .then_some(Duration::from_millis(1500)),
            ..ProcRecord::bare(name, state)
        }
    }

    #[test]
    fn summary_rows_line_up_and_fit_a_narrow_terminal() {
        let mut failed = rec(
            "compile_everything",
            ProcState::Failed,
            Some(Failure::new(
                FailureKind::Failed,
                "the linker could not find the windows import library for kernel32",
            )),
            &[],
        );
        failed.fuel_used = Some(123_456_789_012);
        let mut ok = rec("ok", ProcState::Succeeded, None, &[]);
        ok.fuel_used = Some(950);
        let dep = rec(
            "after",
            ProcState::FailedDep,
            Some(Failure::new(
                FailureKind::DepFailed,
                "canceled due to failure of \"compile_everything\"",
            )),
            &["compile_everything"],
        );
        let records = vec![ok, failed, dep];
        let logs: HashMap<String, std::path::PathBuf> = ["ok", "compile_everything"]
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    format!("/logs/{n}-with-a-long-log-file-name.log").into(),
                )
            })
            .collect();
        let text = |width| {
            summary(
                &Finished {
                    records: &records,
                    logs: &logs,
                    log_dir: None,
                    elapsed: Duration::from_secs(3),
                    full_log: false,
                    width,
                },
                Style::PLAIN,
            )
        };
        let rows = |t: &str| -> Vec<String> {
            t.split("\nsummary:\n")
                .nth(1)
                .unwrap()
                .lines()
                .take(3)
                .map(str::to_owned)
                .collect()
        };
        let t = text(Some(80));
        let cut = &rows(&t)[1];
        assert!(
            columns(cut) <= 80 && cut.ends_with('…'),
            "the reason is cut: {t}"
        );
        for (width, logs_shown) in [(None, true), (Some(60), false)] {
            let t = text(width);
            let rows = rows(&t);
            // The name starts at the same column on every row (🚫 is two columns wide).
            let at: Vec<usize> = rows
                .iter()
                .map(|r| {
                    let name = ["ok", "compile_everything", "after"]
                        .into_iter()
                        .find(|n| r.contains(&format!(" {n}")))
                        .unwrap();
                    columns(&r[..r.find(&format!(" {name}")).unwrap()])
                })
                .collect();
            assert!(at.iter().all(|&c| c == at[0]), "{at:?}\n{t}");
            // Wide fuel never touches the duration.
            assert!(rows[1].contains("1.50s  123.46G fuel"), "{t}");
            assert_eq!(
                rows[0].contains("with-a-long-log-file-name"),
                logs_shown,
                "{t}"
            );
            if let Some(w) = width {
                for r in &rows {
                    assert!(columns(r) <= w, "{} columns: {r}", columns(r));
                }
                assert!(
                    !rows[1].contains("the linker"),
                    "no room for the reason: {t}"
                );
            }
        }
    }

    #[test]
    fn static_lines_follow_parproc() {
        let ok = rec("func0", ProcState::Succeeded, None, &[]);
        assert_eq!(static_line(&ok, None, Style::PLAIN), "✓ func0");
        let skipped = rec("skipped_task", ProcState::Skipped, None, &[]);
        assert_eq!(
            static_line(&skipped, None, Style::PLAIN),
            "⊘ skipped_task skipped"
        );
        let dep = rec(
            "x_a",
            ProcState::FailedDep,
            Some(Failure::new(
                FailureKind::DepFailed,
                "canceled due to failure of \"x\"",
            )),
            &["x"],
        );
        assert_eq!(
            static_line(&dep, None, Style::PLAIN),
            "🚫 x_a - canceled due to failure of \"x\" dependency failed"
        );
        let failed = rec(
            "f",
            ProcState::Failed,
            Some(Failure::new(FailureKind::Trapped, "")),
            &[],
        );
        assert_eq!(
            static_line(&failed, Some(Path::new("/l/f.log")), Style::PLAIN),
            "✗ f - logfile: /l/f.log trapped"
        );
        let to = rec(
            "t",
            ProcState::Failed,
            Some(Failure::new(FailureKind::TimedOut, "timed out after 2s")),
            &[],
        );
        assert_eq!(
            static_line(&to, None, Style::PLAIN),
            "✗ t - timed out after 2s timeout"
        );
        assert_eq!(dynamic_line(&ok, None, Style::PLAIN), "✓ func0 (1.50s)");
        // The live view reads as a sentence: the state, then why.
        assert_eq!(
            dynamic_line(&to, None, Style::PLAIN),
            "✗ t (1.50s) timeout: timed out after 2s"
        );
        assert_eq!(
            dynamic_line(&failed, Some(Path::new("/l/f.log")), Style::PLAIN),
            "✗ f (1.50s) trapped (logfile: /l/f.log)"
        );
        let cancelled = rec(
            "c",
            ProcState::Cancelled,
            Some(Failure::new(FailureKind::Cancelled, "interrupted")),
            &[],
        );
        assert_eq!(
            dynamic_line(&cancelled, None, Style::PLAIN),
            "⊗ c cancelled: interrupted"
        );
        let not_run = rec(
            "n",
            ProcState::FailedDep,
            Some(Failure::new(
                FailureKind::DepFailed,
                "canceled due to failure of \"f\"",
            )),
            &[],
        );
        assert_eq!(
            dynamic_line(&not_run, None, Style::PLAIN),
            "🚫 n: canceled due to failure of \"f\""
        );
        // A hostile name cannot forge a line.
        let evil = rec("a\n✓ forged", ProcState::Succeeded, None, &[]);
        assert_eq!(static_line(&evil, None, Style::PLAIN).lines().count(), 1);
    }

    #[test]
    fn summary_snippet_headers_count_the_lines_shown_and_static_ones_keep_parprocs() {
        let two = Chunk {
            text: "a\nb\n".into(),
            first: 1,
            last: 3,
        };
        let one = Chunk {
            text: "x\n".into(),
            first: 7,
            last: 8,
        };
        let chunks = [two, one];
        let shown = chunk_lines(&chunks, "", Header::Shown, Style::PLAIN);
        assert_eq!(
            shown,
            ["--- lines 1-2 ---", "a", "b", "--- line 7 ---", "x"]
        );
        let parproc = chunk_lines(&chunks, "", Header::Parproc, Style::PLAIN);
        assert_eq!(
            parproc,
            ["--- lines 1-3 ---", "a", "b", "--- lines 7-8 ---", "x"]
        );
    }

    #[test]
    fn links_are_osc8_with_encoded_file_urls() {
        let s = Style {
            color: false,
            links: true,
        };
        assert_eq!(
            file_url(Path::new("/tmp/a b/x.log")),
            "file:///tmp/a%20b/x.log"
        );
        assert_eq!(
            s.link("x", Some(Path::new("/t/x.log"))),
            "\u{1b}]8;;file:///t/x.log\u{1b}\\x\u{1b}]8;;\u{1b}\\"
        );
        assert_eq!(Style::PLAIN.link("x", Some(Path::new("/t/x.log"))), "x");
    }

    #[test]
    fn failed_deps_are_listed_under_their_cause() {
        let fail = |m: &str| {
            Some(Failure::new(
                FailureKind::DepFailed,
                format!("canceled due to failure of \"{m}\""),
            ))
        };
        // `x` ran and printed nothing: its log is its failure message.
        let x = ProcRecord {
            log: Some(crate::logsink::LogSink::default()),
            ..rec(
                "x",
                ProcState::Failed,
                Some(Failure::new(FailureKind::Failed, "Failure")),
                &[],
            )
        };
        let records = vec![
            rec("a", ProcState::Succeeded, None, &[]),
            x,
            rec("x_a", ProcState::FailedDep, fail("x"), &["x"]),
            rec("x_b", ProcState::FailedDep, fail("x"), &["x"]),
            rec("x_a_a", ProcState::FailedDep, fail("x_a"), &["x_a"]),
            rec(
                "m",
                ProcState::FailedDep,
                Some(Failure::new(
                    FailureKind::DepMissing,
                    "dependency \"nope\" missing",
                )),
                &["nope"],
            ),
        ];
        let logs = HashMap::new();
        let text = summary(
            &Finished {
                records: &records,
                logs: &logs,
                log_dir: None,
                elapsed: Duration::from_secs(3),
                full_log: false,
                width: None,
            },
            Style::PLAIN,
        );
        let failures = text
            .split("\nfailures:\n")
            .nth(1)
            .expect("a failures section");
        assert!(
            failures.starts_with(
                "✗ x failed after 1.50s\n    reason: Failure\n    --- line 1 ---\n    Failure\n    not run because x failed:\n      🚫 x_a\n        🚫 x_a_a\n      🚫 x_b\n"
            ),
            "{failures}"
        );
        assert!(
            failures.contains("🚫 m dependency missing\n    reason: dependency \"nope\" missing\n"),
            "{failures}"
        );
        assert!(
            text.ends_with("\n1 succeeded, 1 failed, 4 dependency failed in 3s\n"),
            "{text}"
        );
    }
}
