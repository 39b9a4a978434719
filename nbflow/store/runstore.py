"""The run store contract: run history, node records, pending approvals and media blobs.

A store keeps every run nbflow records: its flow (name, file and text, so it can be resumed even
after the file changed), status, source (``cli``, ``notebook``, ``server``, ``schedule``, ``batch``,
``python``), times, inputs, outputs, usage, cost and error, plus one record per node, saved as each
node finishes. That is what lets a paused or killed run resume without re-running finished nodes.

:class:`RunStore` implements the public API once, on top of a handful of small primitives
(``_save``, ``_run_row``, ...) that each backend provides; :mod:`~nbflow.store.memory` and
:mod:`~nbflow.store.sqlite` are the two backends, and one contract test suite runs over both.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbflow.exceptions import StoreError
from nbflow.model.record import NodeRecord, RunResult
from nbflow.providers.secrets import redact
from nbflow.store import codec
from nbflow.store.lease import Lease

__all__ = ["Approval", "NodeRow", "RunStore", "RunSummary", "SpendRow", "StoredRun", "timestamp"]

#: Runs in these states hold state someone still needs; ``prune`` leaves them unless asked by status.
LIVE_STATUSES = ("running", "paused", "interrupted")

#: One node's row: (node id, type, status, position in the run, JSON document).
NodeRow = tuple[str, str, str, int, str]

#: One spend ledger row: (scope, period, USD spent or reserved, the cap last charged against or None).
SpendRow = tuple[str, str, float, float | None]

#: A charge may pass a cap by this much (float rounding), no more.
CAP_SLACK = 1e-9


def timestamp(when: float | datetime | None) -> float | None:
    """Seconds since the epoch from a float or a datetime (naive datetimes are local time)."""
    if when is None or isinstance(when, (int, float)):
        return when
    return when.timestamp()


@dataclass(kw_only=True, slots=True)
class RunSummary:
    """One run as listed: everything but its node records and flow text."""

    id: str
    """The run id."""
    flow: str
    """The flow's name."""
    status: str
    """running, succeeded, failed, cancelled, paused, or interrupted (its process died while it ran)."""
    source: str
    """Who started it: cli, notebook, server, schedule, batch or python."""
    started_at: float
    """When it started (seconds since the epoch)."""
    ended_at: float | None = None
    """When it last ended (a resumed run ends again), if it has."""
    updated_at: float = 0.0
    """When its record last changed."""
    flow_file: str | None = None
    """The flow file it was loaded from, when there was one."""
    cost: float = 0.0
    """Cost in USD over every node."""
    usage: dict[str, Any] = field(default_factory=dict)
    """Token and media counts summed over every provider call."""
    error: str | None = None
    """One line saying why it failed, when it did."""
    pid: int | None = None
    """The process that last ran it."""
    host: str | None = None
    """The machine that last ran it."""

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(kw_only=True, slots=True)
class Approval:
    """A node waiting for a decision (a human approval, or any node that raised ``Pause``)."""

    run_id: str
    node_id: str
    reason: str = ""
    """What the node asked, shown to the reviewer."""
    data: dict[str, Any] = field(default_factory=dict)
    """The node's ``Pause.data`` (the value to approve, its prompt ...)."""
    created_at: float = 0.0
    deadline: float | None = None
    """When the default decision applies, if the node set a timeout."""
    default: str | None = None
    """``approve`` or ``reject``: the decision taken at the deadline."""
    decision: dict[str, Any] | None = None
    """The decision once made."""
    decided_at: float | None = None

    @property
    def pending(self) -> bool:
        return self.decision is None

    def expired(self, now: float | None = None) -> bool:
        """Whether the deadline has passed with no decision."""
        return self.pending and self.deadline is not None and self.deadline <= (now or time.time())


@dataclass(kw_only=True, slots=True)
class StoredRun:
    """A run loaded back from a store: its record plus what is needed to resume it."""

    result: RunResult
    summary: RunSummary
    flow_text: str | None = None
    """The flow as it was run (canonical JSON), so a resume runs the same graph."""
    approvals: list[Approval] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.result.run_id

    @property
    def pending(self) -> list[Approval]:
        """Approvals still waiting for a decision."""
        return [a for a in self.approvals if a.pending]


class RunStore(ABC):
    """Where runs are recorded. Subclasses implement the ``_``-prefixed primitives.

    Values are stored as JSON; media bytes go to content-addressed blobs (see :mod:`.codec`).
    Every method is safe to call from several threads; a store is closed with ``close()`` or ``with``.
    """

    # -- recording a run as it goes -----------------------------------------------------------------

    def record_start(self, result: RunResult, *, flow_text: str | None = None, flow_file: str | None = None,
                     source: str = "python", pid: int | None = None, host: str | None = None) -> None:
        """Create (or, on resume, update) the run's row with status ``running``."""
        refs: set[str] = set()
        row = self._run_fields(result, refs)
        row.update(flow_text=flow_text, flow_file=flow_file, source=source, status="running",
                   ended_at=None, pid=os.getpid() if pid is None else pid,
                   host=socket.gethostname() if host is None else host)
        self._save(result.run_id, row, [], refs)

    def record_node(self, run_id: str, rec: NodeRecord, *, seq: int) -> None:
        """Save one node's record (called as each node finishes; ``seq`` orders the nodes)."""
        refs: set[str] = set()
        self._save(run_id, {"updated_at": time.time()}, [self._node_row(rec, seq, refs)], refs)

    def record_finish(self, result: RunResult) -> None:
        """Save the run's final status, outputs, usage and cost, and every node record, at once."""
        refs: set[str] = set()
        row = self._run_fields(result, refs)
        nodes = [self._node_row(rec, i, refs) for i, rec in enumerate(result.nodes.values())]
        self._save(result.run_id, row, nodes, refs)

    def save(self, result: RunResult, *, flow_text: str | None = None, flow_file: str | None = None,
             source: str = "python") -> None:
        """Save a whole finished run in one call (e.g. a run recorded after the fact)."""
        self.record_start(result, flow_text=flow_text, flow_file=flow_file, source=source)
        self.record_finish(result)

    def _run_fields(self, result: RunResult, refs: set[str]) -> dict[str, Any]:
        return {
            "id": result.run_id, "flow": result.flow, "status": result.status,
            "started_at": result.started_at, "ended_at": result.ended_at, "updated_at": time.time(),
            "inputs": codec.dumps(result.inputs, self._put_ref, refs),
            "outputs": codec.dumps(result.outputs, self._put_ref, refs),
            "usage": json.dumps(result.usage), "cost": result.cost,
            "error": redact(result.error) if result.error else None,
        }

    def _node_row(self, rec: NodeRecord, seq: int, refs: set[str]) -> NodeRow:
        doc = rec.to_json(inline_media=False)
        if rec.outputs is not None:
            doc["outputs"] = codec.dump_value(rec.outputs, self._put_ref, refs)
        if rec.pause is not None:
            doc["pause"] = codec.dump_value(rec.pause, self._put_ref, refs)
        if rec.error and "message" in rec.error:
            doc["error"] = {**rec.error, "message": redact(str(rec.error["message"]))}
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=repr)
        return (rec.id, rec.type, rec.status, seq, text)

    # -- reading ------------------------------------------------------------------------------------

    def load(self, run_id: str) -> StoredRun:
        """A run with its node records, flow text and approvals; StoreError when there is none."""
        row = self._run_row(run_id)
        if row is None:
            raise StoreError(f"no run {run_id!r} in the run store")
        get = self.get_blob
        summary = self._summary(row)
        result = RunResult(run_id=row["id"], flow=row["flow"], status=row["status"],
                           inputs=codec.loads(row["inputs"], get, what=f"run {run_id!r} inputs") or {},
                           outputs=codec.loads(row["outputs"], get, what=f"run {run_id!r} outputs") or {},
                           started_at=row["started_at"], ended_at=row["ended_at"], error=row["error"])
        for text in self._node_docs(run_id):
            obj = codec.loads(text, get, what=f"run {run_id!r} node record")
            try:
                rec = NodeRecord.from_json(obj)
            except (KeyError, TypeError, ValueError) as exc:
                raise StoreError(f"run {run_id!r}: a node record is malformed ({exc})") from None
            result.nodes[rec.id] = rec
        return StoredRun(result=result, summary=summary, flow_text=row.get("flow_text"),
                         approvals=self.approvals(run_id, pending=False))

    def get(self, run_id: str) -> RunResult:
        """Just the run record."""
        return self.load(run_id).result

    def summary(self, run_id: str) -> RunSummary:
        """One run's summary, without loading its node records."""
        row = self._run_row(run_id)
        if row is None:
            raise StoreError(f"no run {run_id!r} in the run store")
        return self._summary(row)

    def node_states(self, run_id: str) -> list[dict[str, Any]]:
        """The run's recorded nodes, light: ``id``, ``status`` and, when set, ``error`` and ``reason``
        (no outputs, no media), in run order. For following a run another process executes."""
        out = []
        for text in self._node_docs(run_id):
            try:
                doc = json.loads(text)
            except ValueError:
                raise StoreError(f"run {run_id!r}: a node record is malformed") from None
            state = {k: doc[k] for k in ("id", "status", "error", "reason") if doc.get(k) is not None}
            out.append(state)
        return out

    def __contains__(self, run_id: object) -> bool:
        return isinstance(run_id, str) and self._run_row(run_id) is not None

    def list_runs(self, *, flow: str | None = None, status: str | list[str] | None = None,
                  source: str | None = None, since: float | datetime | None = None,
                  until: float | datetime | None = None, limit: int | None = 100,
                  offset: int = 0) -> list[RunSummary]:
        """Runs newest first, filtered by flow name, status(es), source and start time."""
        statuses = [status] if isinstance(status, str) else (list(status) if status else None)
        rows = self._run_rows(flow=flow, statuses=statuses, source=source, since=timestamp(since),
                              until=timestamp(until), limit=limit, offset=offset)
        return [self._summary(r) for r in rows]

    @staticmethod
    def _summary(row: dict[str, Any]) -> RunSummary:
        return RunSummary(id=row["id"], flow=row["flow"], status=row["status"], source=row["source"],
                          started_at=row["started_at"], ended_at=row["ended_at"],
                          updated_at=row["updated_at"] or 0.0, flow_file=row["flow_file"],
                          cost=row["cost"] or 0.0, usage=json.loads(row["usage"] or "{}"),
                          error=row["error"], pid=row["pid"], host=row["host"])

    # -- removing -----------------------------------------------------------------------------------

    def delete(self, run_id: str) -> bool:
        """Remove one run and its records; returns whether it existed. Unused blobs are removed."""
        n = self._delete([run_id])
        if n:
            self.gc_blobs()
        return bool(n)

    def prune(self, *, before: float | datetime | None = None, keep_last: int | None = None,
              flow: str | None = None, status: str | list[str] | None = None) -> int:
        """Delete old runs; returns how many. Running and paused runs stay unless ``status`` names them.

        Args:
            before: delete runs started before this time.
            keep_last: keep this many of the newest matching runs whatever their age.
            flow: only runs of this flow.
            status: only runs with this status (or these statuses).
        """
        if before is None and keep_last is None:
            raise StoreError("prune needs before= or keep_last= (refusing to delete every run)")
        statuses = None if status is None else [status] if isinstance(status, str) else list(status)
        rows = self._run_rows(flow=flow, statuses=statuses, source=None, since=None, until=None,
                              limit=None, offset=0)
        cutoff = timestamp(before)
        doomed = []
        for i, r in enumerate(rows):  # newest first
            if keep_last is not None and i < keep_last:
                continue
            if cutoff is not None and r["started_at"] >= cutoff:
                continue
            if statuses is None and r["status"] in LIVE_STATUSES:
                continue
            doomed.append(r["id"])
        n = self._delete(doomed) if doomed else 0
        if n:
            self.gc_blobs()
        return n

    # -- approvals ----------------------------------------------------------------------------------

    def add_approval(self, approval: Approval) -> None:
        """Record a node waiting for a decision (replaces an earlier wait of the same node)."""
        refs: set[str] = set()
        self._approval_put({
            "run_id": approval.run_id, "node_id": approval.node_id, "reason": approval.reason,
            "data": codec.dumps(approval.data, self._put_ref, refs),
            "created_at": approval.created_at or time.time(), "deadline": approval.deadline,
            "default_decision": approval.default,
            "decision": None if approval.decision is None else json.dumps(approval.decision),
            "decided_at": approval.decided_at,
        }, refs)

    def approvals(self, run_id: str | None = None, *, pending: bool = True) -> list[Approval]:
        """Approvals of one run (or of every run), only the undecided ones unless ``pending=False``."""
        out = []
        for r in self._approval_rows(run_id, pending):
            out.append(Approval(
                run_id=r["run_id"], node_id=r["node_id"], reason=r["reason"] or "",
                data=codec.loads(r["data"], self.get_blob, what=f"run {r['run_id']!r} approval") or {},
                created_at=r["created_at"], deadline=r["deadline"], default=r["default_decision"],
                decision=None if r["decision"] is None else json.loads(r["decision"]),
                decided_at=r["decided_at"]))
        return out

    def expired_approvals(self, now: float | None = None) -> list[Approval]:
        """Undecided approvals whose deadline has passed (their default decision is due)."""
        now = time.time() if now is None else now
        return [a for a in self.approvals() if a.expired(now)]

    def decide(self, run_id: str, node_id: str, decision: dict[str, Any]) -> None:
        """Record the decision for a waiting node (kept even if the resume that follows crashes).

        Only an undecided approval takes a decision: StoreError when there is none, or when it was
        decided already (a decision is never overwritten).
        """
        if not self._approval_decide(run_id, node_id, json.dumps(decision, default=repr), time.time()):
            rows = [a for a in self.approvals(run_id, pending=False) if a.node_id == node_id]
            if rows:
                raise StoreError(f"run {run_id!r}: the approval at node {node_id!r} was decided already")
            raise StoreError(f"run {run_id!r} has no approval at node {node_id!r}")

    # -- leases: one owner per run, across processes -------------------------------------------------

    def claim(self, run_id: str, owner: str, *, ttl: float, take_from: str | None = None,
              force: bool = False) -> Lease | None:
        """Claim ``run_id`` for ``owner`` for ``ttl`` seconds: a compare-and-set in the store.

        Succeeds (returns the new lease) when the run has no lease, its lease has expired, or
        ``owner`` already holds it (then it is extended); returns None while another owner's lease
        holds. ``take_from`` also takes a live lease held by that owner (one known to be dead; of
        several takers only the first succeeds, as the owner has changed for the others). ``force``
        takes it whatever the current lease (an operator who knows the owner is gone).
        """
        now = time.time()
        row = self._lease_acquire(run_id, owner, now, now + ttl, "*" if force else take_from)
        return None if row is None else _lease(run_id, row)

    def renew(self, run_id: str, owner: str, *, ttl: float) -> bool:
        """Extend ``owner``'s lease to ``ttl`` seconds from now; False when ``owner`` no longer holds it."""
        return self._lease_renew(run_id, owner, time.time() + ttl)

    def release(self, run_id: str, owner: str) -> bool:
        """Give up ``owner``'s lease; False when ``owner`` did not hold it."""
        return self._lease_release(run_id, owner)

    def lease(self, run_id: str) -> Lease | None:
        """The run's current lease (maybe expired), or None."""
        row = self._lease_get(run_id)
        return None if row is None else _lease(run_id, row)

    def mark_interrupted(self, run_id: str, lease: Lease | None = None) -> None:
        """Record that the process running ``run_id`` died: status ``interrupted``, with why."""
        who = f"{lease.describe()} stopped" if lease is not None else "the process that ran it stopped"
        self._save(run_id, {"status": "interrupted", "ended_at": time.time(), "updated_at": time.time(),
                            "error": f"interrupted: {who}; resume it with: nbflow resume {run_id}"}, [], set())

    # -- seen keys (signed requests within their replay window) ---------------------------------------

    def remember(self, key: str, *, ttl: float) -> bool:
        """Remember ``key`` for ``ttl`` seconds; False when it is remembered already (a replay).

        Atomic across processes sharing the store; expired keys are forgotten as new ones come in.
        """
        now = time.time()
        return self._seen_put(key, now + ttl, now)

    # -- spend: the budget ledger (see nbflow.engine.budget) ----------------------------------------

    def charge(self, amount: float, scopes: list[tuple[str, str, float | None]], *,
               check: bool = True) -> SpendRow | None:
        """Add ``amount`` USD to each ``(scope, period, cap)`` in one transaction, all or none.

        When adding would take a scope with a cap past it, nothing is added and that scope's row is
        returned; None when added. Atomic across processes sharing the store, so two runs racing for
        the last of a budget never both pass. A negative ``amount`` (giving back what an estimate held
        beyond the recorded cost) or ``check=False`` is never refused. Each row keeps the cap it was
        last charged against, so ``nbflow stats`` can show spend against it.
        """
        if not scopes:
            return None
        return self._spend_add(round(amount, 10), sorted(scopes, key=lambda s: (s[0], s[1])), time.time(),
                               check and amount > 0)

    def spent(self, scope: str, period: str = "") -> float:
        """USD spent (and reserved) in ``scope`` during ``period``; 0 when nothing was."""
        rows = self._spend_rows(scope, period)
        return rows[0][2] if rows else 0.0

    def spend_rows(self, *, scope: str | None = None, period: str | None = None) -> list[SpendRow]:
        """Ledger rows, optionally of one scope and/or period, ordered by scope and period."""
        return self._spend_rows(scope, period)

    # -- blobs --------------------------------------------------------------------------------------

    def put_blob(self, data: bytes) -> str:
        """Keep ``data`` once by content; returns its sha256 hex digest."""
        sha = hashlib.sha256(data).hexdigest()
        self._blob_put(sha, data)
        return sha

    def _put_ref(self, data: bytes) -> str:
        """Keep the bytes of a value that the record being saved refers to (``_save`` or
        ``_approval_put`` follows with the hash in ``refs``). A backend whose garbage collection may run
        in another process at the same time overrides this to write the bytes with their reference."""
        return self.put_blob(data)

    def get_blob(self, sha: str) -> bytes:
        """The bytes stored under ``sha``; StoreError when they are gone."""
        data = self._blob_get(sha)
        if data is None:
            raise StoreError(f"media blob {sha[:12]}... is missing from the run store")
        return data

    def gc_blobs(self) -> int:
        """Delete blobs no run refers to any more; returns how many."""
        used = self._blob_refs()
        gone = [sha for sha in self._blob_shas() if sha not in used]
        for sha in gone:
            self._blob_delete(sha)
        return len(gone)

    # -- lifecycle ----------------------------------------------------------------------------------

    closed: bool = False

    def close(self) -> None:
        """Release the store's resources; backends with files or connections extend this."""
        self.closed = True

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- primitives each backend provides -----------------------------------------------------------

    @abstractmethod
    def _save(self, run_id: str, run: dict[str, Any], nodes: list[NodeRow], refs: set[str]) -> None:
        """In one transaction: upsert the run's given columns, upsert ``nodes``, add blob ``refs``.

        A run row that does not exist yet is created only when ``run`` has ``flow`` (a full row);
        otherwise StoreError names the missing run.
        """

    @abstractmethod
    def _run_row(self, run_id: str) -> dict[str, Any] | None:
        """The run's columns, or None."""

    @abstractmethod
    def _node_docs(self, run_id: str) -> list[str]:
        """The run's node documents in ``seq`` order."""

    @abstractmethod
    def _run_rows(self, *, flow: str | None, statuses: list[str] | None, source: str | None,
                  since: float | None, until: float | None, limit: int | None,
                  offset: int) -> list[dict[str, Any]]:
        """Run rows matching the filters, newest ``started_at`` first."""

    @abstractmethod
    def _delete(self, run_ids: list[str]) -> int:
        """Delete runs with their nodes, approvals, blob references, leases and per-run spend rows
        (``run:<id>``; a flow's and a key's daily spend stay); returns how many existed."""

    @abstractmethod
    def _approval_put(self, row: dict[str, Any], refs: set[str]) -> None:
        """Upsert one approval row (keyed by run and node)."""

    @abstractmethod
    def _approval_rows(self, run_id: str | None, pending: bool) -> list[dict[str, Any]]:
        """Approval rows, oldest first."""

    @abstractmethod
    def _approval_decide(self, run_id: str, node_id: str, decision: str, at: float) -> bool:
        """Set the decision of an approval row; False when there is no such row."""

    @abstractmethod
    def _lease_acquire(self, run_id: str, owner: str, now: float, expires_at: float,
                       take: str | None) -> dict[str, Any] | None:
        """In one transaction: when there is no lease row for ``run_id``, or it expired at or before
        ``now``, or ``owner`` holds it, or ``take`` names its owner (``"*"``: any owner): write
        ``owner``/``expires_at`` (keeping ``acquired_at`` when the owner already held it) and return
        the row; else return None."""

    @abstractmethod
    def _lease_renew(self, run_id: str, owner: str, expires_at: float) -> bool:
        """Set ``expires_at`` when ``owner`` holds the lease; whether it did."""

    @abstractmethod
    def _lease_release(self, run_id: str, owner: str) -> bool:
        """Delete the lease when ``owner`` holds it; whether it did."""

    @abstractmethod
    def _lease_get(self, run_id: str) -> dict[str, Any] | None:
        """The lease row (``owner``, ``acquired_at``, ``expires_at``), or None."""

    @abstractmethod
    def _seen_put(self, key: str, expires_at: float, now: float) -> bool:
        """In one transaction: drop keys expired by ``now``; add ``key`` unless present; whether added."""

    @abstractmethod
    def _spend_add(self, amount: float, scopes: list[tuple[str, str, float | None]], now: float,
                   check: bool) -> SpendRow | None:
        """In one transaction, rows taken in the given (sorted) order: unless ``check`` and some row's
        ``spent + amount`` passes its cap (by more than :data:`CAP_SLACK`), add ``amount`` to every row
        (creating missing rows at 0), set each given cap that is not None, and return None; else change
        nothing and return the first refusing row."""

    @abstractmethod
    def _spend_rows(self, scope: str | None, period: str | None) -> list[SpendRow]:
        """Ledger rows matching ``scope`` and ``period`` (None: any), ordered by scope and period."""

    @abstractmethod
    def _blob_put(self, sha: str, data: bytes) -> None:
        """Store bytes under their hash (a no-op when already there)."""

    @abstractmethod
    def _blob_get(self, sha: str) -> bytes | None:
        """The bytes under ``sha``, or None."""

    @abstractmethod
    def _blob_shas(self) -> list[str]:
        """Every stored blob hash."""

    @abstractmethod
    def _blob_delete(self, sha: str) -> None:
        """Remove one blob."""

    @abstractmethod
    def _blob_refs(self) -> set[str]:
        """Hashes referred to by some run."""


def _lease(run_id: str, row: dict[str, Any]) -> Lease:
    return Lease(run_id=run_id, owner=row["owner"], acquired_at=row["acquired_at"],
                 expires_at=row["expires_at"])
