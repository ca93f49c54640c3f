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

# Each step prints how long the previous one took, so CI logs show where the time goes.
t0=$(date +%s); t_step=$t0
step() {
    local now; now=$(date +%s)
    printf '(%ss)\n\n==> %s\n' "$((now - t_step))" "$*"
    t_step=$now
}

step "python venv (.venv) with test requirements"
bash scripts/setup-python.sh
export PATH="$ROOT/.venv/bin:$PATH"
export FIREKEEP_PYTHON="$ROOT/.venv/bin/python"

step "cargo fmt --check"
cargo fmt --all -- --check

# The whole workspace, bindings included: one check build, and the bindings' lints too.
step "cargo clippy (whole workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (default members)"
cargo test --no-fail-fast

for t in scripts/test.d/*.sh; do
    [ -e "$t" ] || continue
    step "$t"
    bash "$t"
done

step "all tests passed in $(( $(date +%s) - t0 ))s"
