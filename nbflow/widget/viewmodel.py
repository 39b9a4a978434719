"""The canvas view model: selection, drag, hit testing, wiring rules, undo, run status. No Jupyter import.

The editor feeds it mouse and key events in canvas pixels and redraws the layers each handler
returns. Every change to the flow goes through :meth:`ViewModel.edit`, which snapshots the spec for
undo; the flow itself (``Flow.add``/``connect``/...) stays the single source of truth, so cell edits
and canvas edits meet in the same object.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from nbflow.exceptions import FlowError
from nbflow.flow import Flow
from nbflow.model.events import Event
from nbflow.model.record import NodeRecord, RunResult
from nbflow.model.spec import parse_ref
from nbflow.model.types import can_connect
from nbflow.model.values import Media
from nbflow.widget.geometry import (
    EdgeGeom,
    NodeBox,
    PortCache,
    View,
    bezier_points,
    edge_geoms,
    layout,
    segment_distance,
)
from nbflow.widget.style import PORT_HIT, ROW_H
from nbflow.widget.undo import History

__all__ = ["ALL_LAYERS", "Drag", "Hit", "Layer", "Preview", "ViewModel", "short_preview"]

Layer = Literal["grid", "edges", "nodes", "overlay"]
ALL_LAYERS: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "overlay"))
_VIEW_LAYERS: frozenset[Layer] = frozenset(("grid", "edges", "nodes"))
NONE: frozenset[Layer] = frozenset()
T = TypeVar("T")

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

#: A drag starts only after the mouse moved this many pixels, so a click never nudges a node.
DRAG_SLOP = 3.0


@dataclass(frozen=True, slots=True)
class Hit:
    """What is under a point: ``empty``, a ``node`` body, a ``port`` or an ``edge`` (``(src, dst)``)."""

    kind: Literal["empty", "node", "port", "edge"]
    node: str | None = None
    port: str | None = None
    is_input: bool = False
    edge: tuple[str, str] | None = None


@dataclass(slots=True)
class Drag:
    """A drag in progress: moving a node, panning the view, or pulling a wire out of an output port."""

    mode: Literal["move", "pan", "wire"]
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


@dataclass(frozen=True, slots=True)
class Preview:
    """The short preview drawn on a node: a line of text, or an image thumbnail."""

    kind: Literal["text", "image"]
    text: str = ""
    media: Media | None = None


def _first_line(s: str, limit: int = 80) -> str:
    line = next((ln for ln in s.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def short_preview(value: Any) -> Preview:
    """The on-node preview of a value: first line of text, a thumbnail, or a short summary."""
    if isinstance(value, Media):
        if value.kind == "image":
            return Preview("image", value.name or value.mime, value)
        size = f", {value.size:,} bytes" if value.size is not None else ""
        return Preview("text", f"{value.kind}: {value.mime}{size}")
    if isinstance(value, str):
        return Preview("text", _first_line(value) or "(empty text)")
    if isinstance(value, list):
        if value and isinstance(value[0], Media) and value[0].kind == "image":
            return Preview("image", f"{len(value)} images", value[0])
        head = short_preview(value[0]).text if value else ""
        return Preview("text", f"[{len(value)} items] {head}".strip())
    if isinstance(value, bool) or value is None:
        return Preview("text", json.dumps(value))
    if isinstance(value, (int, float)):
        return Preview("text", str(value))
    try:
        return Preview("text", _first_line(json.dumps(value, ensure_ascii=False, sort_keys=True)))
    except (TypeError, ValueError):
        return Preview("text", type(value).__name__)


def record_preview(rec: NodeRecord) -> Preview | None:
    """The on-node preview of a node's record (its first output, or its error)."""
    if rec.status == "failed" and rec.error:
        return Preview("text", _first_line(str(rec.error.get("message", "failed"))))
    if rec.status == "skipped" and rec.reason:
        return Preview("text", _first_line(rec.reason))
    if rec.outputs:
        return short_preview(next(iter(rec.outputs.values())))
    return None


class ViewModel:
    """Everything the canvas shows and does, in plain Python.

    Mouse handlers take canvas pixel coordinates and return the set of layers to redraw.

    Attributes:
        flow: the edited flow (shared with the Python API).
        view: pan and zoom.
        selected / selected_edge: the selected node id, or edge ``(src, dst)``.
        status / errors / previews: per node, from the last run's events and record.
        message / message_level: the last user-facing message (``info`` or ``error``).
    """

    def __init__(self, flow: Flow, *, width: int = 780, height: int = 520) -> None:
        self.flow = flow
        self.view = View(width, height)
        self.ports = PortCache(flow.registry)
        self.history = History()
        self.selected: str | None = None
        self.selected_edge: tuple[str, str] | None = None
        self.status: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.previews: dict[str, Preview] = {}
        self.drag: Drag | None = None
        self.message = ""
        self.message_level: Literal["info", "error"] = "info"
        self.mouse = (width / 2, height / 2)
        self._editing = 0
        self._cache_key: tuple[int, int] | None = None
        self._boxes: dict[str, NodeBox] = {}
        self._edges: list[EdgeGeom] = []

    # -- geometry ---------------------------------------------------------------------------------

    def _refresh(self) -> None:
        key = (self.flow.version, id(self.flow.spec))
        if key != self._cache_key:
            self._boxes = layout(self.flow.spec, self.ports)
            self._edges = edge_geoms(self.flow.spec, self._boxes)
            self._cache_key = key

    @property
    def boxes(self) -> dict[str, NodeBox]:
        """Node id -> box, recomputed only when the flow changed."""
        self._refresh()
        return self._boxes

    @property
    def edges(self) -> list[EdgeGeom]:
        self._refresh()
        return self._edges

    @property
    def lifted(self) -> str | None:
        """The node being dragged (drawn on the overlay, left out of the lower layers)."""
        d = self.drag
        return d.node if d is not None and d.mode == "move" and d.moved else None

    def dragged_box(self) -> NodeBox | None:
        d = self.drag
        if d is None or d.mode != "move" or not d.moved or d.node not in self.boxes:
            return None
        return self.boxes[d.node].moved_to(d.x, d.y)

    def hit(self, sx: float, sy: float) -> Hit:
        """What is under canvas pixel (sx, sy): ports first, then node bodies (topmost first), then edges."""
        wx, wy = self.view.to_world(sx, sy)
        r = min(PORT_HIT / self.view.zoom, ROW_H / 2)
        boxes = list(self.boxes.values())
        for b in reversed(boxes):
            if not (b.x - r <= wx <= b.x + b.w + r and b.y <= wy <= b.y + b.h):
                continue
            for ports, is_input in ((b.inputs, True), (b.outputs, False)):
                for p in ports.values():
                    if abs(p.x - wx) <= r and abs(p.y - wy) <= r:
                        return Hit("port", b.id, p.name, is_input)
            if b.contains(wx, wy):
                return Hit("node", b.id)
        tol = 6.0 / self.view.zoom
        for e in self.edges:
            if not (min(e.x1, e.x2) - 60 <= wx <= max(e.x1, e.x2) + 60
                    and min(e.y1, e.y2) - tol <= wy <= max(e.y1, e.y2) + tol):
                continue
            pts = bezier_points(e.x1, e.y1, e.x2, e.y2)
            if any(segment_distance(wx, wy, *pts[i], *pts[i + 1]) <= tol for i in range(len(pts) - 1)):
                return Hit("edge", edge=(e.src, e.dst))
        return Hit("empty")

    # -- mouse ------------------------------------------------------------------------------------

    def mouse_down(self, sx: float, sy: float) -> frozenset[Layer]:
        """Press: pick up a wire from an output port, a node to move, an edge, or the background to pan."""
        self.mouse = (sx, sy)
        h = self.hit(sx, sy)
        if h.kind == "port" and not h.is_input:
            wx, wy = self.view.to_world(sx, sy)
            self.drag = Drag("wire", sx, sy, node=h.node, port=h.port, x=wx, y=wy)
            return frozenset(("overlay",))
        if h.kind in ("node", "port"):
            assert h.node is not None
            changed = self.selected != h.node or self.selected_edge is not None
            self.selected, self.selected_edge = h.node, None
            b = self.boxes[h.node]
            wx, wy = self.view.to_world(sx, sy)
            self.drag = Drag("move", sx, sy, node=h.node, grab_dx=wx - b.x, grab_dy=wy - b.y, x=b.x, y=b.y)
            return frozenset(("edges", "nodes")) if changed else NONE
        if h.kind == "edge":
            self.selected, self.selected_edge = None, h.edge
            self.drag = None
            return frozenset(("edges", "nodes"))
        changed = self.selected is not None or self.selected_edge is not None
        self.selected = self.selected_edge = None
        self.drag = Drag("pan", sx, sy, ox0=self.view.ox, oy0=self.view.oy)
        return frozenset(("edges", "nodes")) if changed else NONE

    def mouse_move(self, sx: float, sy: float) -> frozenset[Layer]:
        """Drag step: a moved node redraws only the overlay (after the first step lifts it off)."""
        self.mouse = (sx, sy)
        d = self.drag
        if d is None:
            return NONE
        if not d.moved and math.hypot(sx - d.sx, sy - d.sy) < DRAG_SLOP:
            return NONE
        first = not d.moved
        d.moved = True
        if d.mode == "pan":
            self.view.ox = d.ox0 + (sx - d.sx)
            self.view.oy = d.oy0 + (sy - d.sy)
            return _VIEW_LAYERS
        wx, wy = self.view.to_world(sx, sy)
        if d.mode == "move":
            d.x, d.y = wx - d.grab_dx, wy - d.grab_dy
            return ALL_LAYERS if first else frozenset(("overlay",))
        d.x, d.y = wx, wy
        h = self.hit(sx, sy)
        if h.kind == "port" and h.is_input:
            d.target = h
            d.reason = self.check_wire(f"{d.node}.{d.port}", f"{h.node}.{h.port}")
        else:
            d.target, d.reason = None, None
        return frozenset(("overlay",))

    def mouse_up(self, sx: float, sy: float) -> frozenset[Layer]:
        """Release: drop the moved node (one undo step), or connect the wire, or end the pan."""
        redraw = set(self.mouse_move(sx, sy))
        d, self.drag = self.drag, None
        if d is None:
            return frozenset(redraw)
        if d.mode == "move" and d.moved and d.node is not None:
            x, y = float(round(d.x)), float(round(d.y))
            self.edit("move node", lambda: self.flow.move(d.node, x, y))  # type: ignore[arg-type]
            return ALL_LAYERS
        if d.mode == "wire":
            if d.target is not None and d.target.node is not None:
                self.wire(f"{d.node}.{d.port}", f"{d.target.node}.{d.target.port}")
                return ALL_LAYERS
            return frozenset(("overlay",))
        return frozenset(redraw | {"overlay"}) if d.mode == "move" else frozenset(redraw)

    def mouse_out(self) -> frozenset[Layer]:
        """The pointer left the canvas: a half-done wire is dropped, a move or pan ends where it is."""
        if self.drag is None:
            return NONE
        return self.mouse_up(*self.mouse)

    def wheel(self, dy: float) -> frozenset[Layer]:
        """Zoom around the last mouse position (the browser's wheel event carries no position)."""
        factor = math.exp(-max(-500.0, min(500.0, dy)) * 0.0015)
        self.view.zoom_at(factor, *self.mouse)
        return _VIEW_LAYERS

    def zoom(self, factor: float) -> frozenset[Layer]:
        """Zoom around the canvas centre (the + and - buttons)."""
        self.view.zoom_at(factor, self.view.width / 2, self.view.height / 2)
        return _VIEW_LAYERS

    def fit(self) -> frozenset[Layer]:
        """Pan and zoom so the whole flow is in view."""
        self.view.fit(self.boxes.values())
        return _VIEW_LAYERS

    def key_down(self, key: str, shift: bool = False, ctrl: bool = False,
                 meta: bool = False) -> frozenset[Layer]:
        """Delete/Backspace delete; Ctrl+Z undo; Ctrl+Shift+Z or Ctrl+Y redo; Escape cancels; F fits."""
        mod = ctrl or meta
        k = key.lower()
        if mod and k == "z":
            return self.redo() if shift else self.undo()
        if mod and k == "y":
            return self.redo()
        if mod:
            return NONE
        if key in ("Delete", "Backspace"):
            return self.delete_selected()
        if key == "Escape":
            self.drag = None
            self.selected = self.selected_edge = None
            return ALL_LAYERS
        if k == "f":
            return self.fit()
        if key in ("+", "="):
            return self.zoom(1.25)
        if key == "-":
            return self.zoom(0.8)
        return NONE

    # -- editing ----------------------------------------------------------------------------------

    @property
    def editing(self) -> bool:
        """True while the view model itself is changing the flow (so observers can tell cell edits apart)."""
        return self._editing > 0

    def edit(self, label: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (which changes the flow) as one undo step; on error the flow is restored."""
        before = self.flow.spec.model_copy(deep=True)
        v0 = self.flow.version
        self._editing += 1
        try:
            result = fn()
        except BaseException:
            if self.flow.version != v0:
                self.flow.replace(before)
            raise
        finally:
            self._editing -= 1
        if self.flow.version != v0:
            self.history.push(label, before)
        return result

    def say(self, message: str, level: Literal["info", "error"] = "info") -> None:
        self.message, self.message_level = message, level

    def _restore(self, step: tuple[str, Any] | None, verb: str) -> frozenset[Layer]:
        if step is None:
            self.say(f"nothing to {verb}")
            return NONE
        label, spec = step
        self._editing += 1
        try:
            self.flow.replace(spec)
        finally:
            self._editing -= 1
        ids = {n.id for n in self.flow.spec.nodes}
        if self.selected not in ids:
            self.selected = None
        if self.selected_edge is not None and self.selected_edge not in self.flow.edges:
            self.selected_edge = None
        self.say(f"{verb}: {label}")
        return ALL_LAYERS

    def undo(self) -> frozenset[Layer]:
        """Go back one edit."""
        return self._restore(self.history.undo(self.flow.spec), "undo")

    def redo(self) -> frozenset[Layer]:
        """Go forward one undone edit."""
        return self._restore(self.history.redo(self.flow.spec), "redo")

    def external_change(self) -> None:
        """The flow changed outside the canvas (a cell): snapshots would undo that edit too, so drop them."""
        self.history.clear()
        ids = {n.id for n in self.flow.spec.nodes}
        if self.selected not in ids:
            self.selected = None
        if self.selected_edge is not None and self.selected_edge not in self.flow.edges:
            self.selected_edge = None

    def _reaches(self, start: str, goal: str) -> bool:
        """Whether ``goal`` is downstream of ``start`` (iterative, so long chains are fine)."""
        succ: dict[str, list[str]] = {}
        for a, b in self.flow.edges:
            succ.setdefault(parse_ref(a)[0], []).append(parse_ref(b)[0])
        stack, seen = [start], {start}
        while stack:
            n = stack.pop()
            if n == goal:
                return True
            for s in succ.get(n, ()):
                if s not in seen:
                    seen.add(s)
                    stack.append(s)
        return False

    def upstream(self, targets: list[str]) -> set[str]:
        """The given nodes and every node they depend on (what "run selected" runs)."""
        pred: dict[str, list[str]] = {}
        for a, b in self.flow.edges:
            pred.setdefault(parse_ref(b)[0], []).append(parse_ref(a)[0])
        stack, seen = list(targets), set(targets)
        while stack:
            for p in pred.get(stack.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def check_wire(self, src: str, dst: str) -> str | None:
        """Why output ``src`` may not feed input ``dst`` (``"node.port"`` each), or None when it may.

        An input that already has an edge may be rewired: the old edge is replaced.
        """
        a, ap = parse_ref(src)
        b, bp = parse_ref(dst)
        if a == b:
            return f"{a} cannot feed itself"
        sa, sb = self.boxes.get(a), self.boxes.get(b)
        if sa is None or sb is None:
            return f"no node {a if sa is None else b!r}"
        po, pi = sa.outputs.get(ap), sb.inputs.get(bp)
        if po is None:
            return f"{a} has no output {ap!r}"
        if pi is None:
            return f"{b} has no input {bp!r}"
        if not can_connect(po.type, pi.type):
            return f"{src} gives {po.type}, but {dst} takes {pi.type}"
        if (src, dst) in self.flow.edges:
            return f"{src} is already wired to {dst}"
        if self._reaches(b, a):
            return f"{src} -> {dst} would make a cycle (use a loop node to repeat work)"
        return None

    def wire(self, src: str, dst: str) -> bool:
        """Connect ``src`` to ``dst`` if the rules allow (replacing an edge already into ``dst``).

        A refusal is not raised: it becomes the visible message, and False is returned.
        """
        why = self.check_wire(src, dst)
        if why is not None:
            self.say(f"cannot wire: {why}", "error")
            return False
        old = [s for s, d in self.flow.edges if d == dst]

        def do() -> None:
            if old:
                self.flow.disconnect(dst)
            self.flow.connect(src, dst)

        try:
            self.edit("wire", do)
        except FlowError as exc:
            self.say(f"cannot wire: {exc}", "error")
            return False
        self.say(f"wired {src} -> {dst}" + (f" (replaced {old[0]})" if old else ""))
        return True

    def delete_selected(self) -> frozenset[Layer]:
        """Delete the selected node (and its edges) or the selected edge."""
        if self.selected is not None:
            nid = self.selected
            self.edit("delete node", lambda: self.flow.remove(nid))
            self.selected = None
            self.status.pop(nid, None)
            self.previews.pop(nid, None)
            self.errors.pop(nid, None)
            self.say(f"deleted node {nid}")
            return ALL_LAYERS
        if self.selected_edge is not None:
            src, dst = self.selected_edge
            self.edit("delete edge", lambda: self.flow.disconnect(dst, src))
            self.selected_edge = None
            self.say(f"deleted edge {src} -> {dst}")
            return ALL_LAYERS
        self.say("select a node or an edge to delete")
        return NONE

    def add_node(self, node_type: str, **params: Any) -> str:
        """Add a node of ``node_type`` in the middle of the view, select it and return its id."""
        wx, wy = self.view.to_world(self.view.width / 2, self.view.height / 2)
        n = len(self.flow.spec.nodes)
        x, y = float(round(wx - 100 + 12 * (n % 5))), float(round(wy - 50 + 12 * (n % 5)))
        nid = self.edit("add node", lambda: self.flow.add(node_type, x=x, y=y, **params))
        self.selected, self.selected_edge = nid, None
        self.say(f"added {node_type} node {nid}")
        return nid

    def rename(self, old: str, new: str) -> None:
        """Rename a node; edges, selection, status and previews follow. Raises FlowError when not allowed."""
        if old == new:
            return
        if not _ID_RE.match(new):
            raise FlowError(f"{new!r} is not a valid id: start with a letter or '_', then letters, digits, "
                            "'_' or '-'", node=old, field="id")
        self.edit("rename node", lambda: self.flow.rename(old, new))
        for d in (self.status, self.errors):
            if old in d:
                d[new] = d.pop(old)
        if old in self.previews:
            self.previews[new] = self.previews.pop(old)
        if self.selected == old:
            self.selected = new
        self.say(f"renamed {old} -> {new}")

    def set_params(self, node_id: str, **params: Any) -> None:
        """Change params of a node (validated by the flow; raises ParamError when invalid)."""
        self.edit("edit params", lambda: self.flow.set_params(node_id, **params))

    def replace(self, other: Flow) -> None:
        """Take another flow's contents (import) as one undo step."""
        self.edit("import", lambda: self.flow.replace(other))
        self.selected = self.selected_edge = None
        self.status.clear()
        self.previews.clear()
        self.errors.clear()

    # -- run status -------------------------------------------------------------------------------

    def begin_run(self, targets: list[str] | None) -> None:
        """Forget the statuses of the nodes about to run."""
        ids = set(self.boxes) if not targets else self.upstream(targets)
        for nid in ids:
            self.status.pop(nid, None)
            self.errors.pop(nid, None)

    _EVENT_STATUS = {"node_queued": "queued", "node_started": "running", "retry": "running",
                     "cached": "cached", "skipped": "skipped", "failed": "failed", "paused": "paused"}

    def apply_event(self, ev: Event) -> bool:
        """Update statuses from one engine event; True when the nodes layer should be redrawn."""
        nid = ev.node_id
        if ev.kind == "run_finished":
            if ev.data.get("status") == "cancelled":
                for k, s in self.status.items():
                    if s in ("running", "queued"):
                        self.status[k] = "cancelled"
            return True
        if nid is None:
            return False
        if ev.kind in self._EVENT_STATUS:
            self.status[nid] = self._EVENT_STATUS[ev.kind]
            if ev.kind == "failed":
                self.errors[nid] = str(ev.data.get("message", "failed"))
                self.previews[nid] = Preview("text", _first_line(self.errors[nid]))
            elif ev.kind == "skipped":
                self.previews[nid] = Preview("text", _first_line(str(ev.data.get("reason", "skipped"))))
            elif ev.kind == "paused":
                self.previews[nid] = Preview("text", _first_line(str(ev.data.get("reason", "paused"))))
            return True
        if ev.kind == "node_finished":
            self.status[nid] = str(ev.data.get("status", "done"))
            return True
        if ev.kind == "partial" and isinstance(ev.data.get("value"), str):
            self.previews[nid] = Preview("text", _first_line(ev.data["value"]))
            return True
        return False

    def apply_result(self, result: RunResult) -> None:
        """Take statuses, errors and short previews from a finished run's record."""
        for nid, rec in result.nodes.items():
            self.status[nid] = rec.status
            if rec.error:
                self.errors[nid] = str(rec.error.get("message", "failed"))
            p = record_preview(rec)
            if p is not None:
                self.previews[nid] = p
