#!/usr/bin/env bash
# Fails when a tracked file holds an absolute path of a developer's machine or cites a
# document that is not in the repository (the behaviour is documented in docs/).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
# Absolute machine paths: home directories and the workspace roots of build machines.
if git grep --untracked -n -I -E '(^|[^A-Za-z0-9_.~-])/(work|home/[a-z]|Users/|root/)[A-Za-z0-9_.+-]*' \
    -- ':!.ci/check-tree.sh'; then
    echo "check-tree: absolute machine paths above; use paths relative to the repository" >&2
    status=1
fi
# Citations of files outside the tree (the original behavioural notes): cite docs/planner.md,
# another docs/ page, or parproc's own source by file and function instead.
if git grep --untracked -n -I -E 'parproc-spec|parproc-scenarios|shared/(style|toolchain)|toolchain\.md|spec §' \
    -- ':!.ci/check-tree.sh'; then
    echo "check-tree: citations of documents outside the repository above; cite docs/ instead" >&2
    status=1
fi
# Only the runtime names wasmtime: outside host/src/runtime no code line (comments aside)
# may use a wasmtime crate. The core crate's purity is a dependency fact (see docs/architecture.md).
if git grep --untracked -n -I -E '^[^/]*\b(wasmtime|wasmtime_wasi|wasmtime_wasi_io)::' \
    -- 'host/src' ':!host/src/runtime'; then
    echo "check-tree: code outside host/src/runtime names wasmtime above; move it into the runtime" >&2
    status=1
fi
exit $status
