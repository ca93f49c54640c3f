#!/usr/bin/env bash
# Engine throughput and memory: backs up 100,000 and 1,000,000 documents of about 1 KiB from
# a generating in-memory source (holds nothing, so RSS measures the engine) to the local
# filesystem sink, then verifies and restores each backup (into a counting target).
# Prints docs/s, MB/s, peak RSS (VmHWM after the backup), verify and restore rates, and the
# ratios: backup rate / 200,000 docs/s target, and peak RSS at 1M / peak RSS at 100k (<= 1.2).
#
#   scripts/bench-backup.sh [SMALL=100000] [LARGE=1000000]
#
# Also runs the same backup from a MemoryFirestore (which holds its documents) at SMALL.
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${1:-100000}
LARGE=${2:-1000000}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/firekeep-bench.XXXXXX)}
trap 'rm -rf "$DIR"' EXIT

cargo build --release -q -p firekeep-benches --bin engine_bench
BIN=target/release/engine_bench

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
small=$("$BIN" --docs "$SMALL" --dir "$DIR/small")
large=$("$BIN" --docs "$LARGE" --dir "$DIR/large")
memory=$("$BIN" --docs "$SMALL" --dir "$DIR/memory" --source memory --backup-only)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$small" "$large" "$memory" <<'PY'
import json, sys
small, large, memory = (json.loads(a) for a in sys.argv[1:4])
TARGET = 200_000
def show(label, d):
    print(f"{label}: {d['documents']:,} docs of {d['avg_doc_bytes']:.0f} B JSON "
          f"({d['parts']} parts, stored {d['stored_bytes']/1e6:.1f} MB)")
    print(f"  backup  {d['backup_docs_per_sec']:>10,.0f} docs/s  {d['backup_json_mb_per_sec']:7.1f} MB/s JSON"
          f"  {d['backup_stored_mb_per_sec']:6.1f} MB/s stored  = {d['backup_docs_per_sec']/TARGET:.2f}x target")
    if 'verify_docs_per_sec' in d:
        print(f"  verify  {d['verify_docs_per_sec']:>10,.0f} docs/s")
        print(f"  restore {d['restore_docs_per_sec']:>10,.0f} docs/s (engine side, discarding target)")
    print(f"  peak RSS after backup {d['peak_rss_after_backup_kib']/1024:.1f} MiB")
show("generated source", small)
show("generated source", large)
show("MemoryFirestore source", memory)
ratio = large['peak_rss_after_backup_kib'] / small['peak_rss_after_backup_kib']
print(f"peak RSS {large['documents']:,} / {small['documents']:,}: {ratio:.2f}x (bound 1.2x): "
      + ("OK" if ratio <= 1.2 else "OVER"))
PY
