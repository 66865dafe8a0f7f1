//! `--timings FILE.html`: a self-contained page of the run, after cargo's
//! `--timings`: a Gantt chart of the procs on the slots they ran in (the
//! layout of [`super::trace`]), a row per lock with the procs that held it,
//! the critical path, the slots' utilisation, and a table of every scheduled
//! proc. No network, no external files: the run's
//! data is embedded as JSON and drawn by the page's own script.
//!
//! Guest text (proc names, messages) reaches the page only as JSON inside the
//! script (with `<` escaped, so no text can close the script element) and is
//! put into the DOM with `textContent` and `setAttribute`, never as markup.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::ProcRecord;
use super::json::{RunInfo, kind_id, scheduled};
use super::trace::{slots, spans};

/// The chain of procs that ended last, each the dep of the next that ended
/// latest (the path that bounded the run's length), first to last.
fn critical_path(shown: &[&ProcRecord]) -> Vec<String> {
    let end = |r: &ProcRecord| r.started.map(|s| s + r.duration.unwrap_or_default());
    let by_name: HashMap<&str, &ProcRecord> = shown.iter().map(|r| (r.name.as_str(), *r)).collect();
    let Some(mut at) = shown
        .iter()
        .filter(|r| end(r).is_some())
        .max_by_key(|r| end(r))
    else {
        return Vec::new();
    };
    let mut path = vec![at.name.clone()];
    while let Some(dep) = at
        .deps
        .iter()
        .filter_map(|d| by_name.get(d.as_str()))
        .filter(|d| end(d).is_some() && !path.contains(&d.name))
        .max_by_key(|d| end(d))
    {
        path.push(dep.name.clone());
        at = dep;
    }
    path.reverse();
    path
}

/// The page's data: the run, and each scheduled proc with its slot (0: did
/// not run) and its times in milliseconds from the start.
fn data(info: &RunInfo<'_>, records: &[ProcRecord]) -> Value {
    let shown: Vec<&ProcRecord> = scheduled(records).collect();
    let slot_of: HashMap<usize, usize> = slots(spans(&shown)).into_iter().collect();
    let slots_used = slot_of.values().copied().max().unwrap_or(0);
    let busy: Duration = shown.iter().filter_map(|r| r.duration).sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let procs: Vec<Value> = shown
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "name": r.name,
                "state": r.state.name(),
                "slot": slot_of.get(&i).copied().unwrap_or(0),
                "start_ms": r.started.map(ms),
                "duration_ms": r.duration.map(ms),
                "reason": r.failure.as_ref().map(|f| format!("{}: {}", kind_id(f.kind), f.message)),
                "fuel_used": r.fuel_used,
                "peak_memory": r.peak_memory,
                "deps": r.deps,
                "locks": r.locks,
            })
        })
        .collect();
    let wall = info.elapsed;
    let utilisation = match slots_used {
        0 => 0.0,
        n => busy.as_secs_f64() / (wall.as_secs_f64() * n as f64).max(f64::MIN_POSITIVE),
    };
    json!({
        "module": info.module.display().to_string(),
        "elapsed_ms": ms(wall),
        "interrupted": info.interrupted,
        "slots": slots_used,
        "busy_ms": ms(busy),
        "utilisation": utilisation.min(1.0),
        "critical_path": critical_path(&shown),
        "procs": procs,
    })
}

/// JSON safe inside a `<script>` element.
fn script_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The page.
pub fn page(info: &RunInfo<'_>, records: &[ProcRecord]) -> String {
    let data = script_json(&data(info, records));
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>parproc-host timings</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.3em; }} h2 {{ font-size: 1.1em; margin-top: 1.5em; }}
.summary td {{ padding: 0 1em 0 0; }}
.gantt {{ position: relative; border-left: 1px solid #999; margin-top: .5em; }}
.row {{ position: relative; height: 22px; border-bottom: 1px solid #eee; }}
.row .label {{ position: absolute; left: -6.5em; width: 6em; text-align: right; color: #666; font-size: 12px; line-height: 22px; }}
.bar {{ position: absolute; top: 2px; height: 18px; border-radius: 3px; overflow: hidden; white-space: nowrap;
       font-size: 11px; line-height: 18px; padding: 0 3px; box-sizing: border-box; color: #fff; background: #4a7; }}
.bar.FAILED {{ background: #c44; }} .bar.CANCELLED {{ background: #c94; }} .bar.SKIPPED {{ background: #888; }}
.bar.critical {{ outline: 2px solid #222; }}
.bar.held {{ background: #57a; }}
.axis {{ position: relative; height: 18px; color: #666; font-size: 11px; }}
.axis span {{ position: absolute; transform: translateX(-50%); white-space: nowrap; }}
.wrap {{ margin-left: 7em; }}
table.procs {{ border-collapse: collapse; margin-top: .5em; }}
table.procs td, table.procs th {{ border-bottom: 1px solid #eee; padding: 2px 10px; text-align: left; }}
table.procs td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<h1>parproc-host run: <span id="module"></span></h1>
<table class="summary" id="summary"></table>
<h2>Procs per slot</h2>
<div class="wrap"><div class="axis" id="axis"></div><div class="gantt" id="gantt"></div></div>
<h2>Locks held</h2>
<div class="wrap"><div class="gantt" id="locks"></div></div>
<p id="no-locks"></p>
<h2>Critical path</h2>
<p id="critical"></p>
<h2>Every proc</h2>
<table class="procs" id="procs"><thead><tr><th>proc</th><th>state</th><th>slot</th><th>start</th><th>duration</th><th>fuel</th><th>peak memory</th><th>reason</th></tr></thead><tbody></tbody></table>
<script id="run-data" type="application/json">{data}</script>
<script>
(function () {{
  const run = JSON.parse(document.getElementById('run-data').textContent);
  const el = (tag, attrs, text) => {{
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {{}})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }};
  const secs = (ms) => ms == null ? '-' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  document.getElementById('module').textContent = run.module;
  const summary = document.getElementById('summary');
  const ran = run.procs.filter((p) => p.slot > 0);
  for (const [k, v] of [
    ['wall time', secs(run.elapsed_ms) + (run.interrupted ? ' (interrupted)' : '')],
    ['procs', run.procs.length + ' scheduled, ' + ran.length + ' ran'],
    ['slots', String(run.slots)],
    ['busy', secs(run.busy_ms)],
    ['utilisation', (100 * run.utilisation).toFixed(0) + '% of ' + run.slots + ' slot(s) over the wall time'],
  ]) {{
    const tr = el('tr');
    tr.appendChild(el('td', {{}}, k));
    tr.appendChild(el('td', {{ 'data-summary': k }}, v));
    summary.appendChild(tr);
  }}
  const total = Math.max(run.elapsed_ms, 1);
  const critical = new Set(run.critical_path);
  const gantt = document.getElementById('gantt');
  for (let slot = 1; slot <= run.slots; slot++) {{
    const row = el('div', {{ class: 'row', 'data-slot': String(slot) }});
    row.appendChild(el('span', {{ class: 'label' }}, 'slot ' + slot));
    for (const p of ran.filter((p) => p.slot === slot)) {{
      const bar = el('div', {{
        class: 'bar ' + p.state + (critical.has(p.name) ? ' critical' : ''),
        'data-proc': p.name,
        title: p.name + ' — ' + p.state + ', ' + secs(p.duration_ms) + ' from ' + secs(p.start_ms)
          + (p.locks.length ? ', holding ' + p.locks.join(', ') : ''),
      }}, p.name);
      bar.style.left = (100 * p.start_ms / total) + '%';
      bar.style.width = 'max(2px, ' + (100 * (p.duration_ms || 0) / total) + '%)';
      row.appendChild(bar);
    }}
    gantt.appendChild(row);
  }}
  const lockNames = [...new Set(ran.flatMap((p) => p.locks))].sort();
  const locks = document.getElementById('locks');
  if (lockNames.length === 0) document.getElementById('no-locks').textContent = 'no proc held a lock';
  for (const lock of lockNames) {{
    const row = el('div', {{ class: 'row', 'data-lock': lock }});
    row.appendChild(el('span', {{ class: 'label' }}, lock));
    for (const p of ran.filter((p) => p.locks.includes(lock))) {{
      const bar = el('div', {{
        class: 'bar held',
        'data-holder': lock + ' ' + p.name,
        title: lock + ' held by ' + p.name + ', ' + secs(p.duration_ms) + ' from ' + secs(p.start_ms),
      }}, p.name);
      bar.style.left = (100 * p.start_ms / total) + '%';
      bar.style.width = 'max(2px, ' + (100 * (p.duration_ms || 0) / total) + '%)';
      row.appendChild(bar);
    }}
    locks.appendChild(row);
  }}
  const axis = document.getElementById('axis');
  for (let i = 0; i <= 4; i++) {{
    const tick = el('span', {{}}, secs(total * i / 4));
    tick.style.left = (25 * i) + '%';
    axis.appendChild(tick);
  }}
  const cp = document.getElementById('critical');
  if (run.critical_path.length === 0) cp.textContent = 'nothing ran';
  run.critical_path.forEach((name, i) => {{
    if (i > 0) cp.appendChild(document.createTextNode(' → '));
    cp.appendChild(el('code', {{ 'data-critical': name }}, name));
  }});
  const body = document.querySelector('#procs tbody');
  for (const p of run.procs) {{
    const tr = el('tr', {{ 'data-row': p.name }});
    tr.appendChild(el('td', {{}}, p.name));
    tr.appendChild(el('td', {{}}, p.state));
    tr.appendChild(el('td', {{ class: 'num' }}, p.slot ? String(p.slot) : '-'));
    tr.appendChild(el('td', {{ class: 'num' }}, secs(p.start_ms)));
    tr.appendChild(el('td', {{ class: 'num' }}, secs(p.duration_ms)));
    tr.appendChild(el('td', {{ class: 'num' }}, p.fuel_used == null ? '-' : String(p.fuel_used)));
    tr.appendChild(el('td', {{ class: 'num' }}, p.peak_memory == null ? '-' : (p.peak_memory / 1048576).toFixed(1) + ' MiB'));
    tr.appendChild(el('td', {{}}, p.reason || ''));
    body.appendChild(tr);
  }}
  document.body.setAttribute('data-rendered', String(run.procs.length));
}})();
</script>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ProcState;

    fn rec(name: &str, start: u64, dur: u64, deps: &[&str]) -> ProcRecord {
        ProcRecord {
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            started: Some(Duration::from_millis(start)),
            duration: Some(Duration::from_millis(dur)),
            ..ProcRecord::bare(name, ProcState::Succeeded)
        }
    }

    #[test]
    fn the_critical_path_follows_the_dep_that_ended_last() {
        let a = rec("a", 0, 100, &[]);
        let b = rec("b", 0, 300, &[]);
        let c = rec("c", 300, 50, &["a", "b"]);
        let d = rec("d", 0, 10, &[]);
        assert_eq!(critical_path(&[&a, &b, &c, &d]), ["b", "c"]);
    }

    #[test]
    fn guest_text_cannot_close_the_script() {
        let v = json!({"name": "</script><img src=x onerror=alert(1)>&"});
        let s = script_json(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
