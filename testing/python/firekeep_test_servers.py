"""Starts and stops firekeep's test servers (`firekeep-firestore-server`,
`firekeep-gcp-kms-server`) for pytest suites: every binding's suite launches them through
this one module. Each server prints `listening on HOST:PORT` and exits when its stdin closes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def target_dir() -> Path:
    """Cargo's target directory ($CARGO_TARGET_DIR, relative to the repository root)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target if target.is_absolute() else ROOT / target


def server_binary(name: str) -> Path:
    """The debug build of the server binary `name` (its package has the same name), built
    here when missing."""
    binary = target_dir() / "debug" / name
    if not binary.exists():
        subprocess.run(["cargo", "build", "-q", "-p", name, "--bin", name], cwd=ROOT, check=True)
    return binary


class LoopbackServer:
    """A running test server on a free loopback port (`host`), started with extra `args`."""

    def __init__(self, binary: Path, *args: str) -> None:
        # --exit-on-stdin-eof: the server dies with the test process, even on a crash.
        self.proc = subprocess.Popen(
            [str(binary), "--port", "0", *args, "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"{binary.name} did not start: {line!r}")
        self.host = line.removeprefix("listening on ")

    def stop(self) -> None:
        """Closes the server's stdin (it exits) and waits for it."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class FirestoreTestServer(LoopbackServer):
    """`firekeep-firestore-server` ($FIREKEEP_FIRESTORE_SERVER, or the debug build)."""

    def __init__(self, *args: str) -> None:
        explicit = os.environ.get("FIREKEEP_FIRESTORE_SERVER")
        binary = Path(explicit) if explicit else server_binary("firekeep-firestore-server")
        super().__init__(binary, *args)
