"""Bad arguments raise ValueError/TypeError saying what to pass (never a panic), and gs:// /
az:// repositories are configured or refused with clear messages (no emulator here: the
checks that need no server)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import firekeep
import pytest

from conftest import free_port


@pytest.fixture
def key() -> firekeep.Key:
    return firekeep.Key.raw(firekeep.generate_data_key())


def test_format_and_key_arguments() -> None:
    dek = firekeep.generate_data_key()
    for bad in (-1, 0, 4095, (8 << 20) + 1, 2**40):
        with pytest.raises(ValueError, match=f"segment_size {bad} is out of range"):
            firekeep.encrypt(b"x", key=dek, segment_size=bad)
    with pytest.raises(TypeError, match="segment_size must be an int"):
        firekeep.encrypt(b"x", key=dek, segment_size=True)
    with pytest.raises(TypeError, match="segment_size must be an int"):
        firekeep.encrypt(b"x", key=dek, segment_size=4096.0)  # type: ignore[call-overload]
    for short in (b"", b"\x00" * 31, b"\x00" * 33):
        with pytest.raises(ValueError, match=f"exactly 32 bytes; got {len(short)}"):
            firekeep.decrypt(b"x", key=short)
        with pytest.raises(ValueError, match="exactly 32 bytes"):
            firekeep.object_header(short)
    with pytest.raises(TypeError, match="key must be bytes"):
        firekeep.decrypt(b"x", key=None)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="raw key is bytes"):
        firekeep.Key.raw(12345)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32"):
        firekeep.Key.raw(b"\x01" * 16)
    for n in (0, -1, 2**33):
        with pytest.raises(ValueError, match="iterations must be a positive number"):
            firekeep.Key.passphrase("correct horse battery staple", iterations=n)


def test_repository_arguments(key: firekeep.Key, tmp_path: Path) -> None:
    for url, pattern in [
        ("ftp://host/x", 'scheme "ftp" is not supported'),
        ("http://host/x", 'scheme "http" is not supported'),
        ("file://relative/path", "absolute path"),
        ("", "empty"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            firekeep.Client(url, key)
    with pytest.raises(firekeep.NotFound, match="does not exist"):
        firekeep.Client(tmp_path / "nope", key, create=False)
    with pytest.raises(ValueError, match="storage option"):
        firekeep.Client(tmp_path / "local", key, storage_options={"region": "eu-west-1"})
    with pytest.raises(ValueError, match="must be a whole number"):
        firekeep.Client("s3://bucket/p", key, storage_options={"part_size": "-5"})
    with pytest.raises(ValueError, match="allow_http"):
        firekeep.Client("s3://bucket/p", key, storage_options={"allow_http": "maybe"})


def test_gs_repositories_without_a_server(key: firekeep.Key) -> None:
    # S3-only options are refused for gs://, unknown ones named.
    with pytest.raises(firekeep.InvalidConfig, match="region applies to s3:// URLs only, not gs://"):
        firekeep.Client("gs://bucket/p", key, storage_options={"region": "eu"})
    with pytest.raises(firekeep.InvalidConfig, match='unknown GCS storage option "google_no_such"'):
        firekeep.Client("gs://bucket/p", key, storage_options={"google_no_such": "1"})
    with pytest.raises(firekeep.InvalidConfig, match="Google Cloud Storage"):
        firekeep.Client("gs://bucket/p", key, storage_options={"google_service_account_key": "{not json"})
    with pytest.raises(ValueError, match="bucket"):
        firekeep.Client("gs://", key)


def test_az_repositories_without_a_server(key: firekeep.Key) -> None:
    with pytest.raises(firekeep.InvalidConfig, match="not az://"):
        firekeep.Client("az://container/p", key, storage_options={"access_key_id": "x"})
    with pytest.raises(firekeep.InvalidConfig, match='unknown Azure storage option "azure_no_such"'):
        firekeep.Client("az://container/p", key, storage_options={"azure_no_such": "1"})
    with pytest.raises(firekeep.InvalidConfig, match="storage_class is not supported for Azure"):
        firekeep.Client("az://container/p", key, storage_options={
            "azure_storage_account_name": "acct", "storage_class": "COOL"})
    # A complete configuration opens; the first request reports the unreachable endpoint as a
    # StorageError without the account key.
    secret = "c2VjcmV0LWtleS1kby1ub3Qtc2hvdw=="
    client = firekeep.Client("az://container/backups", key, storage_options={
        "azure_storage_account_name": "acct", "azure_storage_account_key": secret,
        "endpoint": f"http://127.0.0.1:{free_port()}/acct", "allow_http": True, "max_retries": 0,
    })
    assert client.repository.startswith("az://container/backups")
    with pytest.raises(firekeep.StorageError) as e:
        client.list()
    assert secret not in str(e.value) and secret not in client.repository


def test_client_operation_arguments(key: firekeep.Key, tmp_path: Path) -> None:
    client = firekeep.Client(tmp_path, key)
    fs = firekeep.Firestore("p", emulator_host=f"127.0.0.1:{free_port()}")
    with pytest.raises(ValueError, match="parallelism must be >= 0"):
        client.backup(fs, parallelism=-2)
    with pytest.raises(ValueError, match="read_streams must be >= 0"):
        client.backup(fs, read_streams=-1)
    # Out of range: refused before connecting (the emulator host has no server).
    with pytest.raises(firekeep.InvalidConfig, match="read_streams 257 is out of range"):
        client.backup(fs, read_streams=257)
    with pytest.raises(TypeError, match="collection ids"):
        client.backup(fs, collections="users")
    with pytest.raises(TypeError, match="firekeep.Firestore"):
        client.backup("projects/p")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_names must be >= 0"):
        client.diff("bk_a", "bk_b", max_names=-1)
    with pytest.raises(ValueError, match="exactly one of"):
        client.diff("bk_a")
    with pytest.raises(ValueError, match="conflict"):
        client.restore("bk_a", fs, conflict="replace")
    with pytest.raises(ValueError, match="keep_last must be >= 0"):
        client.prune(keep_last=-1)
    with pytest.raises(ValueError, match="keep_within must not be negative"):
        client.prune(keep_within=-dt.timedelta(days=1))
    with pytest.raises(ValueError, match="at least one keep_"):
        client.prune()
    with pytest.raises(ValueError, match="is not a duration"):
        client.prune(keep_within="1.5d")

    with pytest.raises(TypeError, match="keep_daily must be an int"):
        client.prune(keep_daily="7")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="backup_id must be a str"):
        client.verify(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="new_key must be a firekeep.Key"):
        client.rotate_key("new")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="principal"):
        firekeep.Client(tmp_path, key, principal="robot:x", policy='{"version": 1, "members": []}')


def test_durations_use_the_cores_grammar_m_is_months() -> None:
    # One grammar with the CLI and Node: `m` is months (30 days), never minutes.
    from firekeep import _native
    assert _native.parse_duration("6m") == 6 * 30 * 86400
    assert _native.parse_duration("1y2m") == (365 + 60) * 86400
    assert _native.parse_duration("36h") == 36 * 3600
    with pytest.raises(ValueError, match="is not a duration"):
        _native.parse_duration("90 minutes")
