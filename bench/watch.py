#!/usr/bin/env python3
"""Watch-mode latency through the CLI (the figures of BENCHMARKS.md, "Watch mode").

Starts `parproc-host watch --progress static --param n=N bench_jobs.wasm 'read::*'` on a
read-only `--dir` of N directories with 100 small files each (every `read::[i]` reads its
directory's files, traced), waits for the `watching` line, then:

- edits one file `/data/<i>/7.bin` and measures the time from the write to the line
  `• read::<i>` (the first dirty proc starting), at the default debounce (300 ms), and to
  parproc's event line (`! Watch: …`, printed when the quiet period ends and the rebuild
  begins);
- rewrites the module file with the same bytes and measures the time from the write to the
  next `watching` line (the module reloaded, the graph planned again, every proc restored).

Prints medians; asserts nothing about time.

    python3 bench/watch.py --host target/release/parproc-host \
        --module target/wasm32-wasip2/guest/bench_jobs.wasm [--procs 1000] [--runs 5]
"""

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--module", required=True)
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="parproc-watch-bench.")
    try:
        data = os.path.join(tmp, "data")
        for i in range(args.procs):
            d = os.path.join(data, str(i))
            os.makedirs(d)
            for j in range(100):
                with open(os.path.join(d, f"{j}.bin"), "wb") as f:
                    f.write(b"%d-%d\n" % (i, j))
        module = os.path.join(tmp, "jobs.wasm")
        shutil.copy(args.module, module)
        cmd = [
            args.host, "watch", "--progress", "static",
            "--state-dir", os.path.join(tmp, "state"),
            "--dir", f"{data}::/data",
            "--param", f"n={args.procs}",
            module, "read::*",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = queue.Queue()

        def pump():
            for line in proc.stdout:
                lines.put((time.perf_counter(), line.rstrip("\n")))

        threading.Thread(target=pump, daemon=True).start()

        def wait_for(pred, timeout=300):
            end = time.perf_counter() + timeout
            while True:
                left = end - time.perf_counter()
                if left <= 0:
                    sys.exit("timed out waiting for the watch")
                t, line = lines.get(timeout=left)
                if pred(line):
                    return t

        start = time.perf_counter()
        t = wait_for(lambda l: l.startswith("watching "))
        print(f"first run of {args.procs} procs and the watch set: {t - start:.2f} s", flush=True)

        edits, events = [], []
        for k in range(args.runs):
            i = (k * 97 + 13) % args.procs
            path = os.path.join(data, str(i), "7.bin")
            t0 = time.perf_counter()
            with open(path, "wb") as f:
                f.write(b"edit %d\n" % k)
            te = wait_for(lambda l: l.startswith("! Watch:"))
            t1 = wait_for(lambda l, i=i: l == f"• read::{i}")
            edits.append(t1 - t0)
            events.append(te - t0)
            wait_for(lambda l: l.startswith("watching "))
            print(
                f"  edit {k + 1}: {1000 * (t1 - t0):.0f} ms to `read::{i}` starting "
                f"({1000 * (te - t0):.0f} ms to the event line)",
                flush=True,
            )

        modules = []
        with open(module, "rb") as f:
            bytes_ = f.read()
        for k in range(args.runs):
            t0 = time.perf_counter()
            with open(module, "wb") as f:
                f.write(bytes_)
            t1 = wait_for(lambda l: l.startswith("watching "))
            modules.append(t1 - t0)
            print(f"  module {k + 1}: {1000 * (t1 - t0):.0f} ms to watching again", flush=True)

        proc.send_signal(2)
        proc.wait(timeout=30)
        print(
            f"\nWatch, {args.procs} procs (100 traced files each), debounce 300 ms: "
            f"edit → first dirty proc starting {1000 * statistics.median(edits):.0f} ms (median of "
            f"{args.runs}; the event line at {1000 * statistics.median(events):.0f} ms); module rewritten → re-planned and restored, watching again "
            f"{1000 * statistics.median(modules):.0f} ms; exit status on Ctrl-C {proc.returncode}."
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
