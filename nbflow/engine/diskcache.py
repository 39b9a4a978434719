"""The persistent, content-addressed output cache: JSON entries in SQLite, media as blobs by hash.

Layout of a cache folder::

    index.db          SQLite (WAL): entries (key -> outputs as JSON), owners (flow, node), blobs, stats
    blobs/ab/<sha256> media bytes, stored once per distinct content

Never pickle: outputs are written as JSON with media moved to blobs (the run store's codec), so a
cache can be read by any nbflow version that reads JSON and cannot run code when it is opened.

Safe under concurrent processes: SQLite serialises writers (``BEGIN IMMEDIATE`` with a busy timeout),
blob files are written to a temporary name and renamed into place (atomic; two writers of the same
content write the same bytes), and a blob is only deleted inside the write transaction that finds no
entry referring to it, so an entry never points at a blob another process is removing. An entry whose
blob went missing (a folder tidied by hand) counts as a miss and is dropped.

The size cap counts entry JSON plus blob bytes; when a ``put`` takes the cache over it, the least
recently used entries go first (a hit refreshes an entry's ``used`` time), then blobs nothing refers to.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbflow.exceptions import StoreError
from nbflow.store.codec import dump_value, load_value

__all__ = ["DEFAULT_MAX_BYTES", "CacheInfo", "DiskCache", "default_cache_dir"]

#: Default size cap of a disk cache: 2 GiB.
DEFAULT_MAX_BYTES = 2 * 1024**3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, size INTEGER NOT NULL, created REAL NOT NULL,
  used REAL NOT NULL);
CREATE INDEX IF NOT EXISTS entries_used ON entries(used);
CREATE TABLE IF NOT EXISTS owners (key TEXT NOT NULL, flow TEXT NOT NULL, node TEXT NOT NULL,
  PRIMARY KEY (key, flow, node));
CREATE INDEX IF NOT EXISTS owners_flow ON owners(flow, node);
CREATE TABLE IF NOT EXISTS refs (key TEXT NOT NULL, sha TEXT NOT NULL, PRIMARY KEY (key, sha));
CREATE INDEX IF NOT EXISTS refs_sha ON refs(sha);
CREATE TABLE IF NOT EXISTS blobs (sha TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stats (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


def default_cache_dir() -> Path:
    """``<nbflow home>/cache`` (``$NBFLOW_HOME`` or the user data directory)."""
    from nbflow.store.paths import data_home

    return data_home() / "cache"


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """What ``nbflow cache info`` prints.

    Attributes:
        path: the cache folder.
        entries: cached node outputs.
        bytes: entry JSON plus blob bytes.
        blobs: distinct media blobs.
        hits, misses: lookups since the cache was created (or last cleared), over all processes.
        max_bytes: the size cap.
    """

    path: str
    entries: int
    bytes: int
    blobs: int
    hits: int
    misses: int
    max_bytes: int

    @property
    def hit_rate(self) -> float | None:
        total = self.hits + self.misses
        return None if total == 0 else self.hits / total

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "entries": self.entries, "bytes": self.bytes, "blobs": self.blobs,
                "hits": self.hits, "misses": self.misses, "hit_rate": self.hit_rate,
                "max_bytes": self.max_bytes}


class _NotJson(Exception):
    pass


def _strict(o: Any) -> Any:
    raise _NotJson(type(o).__name__)


class DiskCache:
    """A cache of node outputs in a folder, shared by every process that opens the same folder.

    ``DiskCache()`` opens ``<nbflow home>/cache``; ``DiskCache("some/dir", max_bytes=...)`` a folder of
    your choice. Pass it as ``flow.run(cache=...)``, set it as ``flow.cache`` (the canvas then uses it)
    or turn it on for the whole process with :func:`nbflow.use_cache`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_dir()
        self.max_bytes = max_bytes
        try:
            (self.path / "blobs").mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path / "index.db", timeout=30.0, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the cache in {str(self.path)!r}: {exc}") from None
        self._lock = threading.Lock()

    # -- the Cache protocol ---------------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any] | None:
        """The outputs stored under ``key``, or None; a hit refreshes the entry's LRU time."""
        with self._lock:
            row = self._db.execute("SELECT value FROM entries WHERE key=?", (key,)).fetchone()
            now = time.time()
            with self._write():
                if row is not None:
                    self._db.execute("UPDATE entries SET used=? WHERE key=?", (now, key))
                self._count("hits" if row is not None else "misses")
        if row is None:
            return None
        try:
            return load_value(json.loads(row[0]), self._read_blob)
        except (OSError, ValueError):
            self.delete(key)  # a blob went missing or the JSON is damaged: treat as a miss
            return None

    def contains(self, key: str) -> bool:
        """Whether ``key`` is cached (counts neither a hit nor a miss)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM entries WHERE key=?", (key,)).fetchone() is not None

    def put(self, key: str, outputs: dict[str, Any], *, flow: str = "", node: str = "") -> None:
        """Store ``outputs`` under ``key`` (values that are not JSON or media are not cached)."""
        refs: set[str] = set()
        blobs: dict[str, bytes] = {}

        def keep(data: bytes) -> str:
            sha = hashlib.sha256(data).hexdigest()
            blobs[sha] = data
            return sha

        try:
            text = json.dumps(dump_value(outputs, keep, refs), ensure_ascii=False, separators=(",", ":"),
                              default=_strict, allow_nan=False)
        except (_NotJson, ValueError):
            return
        now = time.time()
        with self._lock, self._write():
            for sha, data in blobs.items():
                self._store_blob(sha, data)
            self._db.execute("INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?)",
                             (key, text, len(text.encode()), now, now))
            self._db.executemany("INSERT OR IGNORE INTO refs VALUES (?,?)", [(key, s) for s in refs])
            if flow or node:
                self._db.execute("INSERT OR IGNORE INTO owners VALUES (?,?,?)", (key, flow, node))
            self._evict()

    # -- maintenance ----------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        with self._lock, self._write():
            self._drop([key])
            self._collect()

    def clear(self, *, flow: str | None = None, node: str | None = None) -> int:
        """Remove entries (all, or those a flow and/or node stored); returns how many went."""
        with self._lock, self._write():
            if flow is None and node is None:
                keys = [r[0] for r in self._db.execute("SELECT key FROM entries")]
                self._db.execute("DELETE FROM stats")
            else:
                where, args = [], []
                if flow is not None:
                    where.append("flow=?")
                    args.append(flow)
                if node is not None:
                    where.append("node=?")
                    args.append(node)
                keys = [r[0] for r in self._db.execute(
                    f"SELECT DISTINCT key FROM owners WHERE {' AND '.join(where)}", args)]
            self._drop(keys)
            self._collect()
        return len(keys)

    def info(self) -> CacheInfo:
        with self._lock:
            q = self._db.execute
            n, esize = q("SELECT count(*), coalesce(sum(size), 0) FROM entries").fetchone()
            nb, bsize = q("SELECT count(*), coalesce(sum(size), 0) FROM blobs").fetchone()
            stats = dict(q("SELECT name, n FROM stats").fetchall())
        return CacheInfo(path=str(self.path), entries=n, bytes=esize + bsize, blobs=nb,
                         hits=stats.get("hits", 0), misses=stats.get("misses", 0), max_bytes=self.max_bytes)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"DiskCache({str(self.path)!r})"

    # -- internals ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cache {str(self.path)!r}: {exc}") from None
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _count(self, name: str) -> None:
        self._db.execute("INSERT INTO stats VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET n = n + 1", (name,))

    def _blob_path(self, sha: str) -> Path:
        return self.path / "blobs" / sha[:2] / sha

    def _read_blob(self, sha: str) -> bytes:
        return self._blob_path(sha).read_bytes()

    def blob(self, sha: str) -> bytes | None:
        """The bytes of a media blob by its SHA-256, or None when the cache does not hold it."""
        try:
            return self._read_blob(sha)
        except OSError:
            return None

    def add_blob(self, data: bytes) -> str:
        """Store media bytes (kept while an entry or a pin refers to them); returns their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        with self._lock, self._write():
            self._store_blob(sha, data)
            self._db.execute("INSERT OR IGNORE INTO refs VALUES (?,?)", ("$pinned", sha))
        return sha

    def _store_blob(self, sha: str, data: bytes) -> None:
        p = self._blob_path(sha)
        if not p.exists():
            p.parent.mkdir(exist_ok=True)
            tmp = p.with_name(f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, p)
        self._db.execute("INSERT OR IGNORE INTO blobs VALUES (?,?)", (sha, len(data)))

    def _drop(self, keys: list[str]) -> None:
        rows = [(k,) for k in keys]
        self._db.executemany("DELETE FROM entries WHERE key=?", rows)
        self._db.executemany("DELETE FROM owners WHERE key=?", rows)
        self._db.executemany("DELETE FROM refs WHERE key=?", rows)

    def _collect(self) -> None:
        """Delete blobs no entry refers to (inside the caller's write transaction)."""
        orphans = [r[0] for r in self._db.execute(
            "SELECT sha FROM blobs WHERE sha NOT IN (SELECT sha FROM refs)")]
        for sha in orphans:
            with contextlib.suppress(FileNotFoundError):
                self._blob_path(sha).unlink()
        self._db.executemany("DELETE FROM blobs WHERE sha=?", [(s,) for s in orphans])

    def _evict(self) -> None:
        """Drop least recently used entries until the cache fits its cap (blobs they alone held go too)."""
        q = self._db.execute

        def total() -> int:
            return int(q("SELECT (SELECT coalesce(sum(size), 0) FROM entries) + "
                         "(SELECT coalesce(sum(size), 0) FROM blobs)").fetchone()[0])

        while total() > self.max_bytes:
            row = q("SELECT key FROM entries ORDER BY used, rowid LIMIT 1").fetchone()
            if row is None:
                break
            self._drop([row[0]])
            self._collect()
