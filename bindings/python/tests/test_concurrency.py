"""Concurrency: asyncio backups side by side, cancellation, and the GIL released during
blocking calls."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import firekeep
import pytest

from helpers import gclient


def test_fifty_concurrent_async_backups(firestore_server, project, tmp_path):
    # 50 small databases (one project each) on the same server.
    projects = [f"{project}x{i}" for i in range(50)]
    for i, p in enumerate(projects):
        db = gclient(p)
        batch = db.batch()
        for j in range(i % 5 + 1):
            batch.set(db.document(f"c/d{j}"), {"p": i, "j": j})
        batch.commit()
    key = firekeep.Key.raw(firekeep.generate_data_key())

    async def main():
        clients = [firekeep.Client(tmp_path / p, key) for p in projects]
        sources = [firekeep.Firestore(p, emulator_host=firestore_server.host) for p in projects]
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.ensure_future(ticker())
        reports = await asyncio.gather(*(c.backup_async(s) for c, s in zip(clients, sources)))
        t.cancel()
        verified = await asyncio.gather(*(c.verify_async(r.backup_id) for c, r in zip(clients, reports)))
        return reports, verified, ticks

    reports, verified, ticks = asyncio.run(main())
    assert [r.documents for r in reports] == [i % 5 + 1 for i in range(50)]
    assert [r.project for r in reports] == projects
    assert all(v.ok for v in verified)
    assert len({r.backup_id for r in reports}) == 50
    assert ticks > 0  # the event loop kept running while the backups ran


def test_asyncio_cancellation_cancels_the_backup(firestore_server, project, tmp_path):
    db = gclient(project)
    for b in range(4):
        batch = db.batch()
        for j in range(500):
            batch.set(db.document(f"big/d{b}_{j:04}"), {"pad": "x" * 2000, "j": j})
        batch.commit()
    client = firekeep.Client(tmp_path, firekeep.Key.raw(firekeep.generate_data_key()))
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)
    started = threading.Event()

    async def main():
        task = asyncio.ensure_future(client.backup_async(fs, progress=lambda p: started.set()))
        while not started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    time.sleep(0.5)
    assert client.list() == []  # no manifest: the backup does not exist


def test_token_cancels_a_blocking_call(firestore_server, project, tmp_path):
    db = gclient(project)
    batch = db.batch()
    for j in range(300):
        batch.set(db.document(f"c/d{j:04}"), {"j": j})
    batch.commit()
    client = firekeep.Client(tmp_path, firekeep.Key.raw(firekeep.generate_data_key()))
    token = firekeep.CancellationToken()
    token.cancel()
    with pytest.raises(firekeep.Cancelled):
        client.backup(firekeep.Firestore(project, emulator_host=firestore_server.host), cancel=token)
    assert token.cancelled and client.list() == []

    # Cancelled from another thread while running (the progress callback fires on the way).
    token = firekeep.CancellationToken()
    with pytest.raises(firekeep.Cancelled):
        client.backup(firekeep.Firestore(project, emulator_host=firestore_server.host), cancel=token,
                      progress=lambda p: threading.Thread(target=token.cancel).start())
    assert client.list() == []


def test_blocking_call_does_not_freeze_other_threads():
    key = firekeep.generate_data_key()
    data = b"\x00" * (96 << 20)
    enc = firekeep._native.Encryptor(key)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.002)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.02)
    t0 = time.monotonic()
    enc.update(data)  # one call into Rust: if it held the GIL, the ticker would stall
    t1 = time.monotonic()
    stop.set()
    t.join()
    during = [x for x in ticks if t0 <= x <= t1]
    # The call lasts tens of milliseconds at least; the other thread ticked throughout.
    assert t1 - t0 > 0.02
    assert len(during) >= 3, (t1 - t0, len(during))
