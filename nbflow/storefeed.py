"""A run another process executes, told as events from its record in the shared store.

When a run executes elsewhere (a Dask worker, another server replica), the only place this process
sees it progress is the run store: the worker records each node as it finishes. :class:`StoreFeed`
polls that record and turns what changed into the same typed events the engine emits: ``run_started``
once a worker holds the run, ``failed``/``paused``/``node_finished`` per node record, and
``run_finished`` when the run stops running. Node-level only: a remote run's partial values, retries
and ``node_started`` are not in the store, so they are not told.
"""

from __future__ import annotations

import time
from typing import Any

from nbflow.model.events import Event
from nbflow.store.runstore import RunStore

__all__ = ["StoreFeed", "finished_event"]


def finished_event(store: RunStore, run_id: str) -> Event:
    """The ``run_finished`` event of a run as its record says it ended."""
    s = store.summary(run_id)
    data: dict[str, Any] = {"status": s.status, "duration": s.duration, "usage": s.usage, "cost": s.cost}
    if s.error:
        data["error"] = s.error
    return Event("run_finished", run_id, None, data)


class StoreFeed:
    """Events of one run from its record, each told once.

    Args:
        store: the store the run is recorded in.
        run_id: the run.
        accepted_by: the owner id that accepted the run; ``run_started`` is told once another owner
            (the worker) holds its lease, or a node has been recorded.
    """

    def __init__(self, store: RunStore, run_id: str, *, accepted_by: str | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self.accepted_by = accepted_by
        self.started = False
        self.worker: str | None = None
        """The owner id of the process that ran it, once seen."""
        self._told: dict[str, str] = {}

    def poll(self) -> list[Event]:
        """What changed since the last poll (never ``run_finished``: see :func:`finished_event`)."""
        out: list[Event] = []
        nodes = self.store.node_states(self.run_id)
        if not self.started:
            lease = self.store.lease(self.run_id)
            if lease is not None and lease.owner != self.accepted_by:
                self.worker = lease.owner
            if self.worker is not None or nodes:
                self.started = True
                data = {"worker": self.worker} if self.worker else {}
                out.append(Event("run_started", self.run_id, None, data))
        for node in nodes:
            nid, status = node["id"], node["status"]
            if self._told.get(nid) == status or status in ("pending", "queued", "running"):
                continue
            self._told[nid] = status
            out.extend(self._node_events(node))
        return out

    def _node_events(self, node: dict[str, Any]) -> list[Event]:
        nid, status, now = node["id"], node["status"], time.time()
        if status == "paused":
            return [Event("paused", self.run_id, nid, {"reason": node.get("reason", "")}, now)]
        events = []
        if status == "failed":
            error = node.get("error") or {}
            message = error.get("message", "") if isinstance(error, dict) else str(error)
            events.append(Event("failed", self.run_id, nid, {"error": message}, now))
        events.append(Event("node_finished", self.run_id, nid, {"status": status}, now))
        return events
