#!/usr/bin/env bash
# Installs the storage emulators the object-store tests start themselves: Azurite (npm, into
# testing/emulators/node_modules, exactly the lockfile's version). fake-gcs-server and the
# vendors' Python clients (azure-storage-blob, google-cloud-storage) come with
# scripts/setup-python.sh. Idempotent; skipped when node_modules already matches the lock.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
fk_init
fk_npm_install testing/emulators
