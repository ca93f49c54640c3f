#!/usr/bin/env bash
# The uniffi bindings (bindings/swift, crate firekeep-ffi; not a default member; linted as it
# is built, see scripts/test.sh): unit tests of the crate, a check that
# the checked-in Swift/Kotlin sources match the Rust code (regenerate and diff), a C program
# through the hand-written header of the caller-owned-buffer functions, then the
# pytest suite over uniffi's generated Python bindings, which call the same FFI functions
# Swift and Kotlin call.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PY="${FIREKEEP_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3

cargo test --quiet -p firekeep-ffi --lib --bins --examples
bash bindings/swift/scripts/generate.sh --check

# The hand-written C header of the functions over caller-owned buffers (what Swift imports),
# compiled against the generated uniffi header and called through the debug cdylib.
cdir="$CARGO_TARGET_DIR/buffers-header"
mkdir -p "$cdir"
cc -std=c11 -Wall -Werror -D_Nullable= -D_Nonnull= \
   -Ibindings/swift/generated/swift -Ibindings/swift/include \
   bindings/swift/tests/buffers_header.c -L"$CARGO_TARGET_DIR/debug" -lfirekeep_ffi \
   -Wl,-rpath,"$CARGO_TARGET_DIR/debug" -o "$cdir/buffers_header"
"$cdir/buffers_header"

# The tests start this binary on a free port (bindings/swift/tests/conftest.py).
cargo build --quiet -p firekeep-firestore-server --bin firekeep-firestore-server
pydir="$CARGO_TARGET_DIR/uniffi-python"
rm -rf "$pydir"
bash bindings/swift/scripts/generate.sh --python "$pydir"
FIREKEEP_FFI_PYDIR="$pydir" "$PY" -m pytest -q bindings/swift/tests
