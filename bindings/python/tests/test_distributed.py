"""firekeep.distributed: plan here, tasks on a Dask LocalCluster with 2 worker processes,
commit here; the result is one ordinary backup equal to a one-process backup of the same
read time."""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path
from typing import Any, List, Tuple

import cloudpickle
import pytest
from dask.distributed import Client as DaskClient, LocalCluster, get_task_stream

import firekeep
import firekeep.distributed
from dask_openers import open_client, open_client_from_env, open_source
from helpers import seed


class _Recording:
    """A dask Client that keeps what `submit` is given, to check what crosses to the workers."""

    def __init__(self, inner: DaskClient) -> None:
        self.inner = inner
        self.submitted: List[Tuple[Any, ...]] = []

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.submitted.append((fn, args, kwargs))
        return self.inner.submit(fn, *args, **kwargs)

    def gather(self, futures: Any) -> Any:
        return self.inner.gather(futures)


def test_backup_on_a_dask_local_cluster(firestore_server, project: str, tmp_path: Path) -> None:
    seed(project, n=300)
    key, key_b64 = firekeep.Key.generate_raw()
    key_file = tmp_path / "backup.key"
    key_file.write_text(key_b64)
    repo = str(tmp_path / "repo")
    opener = functools.partial(open_client, repo, str(key_file))
    source = functools.partial(open_source, project, firestore_server.host)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, DaskClient(cluster) as dask:
        recording = _Recording(dask)
        with get_task_stream(dask) as stream:
            report = firekeep.distributed.backup(recording, opener, source, task_count=4)
        workers = set(dask.scheduler_info()["workers"])
        ran_on = {t["worker"] for t in stream.data if "firekeep-task" in str(t["key"])}
        worker_pids = set(dask.run(os.getpid).values())
    assert len(workers) == 2
    # Every task ran on a worker process of the cluster, not in this one.
    assert ran_on and ran_on <= workers
    assert os.getpid() not in worker_pids
    assert len(recording.submitted) == 4
    # What went to the workers (as dask pickles it) names the key file, never the key.
    sent = cloudpickle.dumps(recording.submitted)
    raw = base64.b64decode(key_b64)
    assert key_b64.encode() not in sent and raw not in sent
    assert str(key_file).encode() in sent
    assert report.documents == 302  # 300 people, types/all, people/p000/pets/rex

    client = opener()
    listed = client.list()
    assert [b.id for b in listed] == [report.backup_id]
    assert client.verify(report.backup_id).problems == []
    one = client.backup(source(), read_time=report.read_time)
    d = client.diff(one.backup_id, report.backup_id)
    assert (d.added, d.removed, d.changed, d.unchanged) == (0, 0, 0, 302)


def test_a_task_failing_after_its_retries_raises_and_commits_nothing(
    firestore_server, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(project, n=20)
    repo = str(tmp_path / "repo")
    files = {}
    for name in ("planner", "workers"):
        _, b64 = firekeep.Key.generate_raw()
        files[name] = tmp_path / f"{name}.key"
        files[name].write_text(b64)
    # Each process reads the key its own environment names: the workers' is another key.
    monkeypatch.setenv("FIREKEEP_TEST_KEY_FILE", str(files["planner"]))
    opener = functools.partial(open_client_from_env, repo)
    source = functools.partial(open_source, project, firestore_server.host)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"FIREKEEP_TEST_KEY_FILE": str(files["workers"])}) as cluster, \
            DaskClient(cluster) as dask:
        with pytest.raises(firekeep.KeyMismatch):
            firekeep.distributed.backup(dask, opener, source, task_count=2, retries=1)
    planner = opener()
    assert planner.list() == []
    (folder,) = (Path(repo) / "firekeep/v1/backups").iterdir()
    with pytest.raises(firekeep.NotFound, match=r"task\(s\) 0, 1 of 2"):
        firekeep.distributed.commit(planner, source(), folder.name)


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
