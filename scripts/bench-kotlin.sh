#!/usr/bin/env bash
# Encrypting N MiB through the FFI from Kotlin (firekeep-jvm over the release cdylib) against
# the Rust rate of the same calls (bindings/swift/examples/encrypt_rate.rs): `encrypt` on
# ByteArrays, and `encryptInto` on direct ByteBuffers the caller owns (the C function
# firekeep_ffi_encrypt_into). Prints MiB/s of each and the ratios Kotlin/Rust, all from one run.
# Usage: scripts/bench-kotlin.sh [MiB] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MIB="${1:-64}"
ROUNDS="${2:-5}"
cargo build --quiet --release -p firekeep-ffi --lib --example encrypt_rate
rust=$(cargo run --quiet --release -p firekeep-ffi --example encrypt_rate -- "$MIB" "$ROUNDS")
out=$(cd bindings/kotlin && mvn -B -q -Dfirekeep.cdylib.dir="$CARGO_TARGET_DIR/release" \
      -Dtest=EncryptBench -Dfirekeep.bench.mib="$MIB" -Dfirekeep.bench.rounds="$ROUNDS" \
      -DargLine=-Xmx2g test)
# The next `mvn test` must put the debug cdylib back: maven-resources copies it again.
kt=$(sed -n 's/.*kotlin-encrypt-mib-per-s=//p' <<<"$out")
kt_into=$(sed -n 's/.*kotlin-encrypt-into-mib-per-s=//p' <<<"$out")
r=$(sed -n 's/.*encrypt=\([0-9.]*\).*/\1/p' <<<"$rust")
r_into=$(sed -n 's/.*into=\([0-9.]*\).*/\1/p' <<<"$rust")
echo "encrypt ${MIB} MiB, best of ${ROUNDS}, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo "  Rust firekeep_ffi::encrypt (no FFI):             ${r} MiB/s"
echo "  Rust firekeep_ffi_encrypt_into (no FFI):         ${r_into} MiB/s"
echo "  Kotlin encrypt (ByteArray, uniffi/JNA):          ${kt} MiB/s"
echo "  Kotlin encryptInto (direct ByteBuffers, JNA):    ${kt_into} MiB/s"
awk -v k="$kt" -v ki="$kt_into" -v r="$r" -v ri="$r_into" 'BEGIN {
  printf "  ratio Kotlin encrypt / Rust encrypt:            %.2f\n", k / r
  printf "  ratio Kotlin encryptInto / Rust encrypt:        %.2f\n", ki / r
  printf "  ratio Kotlin encryptInto / Rust encrypt_into:   %.2f\n", ki / ri
}'
