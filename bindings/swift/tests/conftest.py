"""Fixtures for the firekeep-ffi suite: uniffi's generated Python bindings (the same FFI
Swift and Kotlin call), generated once per session beside the cdylib they load, and the
in-process Firestore test server started on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _target() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target if target.is_absolute() else ROOT / target


def _bindings_dir() -> Path:
    explicit = os.environ.get("FIREKEEP_FFI_PYDIR")
    if explicit:
        return Path(explicit)
    out = _target() / "uniffi-python"
    subprocess.run(
        ["bash", str(ROOT / "bindings/swift/scripts/generate.sh"), "--python", str(out)],
        cwd=ROOT, check=True,
    )
    return out


sys.path.insert(0, str(_bindings_dir()))


sys.path.insert(0, str(ROOT / "testing/python"))
from firekeep_test_servers import FirestoreTestServer  # noqa: E402


class FirestoreServer(FirestoreTestServer):
    """A running `firekeep-firestore-server` seeded with `docs` demo documents in `project`."""

    def __init__(self, project: str, docs: int) -> None:
        self.project = project
        self.docs = docs
        super().__init__("--seed-demo", "--demo-project", project, "--demo-docs", str(docs))


@pytest.fixture(scope="session")
def firestore_server() -> Iterator[FirestoreServer]:
    server = FirestoreServer("p" + uuid.uuid4().hex[:10], 3000)
    yield server
    server.stop()
