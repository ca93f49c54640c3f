#!/usr/bin/env bash
# A backup split into 1, 2 and 4 tasks (`backup --plan`, T `backup --task` processes at once,
# `backup --commit`; release CLI, local repository) against the Firestore test server:
#   - with a per-stream rate limit (RATE documents/s on each RunQuery stream), emulating a
#     remote Firestore whose single stream, not the CPU, is the bottleneck;
#   - without it: on this 2-core machine that is CPU-bound (server, tasks and sealing share
#     the same two cores), so it says nothing about more machines.
# Prints docs/s (plan to commit, wall), the speed-up over one task, and the peak RSS of each
# task (GNU time) next to its share of the documents. Ratios are from one run.
#
#   scripts/bench-scale-out.sh [DOCS=60000]
#   env: RATE=2000 (docs/s per stream in the limited run), UNLIMITED_DOCS=400000 (documents
#        in the unlimited run: enough that process start-up does not dominate)
#        FIREKEEP_BENCH_SKIP_BUILD=1
#        FIREKEEP_BIN / SERVER_BIN (binaries to use instead of the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCS=${1:-60000}
RATE=${RATE:-2000}
UNLIMITED_DOCS=${UNLIMITED_DOCS:-400000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -z "${FIREKEEP_BENCH_SKIP_BUILD:-}" ]; then
    cargo build --release -q -p firekeep-cli --bin firekeep
    cargo build --release -q -p firekeep-firestore-server --bin firekeep-firestore-server
fi
FIREKEEP=${FIREKEEP_BIN:-$TARGET_DIR/release/firekeep}
SERVER=${SERVER_BIN:-$TARGET_DIR/release/firekeep-firestore-server}

WORK=$(mktemp -d /tmp/firekeep-bench-scale-out.XXXXXX)
trap 'exec 3>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
openssl rand -base64 32 > "$WORK/key"
RESULTS="$WORK/results.jsonl"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

run_config() { # $1 = label, $2 = rate (0: none), $3 = documents
    local label=$1 rate=$2 docs=$3
    rm -f "$WORK/stdin" "$WORK/server.out"
    mkfifo "$WORK/stdin"
    "$SERVER" --seed-demo --demo-project bench --demo-docs "$docs" --rate-limit "$rate" \
        --exit-on-stdin-eof < "$WORK/stdin" > "$WORK/server.out" &
    exec 3> "$WORK/stdin"
    for _ in $(seq 1 600); do
        grep -q "listening on" "$WORK/server.out" 2>/dev/null && break
        sleep 0.2
    done
    local host
    host=$(sed -n 's/^listening on //p' "$WORK/server.out")
    [ -n "$host" ] || { echo "server did not start"; exit 1; }
    for T in 1 2 4; do
        local repo="$WORK/repo-$label-$T"
        local common=(--no-progress --repo "$repo" --project bench --key-file "$WORK/key"
                      --audit-log "$WORK/audit.jsonl")
        local t0 t1 id
        t0=$(date +%s.%N)
        id=$(FIRESTORE_EMULATOR_HOST="$host" "$FIREKEEP" backup --plan --task-count "$T" --json \
            "${common[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["backup_id"])')
        local pids=()
        for i in $(seq 0 $((T - 1))); do
            FIRESTORE_EMULATOR_HOST="$host" CLOUD_RUN_TASK_INDEX=$i CLOUD_RUN_TASK_COUNT=$T \
                /usr/bin/time -f '%M' -o "$WORK/rss-$label-$T-$i" \
                "$FIREKEEP" backup --task --backup-id "$id" --json "${common[@]}" \
                > "$WORK/task-$label-$T-$i.json" &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p"; done
        FIRESTORE_EMULATOR_HOST="$host" "$FIREKEEP" backup --commit "$id" --json "${common[@]}" \
            > "$WORK/commit-$label-$T.json"
        t1=$(date +%s.%N)
        python3 - "$label" "$T" "$t0" "$t1" "$WORK" >> "$RESULTS" <<'PY'
import json, sys
label, t, t0, t1, work = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
c = json.load(open(f"{work}/commit-{label}-{t}.json"))
tasks = []
for i in range(t):
    r = json.load(open(f"{work}/task-{label}-{t}-{i}.json"))
    rss = int(open(f"{work}/rss-{label}-{t}-{i}").read().split()[-1])
    tasks.append({"docs": r["documents"], "rss_kib": rss})
print(json.dumps({"label": label, "tasks": t, "docs": c["documents"], "secs": t1 - t0,
                  "per_task": tasks}))
PY
        tail -n1 "$RESULTS"
        rm -rf "$repo"
    done
    exec 3>&-
    wait
}

echo "limited run: $DOCS documents, $RATE docs/s per stream; unlimited run: $UNLIMITED_DOCS documents"
run_config limited "$RATE" "$DOCS"
run_config unlimited 0 "$UNLIMITED_DOCS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RESULTS" "$RATE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rate = int(sys.argv[2])
ok = True
for label, title in [("limited", f"rate-limited ({rate} docs/s per stream: stream-bound)"),
                     ("unlimited", "no limit (CPU-bound: 2 cores shared by server and tasks)")]:
    rs = {r["tasks"]: r for r in rows if r["label"] == label}
    print(title)
    print(f"  {'tasks':>5} {'docs':>9} {'wall s':>8} {'docs/s':>9} {'x 1 task':>9}  peak RSS per task (MiB) / docs")
    base = rs[1]["docs"] / rs[1]["secs"]
    for t in sorted(rs):
        r = rs[t]
        speed = r["docs"] / r["secs"]
        per = ", ".join(f"{p['rss_kib'] / 1024:.0f}/{p['docs']:,}" for p in r["per_task"])
        print(f"  {t:>5} {r['docs']:>9,} {r['secs']:>8.2f} {speed:>9,.0f} {speed / base:>8.2f}x  {per}")
    if label == "limited":
        x4 = (rs[4]["docs"] / rs[4]["secs"]) / base
        print(f"  4 tasks / 1 task: {x4:.2f}x (aim >= 3.5)")
        ok &= x4 >= 3.5
sys.exit(0 if ok else 1)
PY
