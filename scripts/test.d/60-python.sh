#!/usr/bin/env bash
# The Python package: build the extension into .venv (debug profile: dependencies are
# already optimised by [profile.dev.package."*"], and a release LTO build would cost minutes
# of CI), then its pytest suite (Firestore test server, moto, Tink, Google's client) and
# mypy --strict over the package, its stubs and a typed usage file.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
bash scripts/setup-python.sh
export VIRTUAL_ENV="$ROOT/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# The tests start these binaries on free ports (bindings/python/tests/conftest.py).
cargo build --quiet -p firekeep-firestore-server --bin firekeep-firestore-server
cargo build --quiet -p firekeep-gcp-kms-server --bin firekeep-gcp-kms-server

maturin develop --quiet --manifest-path bindings/python/Cargo.toml

cd bindings/python
python -m pytest -q -p no:cacheprovider tests
python -m mypy --strict --no-incremental firekeep tests/typed_usage.py ../../examples/python
