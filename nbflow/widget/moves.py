"""Moving a selection of nodes and frames: box select, the move drag, the drop. Plain Python.

A selection box takes the nodes it touches and the frames wholly inside it (as ComfyUI/LiteGraph do
with groups); Shift- or Ctrl-click on a frame's title bar adds it or takes it out. Dragging a selected
node, or a frame's title bar, lifts everything that moves: the selected nodes, the selected frames
(the one grabbed too) with the nodes whose centre is inside them, the frames inside them and their
reroute points. Every drag of that kind is one ``"move"`` drag: without the browser's helper the
overlay draws it, with it the browser moves a sprite (:mod:`nbflow.widget.liftdrag`); the release
commits one undoable move. Deleting the selection deletes its nodes and its frames; a frame's members
go only when they are selected too (ComfyUI: deleting a group keeps its nodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nbflow.model.spec import FrameSpec, LayoutSpec, Position
from nbflow.widget.frames import FrameHold, frame_members

if TYPE_CHECKING:
    from collections.abc import Callable

    from nbflow.flow import Flow
    from nbflow.widget.geometry import EdgeGeom, NodeBox, View
    from nbflow.widget.layers import Hit, Layer

__all__ = ["Drag", "MoveActions", "count"]

_ALL: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "minimap", "overlay"))
_SELECTION: frozenset[Layer] = frozenset(("edges", "nodes", "overlay"))


@dataclass(slots=True)
class Drag:
    """A drag in progress: moving the selection, panning, a selection box, the minimap, a wire, a
    frame's corner or a reroute point.

    ``x, y`` is the grabbed thing's new top-left (move: the grabbed node, or the grabbed frame when
    ``node`` is None; ``origin`` is where it was), the box's far corner (box, screen pixels) or the
    wire's loose end (wire). A move holds where each moved node (``starts``) and frame (``frames``)
    was, and the reroute points it carries (``points``: wire index, point index).
    """

    mode: Literal["move", "pan", "wire", "box", "minimap", "frame", "resize", "point"]
    sx: float
    sy: float
    node: str | None = None
    port: str | None = None
    grab_dx: float = 0.0
    grab_dy: float = 0.0
    x: float = 0.0
    y: float = 0.0
    ox0: float = 0.0
    oy0: float = 0.0
    moved: bool = False
    target: Hit | None = None
    reason: str | None = None
    starts: dict[str, tuple[float, float]] = field(default_factory=dict)
    add: bool = False
    hold: FrameHold | None = None  # a frame's corner or a reroute point being dragged
    frame: str | None = None  # the frame whose title bar was grabbed
    frames: dict[str, tuple[float, float]] = field(default_factory=dict)
    points: list[tuple[int, int]] = field(default_factory=list)
    origin: tuple[float, float] = (0.0, 0.0)

    @property
    def delta(self) -> tuple[float, float]:
        """How far a move has taken what it moves (world units)."""
        return self.x - self.origin[0], self.y - self.origin[1]


def count(nodes: int, frames: int) -> str:
    """``"2 nodes"``, ``"1 node and 1 frame"``, ``"2 frames"``."""
    parts = [f"{n} {what}{'s' if n > 1 else ''}" for n, what in ((nodes, "node"), (frames, "frame")) if n]
    return " and ".join(parts)


class MoveActions:
    """Box select, frames in the selection, the move drag and its drop (mixed into the view model)."""

    # the frames selected with the nodes, and the selection dict they were selected with: a new
    # selection (any code that assigns ``selection``) lets them go without each place saying so
    _frame_sel: tuple[dict[str, None], list[str]] = ({}, [])

    if TYPE_CHECKING:
        flow: Flow
        view: View
        selection: dict[str, None]
        selected_edge: tuple[str, str] | None
        selected_frame: str | None
        selected_point: Any
        snap: bool
        drag: Drag | None

        @property
        def boxes(self) -> dict[str, NodeBox]: ...
        @property
        def edges(self) -> list[EdgeGeom]: ...
        def edit(self, label: str, fn: Callable[[], Any]) -> Any: ...
        def say(self, message: str, level: Any = "info") -> None: ...
        def select(self, ids: list[str] | set[str], *, add: bool = False) -> frozenset[Layer]: ...
        def select_frame(self, frame_id: str | None) -> frozenset[Layer]: ...
        def frame(self, frame_id: str) -> FrameSpec | None: ...

    # -- frames in the selection ------------------------------------------------------------------

    @property
    def selected_frames(self) -> list[str]:
        """The frames selected together with the selected nodes (box select, Shift-click a title bar)."""
        owner, frames = self._frame_sel
        return [f for f in frames if self.frame(f) is not None] if owner is self.selection else []

    def select_frames(self, ids: list[str], *, add: bool = False) -> None:
        """Put frames into the current selection (replacing the frames in it unless ``add``)."""
        old = self.selected_frames if add else []
        self.selected_frame = None
        self._frame_sel = (self.selection, [*old, *(i for i in ids if i not in old)])

    def toggle_frame(self, frame_id: str) -> frozenset[Layer]:
        """Shift- or Ctrl-click on a title bar: the frame joins the selection, or leaves it."""
        frames = self.selected_frames
        if self.selected_frame is not None and self.selected_frame not in frames:
            frames.append(self.selected_frame)  # the frame selected alone joins the selection
        frames = [f for f in frames if f != frame_id] if frame_id in frames else [*frames, frame_id]
        self.selected_edge = self.selected_point = None
        self.select_frames(frames)
        return _SELECTION

    # -- box select -------------------------------------------------------------------------------

    def box_rect(self) -> tuple[float, float, float, float] | None:
        """The selection box being drawn, ``(x0, y0, x1, y1)`` in screen pixels."""
        d = self.drag
        if d is None or d.mode != "box" or not d.moved:
            return None
        return min(d.sx, d.x), min(d.sy, d.y), max(d.sx, d.x), max(d.sy, d.y)

    def _box_select(self, d: Drag) -> frozenset[Layer]:
        x0, y0 = self.view.to_world(min(d.sx, d.x), min(d.sy, d.y))
        x1, y1 = self.view.to_world(max(d.sx, d.x), max(d.sy, d.y))
        inside = [b.id for b in self.boxes.values()
                  if b.x < x1 and b.x + b.w > x0 and b.y < y1 and b.y + b.h > y0]
        frames = [f.id for f in self.flow.spec.layout.frames
                  if x0 <= f.x and f.x + f.w <= x1 and y0 <= f.y and f.y + f.h <= y1]
        self.select(inside, add=d.add)
        self.select_frames(frames, add=d.add)
        n, k = len(self.selection), len(self.selected_frames)
        self.say(f"{n} nodes selected" if not k else f"{count(n, k)} selected")
        return _SELECTION

    # -- the move drag ----------------------------------------------------------------------------

    def start_move(self, sx: float, sy: float, *, node: str | None = None, frame: str | None = None) -> Drag:
        """A move drag grabbing ``node`` (or ``frame``'s title bar) at canvas pixel (sx, sy): it moves
        the selected nodes, the selected frames and ``frame``, and what those frames hold."""
        boxes, lay = self.boxes, self.flow.spec.layout
        frames = dict.fromkeys([*self.selected_frames, *([frame] if frame else [])])
        nodes = dict.fromkeys(i for i in self.selection if i in boxes)
        points: dict[tuple[int, int], None] = {}
        for f in [f for f in lay.frames if f.id in frames]:
            inner_nodes, inner_frames, inner_points = frame_members(self.flow.spec, boxes, f)
            nodes.update(dict.fromkeys(inner_nodes))
            frames.update(dict.fromkeys(inner_frames))
            points.update(dict.fromkeys(inner_points))
        grabbed = self.frame(frame) if node is None and frame is not None else None
        ax, ay = (grabbed.x, grabbed.y) if grabbed is not None else (boxes[node].x, boxes[node].y) if node else (0, 0)
        wx, wy = self.view.to_world(sx, sy)
        return Drag("move", sx, sy, node=node, frame=frame, grab_dx=wx - ax, grab_dy=wy - ay, x=ax, y=ay,
                    starts={i: (boxes[i].x, boxes[i].y) for i in nodes},
                    frames={f.id: (f.x, f.y) for f in lay.frames if f.id in frames}, points=list(points),
                    origin=(ax, ay))

    def press_frame(self, h: Hit, sx: float, sy: float, *, toggle: bool) -> frozenset[Layer]:
        """Press on a frame's title bar: select it (``toggle``: add it to the selection or take it out)
        and get ready to move it with what it holds (and, when it is part of the selection, the rest)."""
        fid = h.frame or ""
        if toggle:
            redraw = self.toggle_frame(fid)
        elif fid in self.selected_frames:
            redraw = frozenset()
        else:
            redraw = self.select_frame(fid)
        if fid in self.selected_frames or self.selected_frame == fid:
            self.drag = self.start_move(sx, sy, frame=fid)
        return redraw

    def move_by(self, dx: float, dy: float) -> frozenset[Layer]:
        """Move the selection with its frames, or the frame selected alone with what it holds, by
        (dx, dy) world units as one undo step (the arrow keys)."""
        d = self.start_move(0.0, 0.0, frame=self.selected_frame)
        d.x, d.y = d.origin[0] + dx, d.origin[1] + dy
        return self.drop_move(d)

    @property
    def lifted_frames(self) -> frozenset[str]:
        """The frames being moved (drawn with the dragged nodes, left out of the lower layers)."""
        d = self.drag
        return frozenset(d.frames) if d is not None and d.mode == "move" and d.moved else frozenset()

    def lifted_points(self) -> dict[tuple[str, str], set[int]]:
        """The reroute points being moved: wire ``(from, to)`` -> point indices."""
        d = self.drag
        if d is None or d.mode != "move" or not d.moved:
            return {}
        wires = self.flow.spec.layout.wires
        out: dict[tuple[str, str], set[int]] = {}
        for i, j in d.points:
            if i < len(wires):
                out.setdefault((wires[i].from_, wires[i].to), set()).add(j)
        return out

    def dragged_frames(self) -> list[FrameSpec]:
        """The moved frames at their current place (empty when nothing is being moved)."""
        d = self.drag
        if d is None or d.mode != "move" or not d.moved:
            return []
        dx, dy = d.delta
        return [f.model_copy(update={"x": f.x + dx, "y": f.y + dy}) for f in self.flow.spec.layout.frames
                if f.id in d.frames]

    def dragged_edges(self, moved: list[NodeBox]) -> list[EdgeGeom]:
        """The wires of the moved nodes (``moved``: their boxes now) and of the moved reroute points,
        bent to where those are now."""
        from nbflow.widget.geometry import EdgeGeom

        d = self.drag
        dx, dy = d.delta if d is not None else (0.0, 0.0)
        ids, points = {b.id for b in moved}, self.lifted_points()
        out = []
        for e in self.edges:
            ms, md, idx = e.src_node in ids, e.dst_node in ids, points.get((e.src, e.dst), set())
            if ms or md or idx:
                via = tuple((x + dx, y + dy) if j in idx else (x, y) for j, (x, y) in enumerate(e.via))
                out.append(EdgeGeom(e.src, e.dst, e.src_node, e.dst_node, e.type, e.x1 + dx * ms, e.y1 + dy * ms,
                                    e.x2 + dx * md, e.y2 + dy * md, e.ok, via))
        return out

    def drop_move(self, d: Drag) -> frozenset[Layer]:
        """Release of a move: the nodes, frames and reroute points it carried, moved as one undo step."""
        dx, dy = d.delta
        moves = {i: (float(round(x + dx)), float(round(y + dy))) for i, (x, y) in d.starts.items()}

        def shift(lay: LayoutSpec) -> None:
            for f in lay.frames:
                if f.id in d.frames:
                    f.x, f.y = float(round(d.frames[f.id][0] + dx)), float(round(d.frames[f.id][1] + dy))
            for i, j in d.points:
                p = lay.wires[i].via[j]
                lay.wires[i].via[j] = Position(x=p.x + round(dx), y=p.y + round(dy))

        def do() -> None:
            if not (d.frames or d.points):
                for i, (x, y) in moves.items():
                    self.flow.move(i, x, y)
                return
            lay = self.flow.spec.layout.model_copy(deep=True)  # with frames: the flow is told once
            for i, (x, y) in moves.items():
                lay.nodes[i] = Position(x=x, y=y)
            shift(lay)
            self.flow.set_layout(lay)

        n, k = len(moves), len(d.frames)
        if d.frame is not None and d.frame == self.selected_frame:  # a frame selected alone
            label = "move frame"
            self.say(label + (f" with {n} node{'s' if n > 1 else ''}" if n else ""))
        else:
            label = "move node" if n == 1 and not k else f"move {count(n, k)}"
            if k:
                self.say(label)
        self.edit(label, do)
        return _ALL
