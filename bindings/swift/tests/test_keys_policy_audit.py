"""Key providers, the policy evaluator and audit-chain verification through the FFI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import firekeep_ffi as fk
from helpers import sync

PASS = "correct horse battery staple"

POLICY = (Path(__file__).resolve().parents[3] / "testing/fixtures/policy-matrix.toml").read_text()


def who(p: str, mfa: bool = False) -> fk.PrincipalSpec:
    return fk.PrincipalSpec(organization="acme", principal=p, mfa=mfa)


def res(org: str = "acme", **kw) -> fk.ResourceSpec:
    return fk.ResourceSpec(organization=org, project=kw.get("project", "prod"),
                           database="(default)", collections=[], backup_id=None)


# -- keys ---------------------------------------------------------------------------------

@sync
async def test_passphrase_and_raw_keys_wrap_and_unwrap():
    pk = fk.KeyProvider.passphrase(PASS, 100_000)
    assert pk.kind() == "passphrase"
    dek = fk.generate_data_key()
    wrapped = await pk.wrap_data_key(dek, "bk_1")
    assert PASS not in wrapped and dek.hex() not in wrapped
    assert json.loads(wrapped)["key_id"] == pk.key_id()
    assert await pk.unwrap_data_key(wrapped, "bk_1") == dek
    # Bound to its backup: another backup id does not unwrap it.
    with pytest.raises((fk.FirekeepError.Integrity, fk.FirekeepError.KeyProvider,
                        fk.FirekeepError.KeyMismatch)):
        await pk.unwrap_data_key(wrapped, "bk_2")

    text = fk.generate_raw_key()
    rk = fk.KeyProvider.raw_base64(text)
    assert rk.kind() == "raw" and text not in repr(rk)
    import base64
    assert fk.KeyProvider.raw_bytes(base64.b64decode(text)).key_id() == rk.key_id()
    w2 = await rk.wrap_data_key(dek, "bk_1")
    assert await rk.unwrap_data_key(w2, "bk_1") == dek
    # The wrong key says so, naming the expected key id.
    with pytest.raises(fk.FirekeepError.KeyMismatch) as e:
        await fk.KeyProvider.raw_base64(fk.generate_raw_key()).unwrap_data_key(w2, "bk_1")
    assert e.value.expected == rk.key_id()


def test_bad_keys_are_config_errors_without_the_secret():
    with pytest.raises((fk.FirekeepError.InvalidConfig, fk.FirekeepError.InvalidInput)) as e:
        fk.KeyProvider.passphrase("pw-x7Qz", None)
    assert "pw-x7Qz" not in str(e.value)
    with pytest.raises((fk.FirekeepError.InvalidConfig, fk.FirekeepError.InvalidInput)):
        fk.KeyProvider.passphrase(PASS, 10)
    with pytest.raises((fk.FirekeepError.InvalidConfig, fk.FirekeepError.InvalidInput)) as e:
        fk.KeyProvider.raw_base64("bm90IGEga2V5IGF0IGFsbA==")
    assert "bm90IGEga2V5IGF0IGFsbA==" not in str(e.value)
    with pytest.raises((fk.FirekeepError.InvalidConfig, fk.FirekeepError.InvalidInput)):
        fk.KeyProvider.raw_bytes(b"\x01" * 31)


# -- policy -------------------------------------------------------------------------------

MATRIX = {
    # action: (owner, admin, member, viewer), DESIGN.md's table
    "view_backups": (True, True, True, True),
    "create_backup": (True, True, True, False),
    "restore_backup": (True, True, False, False),
    "manage_schedules": (True, True, True, False),
    "configure_storage": (True, True, False, False),
    "manage_team": (True, True, False, False),
    "access_billing": (True, False, False, False),
}


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_policy_decisions_follow_the_role_matrix(action):
    policy = fk.Policy.parse(POLICY)
    for user, expected in zip(["user:olga", "user:adam", "user:mona", "user:vic"], MATRIX[action]):
        d = policy.evaluate(who(user), action, res())
        assert d.action == action
        assert d.allowed is expected, (user, action, d.reason)
        assert d.reason


def test_policy_denials_say_why():
    policy = fk.Policy.parse(POLICY)
    # By e-mail, a member is found.
    assert policy.evaluate(who("user:olga@example.com"), "restore_backup", res()).allowed
    # MFA condition.
    d = policy.evaluate(who("user:olga"), "delete_organization", res())
    assert not d.allowed and "multi-factor" in d.reason
    assert policy.evaluate(who("user:olga", mfa=True), "delete_organization", res()).allowed
    # Nothing crosses organizations.
    d = policy.evaluate(who("user:olga"), "view_backups", res(org="other"))
    assert not d.allowed and "organization" in d.reason
    # Not a member; expired membership.
    assert not policy.evaluate(who("user:nobody"), "view_backups", res()).allowed
    d = policy.evaluate(who("user:ex"), "view_backups", res())
    assert not d.allowed and "expired" in d.reason
    # Effective actions.
    viewer = set(policy.allowed_actions(who("user:vic"), res()))
    assert "view_backups" in viewer and "create_backup" not in viewer
    assert set(policy.allowed_actions(who("user:olga", mfa=True), res())) == set(fk.policy_actions())


def test_bad_policy_and_action_are_errors():
    with pytest.raises(fk.FirekeepError.InvalidInput) as e:
        fk.Policy.parse(POLICY).evaluate(who("user:olga"), "launch_rockets", res())
    assert "create_backup" in str(e.value)  # lists the valid actions
    with pytest.raises((fk.FirekeepError.InvalidConfig, fk.FirekeepError.InvalidInput)):
        fk.Policy.parse("version = 1\n[[members]]\nid = 'x'\nrole = 42\n")


# -- audit ----------------------------------------------------------------------------------

@sync
async def test_client_audit_chain_verifies_and_tampering_is_detected(tmp_path):
    key = fk.KeyProvider.raw_base64(fk.generate_raw_key())
    audit = tmp_path / "audit.jsonl"
    cfg = fk.ClientConfig(repository=str(tmp_path / "repo"), organization="acme",
                          principal="user:vic", policy=POLICY, audit_file=str(audit))
    client = fk.Client(cfg, key)
    assert (await client.list()).backups == []
    # A viewer may not restore: denied, and the denial is audited too.
    with pytest.raises(fk.FirekeepError.AuthorizationDenied):
        await client.verify("bk_missing", None, None)
    events = json.loads(await client.audit_events_json())
    assert [e["action"] for e in events][:1] == ["backup.listed"]
    assert len(events) == 2
    assert fk.audit_verify_events(json.dumps(events)).hash == events[-1]["hash"]
    # Reading the trail back was audited (audit.viewed) before this check.
    head = await client.audit_verify()
    assert head.position == 3
    # A viewer may read the trail but not export it.
    with pytest.raises(fk.FirekeepError.AuthorizationDenied):
        await client.audit_export("csv", None, None, [])

    lines = audit.read_text().splitlines()
    lines[0] = lines[0].replace("backup.listed", "backup.deleted")
    audit.write_text("\n".join(lines) + "\n")
    with pytest.raises(fk.FirekeepError.Integrity):
        await client.audit_verify()
    with pytest.raises(fk.FirekeepError.Audit):
        fk.audit_verify_events(json.dumps([events[1]]))
