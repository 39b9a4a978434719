"""The browser's pointer and key events, handed on in the order the user gave them.

ipykernel 7 dispatches a comm message at once while the shell's lock is held (so a widget can answer
a cell that waits on it), and a message that found the lock free may still be waiting inside its
dispatch: a later message can overtake an earlier one by a few milliseconds. Seen on the canvas
under load: the press of a Shift-drag reached the kernel before the helper's note of the Shift key,
so the box selection became a pan and the Shift stuck to the next click.

So the DOM helper (:mod:`nbflow.widget.dom`) sends every event itself, numbered per view (``view``: a
random id per render, so a reload or a second view of one editor counts from 1 on its own), and
:class:`InputOrder` hands them on by number. One that arrives early waits for those before it, for
``wait`` seconds at most: a message lost on the way is skipped, never waited on forever. One that
arrives after it was skipped is handed on late, except a pointer move (a later position already
went through).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InputOrder"]

#: Events that only say where the pointer is: dropped when they come after a later one was handed on.
_POSITIONS = frozenset({"move", "drag"})


@dataclass
class InputOrder:
    """Re-orders numbered helper messages (``{"view": str, "seq": int, ...}``) before ``deliver``.

    ``later(delay, fn)`` runs ``fn`` after ``delay`` seconds on the kernel's loop (once per pending
    call: the editor's coalescing ``_later``).
    """

    deliver: Callable[[dict[str, Any]], None]
    later: Callable[[float, Callable[[], None]], None]
    wait: float = 0.25
    _next: dict[str, int] = field(default_factory=dict)
    _held: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def push(self, msg: dict[str, Any]) -> None:
        view, seq = str(msg.get("view", "")), int(msg.get("seq", 0))
        expected = self._next.setdefault(view, 1)
        if seq < expected:  # skipped while it was on its way
            if msg.get("event") not in _POSITIONS:
                self.deliver(msg)
            return
        if seq > expected:
            self._held.setdefault(view, {})[seq] = msg
            self.later(self.wait, self.flush)
            return
        self._next[view] = seq + 1
        self.deliver(msg)
        self._drain(view)

    @property
    def held(self) -> int:
        """How many events wait for one before them."""
        return sum(len(h) for h in self._held.values())

    def flush(self) -> None:
        """Give up on the missing events: hand on what waits, from the lowest number."""
        for view in list(self._held):
            held = self._held[view]
            if held:
                self._next[view] = min(held)
                self._drain(view)

    def _drain(self, view: str) -> None:
        held = self._held.get(view)
        while held and self._next[view] in held:
            msg = held.pop(self._next[view])
            self._next[view] += 1
            self.deliver(msg)
        if not held:
            self._held.pop(view, None)
