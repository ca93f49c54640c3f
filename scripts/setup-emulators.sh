#!/usr/bin/env bash
# Installs the storage emulators the object-store tests start themselves: Azurite (npm, into
# testing/emulators/node_modules, exactly the lockfile's version). fake-gcs-server and the
# vendors' Python clients (azure-storage-blob, google-cloud-storage) come with
# scripts/setup-python.sh. Idempotent; skipped when node_modules already matches the lock.
set -euo pipefail
cd "$(dirname "$0")/../testing/emulators"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm install --no-audit --no-fund --loglevel=error
fi
