#!/usr/bin/env python3
"""A scheduled Firestore backup: back up, verify, apply retention. Run it from cron, a
Cloud Run job or Cloud Scheduler; it exits non-zero (with a message saying what to do) on
any failure, so the scheduler alerts.

Configuration (environment):
  FIREKEEP_REPO        where backups go: /path, s3://bucket/prefix, gs://..., az://...
  FIREKEEP_PROJECT     the Firestore project; FIREKEEP_DATABASE (default "(default)")
  FIREKEEP_KEY         base64 of a 32-byte key (openssl rand -base64 32), or
  FIREKEEP_PASSPHRASE  a passphrase, or
  FIREKEEP_KMS_KEY     an AWS KMS key id/ARN/alias
  FIREKEEP_AUDIT_LOG   audit trail file (default: audit.jsonl next to this script's cwd)
  FIRESTORE_EMULATOR_HOST  use an emulator instead of Google (tests, demos)
  GOOGLE_APPLICATION_CREDENTIALS  a service-account file (else application default credentials)
  KEEP_DAILY / KEEP_WEEKLY / KEEP_MONTHLY  retention (defaults 7 / 4 / 12)
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional

import firekeep


def key_from_env() -> firekeep.Key:
    if os.environ.get("FIREKEEP_KEY"):
        return firekeep.Key.raw(os.environ["FIREKEEP_KEY"])
    if os.environ.get("FIREKEEP_PASSPHRASE"):
        return firekeep.Key.passphrase(os.environ["FIREKEEP_PASSPHRASE"])
    if os.environ.get("FIREKEEP_KMS_KEY"):
        return firekeep.Key.aws_kms(os.environ["FIREKEEP_KMS_KEY"])
    raise SystemExit("set FIREKEEP_KEY, FIREKEEP_PASSPHRASE or FIREKEEP_KMS_KEY")


def progress_printer() -> Callable[[firekeep.Progress], None]:
    """A tqdm bar when tqdm is installed and stderr is a terminal, else nothing."""
    try:
        from tqdm import tqdm  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return lambda p: None
    if not sys.stderr.isatty():
        return lambda p: None
    bar: Optional[Any] = None

    def show(p: firekeep.Progress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(unit="doc", total=p.total_documents)
        if p.total_documents is not None:
            bar.total = p.total_documents
        bar.n = p.documents
        bar.set_postfix_str(p.phase)
        bar.refresh()

    return show


def main() -> int:
    repo = os.environ.get("FIREKEEP_REPO")
    project = os.environ.get("FIREKEEP_PROJECT")
    if not repo or not project:
        print("set FIREKEEP_REPO and FIREKEEP_PROJECT", file=sys.stderr)
        return 2
    try:
        client = firekeep.Client(
            repo,
            key_from_env(),
            principal="user:" + os.environ.get("USER", "scheduler"),
            audit=os.environ.get("FIREKEEP_AUDIT_LOG", "audit.jsonl"),
        )
        source = firekeep.Firestore(
            project,
            os.environ.get("FIREKEEP_DATABASE", "(default)"),
            credentials=os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
            emulator_host=os.environ.get("FIRESTORE_EMULATOR_HOST"),
        )
        report = client.backup(source, progress=progress_printer(), labels={"trigger": "schedule"})
        print(f"backup {report.backup_id}: {report.documents} documents, "
              f"{report.stored_bytes} bytes stored in {report.duration:.1f}s")
        verified = client.verify(report.backup_id)
        print(f"verified {verified.parts_ok}/{verified.parts} parts")
        pruned = client.prune(
            keep_daily=int(os.environ.get("KEEP_DAILY", "7")),
            keep_weekly=int(os.environ.get("KEEP_WEEKLY", "4")),
            keep_monthly=int(os.environ.get("KEEP_MONTHLY", "12")),
        )
        print(f"retention: kept {len(pruned.plan.keep)}, removed {len(pruned.plan.remove)}")
    except firekeep.Error as e:
        # The message says what went wrong and what to do; it never holds a secret.
        print(f"firekeep: {e} [{e.code}]", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
