//! `--trace FILE.json`: the run in the Chrome trace-event format (the JSON
//! object form), which Perfetto (ui.perfetto.dev) and `chrome://tracing` open.
//!
//! Each proc that ran is a complete event (`"ph": "X"`) on a *slot*: procs
//! are laid on the fewest slots so that none overlaps another on its slot
//! (the first free slot, in start order), which shows how many ran at once and
//! when slots stood idle. Procs that never ran (FAILED_DEP, CANCELLED before
//! starting) and procs restored UP_TO_DATE are instant events (`"ph": "i"`) on
//! a row of their own at the end of the run. `args` carry the state, the
//! reason, the fuel used, the peak memory and the deps. Times are
//! microseconds from the start of the run.

use std::time::Duration;

use serde_json::{Value, json};

use super::ProcRecord;
use super::json::{RunInfo, kind_id, scheduled};
use crate::outcome::ProcState;

/// The process id every event carries (one run is one process).
const PID: u32 = 1;
/// The row of procs that did not run.
const NOT_RUN: usize = 0;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The procs of `shown` that ran, as `(index, start, end)` from the start of
/// the run.
pub(crate) fn spans(shown: &[&ProcRecord]) -> Vec<(usize, Duration, Duration)> {
    shown
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let start = r.started?;
            Some((i, start, start + r.duration.unwrap_or_default()))
        })
        .collect()
}

/// Lay the intervals `(index, start, end)`, sorted by start, on slots: the
/// slot (from 1) of each index, the first one free at its start.
pub(crate) fn slots(mut spans: Vec<(usize, Duration, Duration)>) -> Vec<(usize, usize)> {
    spans.sort_by_key(|&(i, start, _)| (start, i));
    let mut free_at: Vec<Duration> = Vec::new();
    let mut out = Vec::with_capacity(spans.len());
    for (i, start, end) in spans {
        let slot = match free_at.iter().position(|&f| f <= start) {
            Some(s) => {
                free_at[s] = end;
                s
            }
            None => {
                free_at.push(end);
                free_at.len() - 1
            }
        };
        out.push((i, slot + 1));
    }
    out
}

/// The trace of a finished run.
pub fn trace(info: &RunInfo<'_>, records: &[ProcRecord]) -> Value {
    let shown: Vec<&ProcRecord> = scheduled(records).collect();
    let laid = slots(spans(&shown));
    let args = |r: &ProcRecord| {
        json!({
            "state": r.state.name(),
            "reason": r.failure.as_ref().map(|f| json!({
                "kind": kind_id(f.kind),
                "message": f.message,
            })),
            "fuel_used": r.fuel_used,
            "peak_memory": r.peak_memory,
            "deps": r.deps,
            "locks": r.locks,
        })
    };
    let mut events = vec![json!({
        "name": "process_name", "ph": "M", "pid": PID, "tid": NOT_RUN,
        "args": {"name": format!("parproc-host run {}", info.module.display())},
    })];
    let mut used = 0;
    for &(i, slot) in &laid {
        let r = shown[i];
        used = used.max(slot);
        events.push(json!({
            "name": r.name,
            "cat": "proc",
            "ph": "X",
            "ts": micros(r.started.unwrap_or_default()),
            "dur": micros(r.duration.unwrap_or_default()),
            "pid": PID,
            "tid": slot,
            "args": args(r),
        }));
    }
    let ran: std::collections::HashSet<usize> = laid.iter().map(|&(i, _)| i).collect();
    let end = micros(info.elapsed);
    for (i, r) in shown.iter().enumerate() {
        if ran.contains(&i) {
            continue;
        }
        events.push(json!({
            "name": r.name,
            "cat": match r.state {
                ProcState::UpToDate => "up_to_date",
                _ => "not_run",
            },
            "ph": "i",
            "s": "t",
            "ts": end,
            "pid": PID,
            "tid": NOT_RUN,
            "args": args(r),
        }));
    }
    for slot in 1..=used {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": PID, "tid": slot,
            "args": {"name": format!("slot {slot}")},
        }));
    }
    if ran.len() < shown.len() {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": PID, "tid": NOT_RUN,
            "args": {"name": "not run / up to date"},
        }));
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "tool": "parproc-host",
            "module": info.module.display().to_string(),
            "duration_s": info.elapsed.as_secs_f64(),
            "interrupted": info.interrupted,
            "slots": used,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_procs_get_their_own_slots_and_a_free_slot_is_reused() {
        let ms = Duration::from_millis;
        // 0 runs 0–10, 1 runs 2–5, 2 runs 5–8 (slot 2 is free again at 5), 3 runs 9–12.
        let laid = slots(vec![
            (2, ms(5), ms(8)),
            (0, ms(0), ms(10)),
            (1, ms(2), ms(5)),
            (3, ms(9), ms(12)),
        ]);
        assert_eq!(laid, [(0, 1), (1, 2), (2, 2), (3, 2)]);
    }
}
