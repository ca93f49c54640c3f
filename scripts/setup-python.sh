#!/usr/bin/env bash
# Creates .venv (once) and installs the Python packages the tests use
# (scripts/requirements-test.txt). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.requirements-installed
if [ ! -f "$stamp" ] || ! cmp -s scripts/requirements-test.txt "$stamp"; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r scripts/requirements-test.txt
    cp scripts/requirements-test.txt "$stamp"
fi
