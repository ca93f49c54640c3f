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


def _server_binary() -> Path:
    explicit = os.environ.get("FIREKEEP_FIRESTORE_SERVER")
    if explicit:
        return Path(explicit)
    binary = _target() / "debug" / "firekeep-firestore-server"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "-q", "-p", "firekeep-firestore-server", "--bin",
             "firekeep-firestore-server"],
            cwd=ROOT, check=True,
        )
    return binary


class FirestoreServer:
    """A running `firekeep-firestore-server` seeded with `docs` demo documents in `project`."""

    def __init__(self, project: str, docs: int) -> None:
        self.project = project
        self.docs = docs
        # --exit-on-stdin-eof: the server dies with the test process, even on a crash.
        self.proc = subprocess.Popen(
            [str(_server_binary()), "--port", "0", "--seed-demo", "--demo-project", project,
             "--demo-docs", str(docs), "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"firekeep-firestore-server did not start: {line!r}")
        self.host = line.removeprefix("listening on ")

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def firestore_server() -> Iterator[FirestoreServer]:
    server = FirestoreServer("p" + uuid.uuid4().hex[:10], 3000)
    yield server
    server.stop()
