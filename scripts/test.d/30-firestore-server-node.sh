#!/usr/bin/env bash
# Checks the in-process Firestore test server against Google's own Node client
# (@google-cloud/firestore, pinned in testing/firestore-server/node-tests/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# The tests start the server binary from the same target dir cargo builds into.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build -p firekeep-firestore-server --bin firekeep-firestore-server
cd testing/firestore-server/node-tests
if [ ! -d node_modules/@google-cloud/firestore ]; then
    npm ci --no-audit --no-fund
fi
node --test
