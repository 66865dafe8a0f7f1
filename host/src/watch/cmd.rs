//! `parproc-host watch`: run, watch what the procs read, run again what a
//! change makes dirty (docs/watch.md).
//!
//! Every run is incremental (a temporary state store when the user gives
//! none), so a rebuild re-runs only the procs whose inputs changed; the rest
//! are restored. The watcher lives across runs: changes made while a run goes
//! on are handled after it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::WatchSet;
use crate::cli::WatchArgs;
use crate::commands::{ExitStatus, RunOnce};
use crate::report::terminal;

/// How often the polling fallback looks at the files.
const POLL_EVERY: Duration = Duration::from_millis(200);

type Events = mpsc::UnboundedReceiver<notify::Result<notify::Event>>;

/// The OS's notifications, or polling when they run out.
enum Backend {
    Os(notify::RecommendedWatcher),
    Poll(notify::PollWatcher),
}

/// The watcher and what it watches now.
struct Watch {
    backend: Backend,
    tx: mpsc::UnboundedSender<notify::Result<notify::Event>>,
    watched: Vec<(PathBuf, RecursiveMode)>,
}

fn handler(tx: mpsc::UnboundedSender<notify::Result<notify::Event>>) -> impl notify::EventHandler {
    move |e| {
        let _ = tx.send(e);
    }
}

fn poller(
    tx: mpsc::UnboundedSender<notify::Result<notify::Event>>,
) -> notify::Result<notify::PollWatcher> {
    notify::PollWatcher::new(
        handler(tx),
        // Contents too: a file written twice within one mtime tick is seen.
        notify::Config::default()
            .with_poll_interval(POLL_EVERY)
            .with_compare_contents(true),
    )
}

/// Whether `e` says the OS's watch limit is reached (parproc's EMFILE case).
fn out_of_watches(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => {
            matches!(io.raw_os_error(), Some(libc::EMFILE | libc::ENOSPC))
        }
        _ => false,
    }
}

/// What the watch says when it falls back to polling.
fn fallback_note(e: &notify::Error) -> String {
    if out_of_watches(e) {
        "the OS's file watch limit is reached; polling the files instead".to_owned()
    } else {
        format!("the OS's file notifications failed ({e}); polling the files instead")
    }
}

impl Watch {
    fn new(poll: bool) -> anyhow::Result<(Watch, Events)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let backend = if poll {
            Backend::Poll(poller(tx.clone())?)
        } else {
            match notify::RecommendedWatcher::new(handler(tx.clone()), notify::Config::default()) {
                Ok(w) => Backend::Os(w),
                Err(e) => {
                    terminal::print_note(&fallback_note(&e));
                    Backend::Poll(poller(tx.clone())?)
                }
            }
        };
        Ok((
            Watch {
                backend,
                tx,
                watched: Vec::new(),
            },
            rx,
        ))
    }

    fn watch_one(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()> {
        match &mut self.backend {
            Backend::Os(w) => w.watch(path, mode),
            Backend::Poll(w) => w.watch(path, mode),
        }
    }

    fn unwatch_one(&mut self, path: &Path) {
        let _ = match &mut self.backend {
            Backend::Os(w) => w.unwatch(path),
            Backend::Poll(w) => w.unwatch(path),
        };
    }

    /// Watch exactly `want`, falling back to polling when the OS's watches
    /// run out.
    fn set(&mut self, want: Vec<(PathBuf, RecursiveMode)>) -> anyhow::Result<()> {
        for (p, _) in std::mem::take(&mut self.watched) {
            self.unwatch_one(&p);
        }
        for (p, mode) in &want {
            match self.watch_one(p, *mode) {
                Ok(()) => {}
                // A directory that went away between the run and now.
                Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) || !p.exists() => {}
                Err(e) if matches!(self.backend, Backend::Os(_)) => {
                    terminal::print_note(&fallback_note(&e));
                    self.backend = Backend::Poll(poller(self.tx.clone())?);
                    return self.set(want);
                }
                Err(e) => {
                    return Err(anyhow::anyhow!("cannot watch `{}`: {e}", p.display()));
                }
            }
        }
        self.watched = want;
        Ok(())
    }
}

/// The paths of a batch of events that may be changes: file creations,
/// removals, renames and writes (a directory's "modified" event and reads are
/// not).
fn changed_paths(events: Vec<notify::Event>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in events {
        match e.kind {
            EventKind::Access(_) | EventKind::Other => continue,
            EventKind::Modify(_) => {
                out.extend(e.paths.into_iter().filter(|p| !p.is_dir()));
            }
            EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => out.extend(e.paths),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Wait for the next event, then merge events until none came for
/// `debounce`.
async fn next_batch(rx: &mut Events, debounce: Duration) -> Option<Vec<notify::Event>> {
    let mut batch = Vec::new();
    let first = rx.recv().await?;
    batch.extend(first.ok());
    loop {
        match tokio::time::timeout(debounce, rx.recv()).await {
            Ok(Some(e)) => batch.extend(e.ok()),
            Ok(None) => return Some(batch),
            Err(_) => return Some(batch),
        }
    }
}

/// What the last run read, from its records and the state store.
fn watch_set(state: &Path, run: &RunOnce) -> WatchSet {
    let mut set = WatchSet::default();
    let store = match crate::store::StateStore::open(state, false) {
        Ok(s) => s,
        Err(e) => {
            terminal::print_note(&format!("{e}; watching the granted directories whole"));
            for r in run.records.iter().filter(|r| r.state.is_complete()) {
                set.add_dirs(&r.name, &run.dirs);
            }
            return set;
        }
    };
    for r in run.records.iter().filter(|r| r.state.is_complete()) {
        let entry = store.last(&r.name).ok().flatten();
        let trace = entry
            .filter(|e| Some(e.module) == run.module && !r.state.is_failure())
            .map(|e| e.trace);
        match trace {
            // Remembered without a trace: it read nothing a change can touch.
            Some(None) => {}
            Some(Some(d)) => match store
                .blob(&d)
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<crate::trace::Trace>(&b).ok())
            {
                Some(t) => set.add_trace(&r.name, &t),
                None => set.add_dirs(&r.name, &run.dirs),
            },
            // Failed or not remembered: any change in its grants may matter.
            None => set.add_dirs(&r.name, &run.dirs),
        }
    }
    set
}

/// A temporary state store, removed when the watch ends.
struct TempState(PathBuf);

impl Drop for TempState {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `parproc-host watch`.
pub(crate) async fn watch_cmd(args: WatchArgs) -> anyhow::Result<ExitStatus> {
    let WatchArgs {
        mut run,
        debounce,
        poll,
    } = args;
    let _temp = match run.state.dir() {
        Some(_) => None,
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir =
                std::env::temp_dir().join(format!("parproc-watch-{}-{nanos}", std::process::id()));
            run.state.state_dir = Some(dir.clone());
            run.state.incremental = false;
            Some(TempState(dir))
        }
    };
    let state = run.state.dir().unwrap_or_default();
    let module = std::path::absolute(&run.module).unwrap_or_else(|_| run.module.clone());
    let (mut watch, mut rx) = Watch::new(poll)?;
    let mut signal = std::pin::pin!(crate::interrupt::signalled());
    // The last good run's procs and watch set, kept when a load fails.
    let mut names: Vec<String> = Vec::new();
    let mut set = WatchSet::default();
    loop {
        let outcome = tokio::select! {
            o = crate::commands::run_once(&run) => o,
            n = &mut signal => return Ok(ExitStatus::Interrupted(128 + n)),
        };
        match outcome {
            Ok(once) => {
                if let ExitStatus::Interrupted(_) = once.status {
                    return Ok(once.status);
                }
                // The procs this run finished (registered procs it never
                // started are not watched).
                names = once
                    .records
                    .iter()
                    .filter(|r| r.state.is_complete())
                    .map(|r| r.name.clone())
                    .collect();
                set = watch_set(&state, &once);
            }
            // A module half-written by the compiler, say: shown, and retried
            // after the next quiet period.
            Err(e) => terminal::print_error(&e),
        }
        let mut want: Vec<(PathBuf, RecursiveMode)> = set
            .roots()
            .into_iter()
            .map(|r| (r, RecursiveMode::Recursive))
            .collect();
        if let Some(parent) = module.parent()
            && !want.iter().any(|(r, _)| parent.starts_with(r))
        {
            want.push((parent.to_path_buf(), RecursiveMode::NonRecursive));
        }
        let dirs = want.len();
        watch.set(want)?;
        terminal::print_raw(&format!(
            "watching {} paths in {dirs} directories; Ctrl-C to stop",
            set.path_count() + 1
        ));
        loop {
            let batch = tokio::select! {
                b = next_batch(&mut rx, debounce) => b,
                n = &mut signal => return Ok(ExitStatus::Interrupted(128 + n)),
            };
            let Some(batch) = batch else {
                anyhow::bail!("the file watcher stopped");
            };
            let changed: Vec<PathBuf> = changed_paths(batch)
                .into_iter()
                .filter(|p| !set.is_unchanged(p))
                .collect();
            let module_changed = changed.contains(&module);
            // A rebuilt module re-plans the graph (its digest is in every
            // key); before any load succeeded, any change retries it.
            let all = module_changed || (names.is_empty() && !changed.is_empty());
            let dirty: BTreeSet<String> = match all {
                true => names.iter().cloned().collect(),
                false => set.dirty(&changed),
            };
            if dirty.is_empty() && !all {
                continue;
            }
            let shown: Vec<PathBuf> = changed
                .iter()
                .filter(|p| (module_changed && **p == module) || set.touches(p))
                .cloned()
                .collect();
            terminal::print_raw(&super::event_text(
                &dirty,
                if shown.is_empty() { &changed } else { &shown },
            ));
            break;
        }
    }
}
