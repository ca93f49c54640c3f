#!/usr/bin/env bash
# Encrypting N MiB through the FFI from Kotlin (firekeep-jvm over the release cdylib) against
# the Rust rate of the same call (bindings/swift/examples/encrypt_rate.rs).
# Usage: scripts/bench-kotlin.sh [MiB] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MIB="${1:-64}"
ROUNDS="${2:-5}"
cargo build --quiet --release -p firekeep-ffi --lib --example encrypt_rate
rust=$(cargo run --quiet --release -p firekeep-ffi --example encrypt_rate -- "$MIB" "$ROUNDS")
kt=$(cd bindings/kotlin && mvn -B -q -Dfirekeep.cdylib.dir="$CARGO_TARGET_DIR/release" \
      -Dtest=EncryptBench -Dfirekeep.bench.mib="$MIB" -Dfirekeep.bench.rounds="$ROUNDS" \
      -DargLine=-Xmx2g test | sed -n 's/.*kotlin-encrypt-mib-per-s=//p')
# The next `mvn test` must put the debug cdylib back: maven-resources copies it again.
echo "encrypt ${MIB} MiB, best of ${ROUNDS}"
echo "  Rust (firekeep_ffi::encrypt, no FFI): ${rust} MiB/s"
echo "  Kotlin via uniffi FFI (JNA):          ${kt} MiB/s"
awk -v k="$kt" -v r="$rust" 'BEGIN { printf "  ratio FFI/Rust: %.2f\n", k / r }'
