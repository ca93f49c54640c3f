"""Who is calling: verify ``Authorization`` headers (Google/Firebase/OIDC ID tokens, HS256
JWTs, API keys) against a policy, manage API keys and review access. The checks are the
Rust core's; this module only maps arguments."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _native
from ._native import Identity

PathLike = Union[str, "os.PathLike[str]"]


class Authenticator:
    """Turns an ``Authorization: Bearer …`` header value into an :class:`Identity` (a member
    of ``policy``'s ``organization``, or one of its API keys), or raises
    :class:`firekeep.Unauthenticated`.

    ``policy``: a policy file path or its TOML/JSON text. Ways in: ``api_keys`` (default on),
    ``google_client_id`` (Google ID tokens), ``firebase_project`` (Firebase Auth ID tokens;
    a second factor sets ``mfa``), ``oidc=(issuer, audience, jwks_url)``,
    ``hs256=(issuer, audience, secret_bytes)``. Pass the identity to
    ``Client(..., identity=who)`` to act as the caller.
    """

    def __init__(
        self,
        policy: PathLike,
        *,
        organization: str = "default",
        api_keys: bool = True,
        google_client_id: Optional[str] = None,
        firebase_project: Optional[str] = None,
        oidc: Optional[Tuple[str, str, str]] = None,
        hs256: Optional[Tuple[str, str, bytes]] = None,
    ) -> None:
        self._inner = _native.Authenticator(
            os.fspath(policy),
            organization=organization,
            api_keys=api_keys,
            google_client_id=google_client_id,
            firebase_project=firebase_project,
            oidc=oidc,
            hs256=hs256,
        )

    def authenticate(self, authorization: Optional[str]) -> Identity:
        """Verifies the header value (``None`` or empty: no credential)."""
        return self._inner.authenticate(authorization or "")

    async def authenticate_async(self, authorization: Optional[str]) -> Identity:
        """:meth:`authenticate` without blocking the event loop."""
        result: Identity = await self._inner.authenticate_async(authorization or "")
        return result


def identity_dict(identity: Identity) -> Dict[str, Any]:
    """The identity's fields (principal, kind, id, email, organization, mfa, method,
    expires_at) as a dict."""
    result: Dict[str, Any] = json.loads(identity.to_json())
    return result


def api_key_create(
    policy: PathLike,
    key_id: str,
    *,
    principal: str,
    actions: Sequence[str],
    organization: str = "default",
    projects: Optional[Sequence[str]] = None,
    expires_in_days: int = 90,
    audit: Optional[PathLike] = None,
) -> str:
    """Creates an API key in the policy file as ``principal`` (who needs
    ``manage_api_keys``); returns its secret, which is shown only now."""
    return _native.api_key_create(
        os.fspath(policy), key_id, principal=principal, actions=list(actions),
        organization=organization, projects=None if projects is None else list(projects),
        expires_in_days=expires_in_days, audit=None if audit is None else os.fspath(audit),
    )


def api_key_rotate(
    policy: PathLike,
    key_id: str,
    *,
    principal: str,
    organization: str = "default",
    grace_hours: int = 24,
    expires_in_days: int = 90,
    audit: Optional[PathLike] = None,
) -> str:
    """Gives a key a new secret (returned); the previous one works for ``grace_hours``."""
    return _native.api_key_rotate(
        os.fspath(policy), key_id, principal=principal, organization=organization,
        grace_hours=grace_hours, expires_in_days=expires_in_days,
        audit=None if audit is None else os.fspath(audit),
    )


def api_key_revoke(
    policy: PathLike,
    key_id: str,
    *,
    principal: str,
    organization: str = "default",
    audit: Optional[PathLike] = None,
) -> None:
    """Revokes a key: it fails from now on."""
    _native.api_key_revoke(
        os.fspath(policy), key_id, principal=principal, organization=organization,
        audit=None if audit is None else os.fspath(audit),
    )


def api_key_list(policy: PathLike, *, organization: str = "default") -> List[Dict[str, Any]]:
    """The organization's keys (id, state, scopes, dates; never secrets)."""
    result: List[Dict[str, Any]] = json.loads(_native.api_key_list(os.fspath(policy), organization=organization))
    return result


def access_review(
    policy: PathLike,
    *,
    principal: str,
    audit: PathLike,
    organization: str = "default",
    inactive_days: int = 90,
    rotation_days: int = 90,
    apply_inactive: bool = False,
) -> Dict[str, Any]:
    """The access review (members, API keys, findings) as ``principal`` (who needs
    ``manage_team``), reading last activity from the JSONL trail ``audit``.
    ``apply_inactive`` disables inactive members in the policy file."""
    result: Dict[str, Any] = json.loads(
        _native.access_review(
            os.fspath(policy), principal=principal, audit=os.fspath(audit),
            organization=organization, inactive_days=inactive_days,
            rotation_days=rotation_days, apply_inactive=apply_inactive,
        )
    )
    return result
