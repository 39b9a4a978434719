"""Undo and redo by snapshots of the flow spec, and a throttle for mouse moves.

Snapshots rather than inverse commands: every edit (add, delete, wire, move, params, rename, import)
is undone exactly, including the order of nodes in the file, so an undone flow exports byte for
byte as before. A snapshot of a 500-node flow costs a few milliseconds, paid once per edit, never
per mouse move.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nbflow.model.spec import FlowSpec

__all__ = ["History", "Throttle"]


@dataclass(frozen=True, slots=True)
class _Step:
    label: str
    spec: FlowSpec


class History:
    """Two stacks of flow snapshots. ``push`` records the state before an edit."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []

    def push(self, label: str, before: FlowSpec) -> None:
        """Record ``before`` (the spec as it was before the edit called ``label``); clears redo."""
        self._undo.append(_Step(label, before))
        if len(self._undo) > self.limit:
            del self._undo[0]
        self._redo.clear()

    def undo(self, current: FlowSpec) -> tuple[str, FlowSpec] | None:
        """The spec to go back to, given the current one (kept for redo); None when there is nothing."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(_Step(step.label, current))
        return step.label, step.spec

    def redo(self, current: FlowSpec) -> tuple[str, FlowSpec] | None:
        """The spec to go forward to; None when there is nothing to redo."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(_Step(step.label, current))
        return step.label, step.spec

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def labels(self) -> tuple[list[str], list[str]]:
        """Labels of the undo and redo stacks, oldest first (for tests and tooltips)."""
        return [s.label for s in self._undo], [s.label for s in self._redo]


class Throttle:
    """Lets a call through at most once per ``interval`` seconds; the latest skipped value is kept.

    Mouse moves arrive from the browser at the screen's refresh rate; the canvas handles at most
    one per interval and keeps the last skipped position, which the next handled event (or the
    mouse-up) makes good, so no movement is lost.
    """

    def __init__(self, interval: float = 1 / 60, clock: Callable[[], float] = time.perf_counter) -> None:
        self.interval = interval
        self.clock = clock
        self._last = float("-inf")
        self.pending: tuple[float, float] | None = None
        self.passed = 0
        self.dropped = 0

    def __call__(self, x: float, y: float) -> bool:
        """Whether to handle this move now; when not, (x, y) is kept in ``pending``."""
        now = self.clock()
        if now - self._last >= self.interval:
            self._last = now
            self.pending = None
            self.passed += 1
            return True
        self.pending = (x, y)
        self.dropped += 1
        return False

    def reset(self) -> None:
        """Forget the timing (e.g. on mouse down, so the first move of a drag is handled)."""
        self._last = float("-inf")
        self.pending = None
