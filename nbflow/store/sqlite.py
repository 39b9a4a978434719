"""The SQLite run store: one database file plus a content-addressed blob folder beside it.

The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` holds one script per step,
applied in order inside a write transaction when a store is opened, so every older database is
upgraded in place and a database from a newer nbflow is refused with a clear error. The database
runs in WAL mode so readers (a notebook listing runs) never block the process recording a run, and
each node's record is committed as the node finishes, so a killed process loses nothing finished.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from nbflow.exceptions import StoreError
from nbflow.store.paths import default_db_path
from nbflow.store.runstore import CAP_SLACK, NodeRow, RunStore, SpendRow

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

# Version 1. Tables are shaped for run history (list and filter by flow, status and time; prune),
# which the server and scheduler reuse, as well as for resuming runs.
_V1 = """
CREATE TABLE runs (
  id          TEXT PRIMARY KEY,
  flow        TEXT NOT NULL,
  flow_file   TEXT,
  flow_text   TEXT,
  status      TEXT NOT NULL,
  source      TEXT NOT NULL DEFAULT 'python',
  started_at  REAL NOT NULL,
  ended_at    REAL,
  updated_at  REAL NOT NULL DEFAULT 0,
  inputs      TEXT NOT NULL DEFAULT '{}',
  outputs     TEXT NOT NULL DEFAULT '{}',
  usage       TEXT NOT NULL DEFAULT '{}',
  cost        REAL NOT NULL DEFAULT 0,
  error       TEXT,
  pid         INTEGER,
  host        TEXT
);
CREATE INDEX runs_by_start ON runs (started_at);
CREATE INDEX runs_by_flow ON runs (flow, started_at);
CREATE INDEX runs_by_status ON runs (status, started_at);
CREATE TABLE nodes (
  run_id   TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node_id  TEXT NOT NULL,
  type     TEXT NOT NULL,
  status   TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  record   TEXT NOT NULL,
  PRIMARY KEY (run_id, node_id)
);
CREATE TABLE approvals (
  run_id            TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node_id           TEXT NOT NULL,
  reason            TEXT,
  data              TEXT NOT NULL DEFAULT '{}',
  created_at        REAL NOT NULL,
  deadline          REAL,
  default_decision  TEXT,
  decision          TEXT,
  decided_at        REAL,
  PRIMARY KEY (run_id, node_id)
);
CREATE INDEX approvals_open ON approvals (decided_at, deadline);
CREATE TABLE blob_refs (
  run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  sha     TEXT NOT NULL,
  PRIMARY KEY (run_id, sha)
);
CREATE INDEX blob_refs_by_sha ON blob_refs (sha);
"""

# Version 2: leases (one owner per run, across processes) and keys seen within a replay window.
# Leases are not tied to the runs table: a run is claimed before its row may exist.
_V2 = """
CREATE TABLE leases (
  run_id       TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  acquired_at  REAL NOT NULL,
  expires_at   REAL NOT NULL
);
CREATE TABLE seen_keys (
  key         TEXT PRIMARY KEY,
  expires_at  REAL NOT NULL
);
CREATE INDEX seen_keys_by_expiry ON seen_keys (expires_at);
"""

# Version 3: the spend ledger budgets are checked against (scope: run:<id>, flow:<name>, key:<key>;
# period: a UTC day, or '' for a run's whole life).
_V3 = """
CREATE TABLE spend (
  scope       TEXT NOT NULL,
  period      TEXT NOT NULL,
  spent       REAL NOT NULL DEFAULT 0,
  cap         REAL,
  updated_at  REAL NOT NULL,
  PRIMARY KEY (scope, period)
);
CREATE INDEX spend_by_period ON spend (period);
"""

#: ``MIGRATIONS[i]`` upgrades a database from schema version ``i`` to ``i + 1``.
MIGRATIONS: list[str] = [_V1, _V2, _V3]

#: The schema version this nbflow writes.
SCHEMA_VERSION = len(MIGRATIONS)

_RUN_COLUMNS = ("id", "flow", "flow_file", "flow_text", "status", "source", "started_at", "ended_at",
                "updated_at", "inputs", "outputs", "usage", "cost", "error", "pid", "host")


class SQLiteStore(RunStore):
    """Runs in a SQLite file; media in ``blobs/`` beside it (or in ``blob_dir``).

    Args:
        path: the database file; defaults to ``runs.db`` in ``$NBFLOW_HOME`` or the user data directory.
        blob_dir: where media bytes go; defaults to ``blobs`` next to the database.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 blob_dir: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.blob_dir = Path(blob_dir) if blob_dir is not None else self.path.parent / "blobs"
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open run store {str(self.path)!r}: {exc}") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a process kill in WAL mode
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot open run store {str(self.path)!r}: {exc}") from None
        except StoreError:
            self._db.close()
            raise

    # -- schema -------------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version == SCHEMA_VERSION:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # another process may be migrating the same file
            try:
                version = self.schema_version
                if version > SCHEMA_VERSION:
                    raise StoreError(f"run store {str(self.path)!r} has schema version {version}, newer than "
                                     f"this nbflow supports ({SCHEMA_VERSION}); upgrade nbflow")
                for step in range(version, SCHEMA_VERSION):
                    for stmt in _statements(MIGRATIONS[step]):
                        self._db.execute(stmt)
                    self._db.execute(f"PRAGMA user_version = {step + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- helpers ------------------------------------------------------------------------------------

    def _write(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(*args)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return out
            except sqlite3.Error as exc:
                raise StoreError(f"run store {str(self.path)!r}: {exc}") from None

    def _read(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"run store {str(self.path)!r}: {exc}") from None

    # -- primitives ---------------------------------------------------------------------------------

    def _save(self, run_id: str, run: dict[str, Any], nodes: list[NodeRow], refs: set[str]) -> None:
        self._write(self._save_tx, run_id, run, nodes, refs)

    def _save_tx(self, run_id: str, run: dict[str, Any], nodes: list[NodeRow], refs: set[str]) -> None:
        db = self._db
        cols = [c for c in _RUN_COLUMNS if c in run and c != "id"]
        exists = db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None
        if exists:
            if cols:
                db.execute(f"UPDATE runs SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                           [run[c] for c in cols] + [run_id])
        elif "flow" in run:
            db.execute(f"INSERT INTO runs (id, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
                       [run_id] + [run[c] for c in cols])
        else:
            raise StoreError(f"no run {run_id!r} in the run store")
        if nodes:
            db.executemany(
                "INSERT INTO nodes (run_id, node_id, type, status, seq, record) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, node_id) DO UPDATE SET type = excluded.type, status = excluded.status, "
                "seq = excluded.seq, record = excluded.record",
                [(run_id, *n) for n in nodes])
        if refs:
            db.executemany("INSERT OR IGNORE INTO blob_refs (run_id, sha) VALUES (?, ?)",
                           [(run_id, sha) for sha in refs])

    def _run_row(self, run_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return dict(rows[0]) if rows else None

    def _node_docs(self, run_id: str) -> list[str]:
        return [r[0] for r in self._read("SELECT record FROM nodes WHERE run_id = ? ORDER BY seq, node_id",
                                         (run_id,))]

    def _run_rows(self, *, flow: str | None, statuses: list[str] | None, source: str | None,
                  since: float | None, until: float | None, limit: int | None,
                  offset: int) -> list[dict[str, Any]]:
        where: list[str] = []
        params: list[Any] = []
        if flow is not None:
            where.append("flow = ?")
            params.append(flow)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        if until is not None:
            where.append("started_at < ?")
            params.append(until)
        sql = ("SELECT id, flow, flow_file, status, source, started_at, ended_at, updated_at, usage, cost, "
               "error, pid, host FROM runs")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?"
        params.extend([-1 if limit is None else limit, offset])
        return [dict(r) for r in self._read(sql, params)]

    def _delete(self, run_ids: list[str]) -> int:
        def tx() -> int:
            n = 0
            for i in range(0, len(run_ids), 500):  # stay under SQLite's bound-parameter limit
                chunk = run_ids[i:i + 500]
                marks = ", ".join("?" * len(chunk))
                n += self._db.execute(f"DELETE FROM runs WHERE id IN ({marks})", chunk).rowcount
                self._db.execute(f"DELETE FROM leases WHERE run_id IN ({marks})", chunk)
                self._db.execute(f"DELETE FROM spend WHERE period = '' AND scope IN ({marks})",
                                 [f"run:{r}" for r in chunk])
            return n
        return int(self._write(tx))

    def _approval_put(self, row: dict[str, Any], refs: set[str]) -> None:
        def tx() -> None:
            if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (row["run_id"],)).fetchone() is None:
                raise StoreError(f"no run {row['run_id']!r} in the run store")
            cols = list(row)
            self._db.execute(
                f"INSERT OR REPLACE INTO approvals ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [row[c] for c in cols])
            self._db.executemany("INSERT OR IGNORE INTO blob_refs (run_id, sha) VALUES (?, ?)",
                                 [(row["run_id"], sha) for sha in refs])
        self._write(tx)

    def _approval_rows(self, run_id: str | None, pending: bool) -> list[dict[str, Any]]:
        where, params = [], []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if pending:
            where.append("decision IS NULL")
        sql = "SELECT * FROM approvals" + (" WHERE " + " AND ".join(where) if where else "")
        return [dict(r) for r in self._read(sql + " ORDER BY created_at, run_id, node_id", params)]

    def _approval_decide(self, run_id: str, node_id: str, decision: str, at: float) -> bool:
        def tx() -> int:
            return self._db.execute("UPDATE approvals SET decision = ?, decided_at = ? WHERE run_id = ? "
                                    "AND node_id = ? AND decision IS NULL", (decision, at, run_id, node_id)).rowcount
        return bool(self._write(tx))

    # -- leases and seen keys: each a single write transaction (BEGIN IMMEDIATE), so compare-and-set --

    def _lease_acquire(self, run_id: str, owner: str, now: float, expires_at: float,
                       take: str | None) -> dict[str, Any] | None:
        def tx() -> dict[str, Any] | None:
            row = self._db.execute("SELECT owner, acquired_at, expires_at FROM leases WHERE run_id = ?",
                                   (run_id,)).fetchone()
            if (row is not None and row["owner"] not in (owner, take) and take != "*"
                    and row["expires_at"] > now):
                return None
            acquired = row["acquired_at"] if row is not None and row["owner"] == owner else now
            self._db.execute("INSERT OR REPLACE INTO leases (run_id, owner, acquired_at, expires_at) "
                             "VALUES (?, ?, ?, ?)", (run_id, owner, acquired, expires_at))
            return {"owner": owner, "acquired_at": acquired, "expires_at": expires_at}
        out: dict[str, Any] | None = self._write(tx)
        return out

    def _lease_renew(self, run_id: str, owner: str, expires_at: float) -> bool:
        return bool(self._write(lambda: self._db.execute(
            "UPDATE leases SET expires_at = ? WHERE run_id = ? AND owner = ?",
            (expires_at, run_id, owner)).rowcount))

    def _lease_release(self, run_id: str, owner: str) -> bool:
        return bool(self._write(lambda: self._db.execute(
            "DELETE FROM leases WHERE run_id = ? AND owner = ?", (run_id, owner)).rowcount))

    def _lease_get(self, run_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT owner, acquired_at, expires_at FROM leases WHERE run_id = ?", (run_id,))
        return dict(rows[0]) if rows else None

    def _seen_put(self, key: str, expires_at: float, now: float) -> bool:
        def tx() -> int:
            self._db.execute("DELETE FROM seen_keys WHERE expires_at <= ?", (now,))
            return self._db.execute("INSERT OR IGNORE INTO seen_keys (key, expires_at) VALUES (?, ?)",
                                    (key, expires_at)).rowcount
        return bool(self._write(tx))

    def _spend_add(self, amount: float, scopes: list[tuple[str, str, float | None]], now: float,
                   check: bool) -> SpendRow | None:
        def tx() -> SpendRow | None:  # BEGIN IMMEDIATE: no other writer between the check and the add
            for scope, period, cap in scopes:
                row = self._db.execute("SELECT spent, cap FROM spend WHERE scope = ? AND period = ?",
                                       (scope, period)).fetchone()
                spent = float(row[0]) if row is not None else 0.0
                if check and cap is not None and spent + amount > cap + CAP_SLACK:
                    return (scope, period, spent, None if row is None else row[1])
            self._db.executemany(
                "INSERT INTO spend (scope, period, spent, cap, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (scope, period) DO UPDATE SET spent = spent + excluded.spent, "
                "cap = COALESCE(excluded.cap, cap), updated_at = excluded.updated_at",
                [(scope, period, amount, cap, now) for scope, period, cap in scopes])
            return None
        out: SpendRow | None = self._write(tx)
        return out

    def _spend_rows(self, scope: str | None, period: str | None) -> list[SpendRow]:
        rows = self._read("SELECT scope, period, spent, cap FROM spend WHERE (? IS NULL OR scope = ?) "
                          "AND (? IS NULL OR period = ?) ORDER BY scope, period", (scope, scope, period, period))
        return [(r[0], r[1], float(r[2]), r[3]) for r in rows]

    # -- blobs: files named by their sha256, two-level fan-out ---------------------------------------

    def _blob_path(self, sha: str) -> Path:
        return self.blob_dir / sha[:2] / sha

    def _blob_put(self, sha: str, data: bytes) -> None:
        path = self._blob_path(sha)
        if path.exists():
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a half blob under a valid name.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreError(f"cannot write media blob in {str(self.blob_dir)!r}: "
                             f"{exc.strerror or exc}") from None

    def _blob_get(self, sha: str) -> bytes | None:
        try:
            return self._blob_path(sha).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read media blob {sha[:12]}...: {exc.strerror or exc}") from None

    def _blob_shas(self) -> list[str]:
        if not self.blob_dir.is_dir():
            return []
        return [p.name for p in self.blob_dir.glob("??/*") if not p.name.startswith(".")]

    def _blob_delete(self, sha: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # already gone is what we wanted
            self._blob_path(sha).unlink()

    def _blob_refs(self) -> set[str]:
        return {r[0] for r in self._read("SELECT DISTINCT sha FROM blob_refs")}

    def close(self) -> None:
        with self._lock:
            self._db.close()
        super().close()

    def __repr__(self) -> str:
        return f"<SQLiteStore {str(self.path)!r}>"


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (the scripts hold no ';' inside strings)."""
    return [s.strip() for s in script.split(";") if s.strip()]
