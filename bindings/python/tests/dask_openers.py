"""Openers the Dask workers call (module-level, so they pickle by reference): the key is
read from a file on the worker, never sent through the scheduler."""

from __future__ import annotations

import os

import firekeep


def open_client(repository: str, key_file: str) -> firekeep.Client:
    with open(key_file) as f:
        key = firekeep.Key.raw(f.read().strip())
    return firekeep.Client(repository, key, create=True)


def open_source(project: str, emulator_host: str) -> firekeep.Firestore:
    return firekeep.Firestore(project, emulator_host=emulator_host)


def open_client_from_env(repository: str) -> firekeep.Client:
    """The key file named by the process's own FIREKEEP_TEST_KEY_FILE (each worker's)."""
    return open_client(repository, os.environ["FIREKEEP_TEST_KEY_FILE"])
