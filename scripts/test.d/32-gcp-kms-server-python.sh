#!/usr/bin/env bash
# Checks the Cloud KMS test server (testing/gcp-kms-server) against Google's own Python client
# (google-cloud-kms, from scripts/requirements-test.txt): Encrypt/Decrypt with AAD, the CRC32C
# integrity fields, key versions and states, and the error codes firekeep's provider maps.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
fk_init
PY="${FIREKEEP_PYTHON:-$ROOT/.venv/bin/python}"
# The tests start this binary on a free port.
cargo build --quiet -p firekeep-gcp-kms-server --bin firekeep-gcp-kms-server
"$PY" -m pytest -q -p no:cacheprovider testing/gcp-kms-server/python-tests
