#!/usr/bin/env bash
# Engine throughput and memory: backs up 100,000 and 1,000,000 documents of about 1 KiB from
# a generating source that holds nothing (so RSS measures the engine) to the local
# filesystem sink, then verifies and restores each backup.
# Two sources, both generated on the fly:
#   - wire: protobuf `Document` messages, as the gRPC connector receives them from
#     Firestore, written to JSON by the connector's protobuf-to-JSON path on the workers
#     (what a backup of Firestore runs, without the network);
#   - tree: core `Document` trees (what a source handing out decoded documents costs).
# Restore targets: the wire runs restore into a target that encodes each document's
# protobuf `Write` with the Firestore connector's encoder (JSON line -> Write bytes) and
# discards the bytes: a restore into Firestore without the network. The tree runs restore
# into a target that discards the JSON lines (the engine's side alone).
# Prints docs/s, MB/s, peak RSS (VmHWM after the backup), verify and restore rates, and the
# ratios: backup rate / 300,000 docs/s target, peak RSS at LARGE / SMALL (<= 1.2).
#
#   scripts/bench-backup.sh [SMALL=100000] [LARGE=1000000]
#   env: BASELINE=/path/to/an/older/engine_bench — also runs that binary (tree source, the
#        only one old binaries have) in the same run and prints new/old ratios.
#
# Also runs the same backup from a MemoryFirestore (which holds its documents) at SMALL.
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${1:-100000}
LARGE=${2:-1000000}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/firekeep-bench.XXXXXX)}
trap 'rm -rf "$DIR"' EXIT
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

cargo build --release -q -p firekeep-benches --bin engine_bench
BIN="$TARGET_DIR/release/engine_bench"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
RESULTS="$DIR/results.jsonl"
run() { # label binary args...
    local label=$1 bin=$2
    shift 2
    echo "{\"label\": \"$label\", \"result\": $("$bin" "$@")}" >> "$RESULTS"
}
for N in "$SMALL" "$LARGE"; do
    run "wire $N" "$BIN" --docs "$N" --dir "$DIR/run" --source wire --target wire
    run "tree $N" "$BIN" --docs "$N" --dir "$DIR/run"
    if [ -n "${BASELINE:-}" ]; then
        run "baseline tree $N" "$BASELINE" --docs "$N" --dir "$DIR/run"
    fi
done
run "memory $SMALL" "$BIN" --docs "$SMALL" --dir "$DIR/run" --source memory --backup-only
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RESULTS" "$SMALL" "$LARGE" <<'PY'
import json, sys
runs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[r["label"]] = r["result"]
small, large = sys.argv[2], sys.argv[3]
TARGET = 300_000
def show(label, d):
    print(f"{label}: {d['documents']:,} docs of {d['avg_doc_bytes']:.0f} B JSON "
          f"({d['parts']} parts, stored {d['stored_bytes']/1e6:.1f} MB)")
    print(f"  backup  {d['backup_docs_per_sec']:>10,.0f} docs/s  {d['backup_json_mb_per_sec']:7.1f} MB/s JSON"
          f"  {d['backup_stored_mb_per_sec']:6.1f} MB/s stored  = {d['backup_docs_per_sec']/TARGET:.2f}x target")
    if 'verify_docs_per_sec' in d:
        print(f"  verify  {d['verify_docs_per_sec']:>10,.0f} docs/s  = {d['verify_docs_per_sec']/TARGET:.2f}x target")
        target = d.get('restore_target', 'counting')
        print(f"  restore {d['restore_docs_per_sec']:>10,.0f} docs/s ({target} target)"
              f"  = {d['restore_docs_per_sec']/TARGET:.2f}x target")
    print(f"  peak RSS after backup {d['peak_rss_after_backup_kib']/1024:.1f} MiB")
for label, d in runs.items():
    show(label, d)
for kind in ("wire", "tree"):
    a, b = runs[f"{kind} {small}"], runs[f"{kind} {large}"]
    ratio = b['peak_rss_after_backup_kib'] / a['peak_rss_after_backup_kib']
    print(f"{kind}: peak RSS {int(large):,} / {int(small):,}: {ratio:.2f}x (bound 1.2x): "
          + ("OK" if ratio <= 1.2 else "OVER"))
for n in (small, large):
    w, t = runs[f"wire {n}"], runs[f"tree {n}"]
    print(f"{int(n):,} docs: backup wire / tree {w['backup_docs_per_sec']/t['backup_docs_per_sec']:.2f}x")
    base = runs.get(f"baseline tree {n}")
    if base:
        for op in ("backup", "verify", "restore"):
            k = f"{op}_docs_per_sec"
            print(f"  {op}: wire / baseline {w[k]/base[k]:.2f}x, tree / baseline {t[k]/base[k]:.2f}x")
        print(f"  peak RSS: wire / baseline {w['peak_rss_after_backup_kib']/base['peak_rss_after_backup_kib']:.2f}x")
PY
