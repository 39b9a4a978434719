"""The PostgreSQL run store: several processes (server replicas, workers) share one database.

Open it with ``open_store("postgresql://user:pass@host:5432/db")``, ``NBFLOW_STORE=postgresql://...``
or ``--store URL``. It needs the ``postgres`` extra (psycopg 3), imported only when such a store is
opened, so the headless path stays light.

Every guarantee replicas rely on is a database constraint or a single atomic statement, never a
read-then-write in Python: a run id is a primary key (an idempotency key maps to one run id, so two
replicas accepting the same key write one row); a replay record is an ``INSERT ... ON CONFLICT``
on the key's primary key; an approval decision is ``UPDATE ... WHERE decision IS NULL`` (one
decider wins); a run lease is an upsert whose ``WHERE`` holds the compare-and-set. Media bytes live
in a ``blobs`` table, so every replica sees them.

The schema is versioned in ``nbflow_schema``; :data:`MIGRATIONS` is applied in order under a
transaction-scoped advisory lock when a store is opened, so replicas starting together migrate once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from nbflow.exceptions import StoreError
from nbflow.store.pgurl import safe_url
from nbflow.store.runstore import CAP_SLACK, NodeRow, RunStore, SpendRow

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore", "is_postgres_url"]

_V1 = """
CREATE TABLE runs (
  id          TEXT PRIMARY KEY,
  flow        TEXT NOT NULL,
  flow_file   TEXT,
  flow_text   TEXT,
  status      TEXT NOT NULL,
  source      TEXT NOT NULL DEFAULT 'python',
  started_at  DOUBLE PRECISION NOT NULL,
  ended_at    DOUBLE PRECISION,
  updated_at  DOUBLE PRECISION NOT NULL DEFAULT 0,
  inputs      TEXT NOT NULL DEFAULT '{}',
  outputs     TEXT NOT NULL DEFAULT '{}',
  usage       TEXT NOT NULL DEFAULT '{}',
  cost        DOUBLE PRECISION NOT NULL DEFAULT 0,
  error       TEXT,
  pid         BIGINT,
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
  created_at        DOUBLE PRECISION NOT NULL,
  deadline          DOUBLE PRECISION,
  default_decision  TEXT CHECK (default_decision IN ('approve', 'reject')),
  decision          TEXT,
  decided_at        DOUBLE PRECISION,
  PRIMARY KEY (run_id, node_id),
  CHECK ((decision IS NULL) = (decided_at IS NULL))
);
CREATE INDEX approvals_open ON approvals (decided_at, deadline);
CREATE TABLE blob_refs (
  run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  sha     TEXT NOT NULL,
  PRIMARY KEY (run_id, sha)
);
CREATE INDEX blob_refs_by_sha ON blob_refs (sha);
CREATE TABLE blobs (
  sha   TEXT PRIMARY KEY CHECK (length(sha) = 64),
  data  BYTEA NOT NULL
)
"""

_V2 = """
CREATE TABLE leases (
  run_id       TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  acquired_at  DOUBLE PRECISION NOT NULL,
  expires_at   DOUBLE PRECISION NOT NULL,
  CHECK (expires_at >= acquired_at)
);
CREATE TABLE seen_keys (
  key         TEXT PRIMARY KEY,
  expires_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX seen_keys_by_expiry ON seen_keys (expires_at)
"""

# Version 3: the spend ledger budgets are checked against; a row per (scope, period), locked by the
# transaction that checks and adds, so concurrent charges serialize on it.
_V3 = """
CREATE TABLE spend (
  scope       TEXT NOT NULL,
  period      TEXT NOT NULL,
  spent       DOUBLE PRECISION NOT NULL DEFAULT 0,
  cap         DOUBLE PRECISION CHECK (cap > 0),
  updated_at  DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (scope, period)
);
CREATE INDEX spend_by_period ON spend (period)
"""

#: ``MIGRATIONS[i]`` upgrades a database from schema version ``i`` to ``i + 1``.
MIGRATIONS: list[str] = [_V1, _V2, _V3]

#: The schema version this nbflow writes.
SCHEMA_VERSION = len(MIGRATIONS)

#: Advisory lock key under which a store migrates the schema (any constant, the same in every replica).
_MIGRATE_LOCK = 0x6E62666C6F77

_RUN_COLUMNS = ("id", "flow", "flow_file", "flow_text", "status", "source", "started_at", "ended_at",
                "updated_at", "inputs", "outputs", "usage", "cost", "error", "pid", "host")

T = TypeVar("T")


def is_postgres_url(where: object) -> bool:
    """Whether ``where`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


class PostgresStore(RunStore):
    """Runs, node records, approvals, leases, replay records and media in one PostgreSQL database.

    Args:
        url: ``postgresql://user:password@host:port/database`` (any libpq connection string).

    One connection per store, used by one thread at a time; each primitive is one transaction.
    """

    def __init__(self, url: str) -> None:
        from nbflow.extras import require

        require("a postgresql:// run store", "psycopg")
        import psycopg

        self.url = url
        self._psycopg = psycopg
        self._lock = threading.RLock()
        self._staged = threading.local()
        try:
            self._db = psycopg.connect(url, autocommit=False, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open run store {safe_url(url)!r}: {_first_line(exc)}") from None
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # -- schema -------------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        def tx(cur: Any) -> int:
            cur.execute("SELECT to_regclass('nbflow_schema') IS NOT NULL")
            if not cur.fetchone()[0]:
                return 0
            cur.execute("SELECT version FROM nbflow_schema")
            row = cur.fetchone()
            return int(row[0]) if row else 0
        return self._tx(tx)

    def _migrate(self) -> None:
        def tx(cur: Any) -> None:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            cur.execute("CREATE TABLE IF NOT EXISTS nbflow_schema (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM nbflow_schema")
            row = cur.fetchone()
            if row is None:
                cur.execute("INSERT INTO nbflow_schema (version) VALUES (0)")
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"run store {safe_url(self.url)!r} has schema version {version}, newer than "
                                 f"this nbflow supports ({SCHEMA_VERSION}); upgrade nbflow")
            for step in range(version, SCHEMA_VERSION):
                for stmt in (s.strip() for s in MIGRATIONS[step].split(";")):
                    if stmt:
                        cur.execute(stmt)
                cur.execute("UPDATE nbflow_schema SET version = %s", (step + 1,))
        self._tx(tx)

    # -- helpers ------------------------------------------------------------------------------------

    def _tx(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(cursor)`` in one transaction; database errors become one-line StoreErrors."""
        psycopg = self._psycopg
        with self._lock:
            if self.closed:
                raise StoreError(f"run store {safe_url(self.url)!r} is closed")
            try:
                with self._db.transaction(), self._db.cursor() as cur:
                    return fn(cur)
            except psycopg.Error as exc:
                raise StoreError(f"run store {safe_url(self.url)!r}: {_first_line(exc)}") from None

    def _rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        def tx(cur: Any) -> list[dict[str, Any]]:
            cur.execute(sql, params)
            names = [d.name for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return self._tx(tx)

    # -- primitives ---------------------------------------------------------------------------------

    def _save(self, run_id: str, run: dict[str, Any], nodes: list[NodeRow], refs: set[str]) -> None:
        cols = [c for c in _RUN_COLUMNS if c in run and c != "id"]
        staged = self._take_staged()  # the bytes _put_ref kept for this record

        def tx(cur: Any) -> None:
            if cols:
                cur.execute(f"UPDATE runs SET {', '.join(f'{c} = %s' for c in cols)} WHERE id = %s",
                            [run[c] for c in cols] + [run_id])
                updated = cur.rowcount
            else:
                cur.execute("SELECT 1 FROM runs WHERE id = %s FOR UPDATE", (run_id,))
                updated = len(cur.fetchall())
            if not updated:
                if "flow" not in run:
                    raise StoreError(f"no run {run_id!r} in the run store")
                # Another replica may insert the same id between our UPDATE and INSERT: the primary
                # key decides, and the loser's columns are applied as an update.
                cur.execute(f"INSERT INTO runs (id, {', '.join(cols)}) VALUES (%s{', %s' * len(cols)}) "
                            f"ON CONFLICT (id) DO UPDATE SET "
                            f"{', '.join(f'{c} = excluded.{c}' for c in cols)}",
                            [run_id] + [run[c] for c in cols])
            if nodes:
                cur.executemany(
                    "INSERT INTO nodes (run_id, node_id, type, status, seq, record) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, node_id) DO UPDATE SET "
                    "type = excluded.type, status = excluded.status, seq = excluded.seq, record = excluded.record",
                    [(run_id, *n) for n in nodes])
            if refs:
                self._keep_blobs(cur, refs, staged)
                cur.executemany("INSERT INTO blob_refs (run_id, sha) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [(run_id, sha) for sha in sorted(refs)])
        self._tx(tx)

    def _run_row(self, run_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM runs WHERE id = %s", (run_id,))
        return rows[0] if rows else None

    def _node_docs(self, run_id: str) -> list[str]:
        rows = self._rows("SELECT record FROM nodes WHERE run_id = %s ORDER BY seq, node_id", (run_id,))
        return [r["record"] for r in rows]

    def _run_rows(self, *, flow: str | None, statuses: list[str] | None, source: str | None,
                  since: float | None, until: float | None, limit: int | None,
                  offset: int) -> list[dict[str, Any]]:
        where: list[str] = []
        params: list[Any] = []
        for clause, value in (("flow = %s", flow), ("source = %s", source), ("started_at >= %s", since),
                              ("started_at < %s", until)):
            if value is not None:
                where.append(clause)
                params.append(value)
        if statuses:
            where.append("status = ANY(%s)")
            params.append(list(statuses))
        sql = ("SELECT id, flow, flow_file, status, source, started_at, ended_at, updated_at, usage, cost, "
               "error, pid, host FROM runs")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC LIMIT %s OFFSET %s"
        params.extend([limit, offset])  # LIMIT NULL is no limit
        return self._rows(sql, params)

    def _delete(self, run_ids: list[str]) -> int:
        def tx(cur: Any) -> int:
            cur.execute("DELETE FROM runs WHERE id = ANY(%s)", (run_ids,))
            n = int(cur.rowcount)
            cur.execute("DELETE FROM leases WHERE run_id = ANY(%s)", (run_ids,))
            cur.execute("DELETE FROM spend WHERE period = '' AND scope = ANY(%s)", ([f"run:{r}" for r in run_ids],))
            return n
        return self._tx(tx)

    def _approval_put(self, row: dict[str, Any], refs: set[str]) -> None:
        cols = list(row)
        staged = self._take_staged()  # the bytes _put_ref kept for this record

        def tx(cur: Any) -> None:
            cur.execute("SELECT 1 FROM runs WHERE id = %s", (row["run_id"],))
            if cur.fetchone() is None:
                raise StoreError(f"no run {row['run_id']!r} in the run store")
            sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("run_id", "node_id"))
            cur.execute(f"INSERT INTO approvals ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                        f"ON CONFLICT (run_id, node_id) DO UPDATE SET {sets}", [row[c] for c in cols])
            if refs:
                self._keep_blobs(cur, refs, staged)
                cur.executemany("INSERT INTO blob_refs (run_id, sha) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [(row["run_id"], sha) for sha in sorted(refs)])
        self._tx(tx)

    def _approval_rows(self, run_id: str | None, pending: bool) -> list[dict[str, Any]]:
        where, params = [], []
        if run_id is not None:
            where.append("run_id = %s")
            params.append(run_id)
        if pending:
            where.append("decision IS NULL")
        sql = "SELECT * FROM approvals" + (" WHERE " + " AND ".join(where) if where else "")
        return self._rows(sql + " ORDER BY created_at, run_id, node_id", params)

    def _approval_decide(self, run_id: str, node_id: str, decision: str, at: float) -> bool:
        def tx(cur: Any) -> bool:
            cur.execute("UPDATE approvals SET decision = %s, decided_at = %s WHERE run_id = %s "
                        "AND node_id = %s AND decision IS NULL", (decision, at, run_id, node_id))
            return bool(cur.rowcount)
        return self._tx(tx)

    # -- leases and seen keys: each one statement whose WHERE is the compare-and-set ------------------

    def _lease_acquire(self, run_id: str, owner: str, now: float, expires_at: float,
                       take: str | None) -> dict[str, Any] | None:
        def tx(cur: Any) -> dict[str, Any] | None:
            cur.execute(
                "INSERT INTO leases AS l (run_id, owner, acquired_at, expires_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, "
                "acquired_at = CASE WHEN l.owner = excluded.owner THEN l.acquired_at "
                "ELSE excluded.acquired_at END "
                "WHERE l.owner = excluded.owner OR l.expires_at <= %s OR l.owner = %s OR %s = '*' "
                "RETURNING owner, acquired_at, expires_at",
                (run_id, owner, now, expires_at, now, take, take))
            row = cur.fetchone()
            return None if row is None else {"owner": row[0], "acquired_at": row[1], "expires_at": row[2]}
        return self._tx(tx)

    def _lease_renew(self, run_id: str, owner: str, expires_at: float) -> bool:
        def tx(cur: Any) -> bool:
            cur.execute("UPDATE leases SET expires_at = %s WHERE run_id = %s AND owner = %s",
                        (expires_at, run_id, owner))
            return bool(cur.rowcount)
        return self._tx(tx)

    def _lease_release(self, run_id: str, owner: str) -> bool:
        def tx(cur: Any) -> bool:
            cur.execute("DELETE FROM leases WHERE run_id = %s AND owner = %s", (run_id, owner))
            return bool(cur.rowcount)
        return self._tx(tx)

    def _lease_get(self, run_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT owner, acquired_at, expires_at FROM leases WHERE run_id = %s", (run_id,))
        return rows[0] if rows else None

    def _seen_put(self, key: str, expires_at: float, now: float) -> bool:
        def tx(cur: Any) -> bool:
            cur.execute("DELETE FROM seen_keys WHERE expires_at <= %s", (now,))
            # An expired row another transaction has not deleted yet is taken over; a live one is a replay.
            cur.execute("INSERT INTO seen_keys AS s (key, expires_at) VALUES (%s, %s) ON CONFLICT (key) "
                        "DO UPDATE SET expires_at = excluded.expires_at WHERE s.expires_at <= %s RETURNING key",
                        (key, expires_at, now))
            return cur.fetchone() is not None
        return self._tx(tx)

    def _spend_add(self, amount: float, scopes: list[tuple[str, str, float | None]], now: float,
                   check: bool) -> SpendRow | None:
        def tx(cur: Any) -> SpendRow | None:
            # Create missing rows, then lock every row (in sorted order: no deadlock between chargers);
            # a concurrent charge waits on the lock and then reads the committed total.
            cur.executemany("INSERT INTO spend (scope, period, spent, updated_at) VALUES (%s, %s, 0, %s) "
                            "ON CONFLICT DO NOTHING", [(s, p, now) for s, p, _ in scopes])
            for scope, period, cap in scopes:
                cur.execute("SELECT spent, cap FROM spend WHERE scope = %s AND period = %s FOR UPDATE",
                            (scope, period))
                spent, old_cap = cur.fetchone()
                if check and cap is not None and float(spent) + amount > cap + CAP_SLACK:
                    return (scope, period, float(spent), old_cap)
            cur.executemany("UPDATE spend SET spent = spent + %s, cap = COALESCE(%s, cap), updated_at = %s "
                            "WHERE scope = %s AND period = %s", [(amount, c, now, s, p) for s, p, c in scopes])
            return None
        return self._tx(tx)

    def _spend_rows(self, scope: str | None, period: str | None) -> list[SpendRow]:
        rows = self._rows("SELECT scope, period, spent, cap FROM spend WHERE (%s::text IS NULL OR scope = %s) "
                          "AND (%s::text IS NULL OR period = %s) ORDER BY scope, period",
                          (scope, scope, period, period))
        return [(r["scope"], r["period"], float(r["spent"]), r["cap"]) for r in rows]

    # -- blobs: rows keyed by their sha256 ------------------------------------------------------------
    #
    # A blob and the references to it are written in one transaction, so garbage collection in
    # another replica cannot take a blob between its write and its first reference: the writer
    # share-locks the blobs it refers to (writing those that are missing), and ``_blob_delete``
    # locks a blob for update before it checks, in a fresh snapshot, that nothing refers to it.

    def _put_ref(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self._take_staged(keep=True).setdefault(sha, data)  # written by the _save that follows
        return sha

    def _take_staged(self, *, keep: bool = False) -> dict[str, bytes]:
        """This thread's staged blob bytes (taken away unless ``keep``)."""
        staged: dict[str, bytes] = getattr(self._staged, "blobs", None) or {}
        self._staged.blobs = staged if keep else {}
        return staged

    @staticmethod
    def _keep_blobs(cur: Any, refs: set[str], staged: dict[str, bytes]) -> None:
        cur.execute("SELECT sha FROM blobs WHERE sha = ANY(%s) FOR SHARE", (sorted(refs),))
        missing = refs - {r[0] for r in cur.fetchall()}
        lost = sorted(sha for sha in missing if sha not in staged)
        if lost:
            raise StoreError(f"media blob {lost[0][:12]}... is missing from the run store")
        cur.executemany("INSERT INTO blobs (sha, data) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        [(sha, staged[sha]) for sha in sorted(missing)])

    def _blob_put(self, sha: str, data: bytes) -> None:
        def tx(cur: Any) -> None:
            cur.execute("INSERT INTO blobs (sha, data) VALUES (%s, %s) ON CONFLICT DO NOTHING", (sha, data))
        self._tx(tx)

    def _blob_get(self, sha: str) -> bytes | None:
        rows = self._rows("SELECT data FROM blobs WHERE sha = %s", (sha,))
        return bytes(rows[0]["data"]) if rows else None

    def _blob_shas(self) -> list[str]:
        return [r["sha"] for r in self._rows("SELECT sha FROM blobs")]

    def _blob_delete(self, sha: str) -> None:
        def tx(cur: Any) -> None:
            # Lock first (waiting for writers that share-lock it to commit their references), then
            # check in the next statement's fresh snapshot: only a blob still unreferenced goes.
            cur.execute("SELECT 1 FROM blobs WHERE sha = %s FOR UPDATE", (sha,))
            cur.execute("DELETE FROM blobs WHERE sha = %s AND NOT EXISTS "
                        "(SELECT 1 FROM blob_refs WHERE blob_refs.sha = blobs.sha)", (sha,))
        self._tx(tx)

    def _blob_refs(self) -> set[str]:
        return {r["sha"] for r in self._rows("SELECT DISTINCT sha FROM blob_refs")}

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self._db.close()
        super().close()

    def __repr__(self) -> str:
        return f"<PostgresStore {safe_url(self.url)!r}>"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
