"""Drives the firekeep Cloud KMS test server with Google's own Python client
(google-cloud-kms over an insecure gRPC channel) and checks that it behaves as Cloud KMS
documents: Encrypt/Decrypt with additional authenticated data, the CRC32C integrity fields
(the checks in Google's data-integrity guidelines and samples), key versions and their states,
and the error codes and messages firekeep's provider relies on.

The server binary comes from FIREKEEP_GCP_KMS_SERVER_BIN or the cargo target dir
(cargo build -p firekeep-gcp-kms-server --bin firekeep-gcp-kms-server).
"""

import os
import pathlib
import subprocess

import google_crc32c
import grpc
import pytest
from google.api_core import exceptions
from google.cloud import kms
from google.cloud.kms_v1.services.key_management_service.transports import (
    KeyManagementServiceGrpcTransport,
)
from google.protobuf import field_mask_pb2

ROOT = pathlib.Path(__file__).resolve().parents[3]
RING = "projects/py-test/locations/europe-west1/keyRings/backups"
KEY = f"{RING}/cryptoKeys/main"
ROTATED = f"{RING}/cryptoKeys/rotated"
STATES = f"{RING}/cryptoKeys/states"
DENIED = f"{RING}/cryptoKeys/denied"
OTHER_PROJECT = "projects/someone-else/locations/europe-west1/keyRings/r/cryptoKeys/k"
TOKEN = "py-test-token"


def crc32c(data: bytes) -> int:
    """CRC32C as Google's samples compute it."""
    return int(google_crc32c.value(data))


def server_bin() -> str:
    if os.environ.get("FIREKEEP_GCP_KMS_SERVER_BIN"):
        return os.environ["FIREKEEP_GCP_KMS_SERVER_BIN"]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return str(target / "debug" / "firekeep-gcp-kms-server")


def start(*args: str) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen(
        [server_bin(), "--port", "0", "--exit-on-stdin-eof", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = child.stdout.readline().strip()
    assert line.startswith("listening on "), f"unexpected first line: {line!r}"
    return child, line.removeprefix("listening on ")


def client_for(host: str) -> kms.KeyManagementServiceClient:
    transport = KeyManagementServiceGrpcTransport(channel=grpc.insecure_channel(host))
    return kms.KeyManagementServiceClient(transport=transport)


@pytest.fixture(scope="module")
def server():
    child, host = start(
        "--key", KEY,
        "--key", ROTATED, "--rotate", ROTATED,
        "--key", STATES,
        "--key", DENIED, "--deny", DENIED,
        "--key", OTHER_PROJECT, "--deny", "projects/someone-else/",
    )
    yield host
    child.stdin.close()
    child.wait(timeout=10)


@pytest.fixture(scope="module")
def client(server):
    return client_for(server)


def encrypt_checked(client, name, plaintext, aad):
    """Encrypt as Google's sample does, with every documented response check."""
    response = client.encrypt(
        request={
            "name": name,
            "plaintext": plaintext,
            "plaintext_crc32c": crc32c(plaintext),
            "additional_authenticated_data": aad,
            "additional_authenticated_data_crc32c": crc32c(aad),
        }
    )
    assert response.verified_plaintext_crc32c
    assert response.verified_additional_authenticated_data_crc32c
    assert response.ciphertext_crc32c == crc32c(response.ciphertext)
    return response


def test_encrypt_decrypt_round_trip_with_aad_and_crc32c(client):
    plaintext = os.urandom(32)
    aad = b"firekeep:backup_id=bk_py"
    enc = encrypt_checked(client, KEY, plaintext, aad)
    assert enc.name == f"{KEY}/cryptoKeyVersions/1"
    assert enc.protection_level == kms.ProtectionLevel.SOFTWARE
    assert plaintext not in enc.ciphertext
    dec = client.decrypt(
        request={
            "name": KEY,
            "ciphertext": enc.ciphertext,
            "ciphertext_crc32c": crc32c(enc.ciphertext),
            "additional_authenticated_data": aad,
            "additional_authenticated_data_crc32c": crc32c(aad),
        }
    )
    assert dec.plaintext == plaintext
    assert dec.plaintext_crc32c == crc32c(dec.plaintext)
    assert dec.used_primary
    # Each Encrypt draws a fresh nonce.
    again = encrypt_checked(client, KEY, plaintext, aad)
    assert again.ciphertext != enc.ciphertext


def test_without_checksums_nothing_is_verified(client):
    enc = client.encrypt(request={"name": KEY, "plaintext": b"x" * 32})
    assert not enc.verified_plaintext_crc32c
    assert not enc.verified_additional_authenticated_data_crc32c
    # The response checksum is always there.
    assert enc.ciphertext_crc32c == crc32c(enc.ciphertext)
    assert client.decrypt(request={"name": KEY, "ciphertext": enc.ciphertext}).plaintext == b"x" * 32


@pytest.mark.parametrize(
    "field",
    ["plaintext_crc32c", "additional_authenticated_data_crc32c"],
)
def test_a_wrong_request_checksum_is_invalid_argument(client, field):
    request = {
        "name": KEY,
        "plaintext": b"p" * 32,
        "plaintext_crc32c": crc32c(b"p" * 32),
        "additional_authenticated_data": b"aad",
        "additional_authenticated_data_crc32c": crc32c(b"aad"),
    }
    request[field] = (request[field] + 1) % 2**32
    with pytest.raises(exceptions.InvalidArgument, match=f"checksum in field {field}"):
        client.encrypt(request=request)


def test_a_wrong_ciphertext_checksum_on_decrypt_is_invalid_argument(client):
    enc = encrypt_checked(client, KEY, b"k" * 32, b"aad")
    with pytest.raises(exceptions.InvalidArgument, match="ciphertext_crc32c"):
        client.decrypt(
            request={
                "name": KEY,
                "ciphertext": enc.ciphertext,
                "ciphertext_crc32c": (crc32c(enc.ciphertext) + 1) % 2**32,
                "additional_authenticated_data": b"aad",
            }
        )


def test_wrong_aad_or_damaged_ciphertext_is_decryption_failed(client):
    enc = encrypt_checked(client, KEY, b"k" * 32, b"firekeep:backup_id=a")
    with pytest.raises(exceptions.InvalidArgument, match="^400 Decryption failed"):
        client.decrypt(
            request={
                "name": KEY,
                "ciphertext": enc.ciphertext,
                "additional_authenticated_data": b"firekeep:backup_id=b",
            }
        )
    damaged = bytearray(enc.ciphertext)
    damaged[-1] ^= 1
    with pytest.raises(exceptions.InvalidArgument, match="Decryption failed"):
        client.decrypt(
            request={
                "name": KEY,
                "ciphertext": bytes(damaged),
                "additional_authenticated_data": b"firekeep:backup_id=a",
            }
        )
    # Another key cannot open it either.
    with pytest.raises(exceptions.InvalidArgument, match="Decryption failed"):
        client.decrypt(
            request={
                "name": STATES,
                "ciphertext": enc.ciphertext,
                "additional_authenticated_data": b"firekeep:backup_id=a",
            }
        )


def test_encrypt_uses_the_primary_version_and_decrypt_finds_older_ones(client):
    key = client.get_crypto_key(name=ROTATED)
    assert key.purpose == kms.CryptoKey.CryptoKeyPurpose.ENCRYPT_DECRYPT
    assert key.primary.name == f"{ROTATED}/cryptoKeyVersions/2"
    assert key.primary.state == kms.CryptoKeyVersion.CryptoKeyVersionState.ENABLED
    assert (
        key.primary.algorithm
        == kms.CryptoKeyVersion.CryptoKeyVersionAlgorithm.GOOGLE_SYMMETRIC_ENCRYPTION
    )
    new = encrypt_checked(client, ROTATED, b"n" * 32, b"")
    assert new.name == f"{ROTATED}/cryptoKeyVersions/2"
    # Encrypt can name a version explicitly; Decrypt takes the CryptoKey.
    old = encrypt_checked(client, f"{ROTATED}/cryptoKeyVersions/1", b"o" * 32, b"")
    assert old.name == f"{ROTATED}/cryptoKeyVersions/1"
    dec = client.decrypt(request={"name": ROTATED, "ciphertext": old.ciphertext})
    assert dec.plaintext == b"o" * 32
    assert not dec.used_primary
    with pytest.raises(exceptions.InvalidArgument):
        client.decrypt(
            request={"name": f"{ROTATED}/cryptoKeyVersions/1", "ciphertext": old.ciphertext}
        )


def test_disabled_and_destroy_scheduled_versions_fail_precondition(client):
    version = f"{STATES}/cryptoKeyVersions/1"
    enc = encrypt_checked(client, STATES, b"s" * 32, b"aad")
    decrypt = {"name": STATES, "ciphertext": enc.ciphertext, "additional_authenticated_data": b"aad"}

    updated = client.update_crypto_key_version(
        crypto_key_version={
            "name": version,
            "state": kms.CryptoKeyVersion.CryptoKeyVersionState.DISABLED,
        },
        update_mask=field_mask_pb2.FieldMask(paths=["state"]),
    )
    assert updated.state == kms.CryptoKeyVersion.CryptoKeyVersionState.DISABLED
    with pytest.raises(exceptions.FailedPrecondition, match=f"{version} is not enabled, current state is: DISABLED"):
        client.decrypt(request=decrypt)
    with pytest.raises(exceptions.FailedPrecondition, match="DISABLED"):
        client.encrypt(request={"name": STATES, "plaintext": b"x"})

    client.update_crypto_key_version(
        crypto_key_version={
            "name": version,
            "state": kms.CryptoKeyVersion.CryptoKeyVersionState.ENABLED,
        },
        update_mask=field_mask_pb2.FieldMask(paths=["state"]),
    )
    assert client.decrypt(request=decrypt).plaintext == b"s" * 32

    destroyed = client.destroy_crypto_key_version(name=version)
    assert destroyed.state == kms.CryptoKeyVersion.CryptoKeyVersionState.DESTROY_SCHEDULED
    with pytest.raises(exceptions.FailedPrecondition, match="DESTROY_SCHEDULED"):
        client.decrypt(request=decrypt)
    restored = client.restore_crypto_key_version(name=version)
    assert restored.state == kms.CryptoKeyVersion.CryptoKeyVersionState.DISABLED


def test_iam_denial_and_another_project_are_permission_denied(client):
    with pytest.raises(
        exceptions.PermissionDenied,
        match=r"Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource .*\(or it may not exist\)",
    ):
        client.encrypt(request={"name": DENIED, "plaintext": b"x"})
    with pytest.raises(exceptions.PermissionDenied, match="useToDecrypt"):
        client.decrypt(request={"name": OTHER_PROJECT, "ciphertext": b"x" * 40})


def test_a_missing_key_is_not_found(client):
    with pytest.raises(exceptions.NotFound, match="not found"):
        client.encrypt(request={"name": f"{RING}/cryptoKeys/missing", "plaintext": b"x"})
    with pytest.raises(exceptions.InvalidArgument, match="resource name"):
        client.encrypt(request={"name": "alias/firekeep", "plaintext": b"x"})


def test_a_required_token_is_checked():
    child, host = start("--token", TOKEN, "--key", KEY)
    try:
        c = client_for(host)
        with pytest.raises(exceptions.Unauthenticated):
            c.encrypt(request={"name": KEY, "plaintext": b"x"})
        enc = c.encrypt(
            request={"name": KEY, "plaintext": b"x"},
            metadata=[("authorization", f"Bearer {TOKEN}")],
        )
        assert enc.name == f"{KEY}/cryptoKeyVersions/1"
    finally:
        child.stdin.close()
        child.wait(timeout=10)
