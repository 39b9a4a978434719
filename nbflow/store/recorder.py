"""Saving a run into a store while it runs: an event listener bound to one execution.

The engine emits typed events; this listener turns the ones that change durable state into store
writes: the run's row when it starts, a node's record the moment it finishes (so a killed process
loses only the nodes that were still running), a pending approval when a node pauses, and the
final status when the run ends. A store that fails to write (a full disk) never breaks the run:
the first error is kept on ``errors`` and reported once through ``warn``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbflow.engine.events import Event
from nbflow.exceptions import StoreError

from .base import Approval, RunStore

if TYPE_CHECKING:
    from nbflow.engine.scheduler import Execution

__all__ = ["Recorder"]

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

    def _handle(self, ev: Event) -> None:
        ex = self.execution
        store = self.store
        if ev.kind == "run_started":
            store.record_start(ex.result, flow_text=self.flow_text, flow_file=self.flow_file,
                               source=self.source)
        elif ev.kind == "run_finished":
            store.record_finish(ex.result)
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
