#!/usr/bin/env bash
# The Kotlin/JVM bindings (bindings/kotlin, Maven artifact firekeep-jvm): compiles the
# uniffi-generated Kotlin (bindings/swift/generated/kotlin, checked current by 80-ffi.sh) and the
# hand-written encryptInto/decryptInto wrappers (src/main/kotlin) with kotlin-maven-plugin, puts
# the host cdylib in the jar, and runs the JUnit 5 suite: the object format (round trips, typed
# errors, Tink Java both ways, the caller-owned-buffer calls), keys, policy, audit chain, and
# the async client against the Firestore test server from coroutines.
# Needs Java 17 and Maven; the first run resolves from Maven Central into ~/.m2 (a cache
# outside the clone), later runs are offline-capable.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac

command -v mvn >/dev/null || { echo "Maven (mvn) and Java 17 are needed for the Kotlin bindings" >&2; exit 1; }

# The same builds as 80-ffi.sh (debug cdylib via generate.sh's invocation, the test server):
# already fresh when 80-ffi.sh ran first, so nothing is compiled twice.
cargo build -q -p firekeep-ffi --lib --bin uniffi-bindgen
cargo build --quiet -p firekeep-firestore-server --bin firekeep-firestore-server

cd bindings/kotlin
rm -rf target/surefire-reports   # only this run's counts are printed below
mvn -B -q -Dstyle.color=never \
    -Dfirekeep.cdylib.dir="$CARGO_TARGET_DIR/debug" \
    -Dfirekeep.firestore.server="$CARGO_TARGET_DIR/debug/firekeep-firestore-server" \
    package
# -q hides the counts: print them from surefire's reports.
cat target/surefire-reports/*.txt | grep -h '^Tests run' | sed 's/^/kotlin: /'
ls -l target/firekeep-jvm-*.jar | awk '{print "kotlin: built " $NF " (" $5 " bytes)"}'
