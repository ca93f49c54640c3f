#!/usr/bin/env bash
# Generates the Swift and Kotlin sources of firekeep-ffi (uniffi library mode) into
# bindings/swift/generated/{swift,kotlin}.
#
#   generate.sh            regenerate the checked-in sources
#   generate.sh --check    regenerate into a temp dir and fail if the checked-in ones differ
#   generate.sh --python D generate uniffi's Python bindings into D, with the cdylib beside
#                          them (what the pytest suite imports)
#
# Uses the shared target dir (${CARGO_TARGET_DIR:-target}); builds the debug cdylib and the
# in-workspace uniffi-bindgen (same uniffi version as the crate, so no global install).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac

mode="${1:-write}"
cargo build -q -p firekeep-ffi --lib --bin uniffi-bindgen
case "$(uname -s)" in
  Darwin) lib="$target/debug/libfirekeep_ffi.dylib" ;;
  *) lib="$target/debug/libfirekeep_ffi.so" ;;
esac
bindgen="$target/debug/uniffi-bindgen"

gen() { # language out-dir
  "$bindgen" generate --library "$lib" --language "$1" --out-dir "$2" --no-format >/dev/null
}

case "$mode" in
  write)
    rm -rf "$here/generated/swift" "$here/generated/kotlin"
    gen swift "$here/generated/swift"
    gen kotlin "$here/generated/kotlin"
    echo "generated: $(cd "$here" && find generated -type f | sort | tr '\n' ' ')"
    ;;
  --check)
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    gen swift "$tmp/swift"
    gen kotlin "$tmp/kotlin"
    if ! diff -ru "$here/generated/swift" "$tmp/swift" || ! diff -ru "$here/generated/kotlin" "$tmp/kotlin"; then
      echo "bindings/swift/generated is stale: run bindings/swift/scripts/generate.sh and commit" >&2
      exit 1
    fi
    echo "bindings/swift/generated is current"
    ;;
  --python)
    out="${2:?usage: generate.sh --python OUT_DIR}"
    mkdir -p "$out"
    gen python "$out"
    cp "$lib" "$out/"
    ;;
  *)
    echo "usage: generate.sh [--check | --python OUT_DIR]" >&2
    exit 2
    ;;
esac
