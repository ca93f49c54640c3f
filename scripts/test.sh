#!/usr/bin/env bash
# Runs every firekeep test: Rust (fmt, clippy, unit, integration, conformance), the Python
# cross-checks (Tink), the fuzz-target build, and each binding's suite (scripts/test.d/*.sh).
# Self-sufficient on a fresh machine with Rust, Python 3 and Node: it creates .venv and
# installs what the tests need. Servers the tests need (moto, the Firestore test server)
# are started and stopped by the tests themselves.
#
#   bash scripts/test.sh              every step (what .ci/run runs)
#   bash scripts/test.sh STEP...      only these steps, after the setup (venv, emulators)
#   bash scripts/test.sh --list       the step names
#
# Steps: fmt, rust (cargo test with clippy), benches, and one per scripts/test.d/NN-NAME.sh,
# named NAME (or NN). A new suite is a new bash file there: it runs in
# order of its number, from any directory, and must install what it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step_name() { # scripts/test.d/60-python.sh -> python
    local b; b=$(basename "$1" .sh); echo "${b#*-}"
}
all_steps=(fmt rust benches)
for t in scripts/test.d/*.sh; do all_steps+=("$(step_name "$t")"); done
if [ "${1:-}" = --list ]; then
    printf '%s\n' "${all_steps[@]}"
    exit 0
fi
wanted=("$@")
for w in "${wanted[@]}"; do
    ok=
    for s in "${all_steps[@]}"; do [ "$w" = "$s" ] && ok=1; done
    for t in scripts/test.d/*.sh; do [ "$w" = "$(basename "$t" .sh | cut -d- -f1)" ] && ok=1; done
    [ -n "$ok" ] || { echo "unknown step '$w'; steps: ${all_steps[*]}" >&2; exit 2; }
done
# Whether step $1 (name, or NN for a test.d step) runs.
selected() {
    [ ${#wanted[@]} -eq 0 ] && return 0
    local w
    for w in "${wanted[@]}"; do [ "$w" = "$1" ] || [ "$w" = "${2:-}" ] && return 0; done
    return 1
}

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

if selected fmt; then
    step "cargo fmt --check"
    cargo fmt --all -- --check
fi

# Clippy without a second build: `cargo clippy` is `cargo check` with clippy-driver as the
# workspace rustc wrapper, which would compile every dependency once more in check mode.
# Setting the same wrapper for the real builds lints each workspace crate as it is compiled
# (tests, examples, benches, the bindings built by maturin/napi/uniffi below) with
# -D warnings, and dependencies are built once. Same lints as
# `cargo clippy --workspace --all-targets -- -D warnings`, which stays the local command.
command -v clippy-driver >/dev/null || { echo "clippy is missing: rustup component add clippy"; exit 1; }
export RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

if selected rust; then
    step "cargo test (default members; clippy -D warnings on every workspace crate built)"
    cargo test --no-fail-fast
fi
if selected benches; then
    step "cargo build of the benchmarks in the test profile (linted, not run)"
    cargo test --benches --no-run
fi

for t in scripts/test.d/*.sh; do
    [ -e "$t" ] || continue
    selected "$(step_name "$t")" "$(basename "$t" .sh | cut -d- -f1)" || continue
    step "$t"
    bash "$t"
done

step "${wanted[*]:-all} tests passed in $(( $(date +%s) - t0 ))s"
