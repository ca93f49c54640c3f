"""firekeep's exceptions. The native module raises these by the core's error code."""

from __future__ import annotations


class Error(Exception):
    """Base class of every firekeep error. ``code`` is the core's stable code
    (``ERR_KEY_MISMATCH`` ...); the message says what to do and never holds a secret."""

    code: str = "ERR"


class InvalidInput(Error, ValueError):
    """An argument or input value was not acceptable."""


class InvalidConfig(Error, ValueError):
    """A configuration value (key, URL, policy, option) is wrong."""


class KeyMismatch(Error):
    """The key supplied is not the key the data was protected with."""


class IntegrityError(Error):
    """Stored data failed an integrity check (tag, hash, count, truncation)."""


class NotFound(Error, LookupError):
    """A backup, object or document does not exist."""


class AlreadyExists(Error):
    """Something that must be new already exists."""


class StorageError(Error):
    """The storage backend failed or refused access."""


class FirestoreError(Error):
    """Firestore answered with an error."""


class KeyProviderError(Error):
    """The key provider (passphrase, raw key, KMS) failed."""


class AuthorizationDenied(Error, PermissionError):
    """The principal may not perform the action."""


class AuditError(Error):
    """The audit trail could not be written or failed verification."""


class Cancelled(Error):
    """The operation was cancelled by its caller."""


class LocalIOError(Error, OSError):
    """Local I/O failed."""


__all__ = [
    "Error",
    "InvalidInput",
    "InvalidConfig",
    "KeyMismatch",
    "IntegrityError",
    "NotFound",
    "AlreadyExists",
    "StorageError",
    "FirestoreError",
    "KeyProviderError",
    "AuthorizationDenied",
    "AuditError",
    "Cancelled",
    "LocalIOError",
]


class Unauthenticated(Error, PermissionError):
    """The presented credential (token, API key) was not accepted; the message says why
    and never contains the credential."""
