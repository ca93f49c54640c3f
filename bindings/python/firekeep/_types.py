"""Firestore value types kept exactly: timestamps with nanoseconds, geopoints, references."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Timestamp(_dt.datetime):
    """A UTC ``datetime`` that also keeps Firestore's nanoseconds (``.nanosecond``, 0..999999999).

    ``microsecond`` is ``nanosecond // 1000``; comparisons with plain datetimes use microseconds.
    """

    _nanosecond: int

    def __new__(cls, *args: Any, nanosecond: Optional[int] = None, **kwargs: Any) -> "Timestamp":
        self = super().__new__(cls, *args, **kwargs)
        ns = self.microsecond * 1000 if nanosecond is None else int(nanosecond)
        if not 0 <= ns < 1_000_000_000 or ns // 1000 != self.microsecond:
            raise ValueError(f"nanosecond {ns} does not match microsecond {self.microsecond}")
        self._nanosecond = ns
        return self

    @property
    def nanosecond(self) -> int:
        """Nanoseconds within the second."""
        return self._nanosecond

    @classmethod
    def from_unix(cls, seconds: int, nanos: int) -> "Timestamp":
        """From Unix seconds and nanoseconds (UTC)."""
        d = _EPOCH + _dt.timedelta(seconds=seconds, microseconds=nanos // 1000)
        return cls(
            d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond,
            tzinfo=_dt.timezone.utc, nanosecond=nanos,
        )

    def unix(self) -> Tuple[int, int]:
        """(Unix seconds, nanoseconds)."""
        return _unix_parts(self)

    def __repr__(self) -> str:
        return f"Timestamp({self.isoformat()!r}, nanosecond={self._nanosecond})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self.unix() == other.unix()
        return super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()

    def __reduce__(self) -> Any:
        s, n = self.unix()
        return (Timestamp.from_unix, (s, n))


def _unix_parts(d: _dt.datetime) -> Tuple[int, int]:
    """(Unix seconds, nanoseconds) of an aware datetime; naive ones are refused."""
    if d.tzinfo is None or d.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (use tzinfo=datetime.timezone.utc)")
    delta = d - _EPOCH
    secs = delta.days * 86400 + delta.seconds
    nanos = d._nanosecond if isinstance(d, Timestamp) else delta.microseconds * 1000
    return secs, nanos


@dataclass(frozen=True)
class GeoPoint:
    """A Firestore geopoint."""

    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude <= 90.0 or not -180.0 <= self.longitude <= 180.0:
            raise ValueError("latitude must be in [-90, 90] and longitude in [-180, 180]")


@dataclass(frozen=True)
class Reference:
    """A Firestore document reference: the full resource name
    (``projects/P/databases/D/documents/col/doc``)."""

    name: str

    @property
    def path(self) -> str:
        """The document path within its database (``col/doc``)."""
        return self.name.split("/documents/", 1)[-1]


@dataclass(frozen=True)
class Document:
    """One Firestore document with its fields as Python values."""

    name: str
    fields: Dict[str, Any]
    create_time: Optional[Timestamp] = None
    update_time: Optional[Timestamp] = None
