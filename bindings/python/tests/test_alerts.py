"""Alerts from the policy's [alerts] rules reach a client's on_alert callable and the
alerts.file, as in the Node suite (identity-keys.test.js)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import firekeep

MEMBERS = (Path(__file__).resolve().parents[3] / "testing/fixtures/acme-members.toml").read_text()
ALERTS = """
[alerts]
denials = {{ count = 2, within_minutes = 10 }}
audit_export = true
file = {file}
"""


def test_alerts_reach_on_alert_and_the_alerts_file(tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.jsonl"
    policy = tmp_path / "policy.toml"
    policy.write_text(MEMBERS + ALERTS.format(file=json.dumps(str(alerts_file))))
    key = firekeep.Key.raw(firekeep.generate_data_key())
    alerts: List[Dict[str, Any]] = []

    def client(who: str) -> firekeep.Client:
        return firekeep.Client(
            tmp_path / "repo", key, organization="acme", principal=f"user:{who}",
            policy=policy, audit=tmp_path / "audit.jsonl", on_alert=alerts.append,
        )

    vera = client("vera")
    for _ in range(2):
        with pytest.raises(firekeep.AuthorizationDenied):
            vera.audit_export()
    client("alice").audit_export()

    assert sorted(a["rule"] for a in alerts) == ["audit_exported", "denials"]
    denial = next(a for a in alerts if a["rule"] == "denials")
    assert denial["actor"]["id"] == "vera"
    assert len(denial["event_ids"]) == 2
    in_file = [json.loads(line)["rule"] for line in alerts_file.read_text().splitlines()]
    assert sorted(in_file) == ["audit_exported", "denials"]


def test_on_alert_must_be_callable(tmp_path: Path) -> None:
    key = firekeep.Key.raw(firekeep.generate_data_key())
    with pytest.raises(TypeError, match="on_alert"):
        firekeep.Client(tmp_path, key, on_alert="no")  # type: ignore[arg-type]
