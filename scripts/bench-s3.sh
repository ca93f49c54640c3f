#!/usr/bin/env bash
# Backup throughput and memory: S3 (moto on 127.0.0.1) vs the local filesystem, same run,
# same synthetic data (DOCS documents, default 1,000,000, ~300 B of JSON each), release build.
# Each target runs in its own process, so each peak RSS is its own; the in-memory source is
# measured before the backup starts and reported apart (backup_rss_growth_mb is the backup's).
# Prints one JSON line per target and the S3/local ratios.
# Usage: scripts/bench-s3.sh [DOCS]
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${1:-${DOCS:-1000000}}
bash scripts/setup-python.sh
MOTO=${FIREKEEP_MOTO_SERVER:-.venv/bin/moto_server}
[ -x "$MOTO" ] || { echo "moto_server not found: run scripts/setup-python.sh" >&2; exit 1; }

cargo build --release -q -p firekeep-object-store --example bench_backup
BIN=${CARGO_TARGET_DIR:-target}/release/examples/bench_backup

PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MOTO" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO_PID=$!
WORK=$(mktemp -d)
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.1
done
curl -sf -X PUT "http://127.0.0.1:$PORT/fk-bench" >/dev/null

echo "backup of $DOCS documents"
"$BIN" "$DOCS" local "$WORK/local" | tee "$WORK/local.json"
"$BIN" "$DOCS" s3 "http://127.0.0.1:$PORT" fk-bench | tee "$WORK/s3.json"

.venv/bin/python - "$WORK/local.json" "$WORK/s3.json" <<'PY'
import json, sys
local, s3 = (json.load(open(p)) for p in sys.argv[1:3])
print(f"S3-on-moto / local: throughput {s3['mb_per_s'] / local['mb_per_s']:.2f}x "
      f"({s3['mb_per_s']:.1f} vs {local['mb_per_s']:.1f} MB/s of NDJSON), "
      f"backup RSS growth {s3['backup_rss_growth_mb'] / max(local['backup_rss_growth_mb'], 1):.2f}x "
      f"({s3['backup_rss_growth_mb']:.0f} vs {local['backup_rss_growth_mb']:.0f} MiB), "
      f"peak RSS {s3['peak_rss_mb'] / local['peak_rss_mb']:.2f}x")
PY
