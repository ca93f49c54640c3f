#!/usr/bin/env bash
# Cross-checks the Firestore connector against Google's own Node client
# (@google-cloud/firestore, pinned in connectors/firestore/node-tests/package-lock.json):
# data Node writes is read back exactly by the connector, and data the connector writes
# reads back exactly through Node. The driver starts the in-process server itself.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
fk_init
fk_npm_install connectors/firestore/node-tests
cargo run -q -p firekeep-firestore --example node_crosscheck
