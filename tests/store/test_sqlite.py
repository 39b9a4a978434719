"""What only the SQLite store has: a file in the nbflow home, a versioned schema, a blob folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nbflow.exceptions import StoreError
from nbflow.model.record import RunResult
from nbflow.store import SCHEMA_VERSION, SQLiteStore, data_home, default_db_path, open_store
from nbflow.store import sqlite as sqlite_mod
from nbflow.store.memory import MemoryStore


def test_default_path_is_under_nbflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NBFLOW_HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / "runs.db"
    with open_store() as s:
        assert isinstance(s, SQLiteStore)
        assert s.path == tmp_path / "home" / "runs.db"
        assert s.blob_dir == tmp_path / "home" / "blobs"
    assert (tmp_path / "home" / "runs.db").exists()


def test_user_data_dir_without_nbflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NBFLOW_HOME")
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "nbflow"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_home() == tmp_path / ".local" / "share" / "nbflow"
    monkeypatch.setattr("sys.platform", "darwin")
    assert data_home() == tmp_path / "Library" / "Application Support" / "nbflow"


def test_open_store_forms(tmp_path: Path):
    assert isinstance(open_store(":memory:"), MemoryStore)
    m = MemoryStore()
    assert open_store(m) is m
    with open_store(tmp_path / "a.db") as s:
        assert s.path == tmp_path / "a.db"


def test_new_database_gets_the_current_schema(tmp_path: Path):
    with SQLiteStore(tmp_path / "r.db") as s:
        assert s.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(tmp_path / "r.db")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "nodes", "approvals", "blob_refs"} <= tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_older_database_is_migrated_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "r.db"
    with SQLiteStore(path) as s:
        s.save(RunResult(run_id="kept", flow="f", status="succeeded", outputs={"x": 1}))
    # A later nbflow adds a step; opening the version-1 file must upgrade it and keep its runs.
    step = "ALTER TABLE runs ADD COLUMN labels TEXT NOT NULL DEFAULT '[]'; CREATE INDEX runs_by_source ON runs (source)"
    monkeypatch.setattr(sqlite_mod, "MIGRATIONS", [*sqlite_mod.MIGRATIONS, step])
    monkeypatch.setattr(sqlite_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with SQLiteStore(path) as s:
        assert s.schema_version == SCHEMA_VERSION + 1
        assert s.get("kept").outputs == {"x": 1}
    db = sqlite3.connect(path)
    assert "labels" in [r[1] for r in db.execute("PRAGMA table_info(runs)")]
    db.close()


def test_failed_migration_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "r.db"
    SQLiteStore(path).close()
    monkeypatch.setattr(sqlite_mod, "MIGRATIONS", [*sqlite_mod.MIGRATIONS, "CREATE TABLE extra (a); BROKEN SQL"])
    monkeypatch.setattr(sqlite_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="cannot open run store"):
        SQLiteStore(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0
    db.close()


def test_newer_database_is_refused(tmp_path: Path):
    path = tmp_path / "r.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 5}, newer than this nbflow supports"):
        SQLiteStore(path)


def test_not_a_database(tmp_path: Path):
    path = tmp_path / "r.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open run store"):
        SQLiteStore(path)


def test_two_connections_see_each_other(tmp_path: Path):
    a, b = SQLiteStore(tmp_path / "r.db"), SQLiteStore(tmp_path / "r.db")
    a.record_start(RunResult(run_id="x", flow="f"))
    assert b.summary("x").status == "running"
    a.close()
    b.close()


def test_blobs_are_files_named_by_hash(tmp_path: Path):
    with SQLiteStore(tmp_path / "r.db") as s:
        sha = s.put_blob(b"hello")
        assert (tmp_path / "blobs" / sha[:2] / sha).read_bytes() == b"hello"
        assert s.put_blob(b"hello") == sha
        assert s.gc_blobs() == 1  # no run refers to it
        assert not (tmp_path / "blobs" / sha[:2] / sha).exists()
