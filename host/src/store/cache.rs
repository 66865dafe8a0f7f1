//! The state store as the driver's [`ResultCache`].

use std::sync::Arc;

use super::{Digest, Entry, StateStore, now_ms};
use crate::exec::{BoxFuture, Key, ResultCache};
use crate::outcome::Outcome;
use crate::trace::Trace;

/// A [`ResultCache`] over a [`StateStore`], for one module. Every call runs on
/// tokio's blocking threads.
#[derive(Debug, Clone)]
pub struct StoreCache {
    store: Arc<StateStore>,
    module: Digest,
}

impl StoreCache {
    /// Outcomes of the module whose component has the digest `module`.
    pub fn new(store: Arc<StateStore>, module: Digest) -> StoreCache {
        StoreCache { store, module }
    }
}

impl ResultCache for StoreCache {
    fn lookup(&self, key: Key) -> BoxFuture<'static, Result<Option<Outcome>, String>> {
        let store = self.store.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || lookup(&store, &key))
                .await
                .map_err(|e| format!("state store lookup: {e}"))?
        })
    }

    fn record(
        &self,
        key: Key,
        proc: String,
        outcome: Outcome,
        trace: Option<Trace>,
        duration_ms: i64,
    ) -> BoxFuture<'static, Result<(), String>> {
        let store = self.store.clone();
        let module = self.module;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                record(
                    &store,
                    key,
                    module,
                    proc,
                    &outcome,
                    trace.as_ref(),
                    duration_ms,
                )
            })
            .await
            .map_err(|e| format!("state store write: {e}"))?
        })
    }
}

/// The newest restorable entry under `key`: a success whose result blob is
/// whole and whose trace, if it has one, still holds on the disk (the
/// constructive-trace lookup: the key finds candidates, each candidate's
/// recorded reads are checked).
fn lookup(store: &StateStore, key: &Digest) -> Result<Option<Outcome>, String> {
    for entry in store.candidates(key).map_err(|e| e.to_string())? {
        if !matches!(entry.state.as_str(), "SUCCEEDED" | "SKIPPED") {
            continue;
        }
        if let Some(t) = entry.trace {
            let Some(bytes) = store.blob(&t).map_err(|e| e.to_string())? else {
                continue;
            };
            let trace: Trace = serde_json::from_slice(&bytes)
                .map_err(|e| format!("state store: trace blob {t} does not parse: {e}"))?;
            if let Err(why) = crate::trace::check(&trace) {
                tracing::debug!(proc = entry.proc, "{why}");
                continue;
            }
        }
        let result = match entry.result {
            None => "null".to_owned(),
            Some(d) => match store.blob(&d).map_err(|e| e.to_string())? {
                Some(bytes) => String::from_utf8(bytes)
                    .map_err(|_| format!("state store: result blob {d} is not UTF-8"))?,
                None => continue,
            },
        };
        store
            .touch(key, entry.trace.as_ref())
            .map_err(|e| e.to_string())?;
        return Ok(Some(Outcome::UpToDate(result)));
    }
    Ok(None)
}

fn record(
    store: &StateStore,
    key: Digest,
    module: Digest,
    proc: String,
    outcome: &Outcome,
    trace: Option<&Trace>,
    duration_ms: i64,
) -> Result<(), String> {
    let (state, result) = match outcome {
        Outcome::Succeeded(json) => ("SUCCEEDED", Some(json.as_str())),
        Outcome::Skipped { .. } => ("SKIPPED", None),
        // Failures are never cached (the previous entry stays), and a restored
        // outcome is already there.
        Outcome::Failed(_) | Outcome::UpToDate(_) => return Ok(()),
    };
    let result = result
        .map(|r| store.put_blob(r.as_bytes()))
        .transpose()
        .map_err(|e| e.to_string())?;
    let trace = trace
        .map(|t| {
            let bytes = serde_json::to_vec(t).map_err(|e| format!("cannot encode a trace: {e}"))?;
            store.put_blob(&bytes).map_err(|e| e.to_string())
        })
        .transpose()?;
    store
        .record(&Entry {
            key,
            trace,
            proc,
            module,
            state: state.to_owned(),
            result,
            outputs: None,
            blobs: Vec::new(),
            finished_at_ms: now_ms(),
            duration_ms,
        })
        .map_err(|e| e.to_string())
}
