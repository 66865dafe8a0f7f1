#!/usr/bin/env bash
# What holding results costs the host: 40 procs returning 15 MiB each, 4 at a time, against the
# same run returning 1-byte results; prints the rise of the peak resident memory as a multiple of
# the result bytes, plain, with --report and with --results. Needs GNU time (/usr/bin/time).
# Usage: bash bench/results-memory.sh [HOST]   (default: target/release/parproc-host)
set -euo pipefail
cd "$(dirname "$0")/.."
host="${1:-target/release/parproc-host}"
[ -x "$host" ] || cargo build --release -p parproc-host >&2
cargo build --profile guest --target wasm32-wasip2 -p bench_jobs >&2
module=target/wasm32-wasip2/guest/bench_jobs.wasm
n=40 bytes=15728640
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
peak() { # peak RSS in KiB of one run with result size $1 and extra flags
    local size="$1"; shift
    /usr/bin/time -f %M "$host" run -q "$@" --param "n=$n" --param "bytes=$size" --parallel 4 \
        "$module" 'big::*' 2>&1 >/dev/null | tail -1
}
total_kib=$(( n * (bytes + 2) / 1024 ))
for mode in plain report results; do
    case "$mode" in
        plain) flags=() ;;
        report) flags=(--report "$tmp/report.json") ;;
        results) flags=("--results=$tmp/results.json") ;;
    esac
    small=$(peak 1 "${flags[@]}")
    big=$(peak "$bytes" "${flags[@]}")
    awk -v m="$mode" -v s="$small" -v b="$big" -v t="$total_kib" \
        'BEGIN { printf "%-8s peak %7d KiB (1-byte results: %6d KiB): +%.2fx the %d KiB of results\n", m, b, s, (b - s) / t, t }'
done
