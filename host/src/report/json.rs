//! The machine-readable run report (`--report FILE.json`).
//!
//! The schema is [`SCHEMA`] (`report.schema.json` beside this file, JSON
//! Schema draft 2020-12) and is documented in the README. [`SCHEMA_VERSION`]
//! changes whenever a field changes meaning or disappears; new optional fields
//! do not change it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::ProcRecord;
use super::clock::rfc3339;
use crate::outcome::{FailureKind, ProcState};

/// The version of the report's schema.
pub const SCHEMA_VERSION: u32 = 3;

/// The JSON Schema of the report.
pub const SCHEMA: &str = include_str!("report.schema.json");

/// Facts about a run that are not in its records.
#[derive(Debug)]
pub struct RunInfo<'a> {
    /// The module that ran.
    pub module: &'a Path,
    /// When the run started.
    pub started: SystemTime,
    /// How long it took.
    pub elapsed: Duration,
    /// Its log directory, if one was made.
    pub log_dir: Option<&'a Path>,
    /// Log files by proc name.
    pub logs: &'a HashMap<String, PathBuf>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// The host's side of the run.
    pub host: HostStats,
}

/// Facts about the host's side of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostStats {
    /// How long loading the module took (compile or cache, link, `describe`).
    pub load: Option<Duration>,
    /// Where its compiled code came from: `hit`, `miss`, `rejected`,
    /// `refused` or `off` (see [`crate::runtime::CacheUse::id`]).
    pub compile_cache: Option<&'static str>,
    /// The most proc stores that were alive at once (running or blocked in a
    /// context wait).
    pub peak_live: usize,
    /// The host process's peak resident memory in bytes (Linux `VmHWM`), when known.
    pub peak_rss: Option<u64>,
}

impl HostStats {
    /// This process's peak resident set size, from `/proc/self/status`
    /// (`VmHWM`: the current address space only, unlike `getrusage`, which also
    /// counts what the parent had before `exec`).
    pub fn read_peak_rss() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

/// A stable snake_case id for a failure kind.
pub fn kind_id(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Failed => "failed",
        FailureKind::DepFailed => "dep_failed",
        FailureKind::DepMissing => "dep_missing",
        FailureKind::NoFailures => "no_failures",
        FailureKind::TimedOut => "timed_out",
        FailureKind::OutOfFuel => "out_of_fuel",
        FailureKind::MemoryLimit => "memory_limit",
        FailureKind::Trapped => "trapped",
        FailureKind::TooLarge => "too_large",
        FailureKind::Deadlock => "deadlock",
        FailureKind::NotGranted => "not_granted",
        FailureKind::Cancelled => "cancelled",
        FailureKind::HostError => "host_error",
        FailureKind::NoChange => "no_change",
    }
}

fn secs(d: Duration) -> Value {
    json!(crate::units::secs_f64(d))
}

fn path(p: &Path) -> Value {
    Value::String(p.display().to_string())
}

/// The records of a run that were scheduled (every state but IDLE).
pub fn scheduled(records: &[ProcRecord]) -> impl Iterator<Item = &ProcRecord> {
    records.iter().filter(|r| r.state != ProcState::Idle)
}

/// The report as a JSON value.
pub fn report(info: &RunInfo<'_>, records: &[ProcRecord]) -> Value {
    report_with(info, records, true)
}

/// Write the report to `out` as it is made, each result as the proc gave it
/// (borrowed from the records: never parsed into a tree or copied, so a run
/// with large results does not hold them twice).
pub fn write_report(
    info: &RunInfo<'_>,
    records: &[ProcRecord],
    out: impl std::io::Write,
) -> serde_json::Result<()> {
    use serde::ser::{SerializeMap, SerializeSeq};
    use serde_json::value::RawValue;

    struct Report<'a>(&'a Value, &'a [Option<&'a RawValue>]);
    struct Procs<'a>(&'a [Value], &'a [Option<&'a RawValue>]);
    struct Proc<'a>(&'a Value, Option<&'a RawValue>);

    impl serde::Serialize for Report<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let fields = self.0.as_object().into_iter().flatten();
            let mut m = s.serialize_map(None)?;
            for (k, v) in fields {
                match (k.as_str(), v.as_array()) {
                    ("procs", Some(procs)) => m.serialize_entry(k, &Procs(procs, self.1))?,
                    _ => m.serialize_entry(k, v)?,
                }
            }
            m.end()
        }
    }
    impl serde::Serialize for Procs<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for (i, p) in self.0.iter().enumerate() {
                seq.serialize_element(&Proc(p, self.1.get(i).copied().flatten()))?;
            }
            seq.end()
        }
    }
    impl serde::Serialize for Proc<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            for (k, v) in self.0.as_object().into_iter().flatten() {
                match k.as_str() {
                    "result" => m.serialize_entry(k, &self.1)?,
                    _ => m.serialize_entry(k, v)?,
                }
            }
            m.end()
        }
    }

    let value = report_with(info, records, false);
    // In the order of the report's procs (the scheduled records).
    let results: Vec<Option<&RawValue>> = scheduled(records)
        .map(|r| {
            r.result
                .as_deref()
                .and_then(|j| serde_json::from_str::<&RawValue>(j).ok())
        })
        .collect();
    let mut out = std::io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &Report(&value, &results))?;
    std::io::Write::write_all(&mut out, b"\n").map_err(serde_json::Error::io)?;
    std::io::Write::flush(&mut out).map_err(serde_json::Error::io)
}

/// [`report`], with each result parsed into the value (`results`) or left
/// `null` for [`write_report`] to fill.
fn report_with(info: &RunInfo<'_>, records: &[ProcRecord], results: bool) -> Value {
    let mut procs = Vec::new();
    let mut totals: Vec<(&str, u64)> = [
        "succeeded",
        "failed",
        "failed_dep",
        "skipped",
        "cancelled",
        "up_to_date",
        "not_run",
    ]
    .iter()
    .map(|k| (*k, 0))
    .collect();
    for r in scheduled(records) {
        let key = match r.state {
            ProcState::Succeeded => "succeeded",
            ProcState::Failed => "failed",
            ProcState::FailedDep => "failed_dep",
            ProcState::Skipped => "skipped",
            ProcState::Cancelled => "cancelled",
            ProcState::UpToDate => "up_to_date",
            _ => "not_run",
        };
        if let Some(slot) = totals.iter_mut().find(|(k, _)| *k == key) {
            slot.1 += 1;
        }
        let start = r.started.map(|s| info.started + s);
        let end = match (start, r.duration) {
            (Some(s), Some(d)) => Some(s + d),
            _ => None,
        };
        let result = r.result.as_deref().filter(|_| results).map(|j| {
            serde_json::from_str::<Value>(j).unwrap_or_else(|_| Value::String(j.to_owned()))
        });
        procs.push(json!({
            "name": r.name,
            "state": r.state.name(),
            "reason": r.failure.as_ref().map(|f| json!({
                "kind": kind_id(f.kind),
                // As the proc gave it: an empty message stays empty.
                "message": f.message,
            })),
            "start": start.map(rfc3339),
            "end": end.map(rfc3339),
            "duration_s": r.duration.map(secs),
            "fuel_used": r.fuel_used,
            "peak_memory": r.peak_memory,
            "result": result,
            "deps": r.deps,
            "log_path": info.logs.get(&r.name).map(|p| path(p)),
            "why": r.why,
        }));
    }
    let mut t = serde_json::Map::new();
    t.insert("procs".into(), json!(procs.len()));
    for (k, n) in totals {
        t.insert(k.into(), json!(n));
    }
    let ok = procs
        .iter()
        .all(|p| matches!(p["state"].as_str(), Some("SUCCEEDED") | Some("SKIPPED")))
        && !info.interrupted;
    json!({
        "schema_version": SCHEMA_VERSION,
        "tool": "parproc-host",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "module": path(info.module),
        "started_at": rfc3339(info.started),
        "ended_at": rfc3339(info.started + info.elapsed),
        "duration_s": secs(info.elapsed),
        "log_dir": info.log_dir.map(path),
        "interrupted": info.interrupted,
        "load_s": info.host.load.map(secs),
        "compile_cache": info.host.compile_cache,
        "peak_live_procs": info.host.peak_live,
        "peak_rss_bytes": info.host.peak_rss,
        "ok": ok,
        "totals": t,
        "procs": procs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Failure;

    #[test]
    fn the_schema_is_valid_json_of_this_version() {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the schema parses");
        assert_eq!(
            schema["properties"]["schema_version"]["const"],
            json!(SCHEMA_VERSION)
        );
    }

    #[test]
    fn reports_every_field() {
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let records = vec![
            ProcRecord {
                name: "a".into(),
                state: ProcState::Succeeded,
                failure: None,
                deps: vec![],
                started: Some(Duration::from_millis(10)),
                duration: Some(Duration::from_millis(1500)),
                fuel_used: Some(42),
                peak_memory: Some(1 << 20),
                result: Some("{\"x\":1}".into()),
                log: None,
                log_ignore: vec![],
                locks: Vec::new(),
                why: None,
            },
            ProcRecord {
                failure: Some(Failure::new(
                    FailureKind::DepFailed,
                    "canceled due to failure of \"a\"",
                )),
                deps: vec!["a".into()],
                ..ProcRecord::bare("b", ProcState::FailedDep)
            },
            ProcRecord::bare("idle", ProcState::Idle),
        ];
        let logs = HashMap::from([("a".to_owned(), PathBuf::from("/l/a.log"))]);
        let info = RunInfo {
            module: Path::new("/m/jobs.wasm"),
            started,
            elapsed: Duration::from_secs(2),
            log_dir: Some(Path::new("/l")),
            logs: &logs,
            interrupted: false,
            host: HostStats::default(),
        };
        let r = report(&info, &records);
        // Written as it goes, with the results borrowed: the same report.
        let mut written = Vec::new();
        write_report(&info, &records, &mut written).expect("write");
        let back: Value = serde_json::from_slice(&written).expect("JSON");
        assert_eq!(back, r);
        assert!(
            String::from_utf8(written)
                .unwrap()
                .contains("\"result\": {\"x\":1}")
        );
        assert_eq!(r["schema_version"], 3);
        assert_eq!(r["started_at"], "2023-11-14T22:13:20.000Z");
        assert_eq!(r["ended_at"], "2023-11-14T22:13:22.000Z");
        assert_eq!(r["ok"], false);
        assert_eq!(r["totals"]["procs"], 2);
        assert_eq!(r["totals"]["succeeded"], 1);
        assert_eq!(r["totals"]["failed_dep"], 1);
        let a = &r["procs"][0];
        assert_eq!(a["start"], "2023-11-14T22:13:20.010Z");
        assert_eq!(a["end"], "2023-11-14T22:13:21.510Z");
        assert_eq!(a["duration_s"], 1.5);
        assert_eq!(a["fuel_used"], 42);
        assert_eq!(a["peak_memory"], 1 << 20);
        assert_eq!(a["result"], json!({"x": 1}));
        assert_eq!(a["log_path"], "/l/a.log");
        assert_eq!(a["reason"], Value::Null);
        let b = &r["procs"][1];
        assert_eq!(b["reason"]["kind"], "dep_failed");
        assert_eq!(b["reason"]["message"], "canceled due to failure of \"a\"");
        assert_eq!(b["deps"], json!(["a"]));
        assert_eq!(b["start"], Value::Null);
        assert_eq!(
            r["procs"].as_array().unwrap().len(),
            2,
            "idle procs are left out"
        );
    }
}
