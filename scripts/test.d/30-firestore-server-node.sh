#!/usr/bin/env bash
# Checks the in-process Firestore test server against Google's own Node client
# (@google-cloud/firestore, pinned in testing/firestore-server/node-tests/package-lock.json).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
fk_init
# The tests start the server binary from the same target dir cargo builds into.
cargo build -p firekeep-firestore-server --bin firekeep-firestore-server
fk_npm_install testing/firestore-server/node-tests
cd testing/firestore-server/node-tests
node --test
