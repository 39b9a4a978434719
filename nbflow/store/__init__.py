"""Run history and durable run state: an abstract store with memory, SQLite and PostgreSQL backends.

    from nbflow.store import open_store
    store = open_store()                  # $NBFLOW_STORE, else SQLite in $NBFLOW_HOME or the user data directory
    store = open_store("postgresql://nbflow@db:5432/nbflow")   # shared by several processes (``postgres`` extra)
    for run in store.list_runs(flow="product-copy", status="failed", limit=10):
        print(run.id, run.started_at, run.error)
"""

from __future__ import annotations

import os

from nbflow.store.memory import MemoryStore
from nbflow.store.paths import data_home, default_db_path
from nbflow.store.postgres import is_postgres_url
from nbflow.store.runstore import Approval, RunStore, RunSummary, StoredRun
from nbflow.store.sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "STORE_ENV",
    "Approval",
    "MemoryStore",
    "RunStore",
    "RunSummary",
    "SQLiteStore",
    "StoredRun",
    "data_home",
    "default_db_path",
    "is_postgres_url",
    "open_store",
    "store_location",
]


#: Environment variable naming the default store: a ``postgresql://`` URL or a SQLite file path.
STORE_ENV = "NBFLOW_STORE"


def store_location(where: str | os.PathLike[str] | None = None) -> str | os.PathLike[str] | None:
    """``where``, or ``$NBFLOW_STORE`` when ``where`` is None (None: the default SQLite file)."""
    if where is None:
        return os.environ.get(STORE_ENV) or None
    return where


def open_store(where: str | os.PathLike[str] | RunStore | None = None) -> RunStore:
    """A run store: ``None`` for ``$NBFLOW_STORE`` or else the default SQLite file, a
    ``postgresql://`` URL, a path to a SQLite file, ``":memory:"`` for a fresh in-process store, or an
    existing store (returned as it is)."""
    if isinstance(where, RunStore):
        return where
    where = store_location(where)
    if where is not None and os.fspath(where) == ":memory:":
        return MemoryStore()
    if is_postgres_url(where):
        from nbflow.store.postgres import PostgresStore  # psycopg is imported only here

        return PostgresStore(str(where))
    return SQLiteStore(where)
