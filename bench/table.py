#!/usr/bin/env python3
"""Turn the JSON lines of one benchmark run into the Markdown tables of BENCHMARKS.md.

    python3 bench/table.py OURS.jsonl PEERS.jsonl

OURS.jsonl is written by `cargo bench --bench scale -- --json FILE`, PEERS.jsonl by
bench/peers.py. Standard library only.
"""

import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_ms(ms):
    if ms is None:
        return '-'
    if ms >= 10_000:
        return f'{ms / 1000:.1f} s'
    if ms >= 100:
        return f'{ms:.0f} ms'
    return f'{ms:.1f} ms'


def ratio(a, b):
    if a is None or b is None or b == 0:
        return '-'
    r = a / b
    return f'{r:,.0f}×' if r >= 10 else f'{r:.1f}×'


def main(ours_path, peers_path):
    ours = load(ours_path)
    peers = load(peers_path)
    graphs = [r for r in ours if r['kind'] == 'graph']
    peer = {(p['peer'], p['graph'], p['n']): p for p in peers}

    def peer_cell(name, g, n):
        p = peer.get((name, g, n))
        if p is None:
            return '-', None
        if p['status'] == 'ok':
            return fmt_ms(p['wall_s'] * 1000), p['wall_s'] * 1000
        if p['status'] == 'skipped':
            return 'skipped', None
        if p['status'] == 'timeout':
            return f'> {p["wall_s"]:.0f} s', None
        return p['status'], None

    print('### Wall time, same graphs, one run\n')
    print('| graph | N | procs | planner (no wasm) | + guest callbacks | wasm, in-process | '
          'wasm, pooled | `parproc-host run -q -p 2` | same, `--pooling` | parproc `mp` | '
          'parproc `single` | make -j2 | vs `mp` | vs `single` | vs make |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for r in graphs:
        g, n = r['graph'], r['n']
        mp, mp_ms = peer_cell('parproc-mp', g, n)
        single, single_ms = peer_cell('parproc-single', g, n)
        make, make_ms = peer_cell('make', g, n)
        cli = r.get('cli_ms')
        pooled = r.get('cli_pooled_ms')
        best = min(x for x in (cli, pooled, float('inf')) if x is not None)
        best = None if best == float('inf') else best
        print(f"| {g} | {n:,} | {r['procs']:,} | {fmt_ms(r['planner_ms'])} | "
              f"{fmt_ms(r['callbacks_ms'])} | {fmt_ms(r['wasm_ms'])} | "
              f"{fmt_ms(r.get('wasm_pooled_ms'))} | {fmt_ms(cli)} | {fmt_ms(pooled)} | "
              f"{mp} | {single} | {make} | {ratio(mp_ms, best)} | {ratio(single_ms, best)} | "
              f"{ratio(make_ms, best)} |")

    print('\n### Per-proc overhead and scaling\n')
    print('\nRatios use the faster CLI column. Per-proc figures are wall time over N on 2 cores.\n')
    print('| graph | N | wasm − planner+callbacks, µs/proc | pooled − planner+callbacks, µs/proc | '
          'CLI − planner, µs/proc | CLI `--pooling` − planner, µs/proc | T(N)/T(N/10), CLI | '
          'T(N)/T(N/10), `--pooling` | host peak RSS (CLI, `--pooling`) |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    by = {(r['graph'], r['n']): r for r in graphs}
    for r in graphs:
        g, n = r['graph'], r['n']
        prev = by.get((g, n // 10))
        def scale(key):
            if prev and prev.get(key) and r.get(key):
                return f"{r[key] / prev[key]:.2f}"
            return '-'

        def per(key):
            if r.get(key) is None:
                return '-'
            return f"{(r[key] - r['planner_ms']) * 1000 / r['procs']:.2f}"

        def mib(key):
            return '-' if r.get(key) is None else f"{r[key] / 1024:.1f} MiB"

        print(f"| {g} | {n:,} | {r['wasm_us_per_proc']:.2f} | {r['wasm_pooled_us_per_proc']:.2f} | "
              f"{per('cli_ms')} | {per('cli_pooled_ms')} | {scale('cli_ms')} | "
              f"{scale('cli_pooled_ms')} | {mib('cli_peak_rss_kib')}, "
              f"{mib('cli_pooled_peak_rss_kib')} |")

    mem = []
    for g in ('fanout', 'chain', 'lattice'):
        a, b = by.get((g, 10_000)), by.get((g, 100_000))
        for key, label in (('cli_peak_rss_kib', ''), ('cli_pooled_peak_rss_kib', ' (pooled)')):
            if a and b and a.get(key) and b.get(key):
                per = (b[key] - a[key]) * 1024 / (b['procs'] - a['procs'])
                mem.append(f'{g}{label} {per:,.0f} B')
    if mem:
        print('\nHost memory per finished proc, (RSS(100k) − RSS(10k)) / 90k procs: '
              + ', '.join(mem) + '.')

    for r in ours:
        if r['kind'] == 'python':
            print(f"\nPython guest, fan-out N={r['n']:,}: planner+callbacks {fmt_ms(r['callbacks_ms'])}, "
                  f"wasm {fmt_ms(r['wasm_ms'])}: **{r['wasm_us_per_proc']:.0f} µs per proc**.")
        elif r['kind'] == 'start':
            print(f"\nStart of a one-proc run ({r['lang']}): cold (empty compile cache) "
                  f"{fmt_ms(r['cold_ms'])} of which loading {fmt_ms(r['cold_load_ms'])}; warm "
                  f"{fmt_ms(r['warm_ms'])} of which loading {fmt_ms(r['warm_load_ms'])} "
                  f"(cache {r['warm_cache']}).")
        elif r['kind'] == 'fuel':
            print(f"\nFuel metering on a CPU-bound proc (spin::{r['rounds']:,}, best of 3): "
                  f"on {fmt_ms(r['on_ms'])}, off {fmt_ms(r['off_ms'])}: "
                  f"**{r['overhead'] * 100:+.1f}%**.")


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
