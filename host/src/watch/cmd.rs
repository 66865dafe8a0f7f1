//! `parproc-host watch`: run, watch what the procs read, run again what a
//! change makes dirty (docs/watch.md).
//!
//! Every run is incremental (a temporary state store when the user gives
//! none), so a rebuild re-runs only the procs whose inputs changed; the rest
//! are restored. The watcher lives across runs: changes made while a run goes
//! on are handled after it.

use std::collections::{BTreeSet, HashMap};
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

/// An event and when the watcher's thread got it.
type Stamped = (std::time::Instant, notify::Result<notify::Event>);

type Events = mpsc::UnboundedReceiver<Stamped>;

/// The OS's notifications, or polling when they run out.
enum Backend {
    Os(notify::RecommendedWatcher),
    Poll(notify::PollWatcher),
}

/// The watcher and what it watches now.
struct Watch {
    backend: Backend,
    tx: mpsc::UnboundedSender<Stamped>,
    watched: Vec<(PathBuf, RecursiveMode)>,
}

/// Sends each event with the time it came; reads (open, close without a
/// write) are dropped here, so a file that is only read never delays a
/// rebuild.
fn handler(tx: mpsc::UnboundedSender<Stamped>) -> impl notify::EventHandler {
    move |e: notify::Result<notify::Event>| {
        if matches!(&e, Ok(ev) if matches!(ev.kind, EventKind::Access(_))) {
            return;
        }
        let _ = tx.send((std::time::Instant::now(), e));
    }
}

fn poller(tx: mpsc::UnboundedSender<Stamped>) -> notify::Result<notify::PollWatcher> {
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

    /// Whether it polls (the OS's watches ran out, or `--poll`).
    fn polling(&self) -> bool {
        matches!(self.backend, Backend::Poll(_))
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
/// not); and whether the watcher may have lost events (an error, or a
/// rescan asked for after the kernel's queue overflowed), so that nothing it
/// watched can be taken as unchanged.
fn changed_paths(events: Vec<notify::Result<notify::Event>>) -> (Vec<PathBuf>, bool) {
    let mut out = Vec::new();
    let mut lost = false;
    for e in events {
        let Ok(e) = e else {
            lost = true;
            continue;
        };
        lost |= e.need_rescan();
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
    (out, lost)
}

/// Wait for the next event, then merge events until none came for
/// `debounce`, counted from when each event came (not from when this loop
/// got to it), so time the host spent busy is not added to the wait.
async fn next_batch(
    rx: &mut Events,
    debounce: Duration,
) -> Option<Vec<notify::Result<notify::Event>>> {
    let (mut last, first) = rx.recv().await?;
    let mut batch = vec![first];
    loop {
        let until = tokio::time::Instant::from_std(last + debounce);
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some((at, e))) => {
                last = last.max(at);
                batch.push(e);
            }
            Ok(None) | Err(_) => return Some(batch),
        }
    }
}

/// A proc's trace as `watch_set` loaded it: the proc, the trace's blob, the
/// trace.
type Loaded = (String, crate::store::Digest, crate::trace::Trace);

/// What the last run read, from its records and the state store; and the
/// traces it was made from.
fn watch_set(state: &Path, run: &RunOnce) -> (WatchSet, Vec<Loaded>) {
    let mut set = WatchSet::default();
    let mut traces = Vec::new();
    let store = match crate::store::StateStore::open(state, false) {
        Ok(s) => s,
        Err(e) => {
            terminal::print_note(&format!("{e}; watching the granted directories whole"));
            for r in run.records.iter().filter(|r| r.state.is_complete()) {
                set.add_dirs(&r.name, &run.dirs);
            }
            return (set, traces);
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
                Some(t) => {
                    set.add_trace(&r.name, &t);
                    traces.push((r.name.clone(), d, t));
                }
                None => set.add_dirs(&r.name, &run.dirs),
            },
            // Failed or not remembered: any change in its grants may matter.
            None => set.add_dirs(&r.name, &run.dirs),
        }
    }
    (set, traces)
}

/// Check each loaded trace against the disk once the watcher is running:
/// the ones that hold can be trusted until an event touches them (a change
/// before the watcher started would otherwise go unseen); the procs of the
/// others changed while the run ran, and are dirty now.
async fn check_after_watching(traces: Vec<Loaded>) -> (crate::store::Trusted, BTreeSet<String>) {
    tokio::task::spawn_blocking(move || {
        let (mut holds, mut stale) = (HashMap::new(), BTreeSet::new());
        for (name, digest, trace) in traces {
            match crate::trace::check(&trace) {
                Ok(()) => {
                    holds.insert(name, (digest, std::sync::Arc::new(trace)));
                }
                Err(_) => {
                    stale.insert(name);
                }
            }
        }
        (holds, stale)
    })
    .await
    .unwrap_or_default()
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
    if run.nats.nats.is_some() {
        anyhow::bail!(
            "`watch` does not run on workers (`--nats`): it needs what each proc read, which \
             stays on the worker; use `run --nats`"
        );
    }
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
    let mut traces = Vec::new();
    // The traces the next rebuild may take as they are (docs/watch.md, "What
    // a rebuild checks"); `None`: check every one.
    let mut trusted: Option<crate::store::Trusted> = None;
    loop {
        let outcome = tokio::select! {
            o = crate::commands::run_once(&run, trusted.as_ref()) => o,
            n = &mut signal => return Ok(ExitStatus::Interrupted(128 + n)),
        };
        trusted = None;
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
                (set, traces) = watch_set(&state, &once);
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
        // With the watcher running: which traces still hold. The poller
        // compares timestamps and may miss a same-size rewrite within one,
        // so its traces are always checked again.
        let (mut holds, stale) = match poll || watch.polling() {
            true => (HashMap::new(), BTreeSet::new()),
            false => check_after_watching(std::mem::take(&mut traces)).await,
        };
        if !stale.is_empty() {
            // Changed after the proc read it, before the watcher started.
            terminal::print_raw(&super::event_text(&stale, &[]));
            continue;
        }
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
            let (changed, lost) = changed_paths(batch);
            let changed: Vec<PathBuf> = changed
                .into_iter()
                .filter(|p| !set.is_unchanged(p))
                .collect();
            let module_changed = changed.contains(&module);
            // A rebuilt module re-plans the graph (its digest is in every
            // key); before any load succeeded, any change retries it.
            let all = module_changed || (names.is_empty() && !changed.is_empty());
            let dirty: BTreeSet<String> = match all || lost {
                true => names.iter().cloned().collect(),
                false => set.dirty(&changed),
            };
            if lost {
                // Events may be gone: nothing is taken as unchanged.
                holds.clear();
            }
            for name in &dirty {
                holds.remove(name);
            }
            if dirty.is_empty() && !all {
                continue;
            }
            trusted = Some(std::mem::take(&mut holds));
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

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, ModifyKind};

    fn event(kind: EventKind) -> notify::Result<notify::Event> {
        Ok(notify::Event::new(kind).add_path(PathBuf::from("/d/a.txt")))
    }

    #[test]
    fn reads_are_dropped_and_changes_stamped() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut h = handler(tx);
        let before = std::time::Instant::now();
        notify::EventHandler::handle_event(&mut h, event(EventKind::Access(AccessKind::Any)));
        notify::EventHandler::handle_event(&mut h, event(EventKind::Modify(ModifyKind::Any)));
        let (at, e) = rx.try_recv().expect("the write is sent");
        assert!(at >= before);
        assert!(matches!(e.unwrap().kind, EventKind::Modify(_)));
        assert!(rx.try_recv().is_err(), "the read is not sent");
    }

    #[tokio::test(start_paused = true)]
    async fn the_debounce_counts_from_when_events_came() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let debounce = Duration::from_millis(300);
        // An event that came 200 ms before the loop looked: 100 ms are left.
        let at = std::time::Instant::now();
        tx.send((at, event(EventKind::Modify(ModifyKind::Any))))
            .unwrap();
        tokio::time::advance(Duration::from_millis(200)).await;
        let started = tokio::time::Instant::now();
        let batch = next_batch(&mut rx, debounce).await.expect("a batch");
        assert_eq!(batch.len(), 1);
        let waited = started.elapsed();
        assert!(
            waited <= Duration::from_millis(101),
            "waited {waited:?}, not the 100 ms left"
        );
        // A later event moves the end: none came for 300 ms after it.
        let t0 = tokio::time::Instant::now();
        tx.send((t0.into_std(), event(EventKind::Modify(ModifyKind::Any))))
            .unwrap();
        let tx2 = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = tokio::time::Instant::now().into_std();
            tx2.send((now, event(EventKind::Modify(ModifyKind::Any))))
                .unwrap();
        });
        let batch = next_batch(&mut rx, debounce).await.expect("a batch");
        assert_eq!(batch.len(), 2);
        assert!(t0.elapsed() >= Duration::from_millis(550));
    }
}
