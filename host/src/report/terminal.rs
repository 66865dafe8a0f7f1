//! Terminal output: the only module of the host that prints.
//!
//! Two renderers share one interface ([`Terminal`]):
//!
//! - **static** (parproc's `dynamic=False`; when stdout is not a terminal or
//!   with `--progress static`): `• name` when a proc starts, its final line when
//!   it ends, then the chunks of its log worth seeing;
//! - **dynamic** (on a terminal): a live area redrawn about ten times a second
//!   with a row per running proc (spinner, elapsed time, and a bar against the
//!   duration of earlier runs when there are any) and a status row (done,
//!   failed, running, waiting, an estimate of the time left). A finished proc
//!   gets a permanent line above the live area and, when its log has chunks
//!   worth seeing, a panel with them.
//!
//! Guest text is sanitised by [`super::render`] before it gets here. Host
//! diagnostics go to stderr through `tracing` (`RUST_LOG`), never to stdout.

#![allow(
    clippy::disallowed_macros,
    clippy::disallowed_methods,
    reason = "the one module that writes to stdout and stderr"
)]

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ProcRecord;
use super::render::{self, Style};
use super::snippet::Chunk;
use crate::outcome::ProcState;

pub use super::render::{icon, sanitize};

/// How the live view's redraw thread ticks.
const TICK: Duration = Duration::from_millis(100);
/// How often the live view asks the session for counts.
const TALLY_EVERY: u32 = 5;

/// Counts of a run's procs at one moment, for the live view's status row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Procs that ended (in any way).
    pub done: usize,
    /// Procs that ran and failed (FAILED).
    pub failed: usize,
    /// Procs that did not run or were stopped (FAILED_DEP, CANCELLED).
    pub not_run: usize,
    /// Procs running.
    pub running: usize,
    /// Procs wanted and waiting to start.
    pub waiting: usize,
    /// The names of the waiting procs (left empty for very large runs).
    pub waiting_names: Vec<String>,
    /// The parallel limit.
    pub parallel: usize,
}

/// Where the live view gets its counts from (the session, through the run reporter).
pub type TallySource = Arc<dyn Fn() -> Tally + Send + Sync>;

/// A terminal renderer.
pub enum Terminal {
    /// parproc's static lines.
    Static(StaticOut),
    /// The live view.
    Dynamic(LiveView),
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Terminal::Static(s) => f.debug_tuple("Static").field(s).finish(),
            Terminal::Dynamic(_) => f.write_str("Dynamic"),
        }
    }
}

impl Terminal {
    /// A proc started.
    pub fn started(&self, name: &str) {
        match self {
            Terminal::Static(s) => s.started(name),
            Terminal::Dynamic(d) => d.started(name),
        }
    }

    /// A proc ended; `chunks` are the parts of its log worth seeing.
    pub fn finished(&self, rec: &ProcRecord, log: Option<&Path>, chunks: &[Chunk]) {
        match self {
            Terminal::Static(s) => s.finished(rec, log, chunks),
            Terminal::Dynamic(d) => d.finished(rec, log, chunks),
        }
    }

    /// Ask for a line of input (the live area pauses meanwhile).
    pub fn prompt(&self, prompt: &str, password: bool) -> Result<String, String> {
        match self {
            Terminal::Static(s) => {
                let _guard = s.lock();
                read_line(prompt, password)
            }
            Terminal::Dynamic(d) => d.prompt(prompt, password),
        }
    }

    /// Stop the live area (if any), leaving the terminal clean.
    pub fn stop(&self) {
        if let Terminal::Dynamic(d) = self {
            d.stop();
        }
    }

    /// Print the end-of-run text.
    pub fn print_summary(&self, text: &str) {
        self.stop();
        print_human(text);
    }
}

/// Whether human output (the live view, the static lines, the summary) goes to
/// stderr because a machine format owns stdout (`--results` to stdout).
static HUMAN_ON_STDERR: AtomicBool = AtomicBool::new(false);

/// From now on, print human output on stderr: stdout carries only the machine
/// format (README "What a run shows and writes").
pub fn human_to_stderr() {
    HUMAN_ON_STDERR.store(true, Ordering::Relaxed);
}

fn human_on_stderr() -> bool {
    HUMAN_ON_STDERR.load(Ordering::Relaxed)
}

/// Whether the stream human output goes to is a terminal (colours, the live
/// view, links).
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal as _;
    match human_on_stderr() {
        true => std::io::stderr().is_terminal(),
        false => std::io::stdout().is_terminal(),
    }
}

/// The size (rows, columns) of the terminal human output goes to, if it is one.
pub fn human_size() -> Option<(usize, usize)> {
    if !stdout_is_terminal() {
        return None;
    }
    let term = match human_on_stderr() {
        true => console::Term::stderr(),
        false => console::Term::stdout(),
    };
    term.size_checked()
        .map(|(rows, cols)| (usize::from(rows), usize::from(cols)))
}

/// Where the live view draws.
fn human_target() -> ProgressDrawTarget {
    match human_on_stderr() {
        true => ProgressDrawTarget::stderr_with_hz(10),
        false => ProgressDrawTarget::stdout_with_hz(10),
    }
}

/// Write human output (a static line, the summary) to its stream.
fn write_human(text: &[u8]) {
    match human_on_stderr() {
        true => {
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(text);
            let _ = e.flush();
        }
        false => {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text);
            let _ = o.flush();
        }
    }
}

/// [`write_human`] of `text`, ending in a newline.
fn print_human(text: &str) {
    let mut bytes = text.as_bytes().to_vec();
    if !text.ends_with('\n') {
        bytes.push(b'\n');
    }
    write_human(&bytes);
}

/// A line on stderr showing long work while it lasts (compiling a module or a
/// tool). On a terminal: after [`Progress::TTY_AFTER`], a spinner with the
/// label and the elapsed time (no invented percentage), replaced at the end by
/// the label and [`Progress::finish`]'s message. Otherwise: after [`Progress::LINE_AFTER`],
/// the label and `…`, completed on the same line by the message, so a log gets
/// one line. Work that ends sooner shows nothing; dropped without `finish`
/// (an error, a signal), the spinner is cleared or the line ended.
pub struct Progress {
    shared: Arc<ProgressShared>,
    ticker: Option<JoinHandle<()>>,
}

struct ProgressShared {
    label: String,
    tty: bool,
    after: Duration,
    started: Instant,
    /// Whether anything was written yet, and whether the work ended.
    state: Mutex<(bool, bool)>,
    wake: std::sync::Condvar,
    out: Mutex<Box<dyn Write + Send>>,
}

impl Progress {
    /// How long work runs on a terminal before the spinner shows.
    pub const TTY_AFTER: Duration = Duration::from_millis(250);
    /// How long work runs before the line shows when stderr is not a terminal.
    pub const LINE_AFTER: Duration = Duration::from_secs(1);

    /// Start showing `label` (`compiling `jobs.wasm` (12.3 MB)`) on stderr.
    pub fn start(label: String) -> Progress {
        use std::io::IsTerminal as _;
        let tty = std::io::stderr().is_terminal();
        let after = match tty {
            true => Progress::TTY_AFTER,
            false => Progress::LINE_AFTER,
        };
        Progress::start_on(sanitize(&label), Box::new(std::io::stderr()), tty, after)
    }

    /// [`Progress::start`] writing to `out`, as a terminal or not, shown after
    /// `after`.
    pub fn start_on(
        label: String,
        out: Box<dyn Write + Send>,
        tty: bool,
        after: Duration,
    ) -> Progress {
        let shared = Arc::new(ProgressShared {
            label,
            tty,
            after,
            started: Instant::now(),
            state: Mutex::new((false, false)),
            wake: std::sync::Condvar::new(),
            out: Mutex::new(out),
        });
        let s = shared.clone();
        let ticker = std::thread::Builder::new()
            .name("parproc-progress".into())
            .spawn(move || s.tick())
            .ok();
        Progress { shared, ticker }
    }

    /// End the work with `message` (`compiled in 8.1 s; cached for next
    /// time`), shown only if the label was.
    pub fn finish(mut self, message: &str) {
        if self.stop() {
            let s = &self.shared;
            let mut out = s.out.lock().unwrap_or_else(|p| p.into_inner());
            let _ = match s.tty {
                true => write!(out, "\r\x1b[2K{}: {}\n", s.label, sanitize(message)),
                false => writeln!(out, " {}", sanitize(message)),
            };
            let _ = out.flush();
        }
    }

    /// Stop the ticker; whether anything was shown.
    fn stop(&mut self) -> bool {
        let shown = {
            let mut st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            st.1 = true;
            st.0
        };
        self.shared.wake.notify_all();
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        shown
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.ticker.is_none() {
            return;
        }
        if self.stop() {
            let s = &self.shared;
            let mut out = s.out.lock().unwrap_or_else(|p| p.into_inner());
            let _ = out.write_all(if s.tty { b"\r\x1b[2K" } else { b"\n" });
            let _ = out.flush();
        }
    }
}

impl ProgressShared {
    fn tick(&self) {
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let after = self.after;
        let mut frame = 0;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.1 {
                return;
            }
            let elapsed = self.started.elapsed();
            let wait = match (elapsed >= after, self.tty, st.0) {
                (false, _, _) => after - elapsed,
                // One line, written once.
                (true, false, true) => Duration::from_secs(3600),
                (true, tty, _) => {
                    let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = match tty {
                        true => write!(
                            out,
                            "\r\x1b[2K{} {} {:.1} s",
                            FRAMES[frame % FRAMES.len()],
                            self.label,
                            elapsed.as_secs_f64()
                        ),
                        false => write!(out, "{}…", self.label),
                    };
                    let _ = out.flush();
                    st.0 = true;
                    frame += 1;
                    TICK
                }
            };
            st = self
                .wake
                .wait_timeout(st, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Send `tracing` output (level from `RUST_LOG`, else warnings) to stderr.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
}

/// Show `prompt` on stderr and read a line from stdin; a password is read
/// with the terminal's echo off (when stdin is a terminal).
fn read_line(prompt: &str, password: bool) -> Result<String, String> {
    eprint!("{}", sanitize(prompt));
    let _ = std::io::stderr().flush();
    let stdin = std::io::stdin();
    read_line_from(&mut stdin.lock(), stdin_fd(), password)
}

#[cfg(unix)]
fn stdin_fd() -> i32 {
    use std::os::fd::AsRawFd;
    std::io::stdin().as_raw_fd()
}

#[cfg(not(unix))]
fn stdin_fd() -> i32 {
    -1
}

/// Read one line from `input`, whose terminal (if `fd` is one) does not echo
/// it when `hidden`. The echo comes back however the read ends.
fn read_line_from(input: &mut impl BufRead, fd: i32, hidden: bool) -> Result<String, String> {
    let _echo_off = hidden.then(|| NoEcho::new(fd));
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| format!("cannot read input: {e}"))?;
    if hidden {
        // The user's Enter was not echoed either.
        eprintln!();
    }
    Ok(line)
}

/// The terminal `fd` with echo off until dropped; nothing when `fd` is not a
/// terminal (input piped in is not shown anyway).
struct NoEcho {
    #[cfg(unix)]
    restore: Option<(i32, libc::termios)>,
}

impl NoEcho {
    #[cfg(unix)]
    fn new(fd: i32) -> Self {
        // SAFETY: `termios` is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is an open descriptor (or the call fails with EBADF).
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return NoEcho { restore: None };
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: as above; `quiet` is a valid termios from tcgetattr.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
            return NoEcho { restore: None };
        }
        NoEcho {
            restore: Some((fd, saved)),
        }
    }

    #[cfg(not(unix))]
    fn new(_fd: i32) -> Self {
        NoEcho {}
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some((fd, saved)) = self.restore.take() {
            // SAFETY: restores the settings read from the same descriptor.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        }
    }
}

/// parproc's static lines on stdout.
#[derive(Debug)]
pub struct StaticOut {
    quiet: bool,
    style: Style,
    out: Mutex<()>,
}

impl StaticOut {
    /// A static renderer; `quiet` prints nothing per proc.
    pub fn new(quiet: bool, style: Style) -> Self {
        StaticOut {
            quiet,
            style,
            out: Mutex::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn started(&self, name: &str) {
        if !self.quiet {
            let _g = self.lock();
            write_human(format!("{}\n", render::started_line(name)).as_bytes());
        }
    }

    fn finished(&self, rec: &ProcRecord, log: Option<&Path>, chunks: &[Chunk]) {
        if self.quiet {
            return;
        }
        let mut text = render::static_line(rec, log, self.style);
        text.push('\n');
        if let Some(why) = render::why_line(rec) {
            text.push_str(&why);
            text.push('\n');
        }
        for l in render::chunk_lines(chunks, "  ", render::Header::Parproc, self.style) {
            text.push_str(&l);
            text.push('\n');
        }
        let _g = self.lock();
        write_human(text.as_bytes());
    }
}

/// One running proc's row.
struct Row {
    bar: ProgressBar,
    started: Instant,
    expected: Option<Duration>,
    /// Whether it is drawn: on a short terminal only the first rows are,
    /// the rest are counted on the status row (`+ 31 more running`).
    shown: bool,
}

#[derive(Default)]
struct Live {
    rows: HashMap<String, Row>,
    /// The running procs in start order (the order rows are shown in).
    order: Vec<String>,
    /// Procs ended as the view saw them (the status row's counts never lag
    /// behind the lines printed above it).
    ended: Tally,
    /// Lines printed while the live area is paused for a prompt.
    pending: Vec<String>,
    paused: bool,
    stopped: bool,
    tally: Tally,
}

/// The live view (indicatif on stdout).
pub struct LiveView {
    shared: Arc<LiveShared>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

struct LiveShared {
    mp: MultiProgress,
    status: ProgressBar,
    style: Style,
    run_started: Instant,
    expected: HashMap<String, Duration>,
    live: Mutex<Live>,
    source: Mutex<Option<TallySource>>,
    stop: AtomicBool,
}

impl LiveShared {
    fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn print_lines(&self, live: &mut Live, lines: Vec<String>) {
        if live.stopped {
            print_human(&lines.join("\n"));
            return;
        }
        if live.paused {
            live.pending.extend(lines);
            return;
        }
        let _ = self.mp.println(lines.join("\n"));
    }

    fn row_style(&self, bar: bool) -> ProgressStyle {
        let template = match (bar, self.style.color) {
            (true, true) => {
                "{spinner:.cyan} {elapsed:>4} [{bar:20.cyan/blue}] {percent:>3}% {wide_msg}"
            }
            (true, false) => "{spinner} {elapsed:>4} [{bar:20}] {percent:>3}% {wide_msg}",
            (false, true) => "{spinner:.cyan} {elapsed:>4} {wide_msg}",
            (false, false) => "{spinner} {elapsed:>4} {wide_msg}",
        };
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .progress_chars("=> ")
    }

    /// One redraw: move the bars, and every few ticks refresh the status row.
    fn tick(&self, n: u32) {
        let source = if n.is_multiple_of(TALLY_EVERY) {
            self.source
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        } else {
            None
        };
        // Ask the session outside our own lock: the session calls us under its lock.
        let tally = source.map(|s| s());
        let mut live = self.lock();
        if live.stopped {
            return;
        }
        if let Some(t) = tally {
            live.tally = t;
        }
        for row in live.rows.values() {
            if let Some(exp) = row.expected {
                let elapsed = row.started.elapsed().as_millis() as u64;
                let cap = (exp.as_millis() as u64).saturating_mul(99) / 100;
                row.bar.set_position(elapsed.min(cap));
            }
            row.bar.tick();
        }
        let msg = self.status_text(&live);
        drop(live);
        self.status.set_message(msg);
    }

    fn status_text(&self, live: &Live) -> String {
        let t = &live.tally;
        let running = live.rows.len();
        let hidden = live.rows.values().filter(|r| !r.shown).count();
        let mut parts = Vec::new();
        if hidden > 0 {
            parts.push(format!("+ {hidden} more running"));
        }
        // The session's counts lag by up to a few ticks; the lines above do not.
        parts.push(format!("{} done", t.done.max(live.ended.done)));
        let failed = t.failed.max(live.ended.failed);
        if failed > 0 {
            parts.push(self.style.red(&format!("{failed} failed")));
        }
        let not_run = t.not_run.max(live.ended.not_run);
        if not_run > 0 {
            parts.push(self.style.yellow(&format!("{not_run} not run")));
        }
        parts.push(format!("{running} running"));
        parts.push(format!("{} waiting", t.waiting));
        if let Some(left) = self.estimate(live) {
            parts.push(format!(
                "~{} left",
                whole_seconds(left + Duration::from_millis(999))
            ));
        }
        parts.push(self.style.dim(&format!(
            "{} elapsed",
            whole_seconds(self.run_started.elapsed())
        )));
        parts.join(" · ")
    }

    /// The time left: the work left (the expected time of each waiting proc and
    /// the rest of each running one) spread over the parallel slots, but never
    /// less than the longest single piece. `None` when no earlier run is known.
    fn estimate(&self, live: &Live) -> Option<Duration> {
        let known: Vec<Duration> = live
            .rows
            .values()
            .filter_map(|r| r.expected)
            .chain(
                live.tally
                    .waiting_names
                    .iter()
                    .filter_map(|n| self.expected.get(n).copied()),
            )
            .collect();
        if known.is_empty() {
            return None;
        }
        let guess = known.iter().sum::<Duration>() / known.len() as u32;
        let mut pieces: Vec<Duration> = live
            .rows
            .values()
            .map(|r| {
                r.expected
                    .unwrap_or(guess)
                    .saturating_sub(r.started.elapsed())
            })
            .collect();
        if live.tally.waiting_names.len() == live.tally.waiting {
            pieces.extend(
                live.tally
                    .waiting_names
                    .iter()
                    .map(|n| self.expected.get(n).copied().unwrap_or(guess)),
            );
        } else {
            pieces.extend(std::iter::repeat_n(guess, live.tally.waiting));
        }
        let total: Duration = pieces.iter().sum();
        let slots = live.tally.parallel.clamp(1, pieces.len().max(1)) as u32;
        let longest = pieces.iter().max().copied().unwrap_or_default();
        Some((total / slots).max(longest))
    }
}

/// How many proc rows the live view draws: the terminal's height less the
/// status row and a spare line (so the status row is never scrolled off);
/// the rest are counted on the status row.
fn max_rows() -> usize {
    human_size().map_or(usize::MAX, |(rows, _)| rows.saturating_sub(2).max(1))
}

/// `7s`, `2m05s`: a duration in whole seconds (rounded down).
fn whole_seconds(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

impl LiveView {
    /// A live view on stdout; `expected` holds the durations of earlier runs.
    pub fn new(style: Style, expected: HashMap<String, Duration>) -> Self {
        let mp = MultiProgress::with_draw_target(human_target());
        let status = mp.add(ProgressBar::with_draw_target(
            None,
            ProgressDrawTarget::hidden(),
        ));
        status.set_style(
            ProgressStyle::with_template("{wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let shared = Arc::new(LiveShared {
            mp,
            status,
            style,
            run_started: Instant::now(),
            expected,
            live: Mutex::new(Live::default()),
            source: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let ticker = std::thread::Builder::new()
            .name("parproc-live".into())
            .spawn(move || {
                let mut n = 0u32;
                while !s.stop.load(Ordering::Acquire) {
                    s.tick(n);
                    n = n.wrapping_add(1);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| tracing::warn!("cannot start the live view's thread: {e}"))
            .ok();
        LiveView {
            shared,
            ticker: Mutex::new(ticker),
        }
    }

    /// Where the status row gets its counts.
    pub fn set_source(&self, source: Option<TallySource>) {
        *self.shared.source.lock().unwrap_or_else(|e| e.into_inner()) = source;
    }

    fn started(&self, name: &str) {
        let s = &self.shared;
        let expected = s.expected.get(name).copied();
        // Hidden until it joins the live area: a new bar draws to stderr otherwise.
        let bar = ProgressBar::with_draw_target(
            expected.map(|e| e.as_millis().max(1) as u64),
            ProgressDrawTarget::hidden(),
        );
        bar.set_style(s.row_style(expected.is_some()));
        bar.set_message(sanitize(name));
        let mut live = s.lock();
        if live.stopped {
            return;
        }
        let shown = live.rows.values().filter(|r| r.shown).count() < max_rows();
        let bar = match shown {
            true => s.mp.insert_before(&s.status, bar),
            false => bar,
        };
        live.rows.insert(
            name.to_owned(),
            Row {
                bar,
                started: Instant::now(),
                expected,
                shown,
            },
        );
        live.order.push(name.to_owned());
    }

    fn finished(&self, rec: &ProcRecord, log: Option<&Path>, chunks: &[Chunk]) {
        let s = &self.shared;
        let mut lines = vec![render::dynamic_line(rec, log, s.style)];
        lines.extend(render::why_line(rec));
        if !chunks.is_empty() && rec.state != ProcState::Skipped {
            lines.extend(render::panel(rec, chunks, log, s.style));
        }
        let mut live = s.lock();
        if let Some(row) = live.rows.remove(&rec.name) {
            live.order.retain(|n| *n != rec.name);
            if row.shown {
                row.bar.finish_and_clear();
                s.mp.remove(&row.bar);
                // The longest-running hidden proc takes the free row.
                let next = live
                    .order
                    .iter()
                    .find(|n| live.rows.get(*n).is_some_and(|r| !r.shown))
                    .cloned();
                if let Some(r) = next.and_then(|n| live.rows.get_mut(&n)) {
                    r.bar = s.mp.insert_before(&s.status, r.bar.clone());
                    r.shown = true;
                }
            }
        }
        live.ended.done += 1;
        match rec.state {
            ProcState::Failed => live.ended.failed += 1,
            ProcState::FailedDep | ProcState::Cancelled => live.ended.not_run += 1,
            _ => {}
        }
        s.print_lines(&mut live, lines);
        // The counts change with the line, not a few ticks later.
        let msg = s.status_text(&live);
        drop(live);
        s.status.set_message(msg);
    }

    fn prompt(&self, prompt: &str, password: bool) -> Result<String, String> {
        let s = &self.shared;
        {
            let mut live = s.lock();
            live.paused = true;
            let _ = s.mp.clear();
            s.mp.set_draw_target(ProgressDrawTarget::hidden());
        }
        // No lock is held while the user types: procs keep finishing (their
        // lines wait in `pending`).
        let answer = read_line(prompt, password);
        let mut live = s.lock();
        live.paused = false;
        s.mp.set_draw_target(human_target());
        let pending = std::mem::take(&mut live.pending);
        if !pending.is_empty() {
            let _ = s.mp.println(pending.join("\n"));
        }
        answer
    }

    fn stop(&self) {
        let s = &self.shared;
        s.stop.store(true, Ordering::Release);
        if let Some(t) = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        let mut live = s.lock();
        if live.stopped {
            return;
        }
        for (_, row) in live.rows.drain() {
            row.bar.finish_and_clear();
            s.mp.remove(&row.bar);
        }
        s.status.finish_and_clear();
        let _ = s.mp.clear();
        live.stopped = true;
        let pending = std::mem::take(&mut live.pending);
        drop(live);
        *s.source.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if !pending.is_empty() {
            print_human(&pending.join("\n"));
        }
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A host error with a hint for the command line, printed on its own line
/// after the error (the error's text stays as parproc words it).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    /// The error.
    pub message: String,
    /// What to try (`did you mean `nested`?`).
    pub hint: String,
}

/// Print a host error (exit status 2) on stderr: an `error:` line for each
/// line of it (several errors are one each), then a `hint:` line for each
/// line of the hint when it carries one ([`Hinted`]).
pub fn print_error(err: &anyhow::Error) {
    eprint!("{}", error_text(err));
}

/// The text [`print_error`] prints.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for line in format!("{err:#}").lines() {
        out.push_str(&format!("error: {}\n", sanitize(line)));
    }
    if let Some(h) = err.downcast_ref::<Hinted>() {
        for line in h.hint.lines() {
            out.push_str(&format!("hint: {}\n", sanitize(line)));
        }
    }
    out
}

/// The one line a command prints when a signal stopped it before it had
/// anything else to show (while loading or planning; `list`, `graph`,
/// `--dry-run`).
pub fn print_interrupted() {
    eprintln!("interrupted");
}

/// Print a note for the user on stderr (a hint, not an error).
pub fn print_note(text: &str) {
    eprintln!("note: {}", sanitize(text));
}

/// Print one line of a long-running service (a worker's procs) on stderr.
pub fn print_event(text: &str) {
    eprintln!("{}", sanitize(text));
}

/// Print a warning for the user on stderr.
pub fn print_warning(text: &str) {
    eprintln!("warning: {}", sanitize(text));
}

/// Write to stdout through `write` (buffered; a machine format written as it
/// is made, like `--results`).
pub fn print_with(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write(&mut out)?;
    out.flush()
}

/// Print text to stdout as it is (JSON output, listings, graphs).
pub fn print_raw(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    /// A writer whose bytes the test reads.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
        /// Wait until something was written.
        fn wait(&self) {
            while self.0.lock().unwrap().is_empty() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    #[test]
    fn quick_work_shows_nothing() {
        for tty in [false, true] {
            let b = Buf::default();
            let p = Progress::start_on("compiling".into(), Box::new(b.clone()), tty, TICK * 50);
            p.finish("compiled");
            assert_eq!(b.text(), "");
        }
    }

    #[test]
    fn without_a_terminal_long_work_is_one_line() {
        let b = Buf::default();
        let p = Progress::start_on(
            "compiling `j.wasm` (1.0 MB)".into(),
            Box::new(b.clone()),
            false,
            Duration::ZERO,
        );
        b.wait();
        p.finish("compiled in 8.1 s; cached for next time");
        assert_eq!(
            b.text(),
            "compiling `j.wasm` (1.0 MB)… compiled in 8.1 s; cached for next time\n"
        );
        // Stopped without a message (an error, a signal): the line is ended.
        let b = Buf::default();
        let p = Progress::start_on(
            "compiling".into(),
            Box::new(b.clone()),
            false,
            Duration::ZERO,
        );
        b.wait();
        drop(p);
        assert_eq!(b.text(), "compiling…\n");
    }

    #[test]
    fn on_a_terminal_a_spinner_with_the_time_is_replaced_by_the_message() {
        let b = Buf::default();
        let p = Progress::start_on(
            "compiling `j.wasm`".into(),
            Box::new(b.clone()),
            true,
            Duration::ZERO,
        );
        b.wait();
        p.finish("compiled in 0.1 s");
        let text = b.text();
        let (first, rest) = text.split_once(" s").expect("a timed frame");
        assert!(
            first.starts_with("\r\x1b[2K⠋ compiling `j.wasm` 0."),
            "{text:?}"
        );
        assert!(
            rest.ends_with("\r\x1b[2Kcompiling `j.wasm`: compiled in 0.1 s\n"),
            "{text:?}"
        );
        let b = Buf::default();
        let p = Progress::start_on(
            "compiling".into(),
            Box::new(b.clone()),
            true,
            Duration::ZERO,
        );
        b.wait();
        drop(p);
        assert!(b.text().ends_with("\r\x1b[2K"), "cleared: {:?}", b.text());
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs::File;
    use std::io::{BufReader, Read};
    use std::os::fd::{AsRawFd, FromRawFd};

    use super::*;

    /// A pseudo-terminal: (the side a user types into, the side the program reads).
    fn pty() -> (File, File) {
        // SAFETY: plain libc pty calls on descriptors this test owns.
        unsafe {
            let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(master >= 0, "posix_openpt");
            assert_eq!(libc::grantpt(master), 0);
            assert_eq!(libc::unlockpt(master), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
            let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
            assert!(slave >= 0, "open the pty's slave");
            (File::from_raw_fd(master), File::from_raw_fd(slave))
        }
    }

    fn echoes(fd: i32) -> bool {
        // SAFETY: as in `NoEcho::new`.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t.c_lflag & libc::ECHO != 0
    }

    /// Type `secret` at a program reading a line (hidden or not); returns the
    /// line read and what the terminal showed.
    fn type_at(hidden: bool) -> (String, String) {
        let (mut master, slave) = pty();
        let fd = slave.as_raw_fd();
        assert!(echoes(fd), "a fresh terminal echoes");
        let reader = std::thread::spawn(move || {
            let mut input = BufReader::new(slave);
            let line = read_line_from(&mut input, fd, hidden);
            (line, echoes(fd), input)
        });
        // Type only once the reader has turned the echo off (if it does).
        let deadline = Instant::now() + Duration::from_secs(5);
        while hidden && echoes(fd) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        master.write_all(b"secret\n").unwrap();
        let (line, echo_after, _input) = reader.join().unwrap();
        assert!(echo_after, "the echo is back after the read");
        // SAFETY: makes this test's own descriptor non-blocking.
        unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let mut shown = vec![0; 256];
        let n = master.read(&mut shown).unwrap_or(0);
        (
            line.unwrap(),
            String::from_utf8_lossy(&shown[..n]).into_owned(),
        )
    }

    #[test]
    fn a_password_is_not_echoed_and_the_echo_comes_back() {
        let (line, shown) = type_at(true);
        assert_eq!(line, "secret\n");
        assert!(!shown.contains("secret"), "the terminal showed {shown:?}");
        let (line, shown) = type_at(false);
        assert_eq!(line, "secret\n");
        assert!(shown.contains("secret"), "plain input is echoed: {shown:?}");
    }
}
