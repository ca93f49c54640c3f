"""A FastAPI service that embeds firekeep and authenticates every caller with it.

Callers send ``Authorization: Bearer <token or API key>``: a Firebase Auth ID token
(``FIREKEEP_FIREBASE_PROJECT``), a Google ID token (``FIREKEEP_GOOGLE_CLIENT_ID``), an HS256
token (``FIREKEEP_JWT_HS256_SECRET`` with ``FIREKEEP_JWT_ISSUER``/``FIREKEEP_JWT_AUDIENCE``),
or an API key made by ``firekeep api-key create``. firekeep verifies it, maps it to a member
(or key) of the policy, and every operation runs — authorized and audited — as that caller.

Run: ``uvicorn fastapi_app:app`` with ``FIREKEEP_REPO``, ``FIREKEEP_KEY`` (base64 raw key),
``FIREKEEP_POLICY``, ``FIREKEEP_ORGANIZATION`` and ``FIREKEEP_AUDIT_LOG`` set.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Dict, List, Optional

from fastapi import Depends, FastAPI, Header, HTTPException, Request

import firekeep


def authenticator_from_env(policy: str, organization: str) -> firekeep.Authenticator:
    """The ways in this deployment accepts, from the environment."""
    hs256 = None
    if os.environ.get("FIREKEEP_JWT_HS256_SECRET"):
        hs256 = (
            os.environ.get("FIREKEEP_JWT_ISSUER", ""),
            os.environ.get("FIREKEEP_JWT_AUDIENCE", ""),
            os.environ["FIREKEEP_JWT_HS256_SECRET"].encode(),
        )
    return firekeep.Authenticator(
        policy,
        organization=organization,
        api_keys=True,
        firebase_project=os.environ.get("FIREKEEP_FIREBASE_PROJECT"),
        google_client_id=os.environ.get("FIREKEEP_GOOGLE_CLIENT_ID"),
        hs256=hs256,
    )


def create_app(
    *,
    repository: str,
    key: firekeep.Key,
    policy: str,
    audit_log: str,
    authenticator: firekeep.Authenticator,
) -> FastAPI:
    """The service: ``GET /backups`` and ``POST /backups/{id}/verify`` as the caller."""
    app = FastAPI(title="firekeep example")

    async def caller(authorization: Optional[str] = Header(default=None)) -> firekeep.Client:
        try:
            who = await authenticator.authenticate_async(authorization)
        except firekeep.Unauthenticated as e:
            # The message says why (expired, wrong audience ...) and never holds the token.
            raise HTTPException(401, str(e), headers={"WWW-Authenticate": "Bearer"}) from None
        return firekeep.Client(repository, key, policy=policy, identity=who, audit=audit_log)

    @app.exception_handler(firekeep.AuthorizationDenied)
    async def denied(request: Request, exc: firekeep.AuthorizationDenied) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.get("/backups")
    async def backups(client: firekeep.Client = Depends(caller)) -> Dict[str, Any]:
        listed = await client.list_async()
        items: List[Dict[str, Any]] = [
            {"id": b.id, "project": b.project, "documents": b.documents} for b in listed
        ]
        return {"principal": client.principal, "backups": items}

    @app.post("/backups/{backup_id}/verify")
    async def verify(backup_id: str, client: firekeep.Client = Depends(caller)) -> Dict[str, Any]:
        report = await client.verify_async(backup_id)
        return {"backup_id": report.backup_id, "ok": not report.problems}

    return app


def _app_from_env() -> Optional[FastAPI]:
    if "FIREKEEP_REPO" not in os.environ:
        return None
    policy = os.environ["FIREKEEP_POLICY"]
    organization = os.environ.get("FIREKEEP_ORGANIZATION", "default")
    return create_app(
        repository=os.environ["FIREKEEP_REPO"],
        key=firekeep.Key.raw(base64.b64decode(os.environ["FIREKEEP_KEY"])),
        policy=policy,
        audit_log=os.environ.get("FIREKEEP_AUDIT_LOG", "firekeep-audit.jsonl"),
        authenticator=authenticator_from_env(policy, organization),
    )


app = _app_from_env()
