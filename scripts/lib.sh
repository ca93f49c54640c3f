#!/usr/bin/env bash
# Shared by scripts/*.sh and scripts/test.d/*.sh (source it; it defines functions only,
# plus ROOT/TARGET_DIR from fk_init):
#   fk_init                 cd to the repository root; ROOT, and CARGO_TARGET_DIR/TARGET_DIR
#                           exported as an absolute path (default ROOT/target)
#   fk_npm_install DIR      npm install in DIR when node_modules does not match its lockfile
#   fk_workdir PREFIX       WORK=a fresh temp dir, removed (after servers stop) on exit
#   fk_start_server CMD...  starts a server that prints "listening on HOST:PORT" and runs
#                           until its stdin closes; waits for it and sets HOST
#   fk_peak_rss_kib PID     waits for PID to exit; prints its peak RSS (VmHWM) in KiB

fk_init() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." || return 1
    ROOT=$PWD
    TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
    export CARGO_TARGET_DIR=$TARGET_DIR
}

fk_npm_install() {
    local dir=$1
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
        [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        # `npm install` with the committed lock, not `npm ci`: the registry mirror lacks other
        # platforms' optional packages, which npm ci refuses to do without; npm install skips
        # them and leaves the lock unchanged.
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
}

fk_workdir() {
    WORK=$(mktemp -d "/tmp/${1:-firekeep}.XXXXXX")
    # Closing fd 3 ends servers started by fk_start_server; wait lets them exit first.
    trap 'exec 3>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
}

fk_start_server() {
    [ -n "${WORK:-}" ] || { echo "fk_start_server: call fk_workdir first" >&2; return 1; }
    rm -f "$WORK/stdin"
    mkfifo "$WORK/stdin"
    "$@" < "$WORK/stdin" > "$WORK/server.out" &
    exec 3> "$WORK/stdin"   # the server runs until this descriptor closes
    local _
    for _ in $(seq 1 1200); do
        grep -q "listening on" "$WORK/server.out" 2>/dev/null && break
        kill -0 $! 2>/dev/null || break
        sleep 0.5
    done
    HOST=$(sed -n 's/^listening on //p' "$WORK/server.out" | head -1)
    [ -n "$HOST" ] || { echo "server did not start: $*" >&2; cat "$WORK/server.out" >&2; return 1; }
}

fk_peak_rss_kib() {
    local pid=$1 peak=0 hwm
    while kill -0 "$pid" 2>/dev/null; do
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
        sleep 0.05
    done
    echo "$peak"
}
