"""Typed run events, shared by the canvas, CLI progress, the server's event stream and the store.

Every event has a ``kind``; node events carry the node id. ``data`` holds small JSON-able details
(the error message, the retry delay, a partial text...), never secrets and never raw media bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["EVENT_KINDS", "Event", "EventKind", "Listener"]

EventKind = Literal[
    "run_started",     # data: flow, inputs (names)
    "node_queued",     # the node's inputs are ready; waiting for a concurrency slot
    "node_started",    # data: attempt
    "progress",        # data: fraction, message
    "partial",         # data: port, value (e.g. streamed text so far)
    "output",          # data: outputs (JSON-safe summary)
    "cached",          # the node's outputs came from the cache
    "pinned",          # the node's outputs came from its pin (use_pins)
    "skipped",         # data: reason (branch not taken, upstream failed)
    "retry",           # data: attempt, delay, error
    "fallback",        # data: to (node id), error
    "failed",          # data: error, attempts, status
    "paused",          # data: reason, prompt (approval)
    "node_finished",   # data: status, duration
    "run_finished",    # data: status, duration, usage, cost
]

EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a run."""

    kind: EventKind
    run_id: str
    node_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "run_id": self.run_id, "time": round(self.time, 6)}
        if self.node_id is not None:
            out["node_id"] = self.node_id
        if self.data:
            out["data"] = self.data
        return out


#: A function called with each event, in order, on the event loop's thread.
Listener = Callable[[Event], Any]
