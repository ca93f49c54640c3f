"""Erase, export and legal hold through the Python package, checked with Google's Python
client on a restored copy."""

from __future__ import annotations

import json

import firekeep
import pytest

from helpers import PASS, dump, gclient, seed


def test_erase_export_and_hold(firestore_server, project, tmp_path):
    src = seed(project)
    src.document("orders/o1").set({"owner": "p000", "n": 1})
    src.document("orders/o2").set({"owner": "p001", "n": 2})
    key = firekeep.Key.passphrase(PASS, iterations=100_000)
    client = firekeep.Client(tmp_path / "repo", key, principal="user:alice", audit="memory")
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)
    ids = [client.backup(fs).backup_id for _ in range(2)]

    # Export: NDJSON equals what Google's client reads.
    rep = client.export(ids[0], tmp_path / "out")
    assert rep["documents"] == len(dump(src))
    lines = (tmp_path / "out" / "documents.ndjson").read_text().splitlines()
    assert len(lines) == rep["documents"] and all(json.loads(l)["name"] for l in lines)

    # A held backup stops the erasure before anything is written.
    held = client.hold(ids[0], "case 1")
    # A local folder has no S3 Object Lock: the result says so rather than claiming more.
    assert held["object_lock"]["status"] == "not_supported"
    assert held["object_lock"]["objects"] == 0
    with pytest.raises(firekeep.StorageError, match="legal hold"):
        client.erase(paths=["people/p000"], subcollections=True)
    assert client.release_hold(ids[0]) is not None
    assert client.release_hold(ids[0]) is None

    dry = client.erase(paths=["people/p000"], subcollections=True, collection_group="orders",
                       field="owner", equals="p000", dry_run=True)
    assert dry["documents"] == 2 * 3
    r = client.erase(paths=["people/p000"], subcollections=True, collection_group="orders",
                     field="owner", equals="p000")
    assert r["documents"] == 2 * 3 and [b["generation"] for b in r["backups"]] == [2, 2]
    for bid in ids:
        assert client.verify(bid).ok
    # Disaster recovery into the wiped database (Google's client refuses references into
    # another database), read back with Google's client.
    before = dump(src)
    for path in before:
        src.document(path).delete()
    client.restore(ids[1], fs)
    restored = dump(gclient(project))
    assert "people/p000" not in restored and "people/p000/pets/rex" not in restored
    assert "orders/o1" not in restored and "orders/o2" in restored
    for path in ("people/p000", "people/p000/pets/rex", "orders/o1"):
        before.pop(path)
    assert restored == before
    actions = [e["action"] for e in client.audit_events()]
    assert {"backup.exported", "backup.held", "backup.released", "backup.erased"} <= set(actions)
