"""Frames on the canvas: titled, coloured rectangles behind nodes (groups), with free text (comments).

A view-model mixin; plain Python, no Jupyter import. Frames are layout (``flow.spec.layout.frames``):
they name no nodes. Dragging a frame's title bar moves the frame, the nodes whose centre lies inside
it, the frames wholly inside it and the reroute points inside it (as a move of the selection, see
:mod:`nbflow.widget.moves`); its bottom-right corner resizes it.
Larger frames are drawn first, so a frame drawn around others never hides them, and the smallest frame
under the pointer is the one a click takes. Each change is one undo step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbflow.model.spec import FlowSpec, FrameSpec, LayoutSpec, Position, WireLayout, parse_ref
from nbflow.widget.geometry import edge_geoms

if TYPE_CHECKING:
    from collections.abc import Callable

    from nbflow.flow import Flow
    from nbflow.widget.geometry import EdgeGeom, NodeBox, View
    from nbflow.widget.layers import Hit, Layer
    from nbflow.widget.undo import History

__all__ = [
    "FRAME_COLORS",
    "FRAME_TITLE_H",
    "FrameActions",
    "FrameHold",
    "clip_layout",
    "frame_members",
    "frame_order",
    "paste_layout",
]

#: Height of a frame's title bar, and the side of its resize corner (world units).
FRAME_TITLE_H = 30.0
RESIZE = 18.0
MIN_W, MIN_H = 80.0, 50.0
#: Space kept around the nodes a new frame is drawn around.
PAD = 20.0
#: The colours a frame can take (name -> fill); the title bar is a darker shade of the fill.
FRAME_COLORS: dict[str, str] = {
    "blue": "#dbe4ff", "yellow": "#fff3bf", "green": "#d3f9d8", "red": "#ffe3e3",
    "purple": "#e5dbff", "grey": "#e9ecef",
}

_ALL: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "minimap", "overlay"))
_SELECTION: frozenset[Layer] = frozenset(("edges", "nodes", "overlay"))
_NONE: frozenset[Layer] = frozenset()


def frame_order(frames: list[FrameSpec]) -> list[FrameSpec]:
    """Drawing order: larger frames first (behind), ties in file order."""
    return sorted(frames, key=lambda f: -f.w * f.h)


def _inside(f: FrameSpec, x: float, y: float) -> bool:
    return f.x <= x <= f.x + f.w and f.y <= y <= f.y + f.h


def frame_members(spec: FlowSpec, boxes: dict[str, NodeBox], frame: FrameSpec) -> tuple[
        list[str], list[str], list[tuple[int, int]]]:
    """What moves with ``frame``: ``(node ids whose centre is inside, ids of frames wholly inside,
    (wire index, point index) of reroute points inside)``."""
    nodes = [b.id for b in boxes.values() if _inside(frame, b.x + b.w / 2, b.y + b.h / 2)]
    frames = [f.id for f in spec.layout.frames if f.id != frame.id and _inside(frame, f.x, f.y)
              and _inside(frame, f.x + f.w, f.y + f.h)]
    points = [(i, j) for i, w in enumerate(spec.layout.wires) for j, p in enumerate(w.via) if _inside(frame, p.x, p.y)]
    return nodes, frames, points


def clip_layout(spec: FlowSpec, boxes: dict[str, NodeBox], ids: list[str], frame_ids: list[str]) -> tuple[
        tuple[FrameSpec, ...], tuple[WireLayout, ...], list[str]]:
    """What a copy takes besides the nodes ``ids``: ``(frames, reroutes, nodes inside the frames)``.

    The selected frames (``frame_ids``) with the frames and nodes inside them, and the frames whose
    nodes are all copied (with the frames inside those). Reroute points go with wires whose both ends
    are copied.
    """
    frames = spec.layout.frames
    members = {f.id: frame_members(spec, boxes, f) for f in frames}
    top = [f.id for f in frames if f.id in frame_ids or (members[f.id][0] and set(members[f.id][0]) <= set(ids))]
    keep = set(top) | {inner for t in top for inner in members[t][1]}
    inside = [n for t in top for n in members[t][0]]
    nodes = set(ids) | set(inside)
    wires = tuple(w.model_copy(deep=True) for w in spec.layout.wires
                  if parse_ref(w.from_)[0] in nodes and parse_ref(w.to)[0] in nodes)
    return tuple(f.model_copy(deep=True) for f in frames if f.id in keep), wires, inside


def paste_layout(flow: Flow, frames: tuple[FrameSpec, ...], wires: tuple[WireLayout, ...], new: dict[str, str],
                 dx: float, dy: float) -> list[str]:
    """Add copies of ``frames`` (fresh ids) and of the reroute points of ``wires`` between pasted nodes
    (``new``: copied id -> pasted id), all moved by (dx, dy); returns the new frames' ids."""
    lay = flow.spec.layout.model_copy(deep=True)
    taken = {f.id for f in lay.frames}
    ids = []
    for f in frames:
        i = 1
        while f"frame_{i}" in taken:
            i += 1
        taken.add(f"frame_{i}")
        ids.append(f"frame_{i}")
        lay.frames.append(f.model_copy(update={"id": f"frame_{i}", "x": f.x + dx, "y": f.y + dy}))
    for w in wires:
        (a, ap), (b, bp) = parse_ref(w.from_), parse_ref(w.to)
        if a in new and b in new:
            lay.wires.append(WireLayout.model_validate({"from": f"{new[a]}.{ap}", "to": f"{new[b]}.{bp}", "via": [
                Position(x=p.x + dx, y=p.y + dy) for p in w.via]}))
    flow.set_layout(lay)
    return ids


@dataclass(slots=True)
class FrameHold:
    """A frame (or reroute point) being dragged: the flow as it was, and what moves with it."""

    before: FlowSpec
    frame: str | None = None
    nodes: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    points: list[tuple[int, int]] = field(default_factory=list)


class FrameActions:
    """Add, move, resize, edit and delete frames (mixed into the view model)."""

    selected_frame: str | None = None

    if TYPE_CHECKING:
        flow: Flow
        view: View
        history: History
        selection: dict[str, None]
        selected_edge: tuple[str, str] | None
        mouse: tuple[float, float]
        snap: bool
        drag: Any
        _edges: list[EdgeGeom]
        selected_point: Any
        _editing: int

        @property
        def boxes(self) -> dict[str, NodeBox]: ...
        def edit(self, label: str, fn: Callable[[], Any]) -> Any: ...
        def say(self, message: str, level: Any = "info") -> None: ...
        def snapped(self, v: float) -> float: ...
        def select_point(self, edge: tuple[str, str], index: int) -> frozenset[Layer]: ...
        def drag_point(self, hold: FrameHold, wx: float, wy: float) -> frozenset[Layer]: ...

    # -- reading ----------------------------------------------------------------------------------

    def frame(self, frame_id: str) -> FrameSpec | None:
        return next((f for f in self.flow.spec.layout.frames if f.id == frame_id), None)

    def hit_frame(self, wx: float, wy: float) -> Hit | None:
        """A frame's resize corner or title bar under world point (wx, wy), the smallest frame first."""
        from nbflow.widget.layers import Hit

        corner = max(RESIZE, 12.0 / self.view.zoom)
        bar = max(FRAME_TITLE_H, 14.0 / self.view.zoom)
        for f in reversed(frame_order(self.flow.spec.layout.frames)):
            if not _inside(f, wx, wy):
                continue
            if wx >= f.x + f.w - corner and wy >= f.y + f.h - corner:
                return Hit("resize", frame=f.id)
            if wy <= f.y + min(bar, f.h):
                return Hit("frame", frame=f.id)
        return None

    def frame_at(self, wx: float, wy: float) -> str | None:
        """The smallest frame around world point (wx, wy), if any."""
        for f in reversed(frame_order(self.flow.spec.layout.frames)):
            if _inside(f, wx, wy):
                return f.id
        return None

    # -- editing ----------------------------------------------------------------------------------

    def _new_frame_id(self) -> str:
        taken = {f.id for f in self.flow.spec.layout.frames}
        i = 1
        while f"frame_{i}" in taken:
            i += 1
        return f"frame_{i}"

    def _set_frames(self, change: Callable[[LayoutSpec], None]) -> None:
        lay = self.flow.spec.layout.model_copy(deep=True)
        change(lay)
        self.flow.set_layout(lay)

    def add_frame(self, *, comment: bool = False, at: tuple[float, float] | None = None) -> frozenset[Layer]:
        """A frame around the selected nodes, or (none selected, or ``comment``) a new frame at world
        point ``at`` (default: the pointer). One undo step; the new frame is selected."""
        ids = [i for i in self.selection if i in self.boxes] if not comment else []
        if ids:
            bs = [self.boxes[i] for i in ids]
            # room above the nodes for the title bar and one line of comment text
            x0, y0 = min(b.x for b in bs) - PAD, min(b.y for b in bs) - PAD - FRAME_TITLE_H - 10
            x1, y1 = max(b.x + b.w for b in bs) + PAD, max(b.y + b.h for b in bs) + PAD
        else:
            x0, y0 = at if at is not None else self.view.to_world(*self.mouse)
            if self.snap:
                x0, y0 = self.snapped(x0), self.snapped(y0)
            x1, y1 = x0 + (260.0 if comment else 320.0), y0 + (140.0 if comment else 220.0)
        fid = self._new_frame_id()
        frame = FrameSpec(id=fid, title="Comment" if comment else "Frame", x=round(x0), y=round(y0),
                          w=round(x1 - x0), h=round(y1 - y0),
                          text="Select this comment and write in the Params tab." if comment else "",
                          color=FRAME_COLORS["yellow" if comment else "blue"])
        what = "comment" if comment else "frame"
        self.edit(f"add {what}", lambda: self._set_frames(lambda lay: lay.frames.append(frame)))
        self.select_frame(fid)
        around = f" around {len(ids)} node{'s' if len(ids) > 1 else ''}" if ids else ""
        self.say(f"added {what} {fid}{around}")
        return _ALL

    def select_frame(self, frame_id: str | None) -> frozenset[Layer]:
        """Select a frame alone (nodes, other frames, wire and reroute point are let go)."""
        self.selected_frame = frame_id
        if frame_id is not None:
            self.selection, self.selected_edge = {}, None
            self.selected_point = None
        return _SELECTION

    def set_frame(self, frame_id: str, **fields: Any) -> None:
        """Change a frame's ``title``, ``text``, ``color`` (a name of :data:`FRAME_COLORS` or
        ``#rrggbb``) or geometry, as one undo step."""
        old = self.frame(frame_id)
        if old is None:
            self.say(f"no frame {frame_id!r}", "error")
            return
        if "color" in fields:
            fields["color"] = FRAME_COLORS.get(fields["color"], fields["color"])
        new = FrameSpec.model_validate({**old.model_dump(), **fields})  # a bad colour raises here, not later

        def change(lay: LayoutSpec) -> None:
            lay.frames = [new if f.id == frame_id else f for f in lay.frames]

        what = ", ".join(sorted(fields))
        self.edit(f"edit frame {what}", lambda: self._set_frames(change))
        self.say(f"{frame_id}: set {what}")

    def delete_frame(self, frame_id: str | None = None) -> frozenset[Layer]:
        """Delete a frame (the selected one by default); the nodes inside stay. One undo step."""
        fid = frame_id or self.selected_frame
        if fid is None or self.frame(fid) is None:
            self.say("select a frame to delete")
            return _NONE
        self.edit("delete frame", lambda: self._set_frames(
            lambda lay: setattr(lay, "frames", [f for f in lay.frames if f.id != fid])))
        self.selected_frame = None
        self.say(f"deleted frame {fid}")
        return _ALL

    def select_in_frame(self, frame_id: str | None = None) -> frozenset[Layer]:
        """Select the nodes inside a frame (the selected one by default)."""
        f = self.frame(frame_id or self.selected_frame or "")
        if f is None:
            return _NONE
        nodes, _, _ = frame_members(self.flow.spec, self.boxes, f)
        self.selected_frame = None
        self.selection, self.selected_edge = {i: None for i in nodes}, None
        self.say(f"{len(nodes)} nodes selected")
        return _SELECTION

    # -- dragging ---------------------------------------------------------------------------------


    def _live(self, hold: FrameHold, change: Callable[[LayoutSpec, LayoutSpec], None],
              wires: tuple[tuple[str, str], ...] = ()) -> None:
        """Show a drag step: ``change(start, now)`` sets the flow's layout in place from the one at the
        press. No copy, no version bump and no relayout per step: only the moved nodes' boxes and the
        wires touching them (or ``wires``) are worked out again (the release tells the flow, once)."""
        lay = self.flow.spec.layout
        change(hold.before.layout, lay)
        boxes = self.boxes
        for n in hold.nodes:
            p, b = lay.nodes.get(n), boxes.get(n)
            if p is not None and b is not None:
                boxes[n] = b.moved_to(p.x, p.y)
        moved = set(hold.nodes)
        keys = set(wires) | {(lay.wires[i].from_, lay.wires[i].to) for i, _ in hold.points}
        keys |= {(e.src, e.dst) for e in self._edges if e.src_node in moved or e.dst_node in moved}
        fresh = {(g.src, g.dst): g for g in edge_geoms(self.flow.spec, boxes, only=keys)}
        self._edges = [fresh.get((e.src, e.dst), e) for e in self._edges]

    def press_layout(self, h: Hit, sx: float, sy: float, drag: Callable[..., Any]) -> frozenset[Layer]:
        """Press on a reroute point or a frame's corner: select it, ready to drag (``drag`` makes the
        view model's drag record). A frame's title bar moves it as a selection does (:mod:`.moves`)."""
        if h.kind == "point" and h.edge is not None:
            self.select_point(h.edge, h.index)
            hold = FrameHold(self.flow.spec.model_copy(deep=True))
        else:
            self.select_frame(h.frame)
            hold = FrameHold(self.flow.spec.model_copy(deep=True), h.frame)
        self.drag = drag(h.kind, sx, sy, hold=hold)
        return _SELECTION

    def drag_layout(self, d: Any, sx: float, sy: float) -> frozenset[Layer]:
        """A step of a resize or reroute-point drag ``d`` (the view model's Drag)."""
        if d.mode == "point":
            return self.drag_point(d.hold, *self.view.to_world(sx, sy))
        z = self.view.zoom
        return self.resize_frame(d.hold, (sx - d.sx) / z, (sy - d.sy) / z)

    def resize_frame(self, hold: FrameHold, dx: float, dy: float) -> frozenset[Layer]:
        """Resize the held frame by (dx, dy) (its corner's drag; the nodes stay)."""
        if self.snap:
            dx, dy = self.snapped(dx), self.snapped(dy)
        dx, dy = float(round(dx)), float(round(dy))

        def change(start: LayoutSpec, lay: LayoutSpec) -> None:
            for f, f0 in zip(lay.frames, start.frames, strict=True):  # nothing else changes during a drag
                if f.id == hold.frame:
                    f.w, f.h = max(MIN_W, f0.w + dx), max(MIN_H, f0.h + dy)

        self._live(hold, change)
        return _ALL

    def let_go(self) -> None:
        """Drop the drag in progress (Escape); a frame or reroute-point drag puts back what it moved."""
        d, self.drag = self.drag, None
        hold = getattr(d, "hold", None)
        if isinstance(hold, FrameHold) and self.flow.spec.layout != hold.before.layout:
            self._editing += 1
            try:
                self.flow.set_layout(hold.before.layout.model_copy(deep=True))
            finally:
                self._editing -= 1

    def drop_layout(self, d: Any) -> frozenset[Layer]:
        """End a frame or reroute-point drag ``d``: one undo step when anything moved."""
        hold: FrameHold = d.hold
        if not d.moved:
            return _SELECTION
        if self.flow.spec.layout != hold.before.layout:
            self._editing += 1
            try:  # the drag steps changed the layout in place: now the flow (and its observers) are told
                self.flow.set_layout(self.flow.spec.layout)
            finally:
                self._editing -= 1
            label = "move reroute point" if d.mode == "point" else "resize frame"
            self.history.push(label, hold.before)
            self.say(label)
        return _ALL
