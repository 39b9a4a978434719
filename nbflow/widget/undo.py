"""Undo and redo by snapshots of the flow spec, and a throttle for mouse moves.

Snapshots rather than inverse commands: every edit (add, delete, wire, move, params, rename, import)
is undone exactly, including the order of nodes in the file, so an undone flow exports byte for
byte as before. A snapshot of a 500-node flow costs a few milliseconds, paid once per edit, never
per mouse move.

A step may also carry files it changed (a loop, map or subflow body kept in its own file and edited in
place): undo puts each file's earlier bytes back and redo the later ones, and either leaves a file
alone that changed on disk since, saying so, so no content the user wrote elsewhere is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from nbflow.model.spec import FlowSpec

__all__ = ["FileChange", "History", "Throttle"]


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file an edit rewrote: its bytes before and after, and the visit (an opened body) it belongs to."""

    path: Path
    before: bytes
    after: bytes
    visit: int = 0

    def put(self, back: bool) -> str:
        """Write the earlier (``back``) or the later bytes; what happened, for the message line."""
        want, expect = (self.before, self.after) if back else (self.after, self.before)
        try:
            if self.path.read_bytes() != expect:
                return f"{self.path.name} changed on disk since, so it is left as it is"
            self.path.write_bytes(want)
        except OSError as exc:
            return f"cannot write {self.path.name}: {exc.strerror or exc}"
        return f"{self.path.name} is back as it was" if back else f"{self.path.name} is rewritten"


@dataclass(frozen=True, slots=True)
class _Step:
    label: str
    spec: FlowSpec
    files: tuple[FileChange, ...] = ()

    def put(self, back: bool) -> str:
        """The step's label, with what became of its files."""
        return "; ".join([self.label, *(f.put(back) for f in self.files)])


class History:
    """Two stacks of flow snapshots. ``push`` records the state before an edit."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._held = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        """Record no steps inside (a file edit records itself with :meth:`push_file`)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    def push(self, label: str, before: FlowSpec, files: tuple[FileChange, ...] = ()) -> None:
        """Record ``before`` (the spec as it was before the edit called ``label``); clears redo."""
        if self._held:
            return
        self._undo.append(_Step(label, before, files))
        if len(self._undo) > self.limit:
            del self._undo[0]
        self._redo.clear()

    def push_file(self, label: str, before: FlowSpec, change: FileChange) -> None:
        """Record a file rewrite; rewrites of one visit of the same file fold into one step."""
        top = self._undo[-1] if self._undo else None
        if top is not None and top.files and (top.files[0].visit, top.files[0].path) == (change.visit, change.path):
            self._undo[-1] = replace(top, files=(replace(top.files[0], after=change.after),))
            self._redo.clear()
            return
        self.push(label, before, (change,))

    def undo(self, current: FlowSpec) -> tuple[str, FlowSpec] | None:
        """The spec to go back to, given the current one (kept for redo); None when there is nothing.

        Files the step changed get their earlier bytes back (the label says so)."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(_Step(step.label, current, step.files))
        return step.put(back=True), step.spec

    def redo(self, current: FlowSpec) -> tuple[str, FlowSpec] | None:
        """The spec to go forward to; None when there is nothing to redo."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(_Step(step.label, current, step.files))
        return step.put(back=False), step.spec

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
