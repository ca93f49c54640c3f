#!/usr/bin/env bash
# Node package: install, build the addon (dev profile; deps optimised by the workspace), test.
# Not yet part of scripts/test.sh: the package is unfinished (issue 8); run it by hand.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
cargo build -q -p firekeep-firestore-server --bin firekeep-firestore-server
node --test --test-concurrency=1 __test__/
