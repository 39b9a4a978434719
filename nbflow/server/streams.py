"""Per-run event logs for the server: every event of a run kept in order, followed by any number of
Server-Sent-Event streams, each able to start from the beginning or after the last id it saw.

A run's log stays after the run ends (the newest ``keep`` logs are kept), so a client that connects
late still gets the whole story; a resumed run appends to the same log.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from nbflow.model.events import Event

__all__ = ["EventLog", "EventLogs", "sse_frame"]

#: Streamed partial values can be many; past this many events a run's log drops further partials.
MAX_EVENTS = 5000


def sse_frame(event_id: int | None, kind: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event (JSON data on one line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


class EventLog:
    """The events of one run, in order."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.events: list[dict[str, Any]] = []
        self.done = False
        self.dropped = 0
        self._waiters: list[asyncio.Future[None]] = []

    def append(self, ev: Event) -> None:
        """A listener: add one engine event."""
        if ev.kind == "partial" and len(self.events) >= MAX_EVENTS:
            self.dropped += 1
            return
        self.events.append(ev.to_json())
        if ev.kind == "run_finished":
            self.done = True
        self._wake()

    def reopen(self) -> None:
        """The run continues (a resume): followers wait for more again."""
        self.done = False

    def close(self) -> None:
        """No more events will come (the run ended without a run_finished event)."""
        self.done = True
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def follow(self, start: int = 0, *,
                     heartbeat: float = 15.0) -> AsyncIterator[tuple[int, dict[str, Any]] | None]:
        """Yield ``(index, event)`` from ``start`` on until the run ends; ``None`` as a heartbeat
        after ``heartbeat`` quiet seconds."""
        i = max(0, start)
        while True:
            while i < len(self.events):
                yield i, self.events[i]
                i += 1
            if self.done:
                return
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(asyncio.shield(fut), heartbeat)
            except asyncio.TimeoutError:
                yield None


class EventLogs:
    """Logs by run id; the oldest finished logs are forgotten past ``keep``."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self._logs: OrderedDict[str, EventLog] = OrderedDict()

    def get(self, run_id: str) -> EventLog | None:
        return self._logs.get(run_id)

    def open(self, run_id: str) -> EventLog:
        """The run's log (a new one, or the existing one reopened for a resume)."""
        log = self._logs.get(run_id)
        if log is None:
            log = self._logs[run_id] = EventLog(run_id)
        else:
            log.reopen()
            self._logs.move_to_end(run_id)
        self._trim()
        return log

    def _trim(self) -> None:
        extra = len(self._logs) - self.keep
        if extra <= 0:
            return
        for rid in [rid for rid, log in self._logs.items() if log.done][:extra]:
            del self._logs[rid]
