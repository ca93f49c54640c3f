#!/usr/bin/env bash
# Python package throughput against Rust in the same run:
#  1. firekeep.encrypt / decrypt of 256 MiB from Python (BytesIO in, null sink out) vs the
#     Rust format bench's stream/fast/encrypt and stream/fast/decrypt (criterion, same
#     256 MiB, same backend).
#  2. A 100,000-document backup from Python (Client.backup) vs the release `firekeep` CLI,
#     both from the same firekeep-firestore-server process over gRPC into local folders.
# Prints each rate and the ratio Python / Rust (target >= 0.9).
#
#   scripts/bench-python.sh [DOCS=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCS=${1:-100000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
bash scripts/setup-python.sh
export VIRTUAL_ENV="$ROOT/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"

cargo build --release -q -p firekeep-cli --bin firekeep
cargo build --release -q -p firekeep-firestore-server --bin firekeep-firestore-server
maturin develop --release --quiet --manifest-path bindings/python/Cargo.toml

WORK=$(mktemp -d /tmp/firekeep-bench-python.XXXXXX)
trap 'exec 3>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== Rust: criterion stream/fast/encrypt and decrypt (256 MiB)"
cargo bench -q -p firekeep-benches --bench format -- 'stream/fast/(encrypt|decrypt)' \
    --warm-up-time 1 --measurement-time 3 2>/dev/null | tee "$WORK/criterion.txt" | grep -E "thrpt|time:" || true

mkfifo "$WORK/stdin"
"$TARGET_DIR/release/firekeep-firestore-server" --port 0 --seed-demo --demo-project bench \
    --demo-docs "$DOCS" --exit-on-stdin-eof < "$WORK/stdin" > "$WORK/server.out" &
exec 3> "$WORK/stdin"
for _ in $(seq 1 600); do
    grep -q "listening on" "$WORK/server.out" 2>/dev/null && break
    sleep 0.5
done
HOST=$(sed -n 's/^listening on //p' "$WORK/server.out" | head -1)
[ -n "$HOST" ] || { echo "server did not start"; exit 1; }

python - "$WORK" "$HOST" "$DOCS" "$TARGET_DIR/release/firekeep" <<'PY'
import base64, io, os, re, subprocess, sys, time
import firekeep

work, host, docs, cli = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
MIB = 1 << 20

# 1. encrypt / decrypt
crit = open(os.path.join(work, "criterion.txt")).read()
unit = {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}

def rust_rate(name):
    m = re.search(re.escape(name) + r".*?thrpt:\s*\[\s*[\d.]+ \w+/s\s+([\d.]+) (\w+)/s", crit, re.S)
    return float(m.group(1)) * unit[m.group(2)] if m else float("nan")

class Null(io.RawIOBase):
    def writable(self): return True
    def write(self, b): return len(b)

def best_of(n, f):
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best

data = os.urandom(256 * MIB)
key = firekeep.generate_data_key()
obj = firekeep.encrypt(data, key=key)
for op, fn, src in (("encrypt", firekeep.encrypt, data), ("decrypt", firekeep.decrypt, obj)):
    py_mib_s = 256 / best_of(3, lambda: fn(io.BytesIO(src), Null(), key))
    rust = rust_rate(f"stream/fast/{op}")
    print(f"{op} 256 MiB (BytesIO -> file): Python {py_mib_s:,.0f} MiB/s, Rust (criterion) "
          f"{rust:,.0f} MiB/s -> ratio {py_mib_s / rust:.2f}x")
    py_mib_s = 256 / best_of(3, lambda: fn(src, key=key))
    print(f"{op} 256 MiB (bytes -> bytes): Python {py_mib_s:,.0f} MiB/s -> ratio {py_mib_s / rust:.2f}x")
del data, obj

# 2. backup of `docs` documents, alternating Rust CLI and Python, best of 2 each.
raw = base64.b64encode(os.urandom(32)).decode()
env = dict(os.environ, FIREKEEP_KEY=raw)
fs = firekeep.Firestore("bench", emulator_host=host)
client_key = firekeep.Key.raw(raw)
rust, py = [], []
for i in range(2):
    repo = os.path.join(work, f"rust{i}")
    t0 = time.perf_counter()
    subprocess.run([cli, "backup", "--repo", repo, "--project", "bench", "--emulator-host", host,
                    "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
    rust.append(time.perf_counter() - t0)
    client = firekeep.Client(os.path.join(work, f"py{i}"), client_key)
    t0 = time.perf_counter()
    r = client.backup(fs)
    py.append(time.perf_counter() - t0)
    assert r.documents >= docs, r
rust_rate, py_rate = docs / min(rust), docs / min(py)
print(f"backup {docs:,} docs over gRPC: Python {py_rate:,.0f} docs/s, Rust CLI {rust_rate:,.0f} docs/s"
      f" -> ratio {py_rate / rust_rate:.2f}x")
PY
