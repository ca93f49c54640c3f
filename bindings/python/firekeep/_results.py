"""Typed result objects. The core reports in JSON; these give them names, types and a repr."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar

from . import _native
from ._types import Timestamp

T = TypeVar("T")


def _ts(v: Any) -> Any:
    if isinstance(v, str):
        return Timestamp.from_unix(*_native.parse_rfc3339(v))
    return v


def _secs(v: Any) -> Any:
    if isinstance(v, dict) and "secs" in v:
        return v["secs"] + v.get("nanos", 0) / 1e9
    return v


def _build(cls: Type[T], data: Dict[str, Any]) -> T:
    """Builds ``cls`` from the core's JSON, converting timestamps and durations by field type."""
    kwargs: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        v = data[f.name]
        t = str(f.type)
        if "Timestamp" in t:
            v = _ts(v)
        elif t in ("float", "Optional[float]"):
            v = _secs(v)
        elif t == "List[PartProblem]":
            v = [_build(PartProblem, p) for p in v]
        elif t == "List[FailedDocument]":
            v = [_build(FailedDocument, p) for p in v]
        elif t == "List[KeptBackup]":
            v = [_build(KeptBackup, p) for p in v]
        elif t == "List[PrunedBackup]":
            v = [_build(PrunedBackup, p) for p in v]
        elif t == "List[OtherKeyBackup]":
            v = [_build(OtherKeyBackup, p) for p in v]
        elif t == "List[UnreadableBackup]":
            v = [_build(UnreadableBackup, p) for p in v]
        kwargs[f.name] = v
    return cls(**kwargs)


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote."""

    backup_id: str
    read_time: Timestamp
    started_at: Timestamp
    duration: float
    project: str
    database: str
    documents: int
    bytes: int
    stored_bytes: int
    parts: int
    key_id: str
    repository: str
    collections: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupSummary:
    """One complete backup in a repository (from ``Client.list``)."""

    id: str
    created_at: Timestamp
    read_time: Timestamp
    project: str
    database: str
    documents: int
    bytes: int
    stored_bytes: int
    parts: int
    key_id: str
    scope: Dict[str, Any] = field(default_factory=dict)
    collections: Dict[str, int] = field(default_factory=dict)
    labels: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UnreadableBackup:
    """A complete backup ``Client.list`` could not open with the client's key (made under
    another key, refused by the KMS, or damaged); ``message`` names the key id it needs."""

    id: str
    created_at: Optional[Timestamp]
    code: str
    message: str


class BackupList(List[BackupSummary]):
    """``Client.list``'s result: the readable backups, newest first, as a list, and in
    :attr:`unreadable` the complete backups that could not be opened."""

    unreadable: List[UnreadableBackup]
    #: Backups the repository's head record names that are missing now or no longer
    #: authenticate (deleted outside firekeep, or a rollback), newest first.
    missing: List[str]

    def __init__(
        self,
        backups: List[BackupSummary] = (),  # type: ignore[assignment]
        unreadable: List[UnreadableBackup] = (),  # type: ignore[assignment]
        missing: List[str] = (),  # type: ignore[assignment]
    ) -> None:
        super().__init__(backups)
        self.unreadable = list(unreadable)
        self.missing = list(missing)

    def __repr__(self) -> str:
        return f"BackupList({list.__repr__(self)}, unreadable={self.unreadable!r})"

    @classmethod
    def _from_json(cls, data: Dict[str, Any]) -> "BackupList":
        return cls(
            [_build(BackupSummary, b) for b in data["backups"]],
            [_build(UnreadableBackup, u) for u in data["unreadable"]],
            list(data.get("rollback", {}).get("missing", [])),
        )


@dataclass(frozen=True)
class PartProblem:
    """A part that failed verification."""

    object: str
    path: str
    kind: str
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying every part of a backup."""

    backup_id: str
    parts: int
    parts_ok: int
    documents: int
    bytes: int
    duration: float
    problems: List[PartProblem] = field(default_factory=list)
    unexpected_objects: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every part checked out."""
        return not self.problems and self.parts_ok == self.parts


@dataclass(frozen=True)
class FailedDocument:
    """A document a restore could not write."""

    name: str
    code: str
    message: str


@dataclass(frozen=True)
class RestoreReport:
    """What a restore wrote (or, on a dry run, would write)."""

    backup_id: str
    project: str
    database: str
    dry_run: bool
    documents: int
    written: int
    skipped: int
    parts_read: int
    duration: float
    failed: List[FailedDocument] = field(default_factory=list)


@dataclass(frozen=True)
class DiffReport:
    """Differences between two backups, or a backup and the live database."""

    added: int
    removed: int
    changed: int
    unchanged: int
    added_names: List[str] = field(default_factory=list)
    removed_names: List[str] = field(default_factory=list)
    changed_names: List[str] = field(default_factory=list)
    truncated: bool = False
    from_: str = ""
    to: str = ""


@dataclass(frozen=True)
class KeptBackup:
    """A backup a retention policy keeps, with the rules that keep it."""

    id: str
    reasons: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrunedBackup:
    """A backup a prune deleted."""

    id: str
    objects: int
    bytes: int


@dataclass(frozen=True)
class PrunePlan:
    """What a retention policy keeps and removes."""

    keep: List[KeptBackup]
    remove: List[str]
    orphans: List[str]
    objects: int
    bytes: int
    #: Folders with a manifest the key cannot open or authenticate (another key, damaged,
    #: planted): not counted by any rule and never deleted.
    unreadable: List[UnreadableBackup] = field(default_factory=list)


@dataclass(frozen=True)
class PruneReport:
    """What a prune deleted."""

    removed: List[PrunedBackup] = field(default_factory=list)
    orphans: List[PrunedBackup] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class PruneResult:
    """A prune's plan and, unless it was a dry run, its report."""

    plan: PrunePlan
    report: Optional[PruneReport]


@dataclass(frozen=True)
class OtherKeyBackup:
    """A backup a key rotation left as it is: its data key is under another key."""

    id: str
    key_id: str


@dataclass(frozen=True)
class RotateReport:
    """What a key rotation re-wrapped."""

    from_key_id: str
    to_key_id: str
    rotated: List[str] = field(default_factory=list)
    already_rotated: List[str] = field(default_factory=list)
    other_keys: List[OtherKeyBackup] = field(default_factory=list)
    #: Folders whose key.json or manifest does not read or authenticate: left as they are.
    unreadable: List[UnreadableBackup] = field(default_factory=list)


@dataclass(frozen=True)
class AuditHead:
    """The head of a verified audit chain."""

    events: int
    hash: str


def diff_report(data: Dict[str, Any]) -> DiffReport:
    data = dict(data)
    data["from_"] = data.pop("from", "")
    return _build(DiffReport, data)


def prune_result(data: Dict[str, Any]) -> PruneResult:
    report = data.get("report")
    return PruneResult(
        plan=_build(PrunePlan, data["plan"]),
        report=None if report is None else _build(PruneReport, report),
    )
