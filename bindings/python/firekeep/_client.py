"""The :class:`Client`: authorized, audited operations on one backup repository, each a
blocking method with an ``async`` twin, over the Rust core's client."""

from __future__ import annotations

import datetime as _dt
import json as _json
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _native
from ._native import CancellationToken, Firestore, Identity, Key, Progress
from ._results import (
    AuditHead,
    BackupList,
    BackupReport,
    BackupSummary,
    DiffReport,
    PruneResult,
    RestoreReport,
    RotateReport,
    VerifyReport,
    _build,
    diff_report,
    prune_result,
)

ProgressCallback = Callable[[Progress], Any]
PathLike = Union[str, "os.PathLike[str]"]
AuditSpec = Union[str, "os.PathLike[str]", Callable[[List[Dict[str, Any]]], Any], None]


class Client:
    """Authorized, audited access to one backup repository.

    ``repository``: a local path, ``file:///path``, ``s3://bucket/prefix``, ``gs://...`` or
    ``az://...`` (``storage_options``: ``endpoint``, ``region``, ``allow_http``,
    ``access_key_id``, ``secret_access_key`` ... as in docs/storage.md).
    ``key``: a :class:`Key` (``Key.passphrase``, ``Key.raw``, ``Key.aws_kms``, ``Key.gcp_kms``).
    ``policy``: a policy file path or its TOML/JSON text; then ``principal``
    (``user:EMAIL``, ``user:ID`` or ``apikey:ID``) is who acts. Without a policy the
    principal owns the repository. ``audit``: ``"memory"`` (default), a JSONL file path, or
    a callable receiving each batch of events as dicts. ``identity``: a caller verified by
    :class:`Authenticator` to act as (instead of ``principal``).
    """

    def __init__(
        self,
        repository: PathLike,
        key: Key,
        *,
        storage_options: Optional[Mapping[str, Any]] = None,
        organization: str = "default",
        principal: Optional[str] = None,
        policy: Optional[PathLike] = None,
        audit: AuditSpec = None,
        create: bool = True,
        identity: Optional[Identity] = None,
        on_alert: Optional[Callable[[Dict[str, Any]], Any]] = None,
    ) -> None:
        if not isinstance(key, Key):
            raise TypeError(f"key must be a firekeep.Key, not {type(key).__name__}")
        opts = None
        if storage_options is not None:
            opts = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in storage_options.items()}
        if isinstance(audit, os.PathLike):
            audit = os.fspath(audit)
        self._inner = _native.Client(
            os.fspath(repository),
            key,
            storage_options=opts,
            organization=organization,
            principal=principal,
            policy=None if policy is None else os.fspath(policy),
            audit=audit,
            create=create,
            identity=identity,
            on_alert=on_alert,
        )

    def __repr__(self) -> str:
        return (
            f"Client(repository={self.repository!r}, principal={self.principal!r}, "
            f"organization={self.organization!r}, key_id={self.key_id!r})"
        )

    @property
    def principal(self) -> str:
        """Who acts, e.g. ``user:alice``."""
        return self._inner.principal

    @property
    def organization(self) -> str:
        """The organization the principal acts in."""
        return self._inner.organization

    @property
    def repository(self) -> str:
        """A description of the repository (no credentials)."""
        return self._inner.repository

    @property
    def key_id(self) -> str:
        """The key id of this client's key."""
        return self._inner.key_id

    # backup -------------------------------------------------------------------------

    def backup(
        self,
        source: Firestore,
        *,
        collections: Optional[Sequence[str]] = None,
        subcollections: bool = True,
        exclude: Sequence[str] = (),
        read_time: Optional[_dt.datetime] = None,
        labels: Optional[Mapping[str, str]] = None,
        parallelism: Optional[int] = None,
        read_streams: Optional[int] = None,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancellationToken] = None,
    ) -> BackupReport:
        """Backs up ``source`` (all of it, or ``collections``) at one consistent read time.

        ``parallelism`` is the number of encoding/sealing threads (default: one per core);
        ``read_streams`` the number of partitions read at once, one query stream each
        (default 16, at most 256).
        """
        raw = self._inner.backup(
            _firestore(source), collections=_strs(collections), subcollections=subcollections,
            exclude=list(exclude), read_time=read_time, labels=_labels(labels),
            parallelism=parallelism, read_streams=read_streams, progress=progress,
            cancel=cancel,
        )
        return _build(BackupReport, _json.loads(raw))

    async def backup_async(
        self,
        source: Firestore,
        *,
        collections: Optional[Sequence[str]] = None,
        subcollections: bool = True,
        exclude: Sequence[str] = (),
        read_time: Optional[_dt.datetime] = None,
        labels: Optional[Mapping[str, str]] = None,
        parallelism: Optional[int] = None,
        read_streams: Optional[int] = None,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancellationToken] = None,
    ) -> BackupReport:
        """:meth:`backup` as a coroutine; cancelling the task cancels the backup."""
        raw = await self._inner.backup(
            _firestore(source), collections=_strs(collections), subcollections=subcollections,
            exclude=list(exclude), read_time=read_time, labels=_labels(labels),
            parallelism=parallelism, read_streams=read_streams, progress=progress,
            cancel=cancel, is_async=True,
        )
        return _build(BackupReport, _json.loads(raw))

    # list ---------------------------------------------------------------------------

    def list(self) -> BackupList:
        """Complete backups, newest first (a list of :class:`BackupSummary`). Those this
        client's key cannot open (made under another key, refused by the KMS, damaged) are
        in ``.unreadable`` with their error code and message, naming the key id they need."""
        return BackupList._from_json(_json.loads(self._inner.list()))

    async def list_async(self) -> BackupList:
        """:meth:`list` as a coroutine."""
        raw = await self._inner.list(is_async=True)
        return BackupList._from_json(_json.loads(raw))

    # verify -------------------------------------------------------------------------

    def verify(
        self,
        backup_id: str,
        *,
        raise_on_error: bool = True,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancellationToken] = None,
    ) -> VerifyReport:
        """Checks every part of a backup (tags, hashes, counts) without touching Firestore.
        Bad parts raise :class:`IntegrityError`, or with ``raise_on_error=False`` come back
        in the report."""
        raw = self._inner.verify(
            _id(backup_id), raise_on_error=raise_on_error, progress=progress, cancel=cancel
        )
        return _build(VerifyReport, _json.loads(raw))

    async def verify_async(
        self,
        backup_id: str,
        *,
        raise_on_error: bool = True,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancellationToken] = None,
    ) -> VerifyReport:
        """:meth:`verify` as a coroutine."""
        raw = await self._inner.verify(
            _id(backup_id), raise_on_error=raise_on_error, progress=progress, cancel=cancel,
            is_async=True,
        )
        return _build(VerifyReport, _json.loads(raw))

    # restore ------------------------------------------------------------------------

    def restore(
        self,
        backup_id: str,
        target: Firestore,
        *,
        collections: Optional[Sequence[str]] = None,
        subcollections: bool = True,
        conflict: str = "overwrite",
        dry_run: bool = False,
        verify_first: bool = True,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancellationToken] = None,
    ) -> RestoreReport:
        """Restores a backup (or some collections) into ``target``. ``conflict``:
        ``"overwrite"``, ``"skip"`` or ``"fail"``."""
        raw = self._inner.restore(
            _id(backup_id), _firestore(target), collections=_strs(collections),
            subcollections=subcollections, conflict=conflict, dry_run=dry_run,
            verify_first=verify_first, progress=progress, cancel=cancel,
        )
        return _build(RestoreReport, _json.loads(raw))

    async def restore_async(
        self,
        backup_id: str,
        target: Firestore,
        *,
        collections: Optional[Sequence[str]] = None,
        subcollections: bool = True,
        conflict: str = "overwrite",
        dry_run: bool = False,
        verify_first: bool = True,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancellationToken] = None,
    ) -> RestoreReport:
        """:meth:`restore` as a coroutine."""
        raw = await self._inner.restore(
            _id(backup_id), _firestore(target), collections=_strs(collections),
            subcollections=subcollections, conflict=conflict, dry_run=dry_run,
            verify_first=verify_first, progress=progress, cancel=cancel, is_async=True,
        )
        return _build(RestoreReport, _json.loads(raw))

    # diff ---------------------------------------------------------------------------

    def diff(
        self,
        backup_id: str,
        other: Optional[str] = None,
        *,
        source: Optional[Firestore] = None,
        max_names: int = 100,
        cancel: Optional[CancellationToken] = None,
    ) -> DiffReport:
        """Compares a backup with another backup (``other``) or the live ``source``."""
        raw = self._inner.diff(
            _id(backup_id), other, source=source, max_names=max_names, cancel=cancel
        )
        return diff_report(_json.loads(raw))

    async def diff_async(
        self,
        backup_id: str,
        other: Optional[str] = None,
        *,
        source: Optional[Firestore] = None,
        max_names: int = 100,
        cancel: Optional[CancellationToken] = None,
    ) -> DiffReport:
        """:meth:`diff` as a coroutine."""
        raw = await self._inner.diff(
            _id(backup_id), other, source=source, max_names=max_names, cancel=cancel,
            is_async=True,
        )
        return diff_report(_json.loads(raw))

    # prune --------------------------------------------------------------------------

    def prune(
        self,
        *,
        keep_last: int = 0,
        keep_hourly: int = 0,
        keep_daily: int = 0,
        keep_weekly: int = 0,
        keep_monthly: int = 0,
        keep_yearly: int = 0,
        keep_within: Optional[Union[_dt.timedelta, str]] = None,
        dry_run: bool = False,
    ) -> PruneResult:
        """Applies a retention policy (restic's keep rules); ``dry_run`` only plans.

        ``keep_within`` is a ``timedelta`` or text in restic's duration grammar, the same
        as the CLI's and Node's (units y, m = months, w, d, h, s; e.g. ``"14d"``, ``"6m"``).
        """
        return prune_result(_json.loads(self._inner.prune(_retention(
            keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly,
            keep_within), dry_run=dry_run)))

    async def prune_async(
        self,
        *,
        keep_last: int = 0,
        keep_hourly: int = 0,
        keep_daily: int = 0,
        keep_weekly: int = 0,
        keep_monthly: int = 0,
        keep_yearly: int = 0,
        keep_within: Optional[Union[_dt.timedelta, str]] = None,
        dry_run: bool = False,
    ) -> PruneResult:
        """:meth:`prune` as a coroutine."""
        raw = await self._inner.prune(_retention(
            keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly,
            keep_within), dry_run=dry_run, is_async=True)
        return prune_result(_json.loads(raw))

    # keys ---------------------------------------------------------------------------

    def rotate_key(self, new_key: Key, *, cancel: Optional[CancellationToken] = None) -> RotateReport:
        """Re-wraps every backup's data key under ``new_key`` (data is not re-encrypted).
        Use a new Client with ``new_key`` afterwards."""
        if not isinstance(new_key, Key):
            raise TypeError(f"new_key must be a firekeep.Key, not {type(new_key).__name__}")
        return _build(RotateReport, _json.loads(self._inner.rotate_key(new_key, cancel=cancel)))

    async def rotate_key_async(
        self, new_key: Key, *, cancel: Optional[CancellationToken] = None
    ) -> RotateReport:
        """:meth:`rotate_key` as a coroutine."""
        if not isinstance(new_key, Key):
            raise TypeError(f"new_key must be a firekeep.Key, not {type(new_key).__name__}")
        raw = await self._inner.rotate_key(new_key, cancel=cancel, is_async=True)
        return _build(RotateReport, _json.loads(raw))

    # compliance ---------------------------------------------------------------------

    def erase(
        self,
        *,
        paths: Optional[Sequence[str]] = None,
        collection_group: Optional[str] = None,
        field: Optional[str] = None,
        equals: Any = None,
        subcollections: bool = False,
        backups: Optional[Sequence[str]] = None,
        dry_run: bool = False,
        cancel: Optional[CancellationToken] = None,
    ) -> Dict[str, Any]:
        """Erases documents from every backup holding them (or ``backups``): by relative
        ``paths`` and/or every document of ``collection_group`` whose ``field`` equals
        ``equals``, with their subcollections when ``subcollections``. Needs ``erase_data``;
        a backup under legal hold fails the call before anything is written. Returns the
        report (counts per backup) as a dict."""
        fm: Dict[str, Any] = {}
        if collection_group is not None or field is not None:
            fm = {"collection_group": collection_group, "field": field, "equals": equals}
        raw = _native.client_erase(
            self._inner, paths=_strs(paths) or [], subcollections=subcollections,
            backups=_strs(backups) or [], dry_run=dry_run, cancel=cancel, **fm,
        )
        return _json.loads(raw)  # type: ignore[no-any-return]

    def export(
        self,
        backup_id: str,
        out: Union[str, "os.PathLike[str]"],
        *,
        collections: Optional[Sequence[str]] = None,
        format: str = "ndjson",
        cancel: Optional[CancellationToken] = None,
    ) -> Dict[str, Any]:
        """Writes a backup's documents, decrypted, into directory ``out``: ``ndjson``
        (``documents.ndjson``), ``json`` (``documents.json``) or ``csv`` (one file per
        collection, formula cells defused). Needs ``export_data``. Returns the report."""
        raw = _native.client_export(
            self._inner, _id(backup_id), os.fspath(out), collections=_strs(collections) or [],
            format=format, cancel=cancel,
        )
        return _json.loads(raw)  # type: ignore[no-any-return]

    def hold(self, backup_id: str, reason: str = "") -> Dict[str, Any]:
        """Places a legal hold: prune and erase refuse the backup until it is released.
        Needs ``manage_legal_holds``. On S3 with Object Lock it also sets the S3 legal hold on
        every object of the backup: the result's ``object_lock`` says ``status`` (``applied``,
        ``not_supported``, ``disabled``), ``objects`` and ``detail``. Storage option
        ``object_legal_hold``: ``auto`` (default), ``required`` or ``off``."""
        return _json.loads(_native.client_hold(self._inner, _id(backup_id), reason))  # type: ignore[no-any-return]

    def release_hold(self, backup_id: str) -> Optional[Dict[str, Any]]:
        """Releases a legal hold (clearing the S3 legal holds first; if that fails the hold
        stays); returns it with ``object_lock`` as for :meth:`hold`, or None when the backup
        was not held."""
        return _json.loads(_native.client_release_hold(self._inner, _id(backup_id)))  # type: ignore[no-any-return]

    # audit --------------------------------------------------------------------------

    def audit_events(self) -> List[Dict[str, Any]]:
        """The audit events this client's sink holds (memory or file sinks). Needs
        ``view_audit_logs``; recorded as ``audit.viewed``."""
        return _json.loads(self._inner.audit_events())  # type: ignore[no-any-return]

    def audit_verify(self) -> AuditHead:
        """Verifies the hash chain of this client's audit trail (memory or file sinks).
        Needs ``view_audit_logs``; recorded as ``audit.verified``. A break raises
        :class:`IntegrityError` naming the first bad event."""
        n, h = self._inner.audit_verify()
        return AuditHead(events=n, hash=h)

    def audit_export(
        self,
        format: str = "json",
        *,
        since: Optional[_dt.datetime] = None,
        until: Optional[_dt.datetime] = None,
        actions: Sequence[str] = (),
    ) -> str:
        """This client's audit events as JSON or CSV, filtered by time range and action
        (``backup.*``). Needs ``export_audit_logs``; recorded as ``audit.exported``."""
        return self._inner.audit_export(format, since, until, list(actions))


def _firestore(f: Any) -> Firestore:
    if not isinstance(f, Firestore):
        raise TypeError(f"expected a firekeep.Firestore, not {type(f).__name__}")
    return f


def _id(backup_id: Any) -> str:
    if not isinstance(backup_id, str):
        raise TypeError(f"backup_id must be a str, not {type(backup_id).__name__}")
    return backup_id


def _strs(xs: Optional[Sequence[str]]) -> Optional[List[str]]:
    if xs is None:
        return None
    if isinstance(xs, str):
        raise TypeError("collections must be a list of collection ids, not one str")
    return [str(x) for x in xs]


def _labels(labels: Optional[Mapping[str, str]]) -> Optional[Dict[str, str]]:
    return None if labels is None else {str(k): str(v) for k, v in labels.items()}


def _retention(
    last: int, hourly: int, daily: int, weekly: int, monthly: int, yearly: int,
    within: Optional[Union[_dt.timedelta, str]],
) -> str:
    rules = dict(keep_last=last, keep_hourly=hourly, keep_daily=daily, keep_weekly=weekly,
                 keep_monthly=monthly, keep_yearly=yearly)
    for name, n in rules.items():
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"{name} must be an int")
        if n < 0:
            raise ValueError(f"{name} must be >= 0 (got {n})")
    out: Dict[str, Any] = dict(rules)
    if isinstance(within, str):
        within = _dt.timedelta(seconds=_native.parse_duration(within))
    if within is not None:
        if within < _dt.timedelta(0):
            raise ValueError("keep_within must not be negative")
        secs = int(within.total_seconds())
        out["keep_within"] = {"secs": secs, "nanos": 0}
    return _json.dumps(out)
