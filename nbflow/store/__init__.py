"""Run history and durable run state: an abstract store with memory and SQLite backends.

    from nbflow.store import open_store
    store = open_store()                  # SQLite in $NBFLOW_HOME or the user data directory
    for run in store.list_runs(flow="product-copy", status="failed", limit=10):
        print(run.id, run.started_at, run.error)
"""

from __future__ import annotations

import os

from nbflow.store.memory import MemoryStore
from nbflow.store.paths import data_home, default_db_path
from nbflow.store.runstore import Approval, RunStore, RunSummary, StoredRun
from nbflow.store.sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "Approval",
    "MemoryStore",
    "RunStore",
    "RunSummary",
    "SQLiteStore",
    "StoredRun",
    "data_home",
    "default_db_path",
    "open_store",
]


def open_store(where: str | os.PathLike[str] | RunStore | None = None) -> RunStore:
    """A run store: ``None`` for the default SQLite file, a path to a SQLite file, ``":memory:"``
    for a fresh in-process store, or an existing store (returned as it is)."""
    if isinstance(where, RunStore):
        return where
    if where is not None and os.fspath(where) == ":memory:":
        return MemoryStore()
    return SQLiteStore(where)
