"""Point-in-time backups (read_time) against the test server, and the async twins of
restore, diff, rotate_key and prune, each checked by its effect."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import firekeep
import pytest

from helpers import dump, gclient, seed


def test_point_in_time_backup_sees_the_past(firestore_server, project, tmp_path):
    db = seed(project, n=5)
    before = dump(db)
    time.sleep(0.05)
    t = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.05)
    # After t: one changed, one deleted, one added.
    db.document("people/p001").set({"i": -1})
    db.document("people/p002").delete()
    db.document("people/p999").set({"i": 999})
    assert dump(db) != before

    client = firekeep.Client(tmp_path / "repo", firekeep.Key.raw(firekeep.generate_data_key()))
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)
    past = client.backup(fs, read_time=t)
    # types/all, p000..p004 and p000's pet, as at t.
    assert past.read_time == t and past.documents == 7
    now = client.backup(fs)
    assert now.read_time > t and now.documents == 7
    d = client.diff(past.backup_id, now.backup_id)
    assert (d.added, d.changed, d.removed) == (1, 1, 1)

    # Restoring the point-in-time backup brings back the database as it was at t.
    # (People only: Google's client will not read types/all's reference into another database.)
    client.restore(past.backup_id, firekeep.Firestore(project, "pitr", emulator_host=firestore_server.host),
                   collections=["people"])
    restored = dump(gclient(project, "pitr"))
    assert restored == {k: v for k, v in before.items() if k.startswith("people/")}
    assert len(restored) == 6 and "people/p999" not in restored

    # Firestore's rules for read times are checked with an explanation.
    with pytest.raises(ValueError, match="in the future"):
        client.backup(fs, read_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))
    with pytest.raises(ValueError, match="whole minute"):
        client.backup(fs, read_time=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2, seconds=7))
    with pytest.raises(ValueError, match="7 days"):
        client.backup(fs, read_time=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert [b.id for b in client.list()] == [now.backup_id, past.backup_id]


def test_async_restore_diff_rotate_prune(firestore_server, project, tmp_path):
    db = seed(project, n=4)
    key = firekeep.Key.raw(firekeep.generate_data_key())
    client = firekeep.Client(tmp_path / "repo", key)
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)
    target = firekeep.Firestore(project, "copy", emulator_host=firestore_server.host)
    new_key, _ = firekeep.Key.generate_raw()

    async def main():
        first = await client.backup_async(fs)
        db.document("people/p003").delete()
        db.document("people/p000").set({"i": 0, "name": "renamed"})
        second = await client.backup_async(fs)

        d = await client.diff_async(first.backup_id, second.backup_id)
        live = await client.diff_async(second.backup_id, source=fs)

        r = await client.restore_async(first.backup_id, target, collections=["people"], subcollections=False)
        skip = await client.restore_async(first.backup_id, target, conflict="skip", collections=["people"],
                                          subcollections=False)
        rot = await client.rotate_key_async(new_key)
        rotated = firekeep.Client(tmp_path / "repo", new_key)
        plan = await rotated.prune_async(keep_last=1, dry_run=True)
        pruned = await rotated.prune_async(keep_last=1)
        left = await rotated.list_async()
        verified = await rotated.verify_async(second.backup_id)
        return first, second, d, live, r, skip, rot, plan, pruned, left, verified

    first, second, d, live, r, skip, rot, plan, pruned, left, verified = asyncio.run(main())
    assert (d.added, d.changed, d.removed) == (0, 1, 1)
    assert d.removed_names[0].endswith("people/p003") and d.changed_names[0].endswith("people/p000")
    assert (live.added, live.changed, live.removed) == (0, 0, 0)
    # Restore wrote the four people of the first backup, and only them.
    assert (r.documents, r.written, r.failed) == (4, 4, [])
    copy = dump(gclient(project, "copy"))
    assert sorted(copy) == [f"people/p{i:03}" for i in range(4)]
    assert skip.skipped == 4 and skip.written == 0
    # Rotation re-wrapped both backups: the old key no longer opens them, the new one does.
    assert sorted(rot.rotated) == sorted([first.backup_id, second.backup_id])
    with pytest.raises(firekeep.KeyMismatch):
        client.verify(second.backup_id)  # (first is pruned by now)
    assert plan.report is None and plan.plan.remove == [first.backup_id]
    assert pruned.report is not None and [b.id for b in pruned.report.removed] == [first.backup_id]
    assert [b.id for b in left] == [second.backup_id] and verified.ok
