"""Resuming runs from their records: checks, approval decisions (what :func:`nbflow.resume` and
``Flow.resume`` share; the run itself goes on through the flow).

    result = flow.run(store=True)              # recorded in the default SQLite store
    result.status                              # "paused": an approval node is waiting
    nbflow.resume(result.run_id, approve=True, value="edited copy")   # later, in any process

Resuming restores every node that finished (``done`` or ``cached``) from the record without running
it again, hands each paused node its decision as ``ctx.resume``, and runs the rest. The same call
resumes a run whose process was killed: its nodes were saved as they finished.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nbflow.exceptions import ClaimError, ResumeError
from nbflow.model.record import RunResult
from nbflow.model.unset import UNSET
from nbflow.recording import resolve_store
from nbflow.store import RunStore
from nbflow.store.lease import lease_ttl, owner_gone, owner_id
from nbflow.store.owners import heartbeat
from nbflow.store.runstore import Approval, StoredRun

__all__ = [
    "UNSET", "Resumption", "expired_runs", "make_decision", "pending_approvals", "prepare_resume", "recorded_flow",
]



def make_decision(approve: bool, value: Any = UNSET, *, comment: str | None = None, by: str | None = None,
                  timeout: bool = False) -> dict[str, Any]:
    """The decision a paused approval node receives as ``ctx.resume``."""
    d: dict[str, Any] = {"approved": bool(approve), "at": time.time()}
    if value is not UNSET:
        d["value"] = value
    if comment:
        d["comment"] = comment
    if by:
        d["by"] = by
    if timeout:
        d["timeout"] = True
    return d


def pending_approvals(result: RunResult) -> list[Approval]:
    """What a paused run is waiting for: one entry per paused node, with its prompt and value."""
    out = []
    for rec in result.nodes.values():
        if rec.status != "paused":
            continue
        data = dict(rec.pause or {})
        deadline = data.get("deadline")
        out.append(Approval(run_id=result.run_id, node_id=rec.id, reason=rec.reason or "", data=data,
                            created_at=data.get("since") or rec.ended_at or 0.0,
                            deadline=deadline if isinstance(deadline, (int, float)) else None,
                            default=data.get("default")))
    return out


def _alive(pid: int | None, host: str | None) -> bool:
    """Whether the process that last ran a run is still alive (only knowable on this machine)."""
    if not pid or host != socket.gethostname() or pid == os.getpid() or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _decisions(result: RunResult, recorded: dict[str, Approval], *, approve: bool | None, value: Any,
               node: str | None, comment: str | None, by: str | None) -> dict[str, dict[str, Any]]:
    rid = result.run_id
    waiting = pending_approvals(result)
    ids = [a.node_id for a in waiting]
    decisions: dict[str, dict[str, Any]] = {}
    if approve is not None:
        if node is None:
            if not ids:
                raise ResumeError(f"run {rid!r} is not waiting for approval (status {result.status})")
            if len(ids) > 1:
                raise ResumeError(f"run {rid!r} waits for approval at nodes {', '.join(map(repr, ids))}; "
                                  "name one with --node (node= in Python)")
            node = ids[0]
        elif node not in ids:
            where = f"it waits at {', '.join(map(repr, ids))}" if ids else "it waits for no approval"
            raise ResumeError(f"run {rid!r}: node {node!r} is not waiting for approval; {where}")
        decisions[node] = make_decision(approve, value, comment=comment, by=by)
    elif value is not UNSET:
        raise ResumeError("a value can only be given with approve=True or approve=False (--approve/--reject)")
    now = time.time()
    for a in waiting:
        if a.node_id in decisions:
            continue
        earlier = recorded.get(a.node_id)
        if earlier is not None and earlier.decision is not None:
            decisions[a.node_id] = earlier.decision  # decided before a resume that did not finish
        elif a.deadline is not None and a.deadline <= now and a.default in ("approve", "reject"):
            decisions[a.node_id] = make_decision(a.default == "approve", comment="timed out", by="timeout",
                                                 timeout=True)
        else:
            decisions[a.node_id] = {"pending": True, "since": a.created_at or None}
    if result.status == "paused" and waiting and all(d.get("pending") for d in decisions.values()):
        first = waiting[0]
        raise ResumeError(f"run {rid!r} is waiting for approval at node {first.node_id!r} "
                          f"({first.reason}); resume it with --approve or --reject")
    return decisions


@dataclass(frozen=True, slots=True)
class Resumption:
    """What a resume needs, read from the record: the run, its store, the decisions, who resumes."""

    result: RunResult
    store: RunStore | None
    decisions: dict[str, dict[str, Any]]
    source: str


def prepare_resume(run: str | RunResult, *, approve: bool | None = None, value: Any = UNSET,
                   node: str | None = None, comment: str | None = None, by: str | None = None,
                   store: RunStore | bool | str | None = None, source: str | None = None,
                   force: bool = False) -> Resumption:
    """Load the record of ``run`` (an id or a record), check it can resume, and decide its approvals.

    Decisions are saved to the store before the run goes on, so a resume that dies midway keeps them.
    """
    recorded: dict[str, Approval] = {}
    st: RunStore | None
    if isinstance(run, str):
        st, stored = _load(run, store, force)
        result = stored.result
        recorded = {a.node_id: a for a in stored.approvals}
        source = source or stored.summary.source
    else:
        result = run
        st = resolve_store(store)
        if st is not None and result.run_id in st:
            recorded = {a.node_id: a for a in st.approvals(result.run_id, pending=False)}
        source = source or "python"
    if result.status == "succeeded":
        raise ResumeError(f"run {result.run_id!r} already succeeded; there is nothing to resume")
    decisions = _decisions(result, recorded, approve=approve, value=value, node=node, comment=comment, by=by)
    if st is not None and result.run_id in st:
        for nid, d in decisions.items():
            if not d.get("pending") and nid in recorded and recorded[nid].decision is None:
                st.decide(result.run_id, nid, d)
    return Resumption(result, st, decisions, source)


def recorded_flow(run: str | RunResult, *, store: RunStore | bool | str | None = None,
                  force: bool = False) -> tuple[str, str | None]:
    """The flow text and file saved with run ``run``, for a resume that was given no flow."""
    if not isinstance(run, str):
        raise ResumeError(f"pass flow= to resume run {run.run_id!r} from its record")
    _, stored = _load(run, store, force)
    if not stored.flow_text:
        raise ResumeError(f"run {run!r} was recorded without its flow; pass flow= to resume it")
    return stored.flow_text, stored.summary.flow_file


def _load(run_id: str, store: RunStore | bool | str | None, force: bool) -> tuple[RunStore, StoredRun]:
    st = resolve_store(store if store is not None else True)
    assert st is not None
    return st, st.load(run_id)


@contextlib.contextmanager
def claimed(run: str | RunResult, *, store: RunStore | bool | str | None = None,
            force: bool = False) -> Iterator[None]:
    """Hold the run's lease for this process while it is decided and resumed (see
    :mod:`nbflow.store.lease`): of several processes resuming one run at once, exactly one gets
    past this; the others get ClaimError. A run not in any store needs no claim."""
    if isinstance(run, str):
        st, run_id = resolve_store(store if store is not None else True), run
        assert st is not None
        st.summary(run_id)  # a run that is not there is a StoreError before anything is claimed
    else:
        st, run_id = resolve_store(store), run.run_id
        if st is None or run_id not in st:
            yield
            return
    claim_run(st, run_id, force=force)
    try:
        yield
    finally:
        heartbeat.drop(st, run_id)
        st.release(run_id, owner_id())


def claim_run(st: RunStore, run_id: str, *, force: bool = False) -> None:
    """Take the run's lease for this process, or raise ClaimError naming who holds it."""
    if heartbeat.holds(st, run_id) and not force:
        raise ClaimError(f"run {run_id!r} is already running or being resumed in this process")
    summary = st.summary(run_id)
    if (summary.status == "running" and not force and st.lease(run_id) is None
            and _alive(summary.pid, summary.host)):
        raise ClaimError(f"run {run_id!r} is still running in process {summary.pid}; wait for it to end "
                         "(or pass --force if that process is not nbflow)")
    ttl = lease_ttl()
    held = st.lease(run_id)
    dead = held.owner if held is not None and owner_gone(held) else None
    if st.claim(run_id, owner_id(), ttl=ttl, take_from=dead, force=force) is None:
        held = st.lease(run_id)
        who = held.describe() if held is not None else "another process"
        if st.summary(run_id).status == "running":
            raise ClaimError(f"run {run_id!r} is running in {who}; wait for it to end "
                             "(or pass --force if that process is gone)")
        raise ClaimError(f"run {run_id!r} is being decided or resumed by {who} right now; "
                         "only one decision or resume at a time")
    heartbeat.hold(st, run_id, ttl)


def expired_runs(store: RunStore | bool | str | None = True) -> tuple[RunStore | None, list[str]]:
    """The store and the paused runs that have an approval whose timeout has passed."""
    st = resolve_store(store)
    if st is None:
        return None, []
    ids = [run_id for run_id in dict.fromkeys(a.run_id for a in st.expired_approvals())
           if st.summary(run_id).status == "paused"]
    return st, ids
