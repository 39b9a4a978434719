"""An in-process run store: for tests, notebooks that want no files, and as the reference backend."""

from __future__ import annotations

import threading
from typing import Any

from nbflow.exceptions import StoreError
from nbflow.store.runstore import CAP_SLACK, NodeRow, RunStore, SpendRow

__all__ = ["MemoryStore"]

_RUN_DEFAULTS: dict[str, Any] = {
    "flow_file": None, "flow_text": None, "status": "running", "source": "python", "ended_at": None,
    "updated_at": 0.0, "inputs": "{}", "outputs": "{}", "usage": "{}", "cost": 0.0, "error": None,
    "pid": None, "host": None,
}


class MemoryStore(RunStore):
    """Keeps runs in dictionaries, as the same JSON text the SQLite store writes.

    Storing text rather than live objects means a run changed after it was saved does not change
    what was saved, exactly as with SQLite.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, dict[str, Any]] = {}
        self._nodes: dict[str, dict[str, tuple[int, str]]] = {}
        self._approvals: dict[tuple[str, str], dict[str, Any]] = {}
        self._refs: dict[str, set[str]] = {}
        self._blobs: dict[str, bytes] = {}
        self._leases: dict[str, dict[str, Any]] = {}
        self._seen: dict[str, float] = {}
        self._spend: dict[tuple[str, str], list[Any]] = {}  # (scope, period) -> [spent, cap]

    def _save(self, run_id: str, run: dict[str, Any], nodes: list[NodeRow], refs: set[str]) -> None:
        with self._lock:
            row = self._runs.get(run_id)
            if row is None:
                if "flow" not in run:
                    raise StoreError(f"no run {run_id!r} in the run store")
                row = {**_RUN_DEFAULTS, "id": run_id}
                self._runs[run_id] = row
                self._nodes[run_id] = {}
                self._refs[run_id] = set()
            row.update(run)
            docs = self._nodes[run_id]
            for node_id, _type, _status, seq, text in nodes:
                docs[node_id] = (seq, text)
            self._refs[run_id] |= refs

    def _run_row(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._runs.get(run_id)
            return dict(row) if row is not None else None

    def _node_docs(self, run_id: str) -> list[str]:
        with self._lock:
            docs = self._nodes.get(run_id, {})
            return [text for _, text in sorted(docs.values(), key=lambda d: d[0])]

    def _run_rows(self, *, flow: str | None, statuses: list[str] | None, source: str | None,
                  since: float | None, until: float | None, limit: int | None,
                  offset: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = [dict(r) for r in self._runs.values()
                    if (flow is None or r["flow"] == flow)
                    and (statuses is None or r["status"] in statuses)
                    and (source is None or r["source"] == source)
                    and (since is None or r["started_at"] >= since)
                    and (until is None or r["started_at"] < until)]
        rows.sort(key=lambda r: (r["started_at"], r["id"]), reverse=True)
        end = None if limit is None else offset + limit
        return rows[offset:end]

    def _delete(self, run_ids: list[str]) -> int:
        n = 0
        with self._lock:
            for rid in run_ids:
                if self._runs.pop(rid, None) is not None:
                    n += 1
                self._nodes.pop(rid, None)
                self._refs.pop(rid, None)
                self._leases.pop(rid, None)
                self._spend.pop((f"run:{rid}", ""), None)
                for key in [k for k in self._approvals if k[0] == rid]:
                    del self._approvals[key]
        return n

    def _approval_put(self, row: dict[str, Any], refs: set[str]) -> None:
        with self._lock:
            if row["run_id"] not in self._runs:
                raise StoreError(f"no run {row['run_id']!r} in the run store")
            self._approvals[(row["run_id"], row["node_id"])] = dict(row)
            self._refs[row["run_id"]] |= refs

    def _approval_rows(self, run_id: str | None, pending: bool) -> list[dict[str, Any]]:
        with self._lock:
            rows = [dict(r) for (rid, _), r in self._approvals.items()
                    if (run_id is None or rid == run_id) and (not pending or r["decision"] is None)]
        rows.sort(key=lambda r: (r["created_at"], r["run_id"], r["node_id"]))
        return rows

    def _approval_decide(self, run_id: str, node_id: str, decision: str, at: float) -> bool:
        with self._lock:
            row = self._approvals.get((run_id, node_id))
            if row is None or row["decision"] is not None:
                return False
            row.update(decision=decision, decided_at=at)
            return True

    def _lease_acquire(self, run_id: str, owner: str, now: float, expires_at: float,
                       take: str | None) -> dict[str, Any] | None:
        with self._lock:
            row = self._leases.get(run_id)
            if (row is not None and row["owner"] not in (owner, take) and take != "*"
                    and row["expires_at"] > now):
                return None
            acquired = row["acquired_at"] if row is not None and row["owner"] == owner else now
            new = {"owner": owner, "acquired_at": acquired, "expires_at": expires_at}
            self._leases[run_id] = new
            return dict(new)

    def _lease_renew(self, run_id: str, owner: str, expires_at: float) -> bool:
        with self._lock:
            row = self._leases.get(run_id)
            if row is None or row["owner"] != owner:
                return False
            row["expires_at"] = expires_at
            return True

    def _lease_release(self, run_id: str, owner: str) -> bool:
        with self._lock:
            row = self._leases.get(run_id)
            if row is None or row["owner"] != owner:
                return False
            del self._leases[run_id]
            return True

    def _lease_get(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._leases.get(run_id)
            return None if row is None else dict(row)

    def _seen_put(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            for k in [k for k, t in self._seen.items() if t <= now]:
                del self._seen[k]
            if key in self._seen:
                return False
            self._seen[key] = expires_at
            return True

    def _spend_add(self, amount: float, scopes: list[tuple[str, str, float | None]], now: float,
                   check: bool) -> SpendRow | None:
        with self._lock:
            for scope, period, cap in scopes:
                spent, old_cap = self._spend.get((scope, period), (0.0, None))
                if check and cap is not None and spent + amount > cap + CAP_SLACK:
                    return (scope, period, spent, old_cap)
            for scope, period, cap in scopes:
                row = self._spend.setdefault((scope, period), [0.0, None])
                row[0] += amount
                if cap is not None:
                    row[1] = cap
            return None

    def _spend_rows(self, scope: str | None, period: str | None) -> list[SpendRow]:
        with self._lock:
            return sorted((s, p, v[0], v[1]) for (s, p), v in self._spend.items()
                          if (scope is None or s == scope) and (period is None or p == period))

    def _blob_put(self, sha: str, data: bytes) -> None:
        with self._lock:
            self._blobs.setdefault(sha, bytes(data))

    def _blob_get(self, sha: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(sha)

    def _blob_shas(self) -> list[str]:
        with self._lock:
            return list(self._blobs)

    def _blob_delete(self, sha: str) -> None:
        with self._lock:
            self._blobs.pop(sha, None)

    def _blob_refs(self) -> set[str]:
        with self._lock:
            return set().union(*self._refs.values()) if self._refs else set()

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._runs)} runs, {len(self._blobs)} blobs>"
