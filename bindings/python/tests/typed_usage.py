"""A typed use of the public API; `mypy --strict` checks it against the package and stubs."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import List

import firekeep


def scheduled(repo: str, project: str) -> List[str]:
    key: firekeep.Key = firekeep.Key.passphrase("correct horse battery staple")
    client = firekeep.Client(repo, key, principal="user:ops", audit="audit.jsonl")
    fs = firekeep.Firestore(project, emulator_host="127.0.0.1:8080")
    token = firekeep.CancellationToken()

    def show(p: firekeep.Progress) -> None:
        print(p.phase, p.documents, p.total_documents, p.eta)

    report: firekeep.BackupReport = client.backup(fs, progress=show, cancel=token, labels={"k": "v"})
    stamp: firekeep.Timestamp = report.read_time
    nanos: int = stamp.nanosecond
    verified: firekeep.VerifyReport = client.verify(report.backup_id)
    ok: bool = verified.ok
    restored: firekeep.RestoreReport = client.restore(report.backup_id, fs, conflict="skip")
    diff: firekeep.DiffReport = client.diff(report.backup_id, source=fs)
    pruned: firekeep.PruneResult = client.prune(keep_daily=7, keep_within=dt.timedelta(days=1))
    rotated: firekeep.RotateReport = client.rotate_key(firekeep.Key.generate_raw()[0])
    head: firekeep.AuditHead = client.audit_verify()
    print(nanos, ok, restored.written, diff.changed, pruned.plan.remove, rotated.rotated, head.hash)
    listed: firekeep.BackupList = client.list()
    unreadable: List[firekeep.UnreadableBackup] = listed.unreadable
    print([(u.id, u.code, u.message, u.created_at) for u in unreadable])
    return [b.id for b in listed]


async def concurrent(client: firekeep.Client, sources: List[firekeep.Firestore]) -> int:
    reports = await asyncio.gather(*(client.backup_async(s) for s in sources))
    listed = await client.list_async()
    return sum(r.documents for r in reports) + len(listed)


def fmt() -> bytes:
    key = firekeep.generate_data_key()
    blob: bytes = firekeep.encrypt(b"data", key=key)
    out = io.BytesIO()
    firekeep.encrypt(io.BytesIO(b"data"), out, key)
    doc = firekeep.decode_document(b"{}")
    geo = firekeep.GeoPoint(1.0, 2.0)
    ref = firekeep.Reference("projects/p/databases/(default)/documents/a/b")
    print(doc.fields, geo.latitude, ref.path)
    try:
        return firekeep.decrypt(blob, key=key)
    except firekeep.KeyMismatch as e:
        raise RuntimeError(e.code) from e


def distributed(repo: str, project: str) -> int:
    import firekeep.distributed as fd

    def open_client() -> firekeep.Client:
        return firekeep.Client(repo, firekeep.Key.passphrase("correct horse battery staple"))

    def open_source() -> firekeep.Firestore:
        return firekeep.Firestore(project)

    plan: fd.Plan = fd.plan(open_client(), open_source(), task_count=4, partitions_per_task=2)
    task: fd.TaskReport = fd.run_task(open_client(), open_source(), plan.backup_id, 0, plan.task_count)
    committed: firekeep.BackupReport = fd.commit(open_client(), open_source(), plan.backup_id)
    on_dask: firekeep.BackupReport = fd.backup(object(), open_client, open_source, task_count=2)
    return task.documents + committed.documents + on_dask.documents
