"""Mints ID tokens with third-party libraries for firekeep-oidc's tests.

Throwaway keys (made here with `cryptography`, never stored): RSA key `rsa-1`, EC P-256 key
`ec-1`, and after a "rotation" RSA key `rsa-2`. Tokens are signed by PyJWT and by Google's
`google-auth` (its RSASigner and jwt.encode, as Google's own tooling signs). Prints JSON:
{"jwks_before": ..., "jwks_after": ..., "tokens": {name: token}}.
"""

import base64
import hashlib
import hmac
import json
import sys
import time

import jwt  # PyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from google.auth import crypt
from google.auth import jwt as google_jwt

ISS = "https://issuer.test"
AUD = "firekeep-api"
now = int(time.time())


def b64(n: int, length: int | None = None) -> str:
    raw = n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk(key, kid):
    pub = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64(pub.n), "e": b64(pub.e)}


def ec_jwk(key, kid):
    pub = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(pub.x, 32), "y": b64(pub.y, 32)}


def pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


rsa1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec1 = ec.generate_private_key(ec.SECP256R1())

claims = {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now, "exp": now + 600}


def pyjwt(c, key, alg, kid):
    return jwt.encode(c, key, algorithm=alg, headers={"kid": kid})


def b64json(o):
    return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()


tokens = {
    "rs256": pyjwt(claims, pem(rsa1), "RS256", "rsa-1"),
    "es256": pyjwt(claims, pem(ec1), "ES256", "ec-1"),
    "expired": pyjwt({**claims, "iat": now - 7200, "exp": now - 3600}, pem(rsa1), "RS256", "rsa-1"),
    "not_yet_valid": pyjwt({**claims, "nbf": now + 3600}, pem(rsa1), "RS256", "rsa-1"),
    "wrong_iss": pyjwt({**claims, "iss": "https://evil.test"}, pem(rsa1), "RS256", "rsa-1"),
    "wrong_aud": pyjwt({**claims, "aud": "someone-else"}, pem(rsa1), "RS256", "rsa-1"),
    "unknown_kid": pyjwt(claims, pem(rsa1), "RS256", "rsa-404"),
    "rotated": pyjwt(claims, pem(rsa2), "RS256", "rsa-2"),
    "wrong_key": pyjwt(claims, pem(rsa2), "RS256", "rsa-1"),
    # PyJWT's own unsigned token (algorithm "none").
    "alg_none": jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"}),
    # Google's signer, as google-auth signs service-account assertions and ID tokens.
    "google_auth": google_jwt.encode(
        crypt.RSASigner.from_string(pem(rsa1), key_id="rsa-1"),
        {**claims, "sub": "1234567890", "email": "alice@example.com", "email_verified": True},
    ).decode(),
}

# HS/RS confusion: HS256 keyed with the RSA public key's PEM (PyJWT refuses to make this, as
# it should, so the HMAC is computed by hand).
public_pem = rsa1.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
signing_input = f"{b64json({'alg': 'HS256', 'kid': 'rsa-1', 'typ': 'JWT'})}.{b64json(claims)}"
mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
tokens["hs_rs_confusion"] = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

# Sanity: PyJWT itself accepts the good ones with the public keys.
jwt.decode(tokens["rs256"], rsa1.public_key(), algorithms=["RS256"], audience=AUD, issuer=ISS)
jwt.decode(tokens["es256"], ec1.public_key(), algorithms=["ES256"], audience=AUD, issuer=ISS)

json.dump(
    {
        "jwks_before": {"keys": [rsa_jwk(rsa1, "rsa-1"), ec_jwk(ec1, "ec-1")]},
        "jwks_after": {"keys": [rsa_jwk(rsa2, "rsa-2"), ec_jwk(ec1, "ec-1")]},
        "tokens": tokens,
    },
    sys.stdout,
)
