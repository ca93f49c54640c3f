"""Fixtures: the in-process Firestore test server and moto, each started on a free loopback
port by the tests themselves and stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[3]


sys.path.insert(0, str(ROOT / "testing/python"))
from firekeep_test_servers import FirestoreTestServer, LoopbackServer, server_binary  # noqa: E402


class FirestoreServer(FirestoreTestServer):
    """A running `firekeep-firestore-server` process."""

    def __init__(self) -> None:
        # --keep-nanos: timestamps keep nanoseconds, so fidelity is checked to the nanosecond.
        super().__init__("--keep-nanos")


class GcpKmsServer(LoopbackServer):
    """A running `firekeep-gcp-kms-server` (Cloud KMS test server) with one symmetric key."""

    KEY = "projects/py-test/locations/europe-west1/keyRings/backups/cryptoKeys/firekeep"

    def __init__(self) -> None:
        super().__init__(server_binary("firekeep-gcp-kms-server"), "--key", self.KEY)
        self.endpoint = "http://" + self.host


@pytest.fixture(scope="session")
def gcp_kms_server() -> Iterator[GcpKmsServer]:
    server = GcpKmsServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def firestore_server() -> Iterator[FirestoreServer]:
    server = FirestoreServer()
    # Google's client finds the server through this variable (plaintext, token "owner").
    os.environ["FIRESTORE_EMULATOR_HOST"] = server.host
    yield server
    server.stop()


@pytest.fixture
def project() -> str:
    """A fresh project id per test, so tests sharing the server do not see each other's data."""
    return "p" + uuid.uuid4().hex[:12]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Moto:
    """A moto server (S3 + KMS) on loopback."""

    def __init__(self) -> None:
        self.port = free_port()
        exe = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError("moto_server did not start within 30 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def moto() -> Iterator[Moto]:
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(k, v)
    m = Moto()
    yield m
    m.stop()
