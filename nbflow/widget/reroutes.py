"""Reroute points on wires: add one (double-click a wire, its menu, or R), drag it, delete it.

A view-model mixin; plain Python, no Jupyter import. The points are layout
(``flow.spec.layout.wires[].via``): a wire is drawn through them in order, and runs never see them.
Each change is one undo step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from nbflow.model.spec import LayoutSpec, Position, WireLayout
from nbflow.widget.geometry import bezier_points, segment_distance

if TYPE_CHECKING:
    from collections.abc import Callable

    from nbflow.flow import Flow
    from nbflow.widget.frames import FrameHold
    from nbflow.widget.geometry import EdgeGeom, View
    from nbflow.widget.layers import Hit, Layer

__all__ = ["POINT_R", "RerouteActions", "nearest_segment"]

#: Radius of a reroute dot (world units), and how near (screen pixels) a click still takes it.
POINT_R = 5.0
POINT_HIT = 9.0

_ALL: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "minimap", "overlay"))
_SELECTION: frozenset[Layer] = frozenset(("edges", "nodes", "overlay"))
_NONE: frozenset[Layer] = frozenset()


def nearest_segment(e: EdgeGeom, wx: float, wy: float) -> tuple[int, float]:
    """``(index, distance)`` of the stretch of wire ``e`` nearest to world point (wx, wy)."""
    best = (0, math.inf)
    for k, seg in enumerate(e.segments()):
        pts = bezier_points(*seg)
        d = min(segment_distance(wx, wy, *pts[i], *pts[i + 1]) for i in range(len(pts) - 1))
        if d < best[1]:
            best = (k, d)
    return best


class RerouteActions:
    """Add, move and delete reroute points (mixed into the view model)."""

    selected_point: tuple[tuple[str, str], int] | None = None

    if TYPE_CHECKING:
        flow: Flow
        view: View
        selection: dict[str, None]
        selected_edge: tuple[str, str] | None
        selected_frame: str | None
        mouse: tuple[float, float]
        snap: bool

        @property
        def edges(self) -> list[EdgeGeom]: ...
        def edit(self, label: str, fn: Callable[[], Any]) -> Any: ...
        def say(self, message: str, level: Any = "info") -> None: ...
        def snapped(self, v: float) -> float: ...
        def _live(self, hold: FrameHold, change: Callable[[LayoutSpec, LayoutSpec], None],
                  wires: tuple[tuple[str, str], ...] = ()) -> None: ...

    def hit_point(self, wx: float, wy: float) -> Hit | None:
        """The reroute point under world point (wx, wy), if any."""
        from nbflow.widget.layers import Hit

        r = max(POINT_R, POINT_HIT / self.view.zoom)
        for e in self.edges:
            for j, (px, py) in enumerate(e.via):
                if abs(px - wx) <= r and abs(py - wy) <= r:
                    return Hit("point", edge=(e.src, e.dst), index=j)
        return None

    def _geom(self, edge: tuple[str, str]) -> EdgeGeom | None:
        return next((e for e in self.edges if (e.src, e.dst) == edge), None)

    def _set_via(self, edge: tuple[str, str], via: list[tuple[float, float]]) -> None:
        lay = self.flow.spec.layout.model_copy(deep=True)
        keep = [w for w in lay.wires if (w.from_, w.to) != edge]
        if via:
            keep.append(WireLayout.model_validate(
                {"from": edge[0], "to": edge[1], "via": [Position(x=x, y=y) for x, y in via]}))
        lay.wires = keep
        self.flow.set_layout(lay)

    def add_point(self, edge: tuple[str, str] | None = None,
                  at: tuple[float, float] | None = None) -> frozenset[Layer]:
        """A reroute point on ``edge`` (default: the selected wire) at world point ``at`` (default: the
        pointer when it is near the wire, else the middle of the wire's longest stretch); it is put
        between the points it lies between. One undo step; the new point is selected."""
        edge = edge or self.selected_edge
        e = self._geom(edge) if edge is not None else None
        if edge is None or e is None:
            self.say("select a wire to add a reroute point to")
            return _NONE
        if at is None:
            wx, wy = self.view.to_world(*self.mouse)
            k, d = nearest_segment(e, wx, wy)
            if d > 12.0 / self.view.zoom:
                segs = e.segments()
                k = max(range(len(segs)), key=lambda i: math.dist(segs[i][:2], segs[i][2:]))
                wx, wy = bezier_points(*segs[k], n=2)[1]
        else:
            wx, wy = at
            k, _ = nearest_segment(e, wx, wy)
        if self.snap:
            wx, wy = self.snapped(wx), self.snapped(wy)
        via = list(e.via)
        via.insert(k, (float(round(wx)), float(round(wy))))
        self.edit("add reroute point", lambda: self._set_via(edge, via))
        self.selected_point = (edge, k)
        self.selection, self.selected_edge, self.selected_frame = {}, None, None
        self.say(f"added a reroute point on {edge[0]} -> {edge[1]}")
        return _ALL

    def delete_point(self) -> frozenset[Layer]:
        """Delete the selected reroute point (the wire stays). One undo step."""
        sp = self.selected_point
        e = self._geom(sp[0]) if sp is not None else None
        if sp is None or e is None or sp[1] >= len(e.via):
            self.say("select a reroute point to delete")
            return _NONE
        edge, j = sp
        via = [p for i, p in enumerate(e.via) if i != j]
        self.edit("delete reroute point", lambda: self._set_via(edge, via))
        self.selected_point = None
        self.say(f"deleted a reroute point of {edge[0]} -> {edge[1]}")
        return _ALL

    def clear_points(self, edge: tuple[str, str]) -> frozenset[Layer]:
        """Take every reroute point off a wire (one undo step)."""
        self.edit("straighten wire", lambda: self._set_via(edge, []))
        self.selected_point = None
        self.say(f"straightened {edge[0]} -> {edge[1]}")
        return _ALL

    def select_point(self, edge: tuple[str, str], index: int) -> frozenset[Layer]:
        self.selected_point = (edge, index)
        self.selection, self.selected_edge, self.selected_frame = {}, None, None
        return _SELECTION

    def drag_point(self, hold: FrameHold, wx: float, wy: float) -> frozenset[Layer]:
        """Move the held reroute point to world point (wx, wy) (a drag step: no undo step yet)."""
        sp = self.selected_point
        if sp is None:
            return _NONE
        (src, dst), j = sp
        if self.snap:
            wx, wy = self.snapped(wx), self.snapped(wy)

        def change(_start: LayoutSpec, lay: LayoutSpec) -> None:
            for w in lay.wires:
                if (w.from_, w.to) == (src, dst) and j < len(w.via):
                    w.via[j] = Position(x=float(round(wx)), y=float(round(wy)))

        self._live(hold, change, ((src, dst),))
        return _ALL
