//! The state store as the driver's [`ResultCache`].

use std::collections::HashMap;
use std::sync::Arc;

use super::{Digest, Entry, StateStore, now_ms};
use crate::exec::{BoxFuture, Lookup, ResultCache};
use crate::outcome::Outcome;
use crate::trace::Trace;

/// What a lookup found, with the trace digest of a hit (to mark it used).
enum Found {
    Hit(Outcome, Option<Digest>),
    /// A hit whose context calls must be asked again first.
    Replay(Outcome, Vec<crate::trace::Answered>, Option<Digest>),
    Miss(String),
}

/// What the writer thread is sent (entries are the traffic; a flush is rare).
#[expect(
    clippy::large_enum_variant,
    reason = "boxing every entry would cost an allocation per proc"
)]
enum ToWriter {
    /// An entry to commit.
    Entry(Entry),
    /// Say when everything sent before is committed.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// A hit to mark used: its key and trace digest.
type Used = (Digest, Option<Digest>);

/// Traces taken as they are, by proc: the trace's blob and the trace itself
/// (see [`StoreCache::trust_traces`]).
pub type Trusted = HashMap<String, (Digest, Arc<Trace>)>;

/// How long the writer gathers entries before it commits them.
const GATHER: std::time::Duration = std::time::Duration::from_millis(50);

/// The most entries one transaction commits.
const MAX_BATCH: usize = 2048;

/// How many hits are marked used at once.
const TOUCH_BATCH: usize = 512;

/// A [`ResultCache`] over a [`StateStore`], for one module. Lookups and blob
/// writes run on tokio's blocking threads. A record is durable when its entry
/// is in the run's journal (`super::journal`: one `write`, no thread hop);
/// one writer thread then commits everything waiting to the database in one
/// transaction (group commit), off the path of the run. Hits are marked used
/// in batches (the mark only orders `gc`). Dropping it waits for the writer
/// and removes the journal.
#[derive(Debug)]
pub struct StoreCache {
    store: Arc<StateStore>,
    module: Digest,
    journal: Option<Arc<super::journal::Journal>>,
    writer: Option<std::sync::mpsc::Sender<ToWriter>>,
    done: Option<std::thread::JoinHandle<Result<(), String>>>,
    used: Arc<std::sync::Mutex<Vec<Used>>>,
    /// The store's keys and last records as the run began: a key with no
    /// entry is a miss answered from memory, without a thread hop.
    index: Arc<super::Index>,
    /// Procs, each with the one trace of theirs whose recorded reads are
    /// taken as they are, not checked against the disk again: `watch`
    /// checked them after its watcher started and saw no change since.
    trusted: Arc<std::sync::OnceLock<Trusted>>,
}

impl StoreCache {
    /// Take these traces (proc name → trace blob and trace) as they are: `watch`
    /// checked each against the disk after its watcher started and has seen
    /// no change to any path in them since, so checking every read again
    /// would only find what it already knows (and reading the blob again
    /// would only give the trace it holds). An entry with another trace is
    /// checked as always. Set once, before the first lookup; a later call is
    /// ignored.
    pub fn trust_traces(&self, traces: Trusted) {
        let _ = self.trusted.set(traces);
    }

    /// Outcomes of the module whose component has the digest `module`.
    pub fn new(store: Arc<StateStore>, module: Digest) -> Result<StoreCache, super::StoreError> {
        let index = Arc::new(store.index()?);
        crate::statcache::global().load_store(store.dir(), || store.stat_rows())?;
        let journal = super::journal::Journal::create(store.dir(), store.sync)
            .map_err(super::StoreError::Io)?;
        let (writer, queue) = std::sync::mpsc::channel::<ToWriter>();
        let w = store.clone();
        let done = std::thread::Builder::new()
            .name("parproc-state-writer".into())
            .spawn(move || {
                // The first failure is kept: the journal then stays for the
                // next open of the store to commit.
                let mut result = Ok(());
                while let Ok(first) = queue.recv() {
                    // The journal has them already: let entries gather for a
                    // while (parked, so a sender wakes nobody), so that many
                    // share one transaction. Dropping the cache, or a flush,
                    // unparks it.
                    if matches!(first, ToWriter::Entry(_)) {
                        std::thread::park_timeout(GATHER);
                    }
                    let mut msgs = vec![first];
                    while msgs.len() < MAX_BATCH
                        && let Ok(more) = queue.try_recv()
                    {
                        msgs.push(more);
                    }
                    let mut batch = Vec::with_capacity(msgs.len());
                    let mut flushes = Vec::new();
                    for m in msgs {
                        match m {
                            ToWriter::Entry(e) => batch.push(e),
                            ToWriter::Flush(tx) => flushes.push(tx),
                        }
                    }
                    let stats = crate::statcache::global().take_fresh();
                    if (!batch.is_empty() || !stats.is_empty())
                        && let Err(e) = w.commit(&batch, &stats)
                        && result.is_ok()
                    {
                        tracing::warn!("{e}; the journal keeps the entries");
                        result = Err(e.to_string());
                    }
                    for tx in flushes {
                        let _ = tx.send(());
                    }
                }
                result
            })
            .map_err(|e| super::StoreError::Io(format!("cannot start the store's writer: {e}")))?;
        Ok(StoreCache {
            store,
            module,
            journal: Some(Arc::new(journal)),
            writer: Some(writer),
            done: Some(done),
            used: Arc::default(),
            index,
            trusted: Arc::default(),
        })
    }
}

impl StoreCache {
    /// Wait until every entry recorded so far is committed to the database
    /// (it is durable before, in the journal; `watch` reads the database
    /// right after a run).
    pub fn flush(&self) {
        let (Some(writer), Some(done)) = (&self.writer, &self.done) else {
            return;
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if writer.send(ToWriter::Flush(tx)).is_ok() {
            done.thread().unpark();
            let _ = rx.recv();
        }
    }
}

/// Note a hit for `gc`'s order; a full batch is handed back, to be written.
fn mark_used(used: &std::sync::Mutex<Vec<Used>>, hit: Used) -> Option<Vec<Used>> {
    let mut u = used.lock().unwrap_or_else(|p| p.into_inner());
    u.push(hit);
    (u.len() >= TOUCH_BATCH).then(|| std::mem::take(&mut *u))
}

impl Drop for StoreCache {
    fn drop(&mut self) {
        let used = std::mem::take(&mut *self.used.lock().unwrap_or_else(|p| p.into_inner()));
        if !used.is_empty() {
            let _ = self.store.touch_many(&used);
        }
        // The writer commits what is waiting and stops; then the journal
        // holds nothing the database lacks. (A record still in flight keeps
        // the journal: it is committed by the next open of the store.)
        drop(self.writer.take());
        let committed = self.done.take().is_some_and(|d| {
            d.thread().unpark();
            d.join().is_ok_and(|r| r.is_ok())
        });
        if committed && let Some(j) = self.journal.take().and_then(Arc::into_inner) {
            j.remove();
        }
        // Digests learnt by lookups after the last record (a rerun that ran
        // nothing); they only spare a read, so a failure loses nothing.
        let stats = crate::statcache::global().take_fresh();
        if !stats.is_empty() {
            let _ = self.store.save_stats(&stats);
        }
    }
}

impl ResultCache for StoreCache {
    fn lookup(&self, ask: Lookup) -> BoxFuture<'static, Result<crate::exec::Found, String>> {
        if let Some(result) = self.index.hits.get(&ask.key)
            && ask.outputs.is_empty()
        {
            // An untraced success with a small result: restored from the
            // index, no thread hop (its key is all it depends on).
            let result = result.clone();
            // Used within the hour: not marked again (gc orders by days).
            let batch = match self.index.fresh.contains(&ask.key) {
                true => None,
                false => mark_used(&self.used, (ask.key, None)),
            };
            let store = self.store.clone();
            return Box::pin(async move {
                if let Some(batch) = batch {
                    tokio::task::spawn_blocking(move || store.touch_many(&batch))
                        .await
                        .map_err(|e| format!("state store: {e}"))?
                        .map_err(|e| e.to_string())?;
                }
                Ok(crate::exec::Found::Hit(Outcome::UpToDate(result)))
            });
        }
        if !self.index.keys.contains(&ask.key) {
            // Another run may have recorded it since: missing that costs a
            // re-run, never a wrong hit.
            let why = what_changed(self.index.last.get(&ask.proc), self.module, &ask);
            return Box::pin(async move { Ok(crate::exec::Found::Miss(why)) });
        }
        let store = self.store.clone();
        let module = self.module;
        let used = self.used.clone();
        let index = self.index.clone();
        let trusted = self
            .trusted
            .get()
            .and_then(|traces| traces.get(&ask.proc).cloned());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let found = lookup(&store, module, &index, &ask, trusted)?;
                if let Found::Hit(_, trace) | Found::Replay(_, _, trace) = &found
                    && let Some(batch) = mark_used(&used, (ask.key, *trace))
                {
                    store.touch_many(&batch).map_err(|e| e.to_string())?;
                }
                Ok(match found {
                    Found::Hit(outcome, _) => crate::exec::Found::Hit(outcome),
                    Found::Replay(outcome, calls, _) => {
                        crate::exec::Found::Replay { outcome, calls }
                    }
                    Found::Miss(why) => crate::exec::Found::Miss(why),
                })
            })
            .await
            .map_err(|e| format!("state store lookup: {e}"))?
        })
    }

    fn record(
        &self,
        ask: Lookup,
        outcome: Outcome,
        trace: Option<Trace>,
        duration_ms: i64,
    ) -> BoxFuture<'static, Result<(), String>> {
        let (Some(journal), Some(writer)) = (self.journal.clone(), self.writer.clone()) else {
            return Box::pin(async { Err("state store: the writer has stopped".to_owned()) });
        };
        // Durable once in the journal; the database takes it in the background.
        let keep = move |entry: Option<Entry>| -> Result<(), String> {
            let Some(entry) = entry else { return Ok(()) };
            journal.append(&entry)?;
            writer
                .send(ToWriter::Entry(entry))
                .map_err(|_| "state store: the writer has stopped".to_owned())
        };
        // Without a trace and with a result small enough for its row there
        // is no blob to write: the entry is kept at once, on this thread.
        let no_blobs = trace.is_none()
            && match &outcome {
                Outcome::Succeeded(json) => json.len() <= super::INLINE_RESULT,
                _ => true,
            };
        if no_blobs {
            let done =
                entry(&self.store, self.module, &ask, &outcome, None, duration_ms).and_then(keep);
            return Box::pin(async move { done });
        }
        let store = self.store.clone();
        let module = self.module;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                keep(entry(
                    &store,
                    module,
                    &ask,
                    &outcome,
                    trace.as_ref(),
                    duration_ms,
                )?)
            })
            .await
            .map_err(|e| format!("state store write: {e}"))?
        })
    }
}

/// The newest restorable entry under the key: a success whose result blob is
/// whole and whose trace, if it has one, still holds on the disk (the key
/// finds candidates, each candidate's recorded reads are checked, except a
/// `trusted` trace's). On a miss, why.
fn lookup(
    store: &StateStore,
    module: Digest,
    index: &super::Index,
    ask: &Lookup,
    trusted: Option<(Digest, Arc<Trace>)>,
) -> Result<Found, String> {
    let mut why = None;
    for entry in store.candidates(&ask.key).map_err(|e| e.to_string())? {
        if !matches!(entry.state.as_str(), "SUCCEEDED" | "SKIPPED") {
            continue;
        }
        let mut outputs = None;
        if let Some(t) = entry.trace {
            let trace = match &trusted {
                Some((d, trace)) if *d == t => trace.clone(),
                _ => {
                    let Some(bytes) = store.blob(&t).map_err(|e| e.to_string())? else {
                        why.get_or_insert_with(|| "its recorded trace is gone".to_owned());
                        continue;
                    };
                    let trace: Trace = serde_json::from_slice(&bytes)
                        .map_err(|e| format!("state store: trace blob {t} does not parse: {e}"))?;
                    if let Err(changed) = crate::trace::check(&trace) {
                        why.get_or_insert(changed);
                        continue;
                    }
                    Arc::new(trace)
                }
            };
            outputs = Some(trace);
        }
        let result = match (entry.inline, entry.result) {
            (Some(inline), _) => inline,
            (None, None) => "null".to_owned(),
            (None, Some(d)) => match store.blob(&d).map_err(|e| e.to_string())? {
                Some(bytes) => String::from_utf8(bytes)
                    .map_err(|_| format!("state store: result blob {d} is not UTF-8"))?,
                None => {
                    why.get_or_insert_with(|| "its recorded result is gone".to_owned());
                    continue;
                }
            },
        };
        if let Some(trace) = &outputs
            && let Err(e) = restore_outputs(store, trace)
        {
            why.get_or_insert(e);
            continue;
        }
        if !ask.outputs.is_empty() {
            let roots = outputs
                .as_ref()
                .map(|t| t.roots.clone())
                .unwrap_or_default();
            let now = std::time::SystemTime::now();
            if let Some(stale) = crate::declared::stale_outputs(&roots, &ask.outputs, now) {
                why.get_or_insert(stale);
                continue;
            }
        }
        let outcome = Outcome::UpToDate(result);
        return Ok(match outputs {
            Some(t) if !t.calls.is_empty() => Found::Replay(outcome, t.calls.clone(), entry.trace),
            _ => Found::Hit(outcome, entry.trace),
        });
    }
    if let Some(why) = why {
        return Ok(Found::Miss(why));
    }
    Ok(Found::Miss(what_changed(
        index.last.get(&ask.proc),
        module,
        ask,
    )))
}

/// Put back every output that is missing or different: delete `out/`, run
/// again, and it comes back without the proc running.
fn restore_outputs(store: &StateStore, trace: &Trace) -> Result<(), String> {
    use crate::trace::Left;
    for (at, left) in &trace.outputs {
        if crate::trace::left(&trace.roots, at).ok().as_ref() == Some(left) {
            continue;
        }
        let bytes = match left {
            Left::File(hex) => {
                let d = Digest::from_hex(hex).ok_or("a recorded output has no digest")?;
                match store.blob(&d).map_err(|e| e.to_string())? {
                    Some(b) => Some(b),
                    None => return Err(format!("the recorded output `{}` is gone", at.shown())),
                }
            }
            Left::Dir | Left::Absent => None,
        };
        crate::trace::restore(&trace.roots, at, left, bytes.as_deref())
            .map_err(|e| format!("output `{}` could not be restored: {e}", at.shown()))?;
    }
    Ok(())
}

/// Why no entry has this key: the proc's last record against what the key is
/// made of now, part by part.
fn what_changed(last: Option<&(Digest, Option<String>)>, module: Digest, ask: &Lookup) -> String {
    let Some((last_module, material)) = last else {
        return "first run".into();
    };
    if *last_module != module {
        return "the module changed".into();
    }
    let (Some(before), Ok(now)) = (
        material
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok()),
        serde_json::from_str::<serde_json::Value>(&ask.material),
    ) else {
        return "its inputs changed".into();
    };
    diff(&before, &now)
}

/// The first part of the key material that differs, in words.
fn diff(before: &serde_json::Value, now: &serde_json::Value) -> String {
    use serde_json::Value;
    let part = |k: &str| {
        (
            before.get(k).unwrap_or(&Value::Null),
            now.get(k).unwrap_or(&Value::Null),
        )
    };
    let (b, n) = part("params");
    if b != n {
        let names = |v: &Value| -> Vec<(String, Value)> {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        let (b, n) = (names(b), names(n));
        for (k, v) in &n {
            if b.iter().find(|(bk, _)| bk == k).map(|(_, bv)| bv) != Some(v) {
                return format!("param `{k}` changed");
            }
        }
        if let Some((k, _)) = b.iter().find(|(k, _)| !n.iter().any(|(nk, _)| nk == k)) {
            return format!("param `{k}` is gone");
        }
    }
    let (b, n) = part("deps");
    if b != n {
        let deps = |v: &Value| -> Vec<(String, Option<String>)> {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        let (b, n) = (deps(b), deps(n));
        for (d, digest) in &n {
            match b.iter().find(|(bd, _)| bd == d) {
                Some((_, before)) if before == digest => {}
                Some(_) => return format!("dep `{d}` gave another result"),
                None => return format!("dep `{d}` is new"),
            }
        }
        return "its deps changed".into();
    }
    for (k, words) in [
        ("args", "its arguments changed"),
        ("budget", "its budget changed"),
        ("env", "a granted environment value changed"),
        ("grants", "the directory grants changed"),
        ("deterministic", "--deterministic changed"),
        ("decl", "its declaration changed"),
        ("key", "the host keys differently now"),
    ] {
        let (b, n) = part(k);
        if b != n {
            return words.into();
        }
    }
    "its inputs changed".into()
}

/// The entry to commit for `outcome`, its blobs stored; `None` for an outcome
/// that is not remembered.
fn entry(
    store: &StateStore,
    module: Digest,
    ask: &Lookup,
    outcome: &Outcome,
    trace: Option<&Trace>,
    duration_ms: i64,
) -> Result<Option<Entry>, String> {
    let (state, result) = match outcome {
        Outcome::Succeeded(json) => ("SUCCEEDED", Some(json.as_str())),
        Outcome::Skipped { .. } => ("SKIPPED", None),
        // Failures are never cached (the previous entry stays), and a restored
        // outcome is already there.
        Outcome::Failed(_) | Outcome::UpToDate(_) => return Ok(None),
    };
    let put = |bytes: &[u8]| store.put_blob(bytes).map_err(|e| e.to_string());
    let inline = match outcome {
        Outcome::Succeeded(json) if json.len() <= super::INLINE_RESULT => Some(json.clone()),
        Outcome::Skipped { .. } => Some("null".to_owned()),
        _ => None,
    };
    // A small result lives in its row; only a larger one is a blob.
    let result = match inline {
        Some(_) => None,
        None => result.map(|r| put(r.as_bytes())).transpose()?,
    };
    let traced = trace;
    let trace = trace
        .map(|t| {
            let bytes = serde_json::to_vec(t).map_err(|e| format!("cannot encode a trace: {e}"))?;
            put(&bytes)
        })
        .transpose()?;
    let material = Some(ask.material.clone());
    // The bytes each output file holds now: the ones the proc left, or the
    // outcome is not recorded (something changed them since).
    let mut blobs = Vec::new();
    if let Some(t) = traced {
        for (at, left) in &t.outputs {
            if let crate::trace::Left::File(hex) = left {
                let bytes = crate::trace::read(&t.roots, at)
                    .map_err(|e| format!("output `{}` cannot be read: {e}", at.shown()))?;
                let d = put(&bytes)?;
                if d.to_hex() != *hex {
                    return Err(format!(
                        "output `{}` changed after the proc ended; not remembered",
                        at.shown()
                    ));
                }
                blobs.push(d);
            }
        }
    }
    Ok(Some(Entry {
        key: ask.key,
        trace,
        proc: ask.proc.clone(),
        module,
        state: state.to_owned(),
        result,
        outputs: None,
        material,
        inline,
        blobs,
        finished_at_ms: now_ms(),
        duration_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::diff;
    use serde_json::json;

    #[test]
    fn a_miss_names_the_part_of_the_key_that_changed() {
        let base = json!({"key": 1, "params": [["a", 1]], "deps": [["x", "d1"]], "args": [], "budget": {}});
        let with = |k: &str, v: serde_json::Value| {
            let mut m = base.clone();
            m[k] = v;
            m
        };
        assert_eq!(
            diff(&base, &with("params", json!([["a", 2]]))),
            "param `a` changed"
        );
        assert_eq!(diff(&base, &with("params", json!([]))), "param `a` is gone");
        assert_eq!(
            diff(&base, &with("deps", json!([["x", "d2"]]))),
            "dep `x` gave another result"
        );
        assert_eq!(
            diff(&base, &with("args", json!([["i", 1]]))),
            "its arguments changed"
        );
        assert_eq!(
            diff(&base, &with("budget", json!({"fuel": 1}))),
            "its budget changed"
        );
        assert_eq!(diff(&base, &base), "its inputs changed");
    }
}
