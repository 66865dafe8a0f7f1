#!/usr/bin/env bash
# Build a parproc job module written in C or C++ into a component:
#
#     guest-sdk/c/build.sh JOBS.c [OUT.wasm] [-- CFLAGS...]
#
# JOBS.c (or .cc/.cpp/.cxx for C++) defines `void parproc_declare(void)` with the calls of
# guest-sdk/c/parproc.h. OUT.wasm defaults to JOBS.wasm next to the source. Flags after `--`
# go to the compiler (-I, -D, -O...).
#
# The chain: `parproc-host bindgen c` writes the bindings of the host's own WIT, Debian's
# clang-19 compiles for wasm32-wasi (preview1, the reactor model) against Debian's wasi-libc,
# lld links, and `parproc-host componentize` adds the preview1 adapter the host embeds.
# C++ builds with -fno-exceptions: Debian's wasm32 libc++ has no exception support.
#
# PARPROC_C_STRIP=1 links with --strip-all: about 80 KB instead of 200 KB for a small module,
# but a trap's backtrace then has no function names.
#
# Needs (guest-sdk/install-tools.sh installs them): clang-19, lld-19, wasi-libc,
# libclang-rt-19-dev-wasm32 (and libc++-19-dev-wasm32 for C++), and parproc-host ($PARPROC_HOST,
# on PATH, or built in this repository's target/ directory).
set -euo pipefail

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$sdk/../.." && pwd)"

usage() {
    echo "usage: guest-sdk/c/build.sh JOBS.c [OUT.wasm] [-- CFLAGS...]" >&2
    exit 2
}

[ $# -ge 1 ] || usage
src="$1"
shift
out=""
if [ $# -ge 1 ] && [ "$1" != "--" ]; then
    out="$1"
    shift
fi
extra=()
if [ $# -ge 1 ]; then
    [ "$1" = "--" ] || usage
    shift
    extra=("$@")
fi
[ -f "$src" ] || { echo "error: $src: no such file" >&2; exit 2; }
[ -n "$out" ] || out="${src%.*}.wasm"

case "$src" in
    *.c) lang=c ;;
    *.cc | *.cpp | *.cxx | *.C) lang=c++ ;;
    *) echo "error: $src: expected a .c file (C) or a .cc/.cpp/.cxx file (C++)" >&2; exit 2 ;;
esac

apt_cmd="apt-get install -y clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 libc++-19-dev-wasm32"
missing() {
    echo "error: $1 is not installed; on Debian or Ubuntu (as root):" >&2
    echo "    $apt_cmd" >&2
    echo "or run guest-sdk/install-tools.sh" >&2
    exit 2
}

cc="${CC_WASM:-clang-19}"
cxx="${CXX_WASM:-clang++-19}"
sysroot="${WASI_SYSROOT:-/usr}"
command -v "$cc" >/dev/null || missing "$cc (the C compiler, Debian package clang-19)"
command -v wasm-ld-19 >/dev/null || command -v wasm-ld >/dev/null ||
    missing "wasm-ld (the linker, Debian package lld-19)"
[ -f "$sysroot/include/wasm32-wasi/stdio.h" ] || missing "wasi-libc (the C library)"
"$cc" --target=wasm32-wasi -print-libgcc-file-name 2>/dev/null | xargs test -f ||
    missing "the wasm32 compiler runtime (Debian package libclang-rt-19-dev-wasm32)"
if [ "$lang" = c++ ]; then
    command -v "$cxx" >/dev/null || missing "$cxx (the C++ compiler, Debian package clang-19)"
    [ -d "$sysroot/include/wasm32-wasi/c++" ] ||
        missing "the wasm32 C++ library (Debian package libc++-19-dev-wasm32)"
fi

# parproc-host: given, on PATH, or the newest one built in this repository.
host="${PARPROC_HOST:-}"
if [ -z "$host" ]; then
    if command -v parproc-host >/dev/null; then
        host="$(command -v parproc-host)"
    else
        for candidate in "$root/target/release/parproc-host" "$root/target/debug/parproc-host"; do
            if [ -x "$candidate" ] && { [ -z "$host" ] || [ "$candidate" -nt "$host" ]; }; then
                host="$candidate"
            fi
        done
    fi
fi
[ -n "$host" ] || {
    echo "error: parproc-host is not built: run \`cargo build --release -p parproc-host\`" >&2
    echo "(or set PARPROC_HOST to the binary)" >&2
    exit 2
}

work="$(mktemp -d "${TMPDIR:-/tmp}/parproc-c.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$host" bindgen c "$work/gen"

target=(--target=wasm32-wasi "--sysroot=$sysroot" -O2)
# The SDK and the generated bindings, in C.
"$cc" "${target[@]}" -std=c11 -c -I"$work/gen" "$sdk/parproc.c" -o "$work/parproc.o"
"$cc" "${target[@]}" -c -I"$work/gen" "$work/gen/jobs.c" -o "$work/jobs.o"

# The user's file: compiler errors name it as given.
obj="$work/$(basename "${src%.*}").o"
if [ "$lang" = c ]; then
    "$cc" "${target[@]}" -std=c11 -Wall -I"$sdk" ${extra[@]+"${extra[@]}"} -c "$src" -o "$obj"
    linker="$cc"
else
    "$cxx" "${target[@]}" -std=c++17 -fno-exceptions -Wall -I"$sdk" ${extra[@]+"${extra[@]}"} \
        -c "$src" -o "$obj"
    linker="$cxx"
fi

# Link; an undefined symbol is reported against the user's file, not the bindings.
core="$work/module.core.wasm"
strip=()
[ "${PARPROC_C_STRIP:-0}" = 1 ] && strip=(-Wl,--strip-all)
if ! "$linker" "${target[@]}" -fuse-ld=lld -mexec-model=reactor -fno-exceptions ${strip[@]+"${strip[@]}"} \
    "$obj" "$work/parproc.o" "$work/jobs.o" "$work/gen/jobs_component_type.o" \
    -o "$core" 2>"$work/link.log"; then
    symbols="$(sed -n 's/.*undefined symbol: \(.*\)$/\1/p' "$work/link.log" | sort -u)"
    if [ -z "$symbols" ]; then
        cat "$work/link.log" >&2
        echo "error: $src: linking failed" >&2
        exit 1
    fi
    for symbol in $symbols; do
        if [ "$symbol" = parproc_declare ]; then
            echo "error: $src does not define \`void parproc_declare(void)\`, which declares the module's procs (see guest-sdk/c/parproc.h)" >&2
            [ "$lang" = c++ ] && echo "  (in C++ it must be \`extern \"C\" void parproc_declare(void)\`)" >&2
        else
            echo "error: $src: undefined symbol \`$symbol\` (a function declared or called but not defined: misspelled?)" >&2
        fi
    done
    exit 1
fi

mkdir -p "$(dirname "$out")"
if ! "$host" componentize "$core" -o "$out.partial" 2>"$work/componentize.log"; then
    sed "s|$core|$src|g" "$work/componentize.log" >&2
    rm -f "$out.partial"
    exit 1
fi
mv "$out.partial" "$out"
