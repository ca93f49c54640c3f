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

step "storage emulators (Azurite) for the object-store tests"
bash scripts/setup-emulators.sh

step "cargo fmt --check"
cargo fmt --all -- --check

# Clippy without a second build: `cargo clippy` is `cargo check` with clippy-driver as the
# workspace rustc wrapper, which would compile every dependency once more in check mode.
# Setting the same wrapper for the real builds lints each workspace crate as it is compiled
# (tests, examples, benches, the bindings built by maturin/napi/uniffi below) with
# -D warnings, and dependencies are built once. Same lints as
# `cargo clippy --workspace --all-targets -- -D warnings`, which stays the local command.
command -v clippy-driver >/dev/null || { echo "clippy is missing: rustup component add clippy"; exit 1; }
export RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "cargo test (default members; clippy -D warnings on every workspace crate built)"
cargo test --no-fail-fast
step "cargo build of the benchmarks in the test profile (linted, not run)"
cargo test --benches --no-run

for t in scripts/test.d/*.sh; do
    [ -e "$t" ] || continue
    step "$t"
    bash "$t"
done

step "all tests passed in $(( $(date +%s) - t0 ))s"
