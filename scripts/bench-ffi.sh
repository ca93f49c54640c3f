#!/usr/bin/env bash
# Encrypting 64 MiB through the FFI (uniffi's Python bindings, release cdylib) against the
# Rust rate of the same calls (bindings/swift/examples/encrypt_rate.rs): `encrypt` on bytes,
# and `encrypt_into` over a caller-owned bytearray (the C function firekeep_ffi_encrypt_into
# through bindings/swift/tests/buffers.py). Prints MiB/s of each and the ratios FFI/Rust, all
# from one run. Usage: scripts/bench-ffi.sh [MiB] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PY="${FIREKEEP_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
MIB="${1:-64}"
ROUNDS="${2:-5}"

cargo build --quiet --release -p firekeep-ffi --lib --bin uniffi-bindgen --example encrypt_rate
dir="$CARGO_TARGET_DIR/uniffi-python-release"
rm -rf "$dir" && mkdir -p "$dir"
"$CARGO_TARGET_DIR/release/uniffi-bindgen" generate --library \
  "$CARGO_TARGET_DIR/release/libfirekeep_ffi.so" --language python --out-dir "$dir" --no-format >/dev/null
cp "$CARGO_TARGET_DIR/release/libfirekeep_ffi.so" "$dir/"

rust=$(cargo run --quiet --release -p firekeep-ffi --example encrypt_rate -- "$MIB" "$ROUNDS")
ffi=$(PYTHONPATH="$dir:$ROOT/bindings/swift/tests" "$PY" - "$MIB" "$ROUNDS" <<'PY'
import os, sys, time
import firekeep_ffi as fk
from buffers import decrypt_into, encrypt_into
mib, rounds = int(sys.argv[1]), int(sys.argv[2])
data = os.urandom(mib << 20)
key = fk.generate_data_key()
out = bytearray(fk.encrypted_len(len(data), None))  # allocated once, reused
best = best_into = float("inf")
for _ in range(rounds):  # alternating, so load changes hit both
    t = time.perf_counter()
    obj = fk.encrypt(key, data, None)
    best = min(best, time.perf_counter() - t)
    t = time.perf_counter()
    encrypt_into(key, data, out)
    best_into = min(best_into, time.perf_counter() - t)
assert fk.decrypt(key, obj) == data
plain = bytearray(len(data))
assert decrypt_into(key, out, plain) == len(data) and plain == data
print(f"{mib / best:.1f} {mib / best_into:.1f}")
PY
)
read -r py py_into <<<"$ffi"
r=$(sed -n 's/.*encrypt=\([0-9.]*\).*/\1/p' <<<"$rust")
r_into=$(sed -n 's/.*into=\([0-9.]*\).*/\1/p' <<<"$rust")
echo "encrypt ${MIB} MiB, best of ${ROUNDS}, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo "  Rust firekeep_ffi::encrypt (no FFI):             ${r} MiB/s"
echo "  Rust firekeep_ffi_encrypt_into (no FFI):         ${r_into} MiB/s"
echo "  Python encrypt (bytes, uniffi):                  ${py} MiB/s"
echo "  Python encrypt_into (bytearray, ctypes):         ${py_into} MiB/s"
"$PY" - "$r" "$r_into" "$py" "$py_into" <<'PY'
import sys
r, ri, p, pi = map(float, sys.argv[1:])
print(f"  ratio Python encrypt / Rust encrypt:            {p / r:.2f}")
print(f"  ratio Python encrypt_into / Rust encrypt:       {pi / r:.2f}")
print(f"  ratio Python encrypt_into / Rust encrypt_into:  {pi / ri:.2f}")
PY
