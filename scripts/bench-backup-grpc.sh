#!/usr/bin/env bash
# Backup rate through the gRPC connector: N ~1 KiB documents in the in-process Firestore
# test server (its own process), backed up by the release `firekeep` binary into a local
# repository, next to the engine's rate from an in-memory source (MemoryFirestore, D1's
# engine_bench) in the same run. Prints docs/s, MB/s, peak RSS of the firekeep process, and
# the ratio gRPC / memory source.
#
#   scripts/bench-backup-grpc.sh [N=200000]   (FIREKEEP_BENCH_SKIP_BUILD=1: no cargo build)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
fk_init
N=${1:-200000}

# FIREKEEP_BENCH_SKIP_BUILD=1 uses the binaries already built.
if [ -z "${FIREKEEP_BENCH_SKIP_BUILD:-}" ]; then
    cargo build --release -q -p firekeep-cli --bin firekeep
    cargo build --release -q -p firekeep-benches --bin engine_bench
    cargo build --release -q -p firekeep-firestore --example bench_read
fi
FIREKEEP="$TARGET_DIR/release/firekeep"
ENGINE="$TARGET_DIR/release/engine_bench"
SERVER="$TARGET_DIR/release/examples/bench_read"

fk_workdir firekeep-bench-grpc
# The server (bench_read serve: the same ~1 KiB documents as the connector read bench)
# runs until the script exits.
echo "seeding $N documents into the test server..."
fk_start_server "$SERVER" serve "$N"

openssl rand -base64 32 > "$WORK/key" 2>/dev/null \
    || python3 -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())' > "$WORK/key"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
# Peak RSS of the firekeep process from its own accounting (GNU time may be missing).
FIRESTORE_EMULATOR_HOST="$HOST" "$FIREKEEP" backup --json --no-progress \
    --repo "$WORK/repo" --project firekeep-bench --database "bench-$N" \
    --key-file "$WORK/key" --audit-log "$WORK/audit.jsonl" > "$WORK/grpc.json" &
PID=$!
PEAK=$(fk_peak_rss_kib "$PID")
wait "$PID"
MEMORY=$("$ENGINE" --docs "$N" --dir "$WORK/memory" --source memory --backup-only)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$WORK/grpc.json" "$MEMORY" "$PEAK" <<'PY'
import json, sys
grpc = json.load(open(sys.argv[1]))
memory = json.loads(sys.argv[2])
peak_kib = int(sys.argv[3])
secs = grpc["duration"]["secs"] + grpc["duration"]["nanos"] / 1e9
g_rate = grpc["documents"] / secs
m_rate = memory["backup_docs_per_sec"]
print(f"gRPC connector + test server -> local repo: {grpc['documents']:,} docs in {secs:.2f}s = "
      f"{g_rate:,.0f} docs/s, {grpc['bytes'] / secs / 1e6:.1f} MB/s JSON, "
      f"{grpc['parts']} parts, peak RSS {peak_kib / 1024:.1f} MiB (sampled)")
print(f"MemoryFirestore -> local repo (engine_bench):  {memory['documents']:,} docs = {m_rate:,.0f} docs/s")
print(f"ratio gRPC / memory source: {g_rate / m_rate:.2f}x")
PY
