"""A Cloud Functions (Python runtime) HTTP handler that starts a Firestore backup for the
caller, if the caller's role allows it.

Deploy with the functions framework (`functions-framework --target=start_backup`), behind
IAP or an API gateway that authenticates callers and passes their verified e-mail in
``X-Goog-Authenticated-User-Email`` (IAP's header; never trust an unauthenticated header).
The role check is firekeep's: the policy file (FIREKEEP_POLICY) gives each member a role, and
``Client`` authorizes the backup against it and audits the outcome — success, failure or
denial — before anything touches Firestore or storage.

Environment: FIREKEEP_REPO, FIREKEEP_PROJECT, FIREKEEP_POLICY (TOML path), FIREKEEP_ORG,
FIREKEEP_KEY (base64, e.g. from Secret Manager) or FIREKEEP_KMS_KEY, FIREKEEP_AUDIT_LOG.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Tuple

import firekeep

IAP_EMAIL = "X-Goog-Authenticated-User-Email"


def _caller(request: Any) -> str:
    raw = str(request.headers.get(IAP_EMAIL, ""))
    # IAP sends "accounts.google.com:alice@example.com".
    email = raw.split(":", 1)[-1]
    if "@" not in email:
        raise PermissionError("no authenticated caller; deploy behind IAP")
    return email


def _key() -> firekeep.Key:
    if os.environ.get("FIREKEEP_KMS_KEY"):
        return firekeep.Key.aws_kms(os.environ["FIREKEEP_KMS_KEY"])
    return firekeep.Key.raw(os.environ["FIREKEEP_KEY"])


def start_backup(request: Any) -> Tuple[str, int, Dict[str, str]]:
    """HTTP entry point. Body (optional JSON): {"collections": ["users", ...]}."""
    headers = {"Content-Type": "application/json"}
    try:
        email = _caller(request)
    except PermissionError as e:
        return json.dumps({"error": str(e)}), 401, headers
    body = request.get_json(silent=True) or {}
    collections = body.get("collections")
    try:
        client = firekeep.Client(
            os.environ["FIREKEEP_REPO"],
            _key(),
            organization=os.environ.get("FIREKEEP_ORG", "default"),
            policy=os.environ["FIREKEEP_POLICY"],
            principal=f"user:{email}",
            audit=os.environ.get("FIREKEEP_AUDIT_LOG", "/tmp/firekeep-audit.jsonl"),
        )
        source = firekeep.Firestore(
            os.environ["FIREKEEP_PROJECT"],
            emulator_host=os.environ.get("FIRESTORE_EMULATOR_HOST"),
        )
        report = client.backup(source, collections=collections, labels={"caller": email})
    except firekeep.AuthorizationDenied as e:
        return json.dumps({"error": str(e), "code": e.code}), 403, headers
    except (firekeep.InvalidConfig, firekeep.InvalidInput, ValueError, TypeError) as e:
        return json.dumps({"error": str(e)}), 400, headers
    except firekeep.Error as e:
        return json.dumps({"error": str(e), "code": e.code}), 500, headers
    return json.dumps({
        "backup_id": report.backup_id,
        "documents": report.documents,
        "read_time": report.read_time.isoformat(),
    }), 200, headers
