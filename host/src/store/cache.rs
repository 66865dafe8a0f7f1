//! The state store as the driver's [`ResultCache`].

use std::sync::Arc;

use super::{Digest, Entry, StateStore, now_ms};
use crate::exec::{BoxFuture, Key, ResultCache};
use crate::outcome::Outcome;

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
        duration_ms: i64,
    ) -> BoxFuture<'static, Result<(), String>> {
        let store = self.store.clone();
        let module = self.module;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                record(&store, key, module, proc, &outcome, duration_ms)
            })
            .await
            .map_err(|e| format!("state store write: {e}"))?
        })
    }
}

/// The newest restorable entry under `key`: a success whose result blob is
/// whole. Entries with a trace are for traced procs (not restored here).
fn lookup(store: &StateStore, key: &Digest) -> Result<Option<Outcome>, String> {
    for entry in store.candidates(key).map_err(|e| e.to_string())? {
        if entry.trace.is_some() || !matches!(entry.state.as_str(), "SUCCEEDED" | "SKIPPED") {
            continue;
        }
        let result = match entry.result {
            None => "null".to_owned(),
            Some(d) => match store.blob(&d).map_err(|e| e.to_string())? {
                Some(bytes) => String::from_utf8(bytes)
                    .map_err(|_| format!("state store: result blob {d} is not UTF-8"))?,
                None => continue,
            },
        };
        store.touch(key, None).map_err(|e| e.to_string())?;
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
    store
        .record(&Entry {
            key,
            trace: None,
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
