#!/usr/bin/env bash
# The read path against a server that behaves like the ones users have: every call waits
# LATENCY_MS, and a start_at cursor costs CURSOR_NS per document it skips (a cursor that is
# not an index seek, so paging a query with cursors is quadratic). Optionally each RunQuery
# stream is rate limited (RATE documents/s). In one run, one server process:
#   - `firekeep backup` (release CLI, into a local repository) of databases of each size,
#     with wall time, docs/s and peak RSS (GNU time's maximum resident set size);
#   - Google's Node client reading the same databases (one streamed query, as it does);
#   - the connector's streamed read alone (`bench_read read`, no backup work) and, up to
#     PAGED_MAX documents, the paging it replaced (`bench_read read-paged`: RunQuery pages of
#     1,000 resumed by start_at cursors), to show what a regression to paging costs.
# Prints the time ratio between consecutive sizes (linear growth: <= 11 per 10x),
# firekeep's rate over the Node client's, and streamed over paged reads.
#
#   scripts/bench-read-path.sh [SIZES=10000,100000,1000000]
#   env: LATENCY_MS=20 CURSOR_NS=2000 RATE=0 (off) NODE_MAX=1000000 (largest size the Node
#        client reads) PAGED_MAX=100000 (largest size read paged: it is quadratic)
#        FIREKEEP_BENCH_SKIP_BUILD=1 (use the binaries already built)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
fk_init
SIZES=${1:-10000,100000,1000000}
LATENCY_MS=${LATENCY_MS:-20}
CURSOR_NS=${CURSOR_NS:-2000}
RATE=${RATE:-0}
NODE_MAX=${NODE_MAX:-1000000}
PAGED_MAX=${PAGED_MAX:-100000}

if [ -z "${FIREKEEP_BENCH_SKIP_BUILD:-}" ]; then
    cargo build --release -q -p firekeep-cli --bin firekeep
    cargo build --release -q -p firekeep-firestore --example bench_read
fi
FIREKEEP="$TARGET_DIR/release/firekeep"
SERVER="$TARGET_DIR/release/examples/bench_read"
fk_npm_install connectors/firestore/node-tests

fk_workdir firekeep-bench-read-path
echo "seeding $SIZES documents (~1 KiB each) into the test server..."
fk_start_server "$SERVER" serve "$SIZES" --latency-ms "$LATENCY_MS" --cursor-cost-ns "$CURSOR_NS" --rate-limit "$RATE"
echo "server: latency ${LATENCY_MS} ms per call, cursors ${CURSOR_NS} ns per skipped document, rate limit ${RATE} docs/s per stream (0: none)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

openssl rand -base64 32 > "$WORK/key" 2>/dev/null \
    || python3 -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())' > "$WORK/key"

RESULTS="$WORK/results.jsonl"
for N in ${SIZES//,/ }; do
    # firekeep: a whole backup, its own process; peak RSS from GNU time (KiB).
    FIRESTORE_EMULATOR_HOST="$HOST" /usr/bin/time -f '%M' -o "$WORK/time-$N" \
        "$FIREKEEP" backup --json --no-progress \
        --repo "$WORK/repo-$N" --project firekeep-bench --database "bench-$N" \
        --key-file "$WORK/key" --audit-log "$WORK/audit.jsonl" > "$WORK/firekeep-$N.json"
    python3 - "$N" "$WORK/firekeep-$N.json" "$(tail -n1 "$WORK/time-$N")" >> "$RESULTS" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
secs = r["duration"]["secs"] + r["duration"]["nanos"] / 1e9
print(json.dumps({"reader": "firekeep", "size": int(sys.argv[1]), "docs": r["documents"],
                  "secs": secs, "peak_rss_kib": int(sys.argv[3])}))
PY
    tail -n1 "$RESULTS"
    rm -rf "$WORK/repo-$N"
    if [ "$N" -le "$NODE_MAX" ]; then
        (cd connectors/firestore/node-tests && node bench-read.js "$HOST" "bench-$N") \
            | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r["size"]='"$N"'; print(json.dumps(r))' \
            >> "$RESULTS"
        tail -n1 "$RESULTS"
    fi
    MODES=read
    [ "$N" -gt "$PAGED_MAX" ] || MODES="read read-paged"
    for mode in $MODES; do
        # shellcheck disable=SC2046
        "$SERVER" "$mode" "$HOST" "bench-$N" $([ "$mode" = read ] || echo 1000) \
            | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r["size"]='"$N"'; print(json.dumps(r))' \
            >> "$RESULTS"
        tail -n1 "$RESULTS"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exec 3>&-
wait

python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
fk = {r["size"]: r for r in rows if r["reader"] == "firekeep"}
node = {r["size"]: r for r in rows if r["reader"] == "node"}
stream = {r["size"]: r for r in rows if r["reader"] == "connector"}
paged = {r["size"]: r for r in rows if r["reader"] == "paged"}
ok = True
print("firekeep = backup (CLI); node = Google's Node client read; stream = connector read "
      "(one RunQuery); paged = RunQuery pages of 1,000 resumed by cursor")
print(f"{'reader':9} {'docs':>9} {'wall s':>8} {'docs/s':>9} {'peak RSS':>10}")
for size in sorted(fk):
    for name, r in [("firekeep", fk[size]), ("node", node.get(size)),
                    ("stream", stream.get(size)), ("paged", paged.get(size))]:
        if r is None:
            continue
        assert r["docs"] == size, f"{name} read {r['docs']} of {size} documents"
        print(f"{name:9} {r['docs']:>9,} {r['secs']:>8.2f} {r['docs'] / r['secs']:>9,.0f} "
              f"{r['peak_rss_kib'] / 1024:>7.1f} MiB")
sizes = sorted(fk)
for a, b in zip(sizes, sizes[1:]):
    ratio = fk[b]["secs"] / fk[a]["secs"]
    print(f"firekeep time {b:,} / {a:,} documents: {ratio:.2f} (linear: <= {1.1 * b / a:.0f})")
    ok &= ratio <= 1.1 * b / a
for size in sizes:
    if size in node:
        speed = (size / fk[size]["secs"]) / (size / node[size]["secs"])
        print(f"firekeep backup / Node client read at {size:,} documents: {speed:.2f}x")
        if size in stream:
            print(f"connector read / Node client read at {size:,} documents: "
                  f"{node[size]['secs'] / stream[size]['secs']:.2f}x")
ps = sorted(paged)
for a, b in zip(ps, ps[1:]):
    print(f"paged read time {b:,} / {a:,} documents: {paged[b]['secs'] / paged[a]['secs']:.2f}")
for size in ps:
    if size in stream:
        print(f"streamed / paged read at {size:,} documents: "
              f"{paged[size]['secs'] / stream[size]['secs']:.2f}x faster")
peak = max(r["peak_rss_kib"] for r in fk.values()) / 1024
print(f"firekeep peak RSS, largest of all sizes: {peak:.1f} MiB (aim <= 100)")
ok &= peak <= 100
sys.exit(0 if ok else 1)
PY
