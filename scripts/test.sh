#!/usr/bin/env bash
# Runs every firekeep test: Rust (fmt, clippy, unit, integration, conformance), the Python
# cross-checks (Tink), the fuzz-target build, and each binding's suite (scripts/test.d/*.sh).
# Self-sufficient on a fresh machine with Rust, Python 3 and Node: it creates .venv and
# installs what the tests need. Servers the tests need (moto, the Firestore test server)
# are started and stopped by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s\n' "$*"; }

step "python venv (.venv) with test requirements"
bash scripts/setup-python.sh
export PATH="$ROOT/.venv/bin:$PATH"
export FIREKEEP_PYTHON="$ROOT/.venv/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (default members, all targets, -D warnings)"
cargo clippy --all-targets -- -D warnings

step "cargo test (default members)"
cargo test --no-fail-fast

for t in scripts/test.d/*.sh; do
    [ -e "$t" ] || continue
    step "$t"
    bash "$t"
done

step "all tests passed"
