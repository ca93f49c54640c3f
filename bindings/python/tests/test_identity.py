"""Authenticating callers from Python: tokens minted by PyJWT and Google's google-auth against
a JWKS served on 127.0.0.1, HS256 with a shared secret, API keys created, rotated and revoked
through the package, a Client acting as the verified caller, and the access review."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from google.auth import crypt
from google.auth import jwt as google_jwt

import firekeep

ISS = "https://issuer.test"
AUD = "firekeep-api"
HS_SECRET = b"an-hs256-secret-of-at-least-32-bytes!"
POLICY = (Path(__file__).resolve().parents[3] / "testing/fixtures/acme-members.toml").read_text()


def _b64(n: int, length: int = 0) -> str:
    raw = n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture()
def key() -> firekeep.Key:
    return firekeep.Key.raw(firekeep.generate_data_key())


@pytest.fixture(scope="module")
def keys() -> Tuple[Any, Any]:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def jwks_url(keys: Tuple[Any, Any]) -> Iterator[str]:
    rsa_key, ec_key = keys
    r, e = rsa_key.public_key().public_numbers(), ec_key.public_key().public_numbers()
    body = json.dumps({"keys": [
        {"kty": "RSA", "kid": "r1", "alg": "RS256", "n": _b64(r.n), "e": _b64(r.e)},
        {"kty": "EC", "crv": "P-256", "kid": "e1", "x": _b64(e.x, 32), "y": _b64(e.y, 32)},
    ]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=300")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()
    server.server_close()


def _pem(key: Any) -> bytes:
    out: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return out


def _claims(**extra: Any) -> Dict[str, Any]:
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now, "exp": now + 300, **extra}


@pytest.fixture()
def policy(tmp_path: Path) -> Path:
    p = tmp_path / "policy.toml"
    p.write_text(POLICY)
    return p


def test_tokens_from_pyjwt_and_google_auth(policy: Path, keys: Tuple[Any, Any], jwks_url: str) -> None:
    rsa_key, ec_key = keys
    auth = firekeep.Authenticator(policy, organization="acme", oidc=(ISS, AUD, jwks_url))
    rs = jwt.encode(_claims(), _pem(rsa_key), algorithm="RS256", headers={"kid": "r1"})
    es = jwt.encode(_claims(amr=["pwd", "mfa"]), _pem(ec_key), algorithm="ES256", headers={"kid": "e1"})
    google = google_jwt.encode(
        crypt.RSASigner.from_string(_pem(rsa_key), key_id="r1"),
        _claims(sub="g-1", email="alice@example.com", email_verified=True),
    ).decode()
    for token in (rs, es, google):
        who = auth.authenticate(f"Bearer {token}")
        assert who.principal == "user:alice"
    assert firekeep.identity_dict(auth.authenticate(f"Bearer {es}"))["mfa"] is True
    assert firekeep.identity_dict(auth.authenticate(f"Bearer {rs}"))["mfa"] is False

    expired = jwt.encode(_claims(exp=int(time.time()) - 3600), _pem(rsa_key), algorithm="RS256", headers={"kid": "r1"})
    with pytest.raises(firekeep.Unauthenticated, match="expired") as info:
        auth.authenticate(f"Bearer {expired}")
    assert expired not in str(info.value) and info.value.code == "ERR_UNAUTHENTICATED"
    wrong_aud = jwt.encode(_claims(aud="other"), _pem(rsa_key), algorithm="RS256", headers={"kid": "r1"})
    with pytest.raises(firekeep.Unauthenticated, match="audience"):
        auth.authenticate(f"Bearer {wrong_aud}")
    none = jwt.encode(_claims(), None, algorithm="none", headers={"kid": "r1"})
    with pytest.raises(firekeep.Unauthenticated, match="algorithm"):
        auth.authenticate(f"Bearer {none}")
    with pytest.raises(firekeep.Unauthenticated, match="no credential"):
        auth.authenticate(None)


def test_hs256_async_and_a_client_acting_as_the_caller(policy: Path, key: firekeep.Key, tmp_path: Path) -> None:
    import asyncio

    auth = firekeep.Authenticator(policy, organization="acme", api_keys=False, hs256=(ISS, AUD, HS_SECRET))
    vera = jwt.encode(_claims(sub="vera"), HS_SECRET, algorithm="HS256")
    who = asyncio.run(auth.authenticate_async(f"Bearer {vera}"))
    assert who.principal == "user:vera"
    client = firekeep.Client(tmp_path / "repo", key, policy=policy, identity=who, audit=tmp_path / "a.jsonl")
    assert client.principal == "user:vera" and client.organization == "acme"
    assert list(client.list()) == []
    forged = jwt.encode(_claims(sub="alice"), b"another-secret-of-at-least-32-bytes!!", algorithm="HS256")
    with pytest.raises(firekeep.Unauthenticated, match="signature"):
        auth.authenticate(f"Bearer {forged}")
    with pytest.raises(TypeError, match="not both"):
        firekeep.Client(tmp_path / "repo", key, policy=policy, identity=who, principal="user:alice")


def test_api_keys_lifecycle_and_review(policy: Path, key: firekeep.Key, tmp_path: Path) -> None:
    trail = tmp_path / "audit.jsonl"
    secret = firekeep.api_key_create(
        policy, "ci", principal="user:alice", actions=["view_backups"], organization="acme", audit=trail
    )
    assert secret.startswith("fk_") and secret not in policy.read_text()
    auth = firekeep.Authenticator(policy, organization="acme")
    who = auth.authenticate(f"Bearer {secret}")
    assert firekeep.identity_dict(who)["principal"] == "apikey:ci"
    client = firekeep.Client(tmp_path / "repo", key, policy=policy, identity=who, audit=trail)
    client.list()
    with pytest.raises(firekeep.AuthorizationDenied):
        firekeep.api_key_create(policy, "x", principal="user:vera", actions=["view_backups"], organization="acme")

    new = firekeep.api_key_rotate(policy, "ci", principal="user:alice", organization="acme", grace_hours=0, audit=trail)
    auth = firekeep.Authenticator(policy, organization="acme")
    auth.authenticate(f"Bearer {new}")
    with pytest.raises(firekeep.Unauthenticated, match="not known"):
        auth.authenticate(f"Bearer {secret}")
    firekeep.api_key_revoke(policy, "ci", principal="user:alice", organization="acme", audit=trail)
    with pytest.raises(firekeep.Unauthenticated, match="revoked"):
        firekeep.Authenticator(policy, organization="acme").authenticate(f"Bearer {new}")
    [listed] = firekeep.api_key_list(policy, organization="acme")
    assert listed["state"] == "revoked"

    review = firekeep.access_review(policy, principal="user:alice", audit=trail, organization="acme")
    kinds = {(f["kind"], f["subject"]) for f in review["findings"]}
    assert ("admin_without_mfa", "member:alice") in kinds
    text = trail.read_text()
    assert secret not in text and new not in text
    for action in ("api_key.created", "api_key.rotated", "api_key.revoked", "access.reviewed"):
        assert f'"action":"{action}"' in text, action
    assert '"type":"api_key","id":"ci"' in text


def test_fastapi_example_authenticates_end_to_end(policy: Path, key: firekeep.Key, tmp_path: Path) -> None:
    import importlib.util

    from fastapi.testclient import TestClient

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("fastapi_app", ROOT / "examples" / "python" / "fastapi_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trail = tmp_path / "audit.jsonl"
    secret = firekeep.api_key_create(
        policy, "reader", principal="user:alice", actions=["view_backups"], organization="acme", audit=trail
    )
    auth = firekeep.Authenticator(policy, organization="acme", hs256=(ISS, AUD, HS_SECRET))
    app = module.create_app(
        repository=str(tmp_path / "repo"), key=key, policy=str(policy), audit_log=str(trail), authenticator=auth
    )
    http = TestClient(app)
    token = jwt.encode(_claims(sub="alice"), HS_SECRET, algorithm="HS256")
    r = http.get("/backups", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"principal": "user:alice", "backups": []}
    r = http.get("/backups", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.json()["principal"] == "apikey:reader"
    # The key is not scoped for verify_backup: 403, audited as a denial.
    r = http.post("/backups/latest/verify", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403, r.text
    assert "not scoped" in r.json()["detail"]
    r = http.get("/backups")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    expired = jwt.encode(_claims(exp=int(time.time()) - 600), HS_SECRET, algorithm="HS256")
    r = http.get("/backups", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"] and expired not in r.text
    text = trail.read_text()
    assert secret not in text and token not in text
    assert '"action":"authorization.denied"' in text and '"id":"reader"' in text
