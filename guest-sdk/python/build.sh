#!/usr/bin/env bash
# Build a parproc job script (Python) into a component: build.sh JOBS.py [OUT.wasm] [-p DIR]...
# Needs componentize-py (guest-sdk/install-tools.sh installs it into .cache/venv).
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec env PYTHONPATH="$sdk${PYTHONPATH:+:$PYTHONPATH}" python3 -m parproc_guest.build "$@"
