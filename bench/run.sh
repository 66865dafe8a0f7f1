#!/usr/bin/env bash
# The whole benchmark in one invocation: builds the host and the bench guests, runs our side
# (`cargo bench --bench scale`: planner alone, with guest callbacks, wasm in-process, and the
# CLI; cold/warm start; fuel on/off; a Python guest) and the peers (parproc 0.7.1 in both
# modes, GNU make -j2) on the same graphs, and prints the tables of BENCHMARKS.md.
#
#   bash bench/run.sh                      # N = 1k, 10k, 100k
#   SIZES=1000,10000 bash bench/run.sh     # smaller
#   PEERS=make bash bench/run.sh           # fewer peers (parproc-mp,parproc-single,make)
#   PEER_TIMEOUT=240 PEER_SKIP_AFTER=30    # a peer run is killed after 240 s; after a run over
#                                          # 30 s its larger sizes are skipped (with an estimate)
#
# Results go to target/bench/{ours,peers}.jsonl and target/bench/tables.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-1000,10000,100000}
PEERS=${PEERS:-parproc-mp,parproc-single,make}
OUT="$PWD/target/bench"
mkdir -p "$OUT"

echo "== build" >&2
rustup target add wasm32-wasip2 >&2
cargo build --release -p parproc-host >&2
python_args=()
if bash guest-sdk/install-tools.sh >&2 && bash guest-sdk/python/build.sh bench/jobs.py "$OUT/jobs_py.wasm" >&2; then
    python_args=(--python "$OUT/jobs_py.wasm")
else
    echo "(the Python guest could not be built: its figures are left out)" >&2
fi

echo "== ours" >&2
cargo bench -p parproc-host --bench scale -- --sizes "$SIZES" --json "$OUT/ours.jsonl" "${python_args[@]}"

echo "== peers" >&2
python3 bench/peers.py --sizes "$SIZES" --peers "$PEERS" \
    --timeout "${PEER_TIMEOUT:-240}" --skip-after "${PEER_SKIP_AFTER:-30}" > "$OUT/peers.jsonl"

echo "== tables" >&2
{
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr); $(date -u +%Y-%m-%d)."
    echo
    python3 bench/table.py "$OUT/ours.jsonl" "$OUT/peers.jsonl"
} | tee "$OUT/tables.md"
