"""The examples in examples/python run against the test server."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import firekeep

from conftest import ROOT
from test_errors import POLICY
from helpers import seed

EXAMPLES = ROOT / "examples" / "python"


def test_scheduled_backup_script(firestore_server, project, tmp_path):
    seed(project, n=4)
    key = base64.b64encode(os.urandom(32)).decode()
    env = dict(os.environ, FIREKEEP_REPO=str(tmp_path / "repo"), FIREKEEP_PROJECT=project,
               FIREKEEP_KEY=key, FIREKEEP_AUDIT_LOG=str(tmp_path / "audit.jsonl"),
               FIRESTORE_EMULATOR_HOST=firestore_server.host)
    out = subprocess.run([sys.executable, str(EXAMPLES / "scheduled_backup.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "6 documents" in out.stdout and "verified" in out.stdout
    assert key not in out.stdout + out.stderr
    listed = firekeep.Client(tmp_path / "repo", firekeep.Key.raw(key)).list()
    assert len(listed) == 1 and listed[0].labels == {"trigger": "schedule"}
    # A malformed key fails with a message and exit code 1, not a traceback.
    env["FIREKEEP_KEY"] = "bm90IDMyIGJ5dGVz"
    bad = subprocess.run([sys.executable, str(EXAMPLES / "scheduled_backup.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "ERR_" in bad.stderr


class Request:
    """The slice of a Flask request the handler reads."""

    def __init__(self, headers, body=None):
        self.headers = headers
        self._body = body

    def get_json(self, silent=False):
        return self._body


def test_cloud_function_checks_the_callers_role(firestore_server, project, tmp_path, monkeypatch):
    seed(project, n=2)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    for k, v in {"FIREKEEP_REPO": str(tmp_path / "repo"), "FIREKEEP_PROJECT": project,
                 "FIREKEEP_POLICY": str(policy), "FIREKEEP_ORG": "acme",
                 "FIREKEEP_KEY": base64.b64encode(os.urandom(32)).decode(),
                 "FIREKEEP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
                 "FIRESTORE_EMULATOR_HOST": firestore_server.host}.items():
        monkeypatch.setenv(k, v)
    spec = importlib.util.spec_from_file_location("cloud_function", EXAMPLES / "cloud_function.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    body, status, _ = mod.start_backup(Request({mod.IAP_EMAIL: "accounts.google.com:victor@example.com"}))
    assert status == 403 and json.loads(body)["code"] == "ERR_AUTHORIZATION_DENIED"
    body, status, _ = mod.start_backup(Request({}))
    assert status == 401
    body, status, _ = mod.start_backup(
        Request({mod.IAP_EMAIL: "accounts.google.com:alice@example.com"}, {"collections": ["people"]}))
    assert status == 200, body
    assert json.loads(body)["documents"] == 3  # people/p000, people/p001, people/p000/pets/rex
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    actions = [json.loads(line)["action"] for line in lines]
    assert actions == ["authorization.denied", "backup.created"]
