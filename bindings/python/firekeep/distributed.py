"""A backup split into tasks that run on a Dask cluster, committed as one backup.

The Rust core does the work (see docs/scale-out.md): :func:`plan` fixes the read time and
splits the database; :func:`run_task` reads one share and records its result in the
repository; :func:`commit` checks every result and writes the ordinary manifest. The
tasks coordinate only through the repository, so a task Dask retries (or runs twice) is
harmless: it finds its result, or redoes its share, never leaving two results.

:func:`backup` runs all three on a ``dask.distributed.Client`` you pass. Workers open
their own client and Firestore connection by calling ``open_client`` and ``open_source``
— plain picklable callables (module-level functions, or ``functools.partial`` of them)
that read keys and credentials on the worker (from its environment, files or secret
store). Keys and credentials are never pickled or sent through the scheduler::

    def open_client() -> firekeep.Client:
        return firekeep.Client(os.environ["FIREKEEP_REPO"],
                               firekeep.Key.raw(open("/secrets/backup.key").read()))

    def open_source() -> firekeep.Firestore:
        return firekeep.Firestore("my-project")

    report = firekeep.distributed.backup(dask_client, open_client, open_source, task_count=8)
"""

from __future__ import annotations

import datetime as _dt
import json as _json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from . import Client, Firestore, _native
from ._results import BackupReport, _build

__all__ = ["Plan", "TaskReport", "plan", "run_task", "commit", "backup"]


@dataclass(frozen=True)
class Plan:
    """A planned distributed backup: give ``backup_id`` to every task and to the commit."""

    backup_id: str
    task_count: int
    partitions: int
    partitioning: str
    read_time: str
    project: str
    database: str
    key_id: str


@dataclass(frozen=True)
class TaskReport:
    """What one task did. ``outcome``: ``completed``, ``already_completed`` (an earlier
    attempt finished) or ``already_committed``."""

    backup_id: str
    task_index: int
    task_count: int
    outcome: str
    partitions: int
    documents: int
    bytes: int
    stored_bytes: int
    parts: int


def _fields(cls: Any, data: Dict[str, Any]) -> Dict[str, Any]:
    names = cls.__dataclass_fields__
    return {k: v for k, v in data.items() if k in names}


def plan(
    client: Client,
    source: Firestore,
    *,
    task_count: int,
    collections: Optional[Sequence[str]] = None,
    subcollections: bool = True,
    exclude: Sequence[str] = (),
    read_time: Optional[_dt.datetime] = None,
    labels: Optional[Mapping[str, str]] = None,
    partitions_per_task: int = 1,
) -> Plan:
    """Plans a backup of ``source`` split into ``task_count`` tasks (permission: create
    backups, as :meth:`firekeep.Client.backup`). Nothing is a backup until :func:`commit`."""
    raw = _native.plan_backup(
        client._inner, source, task_count=task_count,
        collections=None if collections is None else list(collections),
        subcollections=subcollections, exclude=list(exclude), read_time=read_time,
        labels=None if labels is None else dict(labels), partitions_per_task=partitions_per_task,
    )
    return Plan(**_fields(Plan, _json.loads(raw)))


def run_task(
    client: Client, source: Firestore, backup_id: str, task_index: int, task_count: Optional[int] = None
) -> TaskReport:
    """Runs task ``task_index`` of the planned backup ``backup_id`` (``task_count``, when
    given, is checked against the plan)."""
    raw = _native.backup_task(client._inner, source, backup_id, task_index, task_count)
    return TaskReport(**_fields(TaskReport, _json.loads(raw)))


def commit(client: Client, source: Firestore, backup_id: str) -> BackupReport:
    """Commits ``backup_id`` once every task has its result; a missing task raises
    :class:`firekeep.NotFound` naming it, and no backup is written."""
    return _build(BackupReport, _json.loads(_native.commit_backup(client._inner, source, backup_id)))


def _task_on_worker(
    open_client: Callable[[], Client],
    open_source: Callable[[], Firestore],
    backup_id: str,
    task_index: int,
    task_count: int,
) -> Dict[str, Any]:
    # Runs on a Dask worker: the client and its key are made here, from the worker's own
    # environment; only the report (plain data) goes back.
    report = run_task(open_client(), open_source(), backup_id, task_index, task_count)
    return dict(report.__dict__)


def backup(
    dask_client: Any,
    open_client: Callable[[], Client],
    open_source: Callable[[], Firestore],
    *,
    task_count: int,
    collections: Optional[Sequence[str]] = None,
    subcollections: bool = True,
    exclude: Sequence[str] = (),
    read_time: Optional[_dt.datetime] = None,
    labels: Optional[Mapping[str, str]] = None,
    partitions_per_task: int = 1,
    retries: int = 2,
) -> BackupReport:
    """Plan here, ``task_count`` tasks on ``dask_client``'s workers (each retried up to
    ``retries`` times), commit here. Returns the committed backup's report."""
    client = open_client()
    source = open_source()
    p = plan(
        client, source, task_count=task_count, collections=collections,
        subcollections=subcollections, exclude=exclude, read_time=read_time, labels=labels,
        partitions_per_task=partitions_per_task,
    )
    futures = [
        dask_client.submit(
            _task_on_worker, open_client, open_source, p.backup_id, i, p.task_count,
            key=f"firekeep-task-{p.backup_id}-{i}", pure=False, retries=retries,
        )
        for i in range(p.task_count)
    ]
    # Raises the first task's error if a task failed after its retries (no commit then).
    dask_client.gather(futures)
    return commit(client, source, p.backup_id)
