#!/usr/bin/env python3
"""Runs the incremental-run benchmark for bench/incremental.sh and prints its table.

Every figure is the wall time of `parproc-host run --quiet --parallel 2 ...` as a user runs it
(a fresh process, the module from a warm compile cache), the median of --runs repetitions:

- fanout (`--param n=N bench_jobs.wasm sink`) and chain (`c::*`): without a store, a first run
  with a fresh `--state-dir`, and an up-to-date rerun with the same store; plus a one-proc run
  (`--param n=1 bench_jobs.wasm t::0`) for the fixed cost of a run;
- reads (`read::*`, each `read::[i]` reading the 100 files `/data/<i>/<j>.bin` of a read-only
  `--dir`): the same three runs.

Before timing, one untimed run per workload warms the compile and page caches, and a checked
pair of runs (with `--report`) makes sure the first run succeeds everywhere and the rerun
restores every proc. Writes JSON lines to --json; prints a Markdown table to stdout.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

FILES_PER_READ = 100  # as `FILES_PER_READ` in tests/programs/bench_jobs/src/lib.rs


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.host = args.host
        self.module = args.module
        self.tmp = args.tmp
        self.runs = args.runs
        self.env = {k: v for k, v in os.environ.items() if k != "PARPROC_STATE_DIR"}
        self.serial = 0
        self.records = []
        self.cpu = (0.0, 0.0)  # user and system seconds of the last run

    def fresh_state_dir(self):
        self.serial += 1
        return os.path.join(self.tmp, f"state-{self.serial}")

    def run(self, args, state_dir=None, report=None):
        cmd = [self.host, "run", "--quiet", "--parallel", "2"]
        if state_dir is not None:
            cmd += ["--state-dir", state_dir]
        if report is not None:
            cmd += ["--report", report]
        cmd += args
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            log(f"command failed ({proc.returncode}): {' '.join(cmd)}")
            log(proc.stdout[-4000:])
            log(proc.stderr[-4000:])
            sys.exit(1)
        return elapsed

    def report(self, args, state_dir):
        path = os.path.join(self.tmp, "report.json")
        self.run(args, state_dir=state_dir, report=path)
        with open(path) as f:
            rep = json.load(f)
        os.remove(path)
        return rep

    def check(self, name, args, procs, result=None):
        """A first run and a rerun, with reports: every proc runs, then every proc is restored."""
        state = self.fresh_state_dir()
        first = self.report(args, state)
        t = first["totals"]
        if t["procs"] != procs or t["succeeded"] != procs:
            sys.exit(f"{name}: the first run with a store did not run {procs} procs: {t}")
        if result is not None:
            bad = [p["name"] for p in first["procs"] if p["result"] != result]
            if bad:
                sys.exit(f"{name}: unexpected results, e.g. {bad[0]}")
        again = self.report(args, state)
        t = again["totals"]
        if t["procs"] != procs or t["up_to_date"] != procs:
            sys.exit(f"{name}: the rerun did not restore all {procs} procs: {t}")
        shutil.rmtree(state)

    def timed(self, args, into, state_dir=None):
        """One timed run: appends (wall, user, system) seconds to `into`."""
        wall = self.run(args, state_dir=state_dir)
        into.append((wall, *self.cpu))
        return wall

    def record(self, workload, variant, procs, samples, **extra):
        wall = [s[0] for s in samples]
        rec = {
            "workload": workload,
            "variant": variant,
            "procs": procs,
            "runs_s": [round(x, 6) for x in wall],
            "median_s": round(statistics.median(wall), 6),
            "user_s": [round(s[1], 3) for s in samples],
            "sys_s": [round(s[2], 3) for s in samples],
            "median_user_s": round(statistics.median(s[1] for s in samples), 3),
            "median_sys_s": round(statistics.median(s[2] for s in samples), 3),
            **extra,
        }
        self.records.append(rec)
        return rec["median_s"]

    def three(self, workload, args, procs):
        """No store, first run with a fresh store, up-to-date rerun: `runs` times, interleaved."""
        log(f"== {workload}: {procs} procs, {self.runs} runs of each")
        self.run(args)  # warm-up: compile cache, page cache
        os.sync()
        nostore, first, rerun, sizes = [], [], [], []
        for rep in range(self.runs):
            a = self.timed(args, nostore)
            state = self.fresh_state_dir()
            b = self.timed(args, first, state_dir=state)
            sizes.append(dir_size(state))
            c = self.timed(args, rerun, state_dir=state)
            shutil.rmtree(state)
            log(f"   run {rep + 1}: no store {ms(a)}, first {ms(b)}, rerun {ms(c)}")
        return {
            "nostore": self.record(workload, "no_store", procs, nostore),
            "first": self.record(
                workload, "first_run", procs, first, state_dir_bytes=max(sizes)
            ),
            "rerun": self.record(workload, "rerun", procs, rerun),
            "state_bytes": max(sizes),
        }

    def one(self):
        """A one-proc run, without a store and up to date with one."""
        args = ["--param", "n=1", self.module, "t::0"]
        log(f"== one proc, {self.runs} runs")
        self.run(args)
        state = self.fresh_state_dir()
        self.run(args, state_dir=state)
        os.sync()
        nostore, rerun = [], []
        for _ in range(self.runs):
            self.timed(args, nostore)
            self.timed(args, rerun, state_dir=state)
        shutil.rmtree(state)
        return {
            "nostore": self.record("one", "no_store", 1, nostore),
            "rerun": self.record("one", "rerun", 1, rerun),
        }


def dir_size(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


def make_data(root, procs, size):
    """`root/<i>/<j>.bin` for i < procs, j < FILES_PER_READ: `size` random bytes each."""
    start = time.perf_counter()
    for i in range(procs):
        d = os.path.join(root, str(i))
        os.makedirs(d)
        for j in range(FILES_PER_READ):
            with open(os.path.join(d, f"{j}.bin"), "wb") as f:
                f.write(os.urandom(size))
    os.sync()  # its writeback is not to compete with the timed runs
    log(
        f"== data: {procs * FILES_PER_READ:,} files of {size:,} B "
        f"({procs * FILES_PER_READ * size / 2**20:.0f} MiB) in {time.perf_counter() - start:.1f} s"
    )


def ms(s):
    if s >= 10:
        return f"{s:.1f} s"
    if s >= 1:
        return f"{s * 1000:.0f} ms"
    return f"{s * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True, help="the parproc-host binary")
    ap.add_argument("--module", required=True, help="bench_jobs.wasm")
    ap.add_argument("--tmp", required=True, help="an empty scratch directory")
    ap.add_argument("--json", required=True, help="where the JSON lines go")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=10000, help="fan-out and chain size")
    ap.add_argument("--read-procs", type=int, default=1000)
    ap.add_argument("--file-size", type=int, default=10240)
    ap.add_argument("--machine", default="")
    ap.add_argument("--commit", default="", help="the commit the host was built from")
    args = ap.parse_args()

    b = Bench(args)
    n = args.n
    fan_args = ["--param", f"n={n}", args.module, "sink"]
    chain_args = ["--param", f"n={n}", args.module, "c::*"]
    data = os.path.join(args.tmp, "data")
    make_data(data, args.read_procs, args.file_size)
    read_args = [
        "--param",
        f"n={args.read_procs}",
        "--dir",
        f"{data}::/data",
        args.module,
        "read::*",
    ]
    read_bytes = FILES_PER_READ * args.file_size

    log("== checks (first run runs everything, rerun restores everything)")
    b.check("fanout", fan_args, n + 1)
    b.check("chain", chain_args, n)
    b.check("reads", read_args, args.read_procs, result=read_bytes)

    one = b.one()
    rows = [
        ("fanout", n + 1, b.three("fanout", fan_args, n + 1)),
        ("chain", n, b.three("chain", chain_args, n)),
        ("reads", args.read_procs, b.three("reads", read_args, args.read_procs)),
    ]

    derived = []
    for name, procs, r in rows:
        d = {
            "workload": name,
            "variant": "derived",
            "procs": procs,
            "store_overhead_pct": round((r["first"] / r["nostore"] - 1) * 100, 2),
            "store_overhead_us_per_proc": round((r["first"] - r["nostore"]) / procs * 1e6, 2),
            "rerun_us_per_proc": round((r["rerun"] - one["nostore"]) / procs * 1e6, 2),
            "rerun_speedup": round(r["nostore"] / r["rerun"], 2),
            "state_dir_bytes": r["state_bytes"],
        }
        b.records.append(d)
        derived.append((name, procs, r, d))

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        meta = {
            "variant": "meta",
            "machine": args.machine,
            "commit": args.commit,
            "runs": args.runs,
            "n": n,
            "read_procs": args.read_procs,
            "files_per_read": FILES_PER_READ,
            "file_size": args.file_size,
        }
        f.write(json.dumps(meta) + "\n")
        for rec in b.records:
            f.write(json.dumps(rec) + "\n")

    if args.machine:
        print(f"Machine: {args.machine}")
        print()
    print(
        f"Medians of {args.runs} runs; `parproc-host run --quiet --parallel 2`, warm compile cache."
    )
    print()
    print(
        "| workload | procs | no store | first run, fresh store | up-to-date rerun "
        "| store overhead, first run | rerun − one-proc run, µs/proc | rerun speed-up "
        "| store size |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, procs, r, d in derived:
        label = {
            "fanout": f"fan-out `sink`, n={n:,}",
            "chain": f"chain `c::*`, n={n:,}",
            "reads": f"reads `read::*`, {FILES_PER_READ} × {args.file_size:,} B each",
        }[name]
        print(
            f"| {label} | {procs:,} | {ms(r['nostore'])} | {ms(r['first'])} | {ms(r['rerun'])} "
            f"| {d['store_overhead_pct']:+.1f}%, {d['store_overhead_us_per_proc']:.1f} µs/proc "
            f"| {d['rerun_us_per_proc']:.1f} | {d['rerun_speedup']:.1f}× "
            f"| {d['state_dir_bytes'] / 2**20:.1f} MiB |"
        )
    print()
    print("Host CPU time, user + system (medians):")
    print()
    print("| workload | no store | first run, fresh store | up-to-date rerun |")
    print("|---|---:|---:|---:|")
    for name, _procs, _r, _d in derived:
        cells = []
        for variant in ("no_store", "first_run", "rerun"):
            rec = next(
                x for x in b.records if x["workload"] == name and x["variant"] == variant
            )
            cells.append(f"{rec['median_user_s']:.2f} s + {rec['median_sys_s']:.2f} s")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print(
        f"One-proc run (`--param n=1 bench_jobs.wasm t::0`): no store {ms(one['nostore'])}, "
        f"up to date with a store {ms(one['rerun'])}."
    )
    reads = derived[-1][3]
    print()
    print(
        f"Reads: rerun {reads['rerun_speedup']:.1f}× faster than the run without a store "
        f"(target ≥ 10×: {'met' if reads['rerun_speedup'] >= 10 else 'not met'}); tracing and "
        f"recording cost {reads['store_overhead_pct']:+.1f}% "
        f"({reads['store_overhead_us_per_proc']:.1f} µs per proc, "
        f"{reads['store_overhead_us_per_proc'] / FILES_PER_READ:.2f} µs per file read)."
    )


if __name__ == "__main__":
    main()
