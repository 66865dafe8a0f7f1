#!/usr/bin/env bash
# What dispatching through NATS costs: fan-out N (`t::0` … `t::{N-1}` and `sink`, every proc a
# no-op) in-process, then through 1 and 2 local workers on a nats-server started here on
# loopback; prints each wall time and the dispatch overhead per proc against in-process.
# On a 2-core machine the workers, the coordinator and the server share the cores, so this
# measures the per-proc cost of the protocol, not how a run scales with machines.
# Usage: bash bench/distributed.sh [N] [HOST]   (defaults: 10000, target/release/parproc-host)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
host="${2:-target/release/parproc-host}"
[ -x "$host" ] || cargo build --release -p parproc-host >&2
cargo build --profile guest --target wasm32-wasip2 -p bench_jobs >&2
module=target/wasm32-wasip2/guest/bench_jobs.wasm
command -v nats-server >/dev/null || { echo "error: nats-server is needed (apt-get install nats-server)" >&2; exit 1; }
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nats-server -js -a 127.0.0.1 -p "$port" -sd "$tmp/store" >"$tmp/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "Server is ready" "$tmp/nats.log" && break; sleep 0.1; done
url="nats://127.0.0.1:$port"
export PARPROC_CACHE_DIR="$tmp/cache"

wall_ms() { # wall time in ms of one run with the given extra flags
    local start end
    start=$(date +%s%N)
    "$host" run -q --no-history --progress static -p 256 --param "n=$n" "$module" sink "$@" >/dev/null 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; exit 1; }
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
}

"$host" run -q --no-history --param n=1 "$module" sink >/dev/null 2>&1 # warm the compile cache
local_ms=$(wall_ms)
printf "%-22s %8s ms\n" "in-process" "$local_ms"
for workers in 1 2; do
    for w in $(seq "$workers"); do
        "$host" worker --nats "$url" --name "w$w" --slots 64 >"$tmp/w$w.log" 2>&1 &
        pids+=($!)
    done
    for w in $(seq "$workers"); do
        for _ in $(seq 100); do grep -q "serves" "$tmp/w$w.log" && break; sleep 0.1; done
    done
    ms=$(wall_ms --nats "$url")
    awk -v w="$workers" -v ms="$ms" -v l="$local_ms" -v n="$n" \
        'BEGIN { printf "%-22s %8d ms   dispatch overhead %.0f µs per proc\n", w " worker(s), 64 slots", ms, (ms - l) * 1000 / (n + 1) }'
    for w in $(seq "$workers"); do kill "${pids[-$w]}" 2>/dev/null || true; done
    sleep 0.5
done
