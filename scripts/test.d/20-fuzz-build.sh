#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ on stable Rust and runs each for a few seconds.
# cargo-fuzz itself needs nightly; the flags below are the stable subset it passes
# (SanitizerCoverage instrumentation for libFuzzer, no sanitizer), so libFuzzer is
# coverage-guided here too. --target keeps RUSTFLAGS off build scripts and proc macros.
# FUZZ_SECONDS (default 10) sets the run time per target; 0 only builds.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"
HOST=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
cargo build --release --bins --target "$HOST"
# CI points CARGO_TARGET_DIR outside the clone; honour it (relative paths are from fuzz/).
OUT="${CARGO_TARGET_DIR:-target}/$HOST/release"

SECONDS_PER_TARGET=${FUZZ_SECONDS:-10}
[ "$SECONDS_PER_TARGET" -gt 0 ] || exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in $(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^firekeep-fuzz$'); do
    echo "fuzz smoke run: $target (${SECONDS_PER_TARGET}s)"
    mkdir -p "$work/$target"
    # A crash makes libFuzzer exit non-zero and write the input to $work/crash-*.
    "$OUT/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=16384 \
        -artifact_prefix="$work/" "$work/$target" 2>&1 | tail -n 3
done
