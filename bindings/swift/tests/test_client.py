"""The async backup client through the FFI against the in-process Firestore test server:
backup with progress callbacks, list, verify, restore, tamper detection, cancellation."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

import firekeep_ffi as fk
from helpers import sync


class Recorder:
    """A ProgressListener recording what it is told (called from a Rust thread)."""

    def __init__(self, cancel_at: int | None = None, token: fk.CancellationToken | None = None):
        self.events: list[fk.Progress] = []
        self.threads: set[int] = set()
        self.cancel_at, self.token = cancel_at, token

    def on_progress(self, progress: fk.Progress) -> None:
        self.events.append(progress)
        self.threads.add(threading.get_ident())
        if self.token and self.cancel_at is not None and progress.documents >= self.cancel_at:
            self.token.cancel()


def client(tmp_path: Path) -> fk.Client:
    key = fk.KeyProvider.passphrase("correct horse battery staple", 100_000)
    return fk.Client(fk.ClientConfig(repository=str(tmp_path / "repo"), organization="acme",
                                     principal="user:me", policy=None, audit_file=None), key)


def source(server, project: str | None = None) -> fk.FirestoreConfig:
    return fk.FirestoreConfig(project=project or server.project, database="(default)",
                              emulator_host=server.host, credentials_file=None)


ALL = fk.BackupOptions(collections=[], subcollections=True, labels={"app": "ios"})


@sync
async def test_backup_list_verify_restore(firestore_server, tmp_path):
    c = client(tmp_path)
    rec = Recorder()
    report = await c.backup(source(firestore_server), ALL, rec, None)
    assert report.documents >= firestore_server.docs
    assert report.parts >= 1 and report.stored_bytes > 0
    assert json.loads(report.json)["backup_id"] == report.backup_id
    # Progress arrived, ending with the whole count.
    assert rec.events
    assert max(e.documents for e in rec.events) == report.documents
    assert {e.phase for e in rec.events} >= {"backup"}

    listed = await c.list()
    assert [b.id for b in listed.backups] == [report.backup_id] and listed.unreadable == []
    b = listed.backups[0]
    assert b.documents == report.documents and b.project == firestore_server.project
    # Another key lists the backup as unreadable, naming the key it needs.
    other = fk.Client(fk.ClientConfig(repository=str(tmp_path / "repo"), organization="acme",
                                      principal="user:me", policy=None, audit_file=None),
                      fk.KeyProvider.raw_base64(fk.generate_raw_key()))
    seen = await other.list()
    assert seen.backups == [] and [u.id for u in seen.unreadable] == [report.backup_id]
    u = seen.unreadable[0]
    assert u.code == "ERR_KEY_MISMATCH" and b.key_id in u.message and u.created_at

    vrec = Recorder()
    v = await c.verify(report.backup_id, vrec, None)
    assert (v.parts, v.parts_ok, v.documents) == (report.parts, report.parts, report.documents)
    assert vrec.events

    target = "r" + firestore_server.project
    r = await c.restore(report.backup_id, source(firestore_server, target),
                        fk.RestoreOptions(collections=[], subcollections=True,
                                          conflict=fk.ConflictMode.FAIL_IF_EXISTS, dry_run=False),
                        None, None)
    assert (r.written, r.failed, r.documents) == (report.documents, 0, report.documents)
    # Restoring again with FAIL_IF_EXISTS fails every document; SKIP_EXISTING skips them.
    again = await c.restore(report.backup_id, source(firestore_server, target),
                            fk.RestoreOptions(collections=[], subcollections=True,
                                              conflict=fk.ConflictMode.SKIP_EXISTING,
                                              dry_run=False), None, None)
    assert (again.written, again.skipped) == (0, report.documents)
    # The restored copy backs up to the same documents.
    copy = await c.backup(source(firestore_server, target), ALL, None, None)
    assert copy.documents == report.documents

    actions = [e["action"] for e in json.loads(await c.audit_events_json())]
    assert actions.count("backup.created") == 2 and "backup.restored" in actions
    fk.audit_verify_events(await c.audit_events_json())
    # Checking and exporting the trail are client operations, audited like the rest.
    assert (await c.audit_verify()).position == len(actions) + 2
    csv = await c.audit_export("csv", None, None, ["backup.created"])
    assert csv.count("backup.created") == 2


@sync
async def test_read_streams_are_mapped_and_checked(firestore_server, tmp_path):
    c = client(tmp_path)
    with pytest.raises(fk.FirekeepError.InvalidConfig, match="read_streams 257 is out of range"):
        await c.backup(source(firestore_server),
                       fk.BackupOptions(collections=[], subcollections=True, labels={},
                                        read_streams=257), None, None)
    assert (await c.list()).backups == []  # nothing was written
    report = await c.backup(source(firestore_server),
                            fk.BackupOptions(collections=[], subcollections=True, labels={},
                                             read_streams=3), None, None)
    assert report.documents > 0


@sync
async def test_tampered_part_fails_verify_as_integrity(firestore_server, tmp_path):
    c = client(tmp_path)
    report = await c.backup(source(firestore_server),
                            fk.BackupOptions(collections=["users"], subcollections=True,
                                             labels={}), None, None)
    parts = [p for p in (tmp_path / "repo").rglob("*") if p.is_file() and p.suffix == ".fkp"]
    assert parts, list((tmp_path / "repo").rglob("*"))
    data = bytearray(parts[0].read_bytes())
    data[len(data) // 2] ^= 0x40
    parts[0].write_bytes(bytes(data))
    with pytest.raises(fk.FirekeepError.Integrity):
        await c.verify(report.backup_id, None, None)
    with pytest.raises(fk.FirekeepError.NotFound):
        await c.verify("bk_does_not_exist", None, None)


@sync
async def test_legal_hold_reports_what_the_store_did(firestore_server, tmp_path):
    c = client(tmp_path)
    report = await c.backup(source(firestore_server), ALL, None, None)
    held = await c.hold(report.backup_id, "case 7")
    assert held.reason == "case 7"
    # A local folder has no S3 Object Lock: reported, not claimed.
    assert held.object_lock == "not_supported" and held.object_lock_objects == 0
    assert held.object_lock_detail
    released = await c.release_hold(report.backup_id)
    assert released is not None and released.object_lock == "not_supported"
    assert await c.release_hold(report.backup_id) is None


@sync
async def test_cancel_by_token_from_the_progress_callback(firestore_server, tmp_path):
    c = client(tmp_path)
    token = fk.CancellationToken()
    rec = Recorder(cancel_at=1, token=token)
    with pytest.raises(fk.FirekeepError.Cancelled):
        await c.backup(source(firestore_server), ALL, rec, token)
    assert token.is_cancelled()
    # A cancelled backup leaves no manifest: nothing is listed.
    assert (await c.list()).backups == []
    actions = [e["action"] for e in json.loads(await c.audit_events_json())]
    assert "backup.failed" in actions


@sync
async def test_cancelling_the_awaiting_task_stops_the_backup(firestore_server, tmp_path):
    c = client(tmp_path)
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    class Signal:
        def on_progress(self, progress: fk.Progress) -> None:
            loop.call_soon_threadsafe(started.set)

    token = fk.CancellationToken()
    task = asyncio.ensure_future(c.backup(source(firestore_server), ALL, Signal(), token))
    await asyncio.wait_for(started.wait(), 30)
    assert not token.is_cancelled()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # uniffi dropped the Rust future; dropping it cancelled the operation's token, so work
    # the engine had spawned stops too, and no manifest was written.
    assert token.is_cancelled()
    assert (await c.list()).backups == []


@sync
async def test_firestore_errors_and_bad_repositories(firestore_server, tmp_path):
    c = client(tmp_path)
    bad = fk.FirestoreConfig(project="x", database="(default)", emulator_host="127.0.0.1:1",
                             credentials_file=None)
    with pytest.raises((fk.FirekeepError.Firestore, fk.FirekeepError.InvalidConfig)):
        await c.backup(bad, ALL, None, None)
    with pytest.raises(fk.FirekeepError.InvalidInput):
        fk.Client(fk.ClientConfig(repository="", organization="acme", principal="user:me",
                                  policy=None, audit_file=None),
                  fk.KeyProvider.raw_base64(fk.generate_raw_key()))
