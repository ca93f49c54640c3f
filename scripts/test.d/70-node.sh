#!/usr/bin/env bash
# The Node package (bindings/node): install the locked dev dependencies, build the addon in
# the dev profile (dependencies are optimised by [profile.dev.package."*"] and shared with the
# workspace build; a release LTO build would cost minutes of CI), type-check the typed usage
# file, check that the packed tarball installs and loads, then the node:test suite. The tests
# start the Firestore test server, the Cloud KMS test server and moto (from .venv) on free loopback ports themselves.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
fk_init
# moto_server lives in the Python venv; scripts/test.sh has made it already.
[ -x .venv/bin/moto_server ] || bash scripts/setup-python.sh
export FIREKEEP_PYTHON="${FIREKEEP_PYTHON:-$ROOT/.venv/bin/python}"

cargo build --quiet -p firekeep-firestore-server --bin firekeep-firestore-server
cargo build --quiet -p firekeep-gcp-kms-server --bin firekeep-gcp-kms-server

# Exactly the lockfile's versions (@napi-rs/cli's optional per-platform packages are skipped).
fk_npm_install bindings/node
cd bindings/node
# The addon. `npm run build` (napi build) always passes `--target <host triple>`, which makes
# cargo build the addon and every dependency again under target/<triple>/ (minutes of CI);
# a host build shares target/debug with the rest of the workspace. native.js/native.d.ts
# are napi's generated files, committed; this installs the library where native.js looks.
if [ "$(uname -sm)" = "Linux x86_64" ]; then
    cargo build --quiet -p firekeep-node
    cp "$CARGO_TARGET_DIR/debug/libfirekeep_node.so" firekeep.linux-x64-gnu.node
else
    npm run --silent build
fi
if [ -f __test__/types.ts ]; then
    npm run --silent typecheck
fi
if [ -f scripts/pack-check.sh ]; then
    bash scripts/pack-check.sh
fi

shopt -s nullglob
tests=(__test__/*.test.js __test__/*.test.mjs)
node --test --test-concurrency=1 --test-reporter=spec "${tests[@]}"
