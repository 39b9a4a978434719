"""Recording runs into a store: which store (:func:`use_store`, :func:`resolve_store`) and the event
listener that saves one execution as it runs (:class:`Recorder`, :func:`attach_store`).

The engine emits typed events; this listener turns the ones that change durable state into store
writes: the run's row when it starts, a node's record the moment it finishes (so a killed process
loses only the nodes that were still running), a pending approval when a node pauses, and the
final status when the run ends. A store that fails to write (a full disk) never breaks the run:
the first error is kept on ``errors`` and reported once through ``warn``.

The recorder also holds the run's lease (:mod:`nbflow.store.lease`) while it executes: claimed when the run
starts (refused with :class:`~nbflow.exceptions.ClaimError` while another process holds it),
renewed by the process's heartbeat thread, released when the run ends or pauses.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nbflow.exceptions import ClaimError, StoreError
from nbflow.model.events import Event
from nbflow.store import is_postgres_url, open_store
from nbflow.store.lease import lease_ttl, owner_id
from nbflow.store.owners import heartbeat
from nbflow.store.runstore import Approval, RunStore

if TYPE_CHECKING:
    from nbflow.engine.execute import Execution

__all__ = ["Recorder", "attach_store", "configured_store", "resolve_store", "use_store"]

class SavedFlow(Protocol):
    """What recording needs of a flow (a :class:`nbflow.Flow`): its canonical text and its file."""

    source: str | None

    def dumps(self) -> str: ...


_NODE_KINDS = frozenset({"node_finished", "paused"})


def _stderr_warning(message: str) -> None:
    sys.stderr.write(f"nbflow: warning: {message}\n")


class Recorder:
    """Records one execution into ``store``. Add it to the execution's listeners.

    Args:
        store: where to record.
        execution: the run being recorded.
        flow_text: the flow's canonical JSON, kept so the run can be resumed as it was.
        flow_file: the flow file, when there is one.
        source: who started the run (cli, notebook, server, schedule, batch, python).
        warn: called once with the first store error.
    """

    def __init__(self, store: RunStore, execution: Execution, *, flow_text: str | None,
                 flow_file: str | None, source: str,
                 warn: Callable[[str], Any] | None = _stderr_warning) -> None:
        self.store = store
        self.execution = execution
        self.flow_text = flow_text
        self.flow_file = flow_file
        self.source = source
        self.warn = warn
        self.errors: list[str] = []

    def __call__(self, ev: Event) -> None:
        kind = ev.kind
        if kind not in _NODE_KINDS and kind not in ("run_started", "run_finished"):
            return
        try:
            self._handle(ev)
        except (StoreError, OSError) as exc:
            self.errors.append(str(exc))
            if len(self.errors) == 1 and self.warn is not None:
                self.warn(f"run {ev.run_id} is not being recorded: {exc}")

    def _claim(self) -> None:
        run_id, ttl = self.execution.run_id, lease_ttl()
        if self.store.claim(run_id, owner_id(), ttl=ttl) is None:
            held = self.store.lease(run_id)
            who = held.describe() if held is not None else "another process"
            raise ClaimError(f"run {run_id!r} is held by {who}; it is running or being resumed there")
        heartbeat.hold(self.store, run_id, ttl)

    def _handle(self, ev: Event) -> None:
        ex = self.execution
        store = self.store
        if ev.kind == "run_started":
            self._claim()
            store.record_start(ex.result, flow_text=self.flow_text, flow_file=self.flow_file,
                               source=self.source)
        elif ev.kind == "run_finished":
            try:
                store.record_finish(ex.result)
            finally:
                heartbeat.drop(store, ex.run_id)
                store.release(ex.run_id, owner_id())
        elif ev.node_id is not None:
            rec = ex.node_record(ev.node_id)
            if rec is None:
                return
            store.record_node(ex.run_id, rec, seq=ex.plan.by_id[ev.node_id].idx)
            if ev.kind == "paused":
                data = dict(rec.pause or {})
                deadline = data.get("deadline")
                default = data.get("default")
                store.add_approval(Approval(
                    run_id=ex.run_id, node_id=rec.id, reason=rec.reason or "", data=data,
                    created_at=data.get("since") or time.time(),
                    deadline=float(deadline) if isinstance(deadline, (int, float)) else None,
                    default=default if default in ("approve", "reject") else None))


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
    store; a ``postgresql://`` URL or a path: that store; a store: itself. Default stores are opened
    once per process."""
    if store is None:
        return _configured
    if store is False:
        return None
    if isinstance(store, RunStore):
        return store
    if store is True:
        if _configured is not None:
            return _configured
        from nbflow.store import store_location
        from nbflow.store.paths import default_db_path

        store = store_location() or default_db_path()
    if is_postgres_url(str(store)) or str(store) == ":memory:":
        key = str(store)
    else:
        key = str(Path(store).expanduser().resolve())
    if key == ":memory:":
        return open_store(":memory:")
    if key not in _defaults:
        _defaults[key] = open_store(key)
    return _defaults[key]


def attach_store(execution: Execution, store: RunStore, flow: SavedFlow, *, source: str) -> Recorder:
    """Record ``execution`` (a run of ``flow``) into ``store`` as it goes."""
    rec = Recorder(store, execution, flow_text=flow.dumps(),
                   flow_file=str(Path(flow.source).resolve()) if flow.source else None, source=source)
    execution.listeners.append(rec)
    if execution.budget is not None:  # spend is kept where the run is: caps hold across processes
        execution.budget.store = store
    return rec
