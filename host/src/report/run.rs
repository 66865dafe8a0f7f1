//! The reporter of `parproc-host run`: it writes each proc's log file when the
//! proc ends, shows the proc on the terminal (static or live), and at the end
//! prints the summary with its failure blocks, saves the durations for the next
//! run's estimates, and writes the JSON and JUnit reports.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use anyhow::bail;

use super::LiveCounts;
use super::history::{History, default_history_dir};
use super::json::{self, HostStats, RunInfo};
use super::logs::{LogDir, default_log_dir, log_text};
use super::options::ReportArgs;
use super::render::{self, Finished, Style};
use super::terminal::{LiveView, StaticOut, Tally, Terminal};
use super::{Event, ProcRecord, Reporter, junit};
use crate::outcome::ProcState;

/// See the module docs.
#[derive(Debug)]
pub struct RunReporter {
    term: Terminal,
    logs: LogDir,
    history: Mutex<History>,
    full_log: bool,
    /// `--explain`: show why each proc ran.
    explain: bool,
    style: Style,
    started: SystemTime,
    module: PathBuf,
    report: Option<PathBuf>,
    junit: Option<PathBuf>,
    trace: Option<PathBuf>,
    timings: Option<PathBuf>,
    warned: Mutex<bool>,
}

/// Fails early (before anything runs) when a report could never be written.
fn check_target(what: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!(
            "cannot write {what} `{}`: it is a directory",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!(
            "cannot write {what} `{}`: directory `{}` does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

impl RunReporter {
    /// A reporter for a run of `module`; `quiet` prints no line per proc.
    pub fn new(module: &Path, quiet: bool, args: &ReportArgs) -> anyhow::Result<Self> {
        if let Some(p) = &args.report {
            check_target("report", p)?;
        }
        if let Some(p) = &args.junit {
            check_target("JUnit report", p)?;
        }
        if let Some(p) = &args.trace {
            check_target("trace", p)?;
        }
        if let Some(p) = &args.timings {
            check_target("timings page", p)?;
        }
        let started = SystemTime::now();
        let history = if args.no_history {
            History::disabled()
        } else {
            match args.history_dir.clone().or_else(default_history_dir) {
                Some(dir) => History::load(&dir, module),
                None => History::disabled(),
            }
        };
        let style = Style {
            color: args.colors(),
            links: args.hyperlinks(),
        };
        let term = if !quiet && args.dynamic() {
            Terminal::Dynamic(LiveView::new(style, history.expected_all()))
        } else {
            Terminal::Static(StaticOut::new(quiet, style))
        };
        Ok(RunReporter {
            term,
            logs: LogDir::new(
                args.log_dir.clone().unwrap_or_else(default_log_dir),
                module,
                started,
            ),
            history: Mutex::new(history),
            full_log: args.full_log_on_failure,
            explain: args.explain,
            style,
            started,
            module: module.to_path_buf(),
            report: args.report.clone(),
            junit: args.junit.clone(),
            trace: args.trace.clone(),
            timings: args.timings.clone(),
            warned: Mutex::new(false),
        })
    }

    /// Let the live view read the run's counts from `source` (the session's
    /// `live`) until [`RunReporter::finish`].
    pub fn attach(&self, source: impl Fn() -> LiveCounts + Send + Sync + 'static) {
        if let Terminal::Dynamic(live) = &self.term {
            live.set_source(Some(Arc::new(move || tally(source()))));
        }
    }

    /// This run's log directory, once a log was written.
    pub fn log_dir(&self) -> Option<PathBuf> {
        self.logs.run_dir()
    }

    fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log_paths(&self, records: &[ProcRecord]) -> HashMap<String, PathBuf> {
        records
            .iter()
            .filter_map(|r| Some((r.name.clone(), self.logs.path_of(&r.name)?)))
            .collect()
    }

    fn write_log(&self, rec: &ProcRecord, text: &str) -> Option<PathBuf> {
        match self.logs.write(&rec.name, text) {
            Ok(p) => Some(p),
            Err(e) => {
                let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
                if !*warned {
                    tracing::warn!("{e}");
                    *warned = true;
                }
                None
            }
        }
    }

    /// End the run's output: stop the live view, print the summary, save the
    /// durations, write the reports. An error names the report it could not write.
    pub fn finish(
        &self,
        records: &[ProcRecord],
        elapsed: Duration,
        interrupted: bool,
        host: HostStats,
    ) -> anyhow::Result<()> {
        // Procs that ended without an event (none should) still get their logs.
        for r in records {
            if r.state.is_complete()
                && self.logs.path_of(&r.name).is_none()
                && let Some(text) = log_text(r)
            {
                self.write_log(r, &text);
            }
        }
        let logs = self.log_paths(records);
        let log_dir = self.logs.run_dir();
        self.term.stop();
        let text = render::summary(
            &Finished {
                records,
                logs: &logs,
                log_dir: log_dir.as_deref(),
                elapsed,
                full_log: self.full_log,
                width: super::terminal::human_size().map(|(_, cols)| cols),
            },
            self.style,
        );
        self.term.print_summary(&text);

        {
            let mut h = self.history();
            for r in records {
                if let (Some(d), ProcState::Succeeded | ProcState::Failed) = (r.duration, r.state) {
                    h.record(&r.name, d, r.state == ProcState::Succeeded);
                }
            }
            if let Err(e) = h.save() {
                tracing::warn!("{e}");
            }
        }

        let info = RunInfo {
            module: &self.module,
            started: self.started,
            elapsed,
            log_dir: log_dir.as_deref(),
            logs: &logs,
            interrupted,
            host,
        };
        let mut errors = Vec::new();
        if let Some(path) = &self.report {
            let written = std::fs::File::create(path)
                .map_err(|e| e.to_string())
                .and_then(|f| json::write_report(&info, records, f).map_err(|e| e.to_string()));
            if let Err(e) = written {
                errors.push(format!("cannot write report `{}`: {e}", path.display()));
            }
        }
        if let Some(path) = &self.trace {
            let v = super::trace::trace(&info, records);
            let text = serde_json::to_string(&v).unwrap_or_default() + "\n";
            if let Err(e) = std::fs::write(path, text) {
                errors.push(format!("cannot write trace `{}`: {e}", path.display()));
            }
        }
        if let Some(path) = &self.timings
            && let Err(e) = std::fs::write(path, super::timings::page(&info, records))
        {
            errors.push(format!(
                "cannot write timings page `{}`: {e}",
                path.display()
            ));
        }
        if let Some(path) = &self.junit {
            let mut chunks = HashMap::new();
            let mut texts = HashMap::new();
            for r in json::scheduled(records) {
                let Some(text) = logs
                    .get(&r.name)
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .or_else(|| log_text(r))
                else {
                    continue;
                };
                if r.state == ProcState::Failed {
                    chunks.insert(r.name.clone(), render::chunks_for(r, &text, self.full_log));
                }
                texts.insert(r.name.clone(), text);
            }
            let xml = junit::junit(&info, records, &chunks, &texts);
            if let Err(e) = std::fs::write(path, xml) {
                errors.push(format!(
                    "cannot write JUnit report `{}`: {e}",
                    path.display()
                ));
            }
        }
        if !errors.is_empty() {
            bail!("{}", errors.join("; "));
        }
        Ok(())
    }
}

/// The live view's counts, as the driver published them (O(1)).
fn tally(live: LiveCounts) -> Tally {
    let c = live.counts;
    Tally {
        parallel: live.parallel,
        waiting: c.get(ProcState::Wanted),
        waiting_names: live.waiting_names,
        running: c.get(ProcState::Running),
        done: c.complete(),
        failed: c.get(ProcState::Failed),
        not_run: c.get(ProcState::FailedDep) + c.get(ProcState::Cancelled),
    }
}

impl Reporter for RunReporter {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Started { name } => self.term.started(name),
            Event::Finished(rec) => {
                let text = log_text(rec);
                let path = text.as_deref().and_then(|t| self.write_log(rec, t));
                let chunks = text
                    .as_deref()
                    .map(|t| render::chunks_for(rec, t, self.full_log))
                    .unwrap_or_default();
                if self.explain || rec.why.is_none() {
                    self.term.finished(rec, path.as_deref(), &chunks);
                } else {
                    let quiet = ProcRecord {
                        why: None,
                        ..rec.clone()
                    };
                    self.term.finished(&quiet, path.as_deref(), &chunks);
                }
            }
        }
    }

    fn prompt(&self, prompt: &str, password: bool) -> Result<String, String> {
        self.term.prompt(prompt, password)
    }
}
