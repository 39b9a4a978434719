"""Durable runs: record runs into a store, and resume paused, failed or interrupted ones.

    result = flow.run(store=True)              # recorded in the default SQLite store
    result.status                              # "paused": an approval node is waiting
    nbflow.resume(result.run_id, approve=True, value="edited copy")   # later, in any process

Resuming restores every node that finished (``done`` or ``cached``) from the record without running
it again, hands each paused node its decision as ``ctx.resume``, and runs the rest. The same call
resumes a run whose process was killed: its nodes were saved as they finished.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbflow.engine.record import RunResult
from nbflow.exceptions import ResumeError
from nbflow.store import RunStore, open_store
from nbflow.store.base import Approval
from nbflow.store.recorder import Recorder

if TYPE_CHECKING:
    from nbflow.engine.scheduler import Execution
    from nbflow.flow import Flow
    from nbflow.nodes.registry import Registry

__all__ = [
    "UNSET",
    "aresume",
    "aresume_expired",
    "attach_store",
    "configured_store",
    "make_decision",
    "pending_approvals",
    "resolve_store",
    "resume",
    "resume_expired",
    "use_store",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: "Not given", as opposed to ``None`` (a reviewer may well set a value to None).
UNSET: Any = _Unset()

_configured: RunStore | None = None
_defaults: dict[str, RunStore] = {}


def use_store(where: RunStore | bool | str | os.PathLike[str] | None = True) -> RunStore | None:
    """Record every Python-API run of this process into a store (``False``/``None`` stops it).

    ``True`` means the default SQLite store (``$NBFLOW_HOME`` or the user data directory); a path
    names a SQLite file; a :class:`~nbflow.store.RunStore` is used as it is. Returns the store.
    """
    global _configured
    _configured = None if where is None or where is False else resolve_store(where)
    return _configured


def configured_store() -> RunStore | None:
    """The store set by :func:`use_store`, if any."""
    return _configured


def resolve_store(store: RunStore | bool | str | os.PathLike[str] | None) -> RunStore | None:
    """``None``: the configured store (or none); ``False``: none; ``True``: the configured or default
    store; a path: that SQLite file; a store: itself. Default stores are opened once per process."""
    if store is None:
        return _configured
    if store is False:
        return None
    if isinstance(store, RunStore):
        return store
    if store is True:
        if _configured is not None:
            return _configured
        from nbflow.store.paths import default_db_path

        store = default_db_path()
    key = str(Path(store).expanduser().resolve()) if str(store) != ":memory:" else ":memory:"
    if key == ":memory:":
        return open_store(":memory:")
    if key not in _defaults:
        _defaults[key] = open_store(key)
    return _defaults[key]


def attach_store(execution: Execution, store: RunStore, flow: Flow, *, source: str) -> Recorder:
    """Record ``execution`` (a run of ``flow``) into ``store`` as it goes."""
    rec = Recorder(store, execution, flow_text=flow.dumps(),
                   flow_file=str(Path(flow.source).resolve()) if flow.source else None, source=source)
    execution.listeners.append(rec)
    return rec


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


async def aresume(run: str | RunResult, *, approve: bool | None = None, value: Any = UNSET,
                  node: str | None = None, comment: str | None = None, by: str | None = None,
                  flow: Flow | None = None, store: RunStore | bool | str | None = None,
                  registry: Registry | None = None, on_event: Any = None, providers: Any = None,
                  cache: Any = True, concurrency: int | None = None, source: str | None = None,
                  force: bool = False) -> RunResult:
    """Resume a paused, failed, cancelled or interrupted run; see :func:`resume`."""
    recorded: dict[str, Approval] = {}
    if isinstance(run, str):
        st = resolve_store(store if store is not None else True)
        assert st is not None
        stored = st.load(run)
        result = stored.result
        recorded = {a.node_id: a for a in stored.approvals}
        summary = stored.summary
        if summary.status == "running" and not force and _alive(summary.pid, summary.host):
            raise ResumeError(f"run {run!r} is still running in process {summary.pid}; wait for it to end "
                              "(or pass --force if that process is not nbflow)")
        if flow is None:
            if not stored.flow_text:
                raise ResumeError(f"run {run!r} was recorded without its flow; pass flow= to resume it")
            from nbflow.flow import Flow

            flow = Flow.loads(stored.flow_text, source=summary.flow_file, registry=registry)
        source = source or summary.source
    else:
        result = run
        st = resolve_store(store)
        if flow is None:
            raise ResumeError(f"pass flow= to resume run {result.run_id!r} from its record")
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
    ex = flow._execution(dict(result.inputs), {}, on_event=on_event, cache=cache, concurrency=concurrency,
                         targets=None, run_id=result.run_id, providers=providers, store=st or False,
                         source=source, restore=result, resume=decisions)
    out = await ex.run()
    flow.ran(out)
    return out


def resume(run: str | RunResult, *, approve: bool | None = None, value: Any = UNSET, node: str | None = None,
           comment: str | None = None, by: str | None = None, flow: Flow | None = None,
           store: RunStore | bool | str | None = None, registry: Registry | None = None,
           on_event: Any = None, providers: Any = None, cache: Any = True, concurrency: int | None = None,
           source: str | None = None, force: bool = False) -> RunResult:
    """Resume a run: give a paused approval its decision, or finish a failed or interrupted run.

    Nodes that finished before never run again: their outputs come from the record.

    Args:
        run: a run id (looked up in ``store``, by default the SQLite store) or a run record
            (then ``flow`` is needed).
        approve: True to approve, False to reject the waiting approval; None to only apply timed-out
            defaults (or to finish a run that is not waiting for anyone).
        value: with ``approve=True``, the edited value that goes on instead of the original.
        node: which approval, when several wait.
        comment, by: kept with the decision.
        flow: the flow to run (default: the flow text saved with the run).
        store: where the run is recorded (``True``: the default store).
        force: resume even though the run looks alive in another process.

    Returns:
        The run's record after this resume (maybe ``paused`` again at a later approval).
    """
    from nbflow.engine.runner import run_sync

    return run_sync(aresume(run, approve=approve, value=value, node=node, comment=comment, by=by, flow=flow,
                            store=store, registry=registry, on_event=on_event, providers=providers,
                            cache=cache, concurrency=concurrency, source=source, force=force))


async def aresume_expired(store: RunStore | bool | str | None = True, **kwargs: Any) -> list[RunResult]:
    """Apply the default decision of every approval whose timeout has passed; returns the resumed runs."""
    st = resolve_store(store)
    if st is None:
        return []
    out = []
    for run_id in dict.fromkeys(a.run_id for a in st.expired_approvals()):
        if st.summary(run_id).status != "paused":
            continue
        out.append(await aresume(run_id, store=st, **kwargs))
    return out


def resume_expired(store: RunStore | bool | str | None = True, **kwargs: Any) -> list[RunResult]:
    """Sync form of :func:`aresume_expired` (run it from cron: ``nbflow resume --expired``)."""
    from nbflow.engine.runner import run_sync

    return run_sync(aresume_expired(store, **kwargs))
