#!/usr/bin/env bash
# Read benchmark: N ~1 KiB documents in the in-process Firestore test server, read on
# loopback (1) through the firekeep connector and (2) with Google's Node client, each in
# its own process, from the same server in the same run. Reports documents/s and peak RSS,
# and the connector's peak RSS at the large size over the small one (target: within 1.2x).
#
#   scripts/bench-firestore-read.sh [LARGE=200000] [SMALL=20000]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
fk_init
LARGE=${1:-200000}
SMALL=${2:-20000}
PROFILE=${FIREKEEP_BENCH_PROFILE:-release}

# FIREKEEP_BENCH_NO_BUILD=1 reuses an already built binary (e.g. while cargo is busy).
[ -n "${FIREKEEP_BENCH_NO_BUILD:-}" ] || cargo build --profile "$PROFILE" -q -p firekeep-firestore --example bench_read
BIN="$TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/examples/bench_read"
fk_npm_install connectors/firestore/node-tests

fk_workdir firekeep-bench-read
echo "seeding $SMALL + $LARGE documents..."
fk_start_server "$BIN" serve "$SMALL,$LARGE"

run() { # reader database -> JSON line
    if [ "$1" = connector ]; then "$BIN" read "$HOST" "$2"; else
        (cd connectors/firestore/node-tests && node bench-read.js "$HOST" "$2"); fi
}
C_SMALL=$(run connector "bench-$SMALL")
C_LARGE=$(run connector "bench-$LARGE")
N_LARGE=$(run node "bench-$LARGE")
N_SMALL=$(run node "bench-$SMALL")
exec 3>&-
wait

python3 - "$C_SMALL" "$C_LARGE" "$N_SMALL" "$N_LARGE" <<'PY'
import json, sys
cs, cl, ns, nl = (json.loads(a) for a in sys.argv[1:])
for name, r in [("connector", cs), ("connector", cl), ("node", ns), ("node", nl)]:
    print(f"{name:9} {r['docs']:>8} docs  {r['secs']:8.2f} s  {r['docs_per_sec']:>8.0f} docs/s  peak RSS {r['peak_rss_kib']/1024:7.1f} MiB")
assert cl["docs"] == nl["docs"] and cs["docs"] == ns["docs"], "readers disagree on document counts"
speed = cl["docs_per_sec"] / nl["docs_per_sec"]
rss_vs_node = cl["peak_rss_kib"] / nl["peak_rss_kib"]
growth = cl["peak_rss_kib"] / cs["peak_rss_kib"]
print(f"connector/node throughput at {cl['docs']} docs: {speed:.2f}x")
print(f"connector/node peak RSS at {cl['docs']} docs: {rss_vs_node:.2f}x")
print(f"connector peak RSS {cl['docs']} vs {cs['docs']} docs: {growth:.2f}x (target <= 1.2x)")
sys.exit(0 if growth <= 1.2 else 1)
PY
