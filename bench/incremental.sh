#!/usr/bin/env bash
# Incremental runs (the state store) through the CLI as a user runs them: builds the release
# host and the bench guest, then times `parproc-host run --quiet --parallel 2` on
#
#   - fan-out 10k (`sink`) and chain 10k (`c::*`): without a store, a first run with a fresh
#     `--state-dir`, an up-to-date rerun with the same store, and a one-proc run;
#   - reads: 1,000 procs `read::[i]`, each reading 100 files of 10 KiB from a read-only `--dir`
#     (traced reads): the same three runs.
#
# and prints the table of BENCHMARKS.md ("Incremental runs"). Figures are medians; nothing
# asserts a time (the script only checks that the rerun restores every proc).
#
#   bash bench/incremental.sh              # RUNS=5 repetitions of each run
#   RUNS=3 N=1000 READ_PROCS=100 bash bench/incremental.sh   # quicker
#
# Raw JSON lines go to target/bench/incremental.jsonl, the table to target/bench/incremental.md.
# The scratch directory (the data files, about 1.2 GiB on disk, and the state stores) is made
# with mktemp under $TMPDIR and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
N=${N:-10000}
READ_PROCS=${READ_PROCS:-1000}
OUT="$PWD/target/bench"
mkdir -p "$OUT"

echo "== build" >&2
rustup target add wasm32-wasip2 >&2
cargo build --release -p parproc-host >&2
# The bench guest as tests/artifacts builds it for bench/run.sh (the `guest` profile).
cargo build --profile guest --target wasm32-wasip2 -p bench_jobs >&2
HOST="$PWD/target/release/parproc-host"
MODULE="$PWD/target/wasm32-wasip2/guest/bench_jobs.wasm"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/parproc-incremental.XXXXXX")
cleanup() { rm -rf "$SCRATCH"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr); $(date -u +%Y-%m-%d)."

COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- host wit 2>/dev/null || echo +changes)"

python3 bench/incremental.py --host "$HOST" --module "$MODULE" --tmp "$SCRATCH" \
    --json "$OUT/incremental.jsonl" --runs "$RUNS" --n "$N" --read-procs "$READ_PROCS" \
    --machine "$MACHINE" --commit "$COMMIT" | tee "$OUT/incremental.md"
