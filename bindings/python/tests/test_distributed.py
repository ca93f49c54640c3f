"""firekeep.distributed: plan here, tasks on a Dask LocalCluster with 2 worker processes,
commit here; the result is one ordinary backup equal to a one-process backup of the same
read time."""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import pytest
from dask.distributed import Client as DaskClient, LocalCluster

import firekeep
import firekeep.distributed
from dask_openers import open_client, open_source
from helpers import seed


def test_backup_on_a_dask_local_cluster(firestore_server, project: str, tmp_path: Path) -> None:
    seed(project, n=300)
    key, key_b64 = firekeep.Key.generate_raw()
    key_file = tmp_path / "backup.key"
    key_file.write_text(key_b64)
    repo = str(tmp_path / "repo")
    opener = functools.partial(open_client, repo, str(key_file))
    source = functools.partial(open_source, project, firestore_server.host)
    # What goes to the workers holds a path to the key, never the key.
    assert key_b64.encode() not in pickle.dumps((opener, source))

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, DaskClient(cluster) as dask:
        report = firekeep.distributed.backup(dask, opener, source, task_count=4)
        workers = len(dask.scheduler_info()["workers"])
    assert workers == 2
    assert report.documents == 302  # 300 people, types/all, people/p000/pets/rex

    client = opener()
    listed = client.list()
    assert [b.id for b in listed] == [report.backup_id]
    assert client.verify(report.backup_id).problems == []
    one = client.backup(source(), read_time=report.read_time)
    d = client.diff(one.backup_id, report.backup_id)
    assert (d.added, d.removed, d.changed, d.unchanged) == (0, 0, 0, 302)


def test_steps_one_by_one_and_a_missing_task(firestore_server, project: str, tmp_path: Path) -> None:
    seed(project, n=40)
    key, _ = firekeep.Key.generate_raw()
    client = firekeep.Client(str(tmp_path / "repo"), key)
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)
    p = firekeep.distributed.plan(client, fs, task_count=2)
    assert p.task_count == 2 and p.partitions == 2
    first = firekeep.distributed.run_task(client, fs, p.backup_id, 0, 2)
    assert first.outcome == "completed"
    with pytest.raises(firekeep.NotFound, match=r"task\(s\) 1 of 2"):
        firekeep.distributed.commit(client, fs, p.backup_id)
    with pytest.raises(firekeep.InvalidInput, match="the plan has 2"):
        firekeep.distributed.run_task(client, fs, p.backup_id, 1, 3)
    firekeep.distributed.run_task(client, fs, p.backup_id, 1)
    again = firekeep.distributed.run_task(client, fs, p.backup_id, 1)
    assert again.outcome == "already_completed"
    r = firekeep.distributed.commit(client, fs, p.backup_id)
    assert r.documents == 42
    other, _ = firekeep.Key.generate_raw()
    stranger = firekeep.Client(str(tmp_path / "repo"), other)
    with pytest.raises(firekeep.KeyMismatch):
        firekeep.distributed.run_task(stranger, fs, p.backup_id, 0)
