"""The whole flow against the Firestore test server: backup, verify, list, restore, diff,
prune, key rotation and audit; restores checked with Google's Python client."""

from __future__ import annotations

from pathlib import Path
from typing import List

import firekeep
import pytest

from helpers import PASS, dump, gclient, seed


def test_backup_verify_restore_equal_through_google_client(firestore_server, project, tmp_path):
    src = seed(project)
    key = firekeep.Key.passphrase(PASS, iterations=100_000)
    events: List[firekeep.Progress] = []
    client = firekeep.Client(tmp_path / "repo", key, principal="user:alice", audit=tmp_path / "audit.jsonl")
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)

    report = client.backup(fs, labels={"env": "test"}, progress=events.append)
    assert isinstance(report, firekeep.BackupReport)
    assert report.documents == 22
    assert report.project == project and report.parts >= 1
    assert isinstance(report.read_time, firekeep.Timestamp) and report.read_time.tzinfo is not None
    assert "BackupReport(backup_id=" in repr(report)
    assert events and events[-1].phase == "done" and events[-1].documents == 22

    listed = client.list()
    assert [b.id for b in listed] == [report.backup_id]
    assert listed[0].labels == {"env": "test"} and listed[0].documents == 22

    v = client.verify(report.backup_id)
    assert v.ok and v.parts == v.parts_ok == report.parts and v.documents == 22

    # Disaster recovery: wipe the database, restore, and read it back with Google's client.
    # (Same database: Google's client refuses references into another database, and
    # firekeep keeps references exactly as they were.)
    before = dump(src)
    for path in before:
        src.document(path).delete()
    assert dump(src) == {}
    r = client.restore(report.backup_id, fs)
    assert (r.documents, r.written, r.failed) == (22, 22, [])
    assert dump(src) == before
    # The every-type document really holds the edge cases (not both sides empty).
    restored = src.document("types/all").get().to_dict()
    assert restored["int_min"] == -(2**63) and restored["negzero"] == 0.0
    # Google's high-level client rounds timestamps to microseconds when it decodes them;
    # its raw protobuf shows the nanoseconds the restore wrote.
    raw = src._firestore_api.get_document(request={"name": src.document("types/all")._document_path})
    assert raw._pb.fields["ts_nanos"].timestamp_value.nanos == 123456789
    target = firekeep.Firestore(project, "restored", emulator_host=firestore_server.host)

    # Live diff: nothing changed; then one change shows up.
    assert client.diff(report.backup_id, source=fs).changed == 0
    src.document("people/p001").set({"i": -1})
    d = client.diff(report.backup_id, source=fs)
    assert d.changed == 1 and d.changed_names[0].endswith("people/p001")

    # Into another database; a dry run writes nothing; skip-existing skips what is there.
    dry = client.restore(report.backup_id, target, dry_run=True)
    assert dry.dry_run and dump(gclient(project, "restored")) == {}
    assert client.restore(report.backup_id, target).written == 22
    assert client.restore(report.backup_id, target, conflict="skip").skipped == 22

    actions = [e["action"] for e in client.audit_events()]
    assert "backup.created" in actions and "backup.restored" in actions
    # Reading the trail back was itself audited (audit.viewed), and so is the check.
    head = client.audit_verify()
    assert head.events == len(actions) + 1
    csv = client.audit_export("csv", actions=["backup.created"])
    assert csv.count("backup.created") == 1
    # Read before this read's own event is appended.
    actions = [e["action"] for e in client.audit_events()]
    assert actions[-3:] == ["audit.viewed", "audit.verified", "audit.exported"]


def test_backup_to_s3_on_moto_then_rotate_prune(firestore_server, moto, project, tmp_path):
    import boto3

    db = seed(project, n=5)
    s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1")
    bucket = "fk-" + project
    s3.create_bucket(Bucket=bucket)
    opts = {"endpoint": moto.endpoint, "allow_http": True, "region": "us-east-1",
            "access_key_id": "testing", "secret_access_key": "testing"}
    key = firekeep.Key.raw(firekeep.generate_data_key())
    client = firekeep.Client(f"s3://{bucket}/backups", key, storage_options=opts)
    fs = firekeep.Firestore(project, emulator_host=firestore_server.host)

    first = client.backup(fs, collections=["people"], subcollections=False)
    assert first.documents == 5
    db.document("people/p001").set({"i": 100})
    db.document("people/p999").set({"i": 999})
    second = client.backup(fs, collections=["people"], subcollections=False)
    assert second.documents == 6
    objects = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    # Object names reveal nothing of the data.
    assert objects and not any("people" in k or "types" in k for k in objects)
    d = client.diff(first.backup_id, second.backup_id)
    assert (d.added, d.changed, d.removed, d.unchanged) == (1, 1, 0, 4)

    new_key, _text = firekeep.Key.generate_raw()
    rot = client.rotate_key(new_key)
    assert sorted(rot.rotated) == sorted([first.backup_id, second.backup_id])
    with pytest.raises(firekeep.KeyMismatch):
        client.verify(first.backup_id)
    rotated = firekeep.Client(f"s3://{bucket}/backups", new_key, storage_options=opts)
    assert rotated.verify(first.backup_id).ok

    plan = rotated.prune(keep_last=1, dry_run=True)
    assert plan.report is None and len(plan.plan.remove) == 1
    done = rotated.prune(keep_last=1)
    assert done.report is not None and [b.id for b in done.report.removed] == plan.plan.remove
    assert [b.id for b in rotated.list()] == [second.backup_id]


def test_aws_kms_key(moto, firestore_server, project, tmp_path):
    import boto3

    kms = boto3.client("kms", endpoint_url=moto.endpoint, region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    key = firekeep.Key.aws_kms(key_id, region="us-east-1", endpoint=moto.endpoint)
    assert key.kind == "aws-kms"
    seed(project, n=3)
    client = firekeep.Client(tmp_path, key)
    b = client.backup(firekeep.Firestore(project, emulator_host=firestore_server.host))
    assert client.verify(b.backup_id).documents == 5


def test_gcp_kms_key(gcp_kms_server, firestore_server, project, tmp_path):
    key = firekeep.Key.gcp_kms(gcp_kms_server.KEY, endpoint=gcp_kms_server.endpoint)
    assert key.kind == "gcp-kms"
    assert key.key_id == gcp_kms_server.KEY
    seed(project, n=3)
    client = firekeep.Client(tmp_path, key)
    b = client.backup(firekeep.Firestore(project, emulator_host=firestore_server.host))
    assert client.verify(b.backup_id).documents == 5
    # Another Cloud KMS key cannot open it: a key mismatch naming the right key.
    other = firekeep.Key.gcp_kms(gcp_kms_server.KEY + "-other", endpoint=gcp_kms_server.endpoint)
    with pytest.raises(firekeep.KeyMismatch, match="cryptoKeys/firekeep"):
        firekeep.Client(tmp_path, other).verify(b.backup_id)
    with pytest.raises(ValueError, match="projects/PROJECT/locations"):
        firekeep.Key.gcp_kms("alias/firekeep")


def test_pkcs11_key_in_softhsm(firestore_server, project, tmp_path, monkeypatch):
    import os
    import subprocess

    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nlog.level = ERROR\n")
    # SoftHSM reads SOFTHSM2_CONF when the module initialises (the first Key.pkcs11 here).
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))

    def util(*args: str) -> None:
        subprocess.run(["softhsm2-util", *args], check=True, capture_output=True, env=os.environ)

    util("--init-token", "--free", "--label", "py", "--pin", "3333", "--so-pin", "4444")
    aes = tmp_path / "aes.key"
    aes.write_bytes(bytes([5]) * 32)
    util("--import", str(aes), "--aes", "--token", "py", "--label", "backups", "--id", "02", "--pin", "3333")
    aes.unlink()
    pin = tmp_path / "pin"
    pin.write_text("3333\n")
    base = "pkcs11:token=py;object=backups?module-path=/usr/lib/softhsm/libsofthsm2.so"
    key = firekeep.Key.pkcs11(f"{base}&pin-source=file:{pin}")
    assert key.kind == "pkcs11" and key.key_id == "pkcs11:token=py;object=backups"
    seed(project, n=3)
    client = firekeep.Client(tmp_path / "repo", key)
    b = client.backup(firekeep.Firestore(project, emulator_host=firestore_server.host))
    assert client.verify(b.backup_id).documents == 5
    wrong = tmp_path / "wrong"
    wrong.write_text("8765\n")
    with pytest.raises(firekeep.KeyProviderError, match="wrong PIN") as e:
        firekeep.Key.pkcs11(f"{base}&pin-source=file:{wrong}")
    assert "8765" not in str(e.value)
    with pytest.raises(ValueError, match="pin-source"):
        firekeep.Key.pkcs11(f"{base}&pin-value=3333")


def test_audit_callable_and_memory(firestore_server, project, tmp_path):
    seed(project, n=2)
    got: List[dict] = []
    client = firekeep.Client(tmp_path, firekeep.Key.raw(firekeep.generate_data_key()), audit=got.extend)
    client.backup(firekeep.Firestore(project, emulator_host=firestore_server.host))
    assert [e["action"] for e in got] == ["backup.created"]
    assert firekeep.audit_verify(got).events == 1
    got[0]["details"]["documents"] = 999
    with pytest.raises(firekeep.AuditError):
        firekeep.audit_verify(got)
    # The events went to the callable: the client has no trail to read back.
    with pytest.raises(firekeep.InvalidInput, match="callback"):
        client.audit_export()
