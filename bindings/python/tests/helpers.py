"""Shared test helpers: seeding through Google's client, and comparing databases."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Dict

from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

PASS = "correct horse battery staple"


def gclient(project: str, database: str = "(default)") -> firestore.Client:
    """Google's own client, on the test server through FIRESTORE_EMULATOR_HOST."""
    return firestore.Client(project=project, database=database, credentials=AnonymousCredentials())


def every_type(db: firestore.Client) -> Dict[str, Any]:
    """A document holding every Firestore value type, with the edge cases DESIGN.md lists."""
    return {
        "null": None,
        "t": True,
        "f": False,
        "int_min": -(2**63),
        "int_max": 2**63 - 1,
        "nan": float("nan"),
        "inf": float("inf"),
        "ninf": float("-inf"),
        "negzero": -0.0,
        "subnormal": 5e-324,
        "pi": 3.141592653589793,
        "ts_nanos": DatetimeWithNanoseconds(2024, 2, 29, 23, 59, 59, nanosecond=123456789, tzinfo=dt.timezone.utc),
        "ts_min": dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc),
        # (Google's client rounds 9999-12-31T23:59:59.999999999 past the range; its last microsecond.)
        "ts_max": dt.datetime(9999, 12, 31, 23, 59, 58, 999999, tzinfo=dt.timezone.utc),
        "str": "héllo \u0000 wörld 🔥",
        "empty": "",
        "bytes": b"\x00\x01\xfe\xff",
        "ref": db.document("people/alice"),
        "geo": firestore.GeoPoint(-33.8688, 151.2093),
        "arr": [1, "two", 3.0, None, b"x", {"k": [True]}],
        "map": {"a": {"b": {"c": [1, 2, {"d": True}]}}},
    }


def seed(project: str, n: int = 20) -> firestore.Client:
    """Seeds a database: every type, ordinary documents and a subcollection."""
    db = gclient(project)
    batch = db.batch()
    batch.set(db.document("types/all"), every_type(db))
    for i in range(n):
        batch.set(db.document(f"people/p{i:03}"), {"i": i, "name": f"person {i}"})
    batch.set(db.document("people/p000/pets/rex"), {"kind": "dog"})
    batch.commit()
    return db


def norm(v: Any) -> Any:
    """A comparable form of a value read by Google's client (NaN equal to NaN, -0.0 apart from
    0.0, timestamps to the nanosecond, references by path)."""
    if isinstance(v, float):
        if math.isnan(v):
            return ("nan",)
        return ("float", v, math.copysign(1.0, v))
    if isinstance(v, DatetimeWithNanoseconds):
        return ("ts", v.rfc3339())
    if isinstance(v, dt.datetime):
        return ("ts", v.isoformat())
    if isinstance(v, firestore.DocumentReference):
        return ("ref", v.path)
    if isinstance(v, firestore.GeoPoint):
        return ("geo", v.latitude, v.longitude)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, bool):
        return ("bool", v)
    return v


def dump(db: firestore.Client) -> Dict[str, Any]:
    """Every document of a database (all collections, any depth), normalized."""
    out: Dict[str, Any] = {}

    def walk(colls: Any) -> None:
        for c in colls:
            for snap in c.stream():
                out[snap.reference.path] = norm(snap.to_dict())
                walk(snap.reference.collections())

    walk(db.collections())
    return out
