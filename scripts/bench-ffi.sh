#!/usr/bin/env bash
# Encrypting 64 MiB through the FFI (uniffi's Python bindings, release cdylib) against the
# Rust rate of the same call (firekeep_core::format::seal, ring backend, same machine).
# Prints MiB/s of each and the ratio FFI/Rust. Usage: scripts/bench-ffi.sh [MiB] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PY="${FIREKEEP_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
MIB="${1:-64}"
ROUNDS="${2:-5}"

cargo build --quiet --release -p firekeep-ffi --lib --bin uniffi-bindgen
dir="$CARGO_TARGET_DIR/uniffi-python-release"
rm -rf "$dir" && mkdir -p "$dir"
"$CARGO_TARGET_DIR/release/uniffi-bindgen" generate --library \
  "$CARGO_TARGET_DIR/release/libfirekeep_ffi.so" --language python --out-dir "$dir" --no-format >/dev/null
cp "$CARGO_TARGET_DIR/release/libfirekeep_ffi.so" "$dir/"

# The Rust rate: firekeep_ffi::encrypt called from Rust (examples/encrypt_rate.rs).
rust=$(cargo run --quiet --release -p firekeep-ffi --example encrypt_rate -- "$MIB" "$ROUNDS")
ffi=$(PYTHONPATH="$dir" "$PY" - "$MIB" "$ROUNDS" <<'PY'
import os, sys, time
import firekeep_ffi as fk
mib, rounds = int(sys.argv[1]), int(sys.argv[2])
data = os.urandom(mib << 20)
key = fk.generate_data_key()
best = float("inf")
for _ in range(rounds):
    t = time.perf_counter()
    obj = fk.encrypt(key, data, None)
    best = min(best, time.perf_counter() - t)
assert fk.decrypt(key, obj) == data
print(f"{mib / best:.1f}")
PY
)
echo "encrypt ${MIB} MiB, best of ${ROUNDS}"
echo "  Rust (firekeep_ffi::encrypt, no FFI): ${rust} MiB/s"
echo "  Python via uniffi FFI:                ${ffi} MiB/s"
"$PY" -c "print(f'  ratio FFI/Rust: {float(\"$ffi\") / float(\"$rust\"):.2f}')"
