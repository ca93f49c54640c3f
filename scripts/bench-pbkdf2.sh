#!/usr/bin/env bash
# PBKDF2-HMAC-SHA256 at 600,000 iterations: firekeep (criterion bench `pbkdf2`) against
# Python's hashlib.pbkdf2_hmac (OpenSSL), same password, salt and length, in one run.
# Prints both times and the ratio firekeep/OpenSSL (target: at most 1.25).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${FIREKEEP_PYTHON:-}
[ -n "$PY" ] || { [ -x "$ROOT/.venv/bin/python" ] && PY="$ROOT/.venv/bin/python"; } || true
[ -n "$PY" ] || PY=python3

cargo bench -p firekeep-benches --bench pbkdf2 -- --noplot "$@"

ESTIMATES="${CARGO_TARGET_DIR:-$ROOT/target}/criterion/pbkdf2_hmac_sha256/600000/new/estimates.json"
"$PY" - "$ESTIMATES" <<'PY'
import hashlib, json, statistics, sys, time

with open(sys.argv[1]) as f:
    rust_s = json.load(f)["median"]["point_estimate"] / 1e9

password, salt = b"correct horse battery staple", bytes([7] * 16)
hashlib.pbkdf2_hmac("sha256", password, salt, 600_000, 32)  # warm-up
times = []
for _ in range(7):
    t = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", password, salt, 600_000, 32)
    times.append(time.perf_counter() - t)
py_s = statistics.median(times)

ratio = rust_s / py_s
print(f"firekeep pbkdf2_hmac_sha256, 600000 iterations: {rust_s * 1e3:8.1f} ms (criterion median)")
print(f"Python hashlib.pbkdf2_hmac (OpenSSL):            {py_s * 1e3:8.1f} ms (median of 7)")
print(f"ratio firekeep/OpenSSL: {ratio:.2f} (target <= 1.25): {'OK' if ratio <= 1.25 else 'TOO SLOW'}")
sys.exit(0 if ratio <= 1.25 else 1)
PY
