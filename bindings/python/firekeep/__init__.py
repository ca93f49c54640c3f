"""firekeep: encrypted, verifiable backups of Google Cloud Firestore.

The Rust core does the work (GIL released); this package is its Python face:

* :class:`Client` — backup, verify, restore, list, diff, prune, rotate key, audit; each
  method blocks, and each has an ``async`` twin (``backup_async`` ...).
* :func:`encrypt` / :func:`decrypt` — the object format on its own, over bytes or binary
  file-like objects, streaming with bounded memory.
* Exceptions: :class:`Error` and its subclasses.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import os
from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Sequence, Union, overload

from . import _native
from ._errors import (
    AlreadyExists,
    AuditError,
    AuthorizationDenied,
    Cancelled,
    Error,
    FirestoreError,
    IntegrityError,
    InvalidConfig,
    InvalidInput,
    KeyMismatch,
    KeyProviderError,
    LocalIOError,
    NotFound,
    StorageError,
    Unauthenticated,
)
from ._identity import (
    Authenticator,
    access_review,
    api_key_create,
    api_key_list,
    api_key_revoke,
    api_key_rotate,
    identity_dict,
)
from ._native import CancellationToken, Firestore, Identity, Key, Progress
from ._results import (
    AuditHead,
    BackupList,
    BackupReport,
    BackupSummary,
    DiffReport,
    FailedDocument,
    KeptBackup,
    OtherKeyBackup,
    PartProblem,
    PrunedBackup,
    PrunePlan,
    PruneReport,
    PruneResult,
    RestoreReport,
    RotateReport,
    UnreadableBackup,
    VerifyReport,
)
from ._types import Document, GeoPoint, Reference, Timestamp

__version__: str = _native.__version__

DEFAULT_SEGMENT_SIZE = 1 << 20



# ---------------------------------------------------------------------------------------
# The object format on its own


def generate_data_key() -> bytes:
    """A fresh random 32-byte data key."""
    return _native.generate_data_key()


def _key_bytes(key: Union[bytes, bytearray, memoryview]) -> bytes:
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"key must be bytes (32 of them), not {type(key).__name__}")
    return bytes(key)


BytesSource = Union[bytes, bytearray, memoryview, IO[bytes]]


@overload
def encrypt(src: BytesSource, dst: None = None, key: bytes = ..., *, backup_id: str = ..., object_name: str = ..., segment_size: int = ...) -> bytes: ...
@overload
def encrypt(src: BytesSource, dst: IO[bytes], key: bytes = ..., *, backup_id: str = ..., object_name: str = ..., segment_size: int = ...) -> None: ...
def encrypt(
    src: BytesSource,
    dst: Optional[IO[bytes]] = None,
    key: bytes = b"",
    *,
    backup_id: str = "standalone",
    object_name: str = "object",
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> Optional[bytes]:
    """Encrypts ``src`` with the 32-byte data ``key`` into firekeep's object format: header ‖
    Tink AesGcmHkdfStreaming body (decryptable with stock Tink, the header being the
    associated data).

    ``src``: bytes, bytearray, memoryview (any contiguous buffer) or a binary file-like object
    (``readinto`` is used when it has one). Without ``dst`` the object is returned as bytes;
    with ``dst`` (a blocking binary file-like object) it is streamed there, about one ``write``
    per four segments, holding three such batches in memory, and None is returned. ``dst.write`` gets a
    view of a reused buffer: copy it if you keep it (files do). The encryption runs without
    the GIL, on a second thread for large inputs."""
    if not isinstance(segment_size, int) or isinstance(segment_size, bool):
        raise TypeError("segment_size must be an int")
    return _native.encrypt(src, dst, _key_bytes(key), backup_id, object_name, segment_size)


@overload
def decrypt(src: BytesSource, dst: None = None, key: bytes = ...) -> bytes: ...
@overload
def decrypt(src: BytesSource, dst: IO[bytes], key: bytes = ...) -> None: ...
def decrypt(
    src: BytesSource,
    dst: Optional[IO[bytes]] = None,
    key: bytes = b"",
) -> Optional[bytes]:
    """Decrypts an object made by :func:`encrypt` (or a backup part, with its data key);
    ``src`` and ``dst`` as for :func:`encrypt`. Only verified plaintext is returned or
    written; a wrong key raises :class:`KeyMismatch`, tampering or truncation
    :class:`IntegrityError` (a streamed ``dst`` then holds the verified segments before the
    bad one)."""
    return _native.decrypt(src, dst, _key_bytes(key))


def object_header(
    key: bytes,
    *,
    backup_id: str = "standalone",
    object_name: str = "object",
    segment_size: int = DEFAULT_SEGMENT_SIZE,
) -> bytes:
    """The header :func:`encrypt` writes for these arguments (the Tink associated data)."""
    return _native.object_header(_key_bytes(key), backup_id, object_name, segment_size)


# ---------------------------------------------------------------------------------------
# Documents


def decode_document(data: Union[bytes, str]) -> Document:
    """A document from Firestore REST JSON (one line of a decrypted backup part)."""
    if isinstance(data, str):
        data = data.encode()
    name, fields, c, u = _native.decode_document(data)
    return Document(name=name, fields=fields, create_time=c, update_time=u)


def encode_document(doc: Document) -> bytes:
    """Firestore REST JSON of a document, exactly as backups store it."""
    return _native.encode_document(doc.name, doc.fields, doc.create_time, doc.update_time)


# ---------------------------------------------------------------------------------------
# Audit


def audit_verify(events: Sequence[Mapping[str, Any]]) -> AuditHead:
    """Verifies the hash chain of audit events you hold (e.g. the ones a callable ``audit``
    sink received). A break raises :class:`AuditError` naming the first bad event. A
    client's own trail: :meth:`Client.audit_verify`."""
    n, h = _native.audit_verify_events(_json.dumps(list(events)))
    return AuditHead(events=n, hash=h)


# The client lives in _client.py.
from ._client import AuditSpec, Client, PathLike, ProgressCallback  # noqa: E402

__all__ = [
    "AlreadyExists", "AuditError", "AuditHead", "AuthorizationDenied", "BackupList",
    "BackupReport", "BackupSummary", "CancellationToken", "Cancelled", "Client", "DiffReport",
    "Document", "Error", "FailedDocument", "Firestore", "FirestoreError", "GeoPoint",
    "IntegrityError", "InvalidConfig", "InvalidInput", "KeptBackup", "Key", "KeyMismatch",
    "KeyProviderError", "LocalIOError", "NotFound", "OtherKeyBackup", "PartProblem", "Progress",
    "PrunePlan", "PruneReport", "PruneResult", "PrunedBackup", "Reference", "RestoreReport",
    "RotateReport", "StorageError", "Timestamp", "UnreadableBackup", "VerifyReport",
    "audit_verify", "decode_document", "decrypt", "encode_document",
    "encrypt", "generate_data_key", "object_header",
    # Who is calling (docs/identity.md).
    "Authenticator", "Identity", "Unauthenticated", "access_review", "api_key_create",
    "api_key_list", "api_key_revoke", "api_key_rotate", "identity_dict",
]
