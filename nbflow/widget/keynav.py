"""The canvas without a mouse: the plain (unmodified) keys of the view model.

``Tab`` / ``Shift+Tab`` select the next / previous node in reading order (top to bottom, then left to
right) and pan the view so it is in sight; the arrow keys move the selected nodes one grid step
(``Shift``: five steps), one undo step per press, or pan the view when nothing is selected;
``Shift+L`` / ``Shift+M`` group the selection into a loop / a map (``Ctrl+G``: a subflow); and the
other single keys (fit, zoom, snap, auto-layout, search-to-add). A mixin
of the view model; plain Python, no Jupyter import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbflow.widget.layers import ALL_LAYERS
from nbflow.widget.style import GRID_SNAP

if TYPE_CHECKING:
    from collections.abc import Callable

    from nbflow.flow import Flow
    from nbflow.widget.geometry import NodeBox, View
    from nbflow.widget.layers import Layer

__all__ = ["ARROWS", "BIG_STEP", "KeyNav", "reading_order"]

#: Arrow key -> (dx, dy) in grid steps.
ARROWS: dict[str, tuple[int, int]] = {"ArrowLeft": (-1, 0), "ArrowRight": (1, 0), "ArrowUp": (0, -1),
                                      "ArrowDown": (0, 1)}
#: Grid steps an arrow moves with Shift held.
BIG_STEP = 5
_MARGIN = 24.0  # screen pixels kept between a node brought into view and the canvas edge


def reading_order(boxes: dict[str, NodeBox]) -> list[str]:
    """Node ids top to bottom, then left to right (nodes whose tops are within half a header of each
    other count as one row)."""
    ids = sorted(boxes, key=lambda i: (boxes[i].y, boxes[i].x, i))
    rows: list[list[str]] = []
    for i in ids:
        if rows and boxes[i].y - boxes[rows[-1][0]].y < 14:
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda n: (boxes[n].x, n))]


class KeyNav:
    """Tab through nodes, move them with the arrows, group by key (mixed into the view model)."""

    if TYPE_CHECKING:
        flow: Flow
        view: View
        selection: dict[str, None]
        mouse: tuple[float, float]

        @property
        def boxes(self) -> dict[str, NodeBox]: ...
        @property
        def focus(self) -> str | None: ...
        def set_focus(self, node_id: str | None) -> None: ...
        def edit(self, label: str, fn: Callable[[], Any]) -> Any: ...
        def say(self, message: str, level: Any = "info") -> None: ...
        def select(self, ids: list[str] | set[str], *, add: bool = False) -> frozenset[Layer]: ...
        def group(self, kind: str = "subflow", item: str | None = None) -> frozenset[Layer]: ...
        def fit(self) -> frozenset[Layer]: ...
        def zoom(self, factor: float) -> frozenset[Layer]: ...
        def toggle_snap(self) -> frozenset[Layer]: ...
        def auto_layout(self) -> frozenset[Layer]: ...
        def open_search(self, sx: float, sy: float) -> frozenset[Layer]: ...
        def move_by(self, dx: float, dy: float) -> frozenset[Layer]: ...
        @property
        def selected_frames(self) -> list[str]: ...
        selected_frame: str | None

    def plain_key(self, key: str, shift: bool) -> frozenset[Layer]:
        """The keys without Ctrl: Tab, the arrows, Shift+L / Shift+M, ``F``, ``+``/``=``, ``-``, ``G``
        (snap), ``L`` (auto-layout) and ``/`` (search-to-add at the pointer)."""
        if key == "Tab":
            return self.cycle(back=shift)
        if key in ARROWS:
            dx, dy = ARROWS[key]
            return self.nudge(dx, dy, big=shift)
        k = key.lower()
        if shift and k in ("l", "m"):
            return self.group("loop" if k == "l" else "map")
        simple: dict[str, Callable[[], frozenset[Layer]]] = {
            "f": self.fit, "+": lambda: self.zoom(1.25), "=": lambda: self.zoom(1.25),
            "-": lambda: self.zoom(0.8), "g": self.toggle_snap, "l": self.auto_layout,
            "/": lambda: self.open_search(*self.mouse)}
        return simple[k]() if k in simple else frozenset()

    def cycle(self, *, back: bool = False) -> frozenset[Layer]:
        """Select the node after (``back``: before) the selected one in reading order; bring it into view."""
        order = reading_order(self.boxes)
        if not order:
            self.say("no nodes to select")
            return frozenset()
        cur = self.focus
        step = -1 if back else 1
        nid = order[(order.index(cur) + step) % len(order)] if cur in order else order[-1 if back else 0]
        self.select([nid])
        self.set_focus(nid)
        self.show(nid)
        self.say(f"selected {nid} ({order.index(nid) + 1} of {len(order)}; arrows move it)")
        return ALL_LAYERS

    def show(self, node_id: str) -> None:
        """Pan (no zoom change) so the node is inside the canvas, if it is not already."""
        b, v = self.boxes[node_id], self.view
        x0, y0 = v.to_screen(b.x, b.y)
        x1, y1 = v.to_screen(b.x + b.w, b.y + b.h)
        v.ox += _shift(x0, x1, v.width)
        v.oy += _shift(y0, y1, v.height)

    def nudge(self, dx: int, dy: int, *, big: bool = False) -> frozenset[Layer]:
        """Move the selected nodes (and frames) by (dx, dy) grid steps (one undo step); pan when nothing
        is selected."""
        step = GRID_SNAP * (BIG_STEP if big else 1)
        if self.selected_frames or self.selected_frame is not None:  # frames move with what they hold
            return self.move_by(dx * step, dy * step)
        ids = [i for i in self.selection if i in self.boxes]
        if not ids:
            self.view.ox -= dx * step * self.view.zoom
            self.view.oy -= dy * step * self.view.zoom
            return frozenset(("grid", "edges", "nodes", "minimap", "overlay"))
        boxes = self.boxes
        moves = {i: (boxes[i].x + dx * step, boxes[i].y + dy * step) for i in ids}

        def do() -> None:
            for i, (x, y) in moves.items():
                self.flow.move(i, float(x), float(y))

        self.edit("move node" if len(ids) == 1 else f"move {len(ids)} nodes", do)
        if len(ids) == 1:
            self.show(ids[0])
        return ALL_LAYERS


def _shift(lo: float, hi: float, size: float) -> float:
    """How far to pan so [lo, hi] lies inside [0, size]: nothing when it already does, else in with a
    margin (its start wins if it is too big)."""
    if lo >= 0 and hi <= size:
        return 0.0
    if lo < 0 or hi - lo > size - 2 * _MARGIN:
        return _MARGIN - lo
    return size - _MARGIN - hi
