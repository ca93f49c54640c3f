"""Each exception class is raised where it should be, with the core's message and code."""

from __future__ import annotations

import time
from pathlib import Path

import firekeep
import pytest

from conftest import free_port
from helpers import seed

POLICY = (Path(__file__).resolve().parents[3] / "testing/fixtures/owner-and-viewer.toml").read_text()


def test_hierarchy():
    for cls in (firekeep.AuthorizationDenied, firekeep.KeyMismatch, firekeep.IntegrityError,
                firekeep.NotFound, firekeep.InvalidConfig, firekeep.FirestoreError,
                firekeep.StorageError, firekeep.Cancelled, firekeep.AuditError):
        assert issubclass(cls, firekeep.Error)
    assert issubclass(firekeep.InvalidConfig, ValueError)
    assert issubclass(firekeep.AuthorizationDenied, PermissionError)


@pytest.fixture
def backed_up(firestore_server, project, tmp_path):
    seed(project, n=3)
    key = firekeep.Key.raw(firekeep.generate_data_key())
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    owner = firekeep.Client(tmp_path / "repo", key, organization="acme", policy=policy,
                            principal="user:alice@example.com")
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)
    report = owner.backup(fs)
    return owner, key, policy, fs, report, tmp_path / "repo"


def test_authorization_denied_is_audited(backed_up):
    owner, key, policy, fs, report, repo = backed_up
    viewer = firekeep.Client(repo, key, organization="acme", policy=POLICY, principal="user:victor@example.com")
    assert [b.id for b in viewer.list()] == [report.backup_id]  # viewers may look
    with pytest.raises(firekeep.AuthorizationDenied) as e:
        viewer.backup(fs)
    assert e.value.code == "ERR_AUTHORIZATION_DENIED"
    with pytest.raises(firekeep.AuthorizationDenied):
        viewer.restore(report.backup_id, fs)
    actions = [ev["action"] for ev in viewer.audit_events()]
    assert actions == ["backup.listed", "authorization.denied", "authorization.denied"]
    with pytest.raises(ValueError, match="principal"):
        firekeep.Client(repo, key, organization="acme", policy=POLICY)


def test_not_found_key_mismatch_integrity(backed_up):
    owner, key, policy, fs, report, repo = backed_up
    with pytest.raises(firekeep.NotFound):
        owner.verify("bk_20200101T000000.000Z_00000000")
    other = firekeep.Client(repo, firekeep.Key.raw(firekeep.generate_data_key()), organization="acme",
                            policy=policy, principal="user:alice@example.com")
    with pytest.raises(firekeep.KeyMismatch):
        other.verify(report.backup_id)
    # The other key lists the backup as unreadable, naming the key it needs.
    listed = other.list()
    assert listed == [] and isinstance(listed, firekeep.BackupList)
    (u,) = listed.unreadable
    assert (u.id, u.code) == (report.backup_id, "ERR_KEY_MISMATCH")
    assert report.key_id in u.message and isinstance(u.created_at, firekeep.Timestamp)
    assert "unreadable=" in repr(listed)
    part = next(p for p in repo.rglob("*.fkp"))
    data = bytearray(part.read_bytes())
    data[-30] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(firekeep.IntegrityError):
        owner.verify(report.backup_id)
    bad = owner.verify(report.backup_id, raise_on_error=False)
    assert not bad.ok and bad.problems and bad.problems[0].object
    with pytest.raises(firekeep.NotFound):
        firekeep.Client(repo / "missing", key, create=False).list()


def test_rotation_names_backups_under_other_keys(backed_up):
    owner, key, policy, fs, report, repo = backed_up
    other = firekeep.Client(repo, firekeep.Key.raw(firekeep.generate_data_key()), organization="acme",
                            policy=policy, principal="user:alice@example.com")
    theirs = other.backup(fs)
    rot = owner.rotate_key(firekeep.Key.raw(firekeep.generate_data_key()))
    assert rot.rotated == [report.backup_id]
    assert [(o.id, o.key_id) for o in rot.other_keys] == [(theirs.backup_id, theirs.key_id)]
    assert isinstance(rot.other_keys[0], firekeep.OtherKeyBackup)


def test_storage_error(moto, tmp_path):
    key = firekeep.Key.raw(firekeep.generate_data_key())
    client = firekeep.Client(
        "s3://no-such-bucket-fk/x", key,
        storage_options={"endpoint": moto.endpoint, "allow_http": True, "region": "us-east-1",
                         "access_key_id": "testing", "secret_access_key": "testing", "max_retries": 0},
    )
    with pytest.raises(firekeep.StorageError) as e:
        client.list()
    assert "testing" not in str(e.value)  # no credentials in messages
    with pytest.raises(ValueError):
        firekeep.Client("s3://b/x", key, storage_options={"no_such_option": "1"})


def test_firestore_error(tmp_path):
    # Nothing listens on this port: the connector gives up with a FirestoreError.
    fs = firekeep.Firestore("p", emulator_host=f"127.0.0.1:{free_port()}")
    client = firekeep.Client(tmp_path, firekeep.Key.raw(firekeep.generate_data_key()))
    t0 = time.monotonic()
    with pytest.raises(firekeep.FirestoreError):
        client.backup(fs)
    assert time.monotonic() - t0 < 60
    # A failed backup leaves no manifest.
    assert client.list() == []
