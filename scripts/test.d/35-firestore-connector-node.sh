#!/usr/bin/env bash
# Cross-checks the Firestore connector against Google's own Node client
# (@google-cloud/firestore, pinned in connectors/firestore/node-tests/package-lock.json):
# data Node writes is read back exactly by the connector, and data the connector writes
# reads back exactly through Node. The driver starts the in-process server itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
(
    cd connectors/firestore/node-tests
    if [ ! -d node_modules/@google-cloud/firestore ]; then
        npm ci --no-audit --no-fund
    fi
)
cargo run -q -p firekeep-firestore --example node_crosscheck
