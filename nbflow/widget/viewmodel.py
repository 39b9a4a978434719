"""The canvas view model: selection, drag, hit testing, wiring rules, undo, popups. No Jupyter import.

The editor feeds it mouse and key events in canvas pixels and redraws the layers each handler
returns. Every change to the flow goes through :meth:`ViewModel.edit`, which snapshots the spec for
undo; the flow itself (``Flow.add``/``connect``/...) stays the single source of truth, so cell edits
and canvas edits meet in the same object. Editing commands (copy, paste, duplicate, delete, auto-layout)
live in :mod:`~nbflow.widget.commands`, run status in :mod:`~nbflow.widget.status`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from nbflow.exceptions import FlowError
from nbflow.flow import Flow
from nbflow.model.spec import parse_ref
from nbflow.model.types import can_connect
from nbflow.widget.bodies import COMPOSITE_TYPES as COMPOSITE
from nbflow.widget.commands import Commands
from nbflow.widget.frames import FrameActions
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
from nbflow.widget.keyfocus import KeyFocus
from nbflow.widget.layers import ALL_LAYERS, Hit, Layer
from nbflow.widget.menus import PopupActions
from nbflow.widget.minimap import Minimap
from nbflow.widget.moves import Drag, MoveActions
from nbflow.widget.popups import Popup
from nbflow.widget.previews import Preview, short_preview
from nbflow.widget.rails import NEW_INPUT, NEW_OUTPUT, rail_hit, rail_wire
from nbflow.widget.reroutes import RerouteActions
from nbflow.widget.status import RunStatus
from nbflow.widget.style import PORT_HIT, ROW_H
from nbflow.widget.tooltips import Tooltips
from nbflow.widget.undo import History

__all__ = ["ALL_LAYERS", "Drag", "Hit", "Layer", "Preview", "ViewModel", "short_preview"]

_VIEW_LAYERS: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "minimap", "overlay"))
_SELECTION: frozenset[Layer] = frozenset(("edges", "nodes", "overlay"))
OVERLAY: frozenset[Layer] = frozenset(("overlay",))
NONE: frozenset[Layer] = frozenset()
T = TypeVar("T")

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

#: A drag starts only after the mouse moved this many pixels, so a click never nudges a node.
DRAG_SLOP = 3.0


class ViewModel(PopupActions, Tooltips, Commands, MoveActions, FrameActions, RerouteActions, RunStatus, KeyFocus):
    """Everything the canvas shows and does, in plain Python.

    Mouse handlers take canvas pixel coordinates and return the set of layers to redraw.

    Attributes:
        flow: the edited flow (shared with the Python API).
        view: pan and zoom.
        selection: the selected node ids in selection order (``selected`` is the last one).
        selected_edge: the selected edge ``(src, dst)``, if any.
        selected_frame / selected_point: the selected frame id, or reroute point ``((src, dst), index)``.
        status / errors / previews / problems: per node, from the last run (see ``RunStatus``).
        popup: the open context menu or search-to-add box, if any.
        tooltip: ``(x, y, lines)`` of the tooltip under the pointer, if any.
        snap: whether moved, added and pasted nodes snap to the grid.
        command: an editor-level command a menu asked for (``run_selected``), taken by the editor.
        message / message_level: the last user-facing message (``info`` or ``error``).
    """

    def __init__(self, flow: Flow, *, width: int = 780, height: int = 520) -> None:
        self.flow = flow
        self.view = View(width, height)
        self.ports = PortCache(flow.registry, lambda: self.flow.source)
        self.history = History()
        self.minimap = Minimap(self.view)
        self.selection: dict[str, None] = {}
        self.selected_edge: tuple[str, str] | None = None
        self._init_status()
        self.drag: Drag | None = None
        self.popup: Popup | None = None
        self.tooltip: tuple[float, float, list[str]] | None = None
        self.snap = False
        self.rails = False  # an opened body: its inputs and outputs as ports at the canvas edges
        self.command: str | None = None
        self.message = ""
        self.message_level: Literal["info", "error"] = "info"
        self.mouse = (width / 2, height / 2)
        self._editing = 0
        self._cache_key: tuple[int, int] | None = None
        self._boxes: dict[str, NodeBox] = {}
        self._edges: list[EdgeGeom] = []

    # -- selection --------------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """The node last added to the selection (its params show in the panel), or None."""
        return next(reversed(self.selection)) if self.selection else None

    @selected.setter
    def selected(self, node_id: str | None) -> None:
        self.selection = {} if node_id is None else {node_id: None}

    def select(self, ids: list[str] | set[str], *, add: bool = False) -> frozenset[Layer]:
        """Select nodes (added to the selection with ``add``); clears the selected edge."""
        if not add:
            self.selection = {}
        for i in ids:
            if i in self.flow.nodes:
                self.selection.pop(i, None)
                self.selection[i] = None
        self.selected_edge = self.selected_frame = self.selected_point = None
        return _SELECTION

    def _drop_missing(self) -> None:
        ids = self.flow.nodes
        self.selection = {i: None for i in self.selection if i in ids}
        if self.selected_edge is not None and self.selected_edge not in self.flow.edges:
            self.selected_edge = None
        if self.selected_frame is not None and self.frame(self.selected_frame) is None:
            self.selected_frame = None
        self.selected_point = None

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
    def lifted(self) -> frozenset[str]:
        """The nodes being dragged (drawn on the overlay, left out of the lower layers)."""
        d = self.drag
        return frozenset(d.starts) if d is not None and d.mode == "move" and d.moved else frozenset()

    def dragged_boxes(self) -> list[NodeBox]:
        """The dragged nodes at their current place (empty when nothing is being moved)."""
        d = self.drag
        if d is None or d.mode != "move" or not d.moved:
            return []
        dx, dy = d.delta
        boxes = self.boxes
        return [boxes[i].moved_to(x + dx, y + dy) for i, (x, y) in d.starts.items() if i in boxes]

    def hit(self, sx: float, sy: float) -> Hit:
        """What is under canvas pixel (sx, sy): ports first (a body's edge ports first), then node bodies
        (topmost first), reroute points, edges, and last frames' title bars and resize corners."""
        if self.rails and (edge := rail_hit(self, sx, sy)) is not None:
            return edge
        wx, wy = self.view.to_world(sx, sy)
        r = min(PORT_HIT / self.view.zoom, ROW_H / 2)
        for b in reversed(list(self.boxes.values())):
            if not (b.x - r <= wx <= b.x + b.w + r and b.y <= wy <= b.y + b.h):
                continue
            for ports, is_input in ((b.inputs, True), (b.outputs, False)):
                for p in ports.values():
                    if abs(p.x - wx) <= r and abs(p.y - wy) <= r:
                        return Hit("port", b.id, p.name, is_input)
            if b.contains(wx, wy):
                return Hit("node", b.id)
        point = self.hit_point(wx, wy)
        if point is not None:
            return point
        tol = 6.0 / self.view.zoom
        for e in self.edges:
            x0, y0, x1, y1 = e.bounds()
            if not (x0 - 60 <= wx <= x1 + 60 and y0 - tol <= wy <= y1 + tol):
                continue
            for seg in e.segments():
                pts = bezier_points(*seg)
                if any(segment_distance(wx, wy, *pts[i], *pts[i + 1]) <= tol for i in range(len(pts) - 1)):
                    return Hit("edge", edge=(e.src, e.dst))
        return self.hit_frame(wx, wy) or Hit("empty")

    # -- mouse ------------------------------------------------------------------------------------

    def mouse_down(self, sx: float, sy: float, *, shift: bool = False, ctrl: bool = False) -> frozenset[Layer]:
        """Press: a popup's item, the minimap, a wire from an output port, the selected nodes to move,
        an edge, a selection box (Shift or Ctrl on empty space) or the background to pan.

        Shift- or Ctrl-click on a node adds it to the selection or takes it out.
        """
        self.mouse = (sx, sy)
        self.tooltip = None
        if self.popup is not None:
            return self._popup_click(sx, sy)
        if self.minimap.contains(sx, sy, self.boxes):
            self.drag = Drag("minimap", sx, sy)
            self.minimap.center_on(sx, sy, self.boxes)
            return _VIEW_LAYERS
        h = self.hit(sx, sy)
        if h.kind == "frame":
            return self.press_frame(h, sx, sy, toggle=shift or ctrl)
        if h.kind in ("point", "resize"):
            return self.press_layout(h, sx, sy, Drag)
        self.selected_frame = self.selected_point = None
        if h.kind == "port" and not h.is_input:
            wx, wy = self.view.to_world(sx, sy)
            self.drag = Drag("wire", sx, sy, node=h.node, port=h.port, x=wx, y=wy)
            return OVERLAY
        if h.kind in ("node", "port"):
            assert h.node is not None
            if shift or ctrl:
                if h.node in self.selection:
                    self.selection.pop(h.node)
                else:
                    self.selection[h.node] = None
                self.selected_edge = None
                return _SELECTION
            changed = h.node not in self.selection or self.selected_edge is not None
            if h.node not in self.selection:
                self.selection = {h.node: None}
            else:  # keep the group, make the grabbed node the one the panel shows
                self.selection.pop(h.node)
                self.selection[h.node] = None
            self.selected_edge = None
            self.drag = self.start_move(sx, sy, node=h.node)  # with the frames selected too
            return _SELECTION if changed else NONE
        if h.kind == "edge":
            self.selection, self.selected_edge = {}, h.edge
            self.drag = None
            return _SELECTION
        if shift or ctrl:
            self.drag = Drag("box", sx, sy, x=sx, y=sy, add=True)
            return NONE
        changed = bool(self.selection) or self.selected_edge is not None
        self.selection, self.selected_edge = {}, None
        self.drag = Drag("pan", sx, sy, ox0=self.view.ox, oy0=self.view.oy)
        return _SELECTION if changed else NONE

    def mouse_move(self, sx: float, sy: float) -> frozenset[Layer]:
        """Drag step: moved nodes redraw only the overlay (after the first step lifts them off).
        Without a drag, the pointer's tooltip follows (overlay only, and only when it changes)."""
        self.mouse = (sx, sy)
        d = self.drag
        if d is None:
            return self._hover(sx, sy)
        if not d.moved and math.hypot(sx - d.sx, sy - d.sy) < DRAG_SLOP:
            return NONE
        first = not d.moved
        d.moved = True
        if d.mode == "pan":
            self.view.ox = d.ox0 + (sx - d.sx)
            self.view.oy = d.oy0 + (sy - d.sy)
            return _VIEW_LAYERS
        if d.mode == "minimap":
            self.minimap.center_on(sx, sy, self.boxes)
            return _VIEW_LAYERS
        if d.mode == "box":
            d.x, d.y = sx, sy
            return OVERLAY
        if d.hold is not None:
            return self.drag_layout(d, sx, sy)
        wx, wy = self.view.to_world(sx, sy)
        if d.mode == "move":
            d.x, d.y = wx - d.grab_dx, wy - d.grab_dy
            if self.snap:
                d.x, d.y = self.snapped(d.x), self.snapped(d.y)
            return ALL_LAYERS if first else OVERLAY
        d.x, d.y = wx, wy
        h = self.hit(sx, sy)
        if h.kind == "port" and h.is_input:
            d.target = h
            d.reason = self.check_wire(f"{d.node}.{d.port}", f"{h.node}.{h.port}")
        else:
            d.target, d.reason = None, None
        return OVERLAY

    def mouse_up(self, sx: float, sy: float) -> frozenset[Layer]:
        """Release: drop the moved nodes (one undo step), connect the wire, select the box's nodes."""
        redraw = set(self.mouse_move(sx, sy)) if self.drag is not None else set()
        d, self.drag = self.drag, None
        if d is None:
            return frozenset(redraw)
        if d.mode == "move" and d.moved:
            return self.drop_move(d)
        if d.hold is not None:
            return self.drop_layout(d)
        if d.mode == "wire":
            if d.target is not None and d.target.node is not None:
                self.wire(f"{d.node}.{d.port}", f"{d.target.node}.{d.target.port}")
                return ALL_LAYERS
            return OVERLAY
        if d.mode == "box":
            return self._box_select(d)
        return frozenset(redraw | {"overlay"}) if d.mode == "move" else frozenset(redraw)

    def mouse_out(self) -> frozenset[Layer]:
        """The pointer left the canvas: a half-done wire is dropped, a move or pan ends where it is."""
        if self.drag is None:
            if self.tooltip is not None:
                self.tooltip = None
                return OVERLAY
            return NONE
        return self.mouse_up(*self.mouse)

    def wheel(self, dy: float) -> frozenset[Layer]:
        """Zoom around the last mouse position (the browser's wheel event carries no position)."""
        factor = math.exp(-max(-500.0, min(500.0, dy)) * 0.0015)
        self.view.zoom_at(factor, *self.mouse)
        self.tooltip = None
        return _VIEW_LAYERS

    def zoom(self, factor: float) -> frozenset[Layer]:
        """Zoom around the canvas centre (the + and - buttons)."""
        self.view.zoom_at(factor, self.view.width / 2, self.view.height / 2)
        return _VIEW_LAYERS

    def fit(self) -> frozenset[Layer]:
        """Pan and zoom so the whole flow is in view."""
        self.view.fit(self.boxes.values())
        return _VIEW_LAYERS

    # -- keys -------------------------------------------------------------------------------------

    def key_down(self, key: str, shift: bool = False, ctrl: bool = False,
                 meta: bool = False) -> frozenset[Layer]:
        """Keyboard shortcuts (the table in docs/canvas.md); an open popup takes the keys first."""
        if self.popup is not None:
            return self._popup_key(key, ctrl or meta)
        mod = ctrl or meta
        if (done := self.focus_key(key, shift, mod)) is not None:  # focus ring, Space, W: keyfocus.py
            return done
        k = key.lower()
        if mod:
            action: dict[str, Callable[[], frozenset[Layer]]] = {
                "z": self.redo if shift else self.undo, "y": self.redo, "c": self.copy, "x": self.cut,
                "v": self.paste, "d": self.duplicate, "a": self.select_all, "g": self.group}
            return action[k]() if k in action else NONE
        if key in ("Delete", "Backspace"):
            return self.delete_selected()
        if key == "Escape":
            if not self.selection and self.selected_edge is None and self.drag is None:
                self.command = "up"  # nothing to let go of: leave an opened body
            self.let_go()
            self.selection, self.selected_edge = {}, None
            self.selected_frame = self.selected_point = None
            return ALL_LAYERS
        if key == "Enter" and self.selected in self.flow.nodes and self.flow.node(self.selected).type in COMPOSITE:
            self.command = f"open:{self.selected}"
            return NONE
        if key == "Enter" and self.selected_frame is not None:
            self.command = f"frame:{self.selected_frame}"  # the editor shows the frame's title and text
            return NONE
        if shift and k in ("g", "c", "r"):  # frame the selection, a comment, a reroute point on the wire
            return self.add_point() if k == "r" else self.add_frame(comment=k == "c")
        if key == "ContextMenu" or (shift and key == "F10"):
            return self.menu_key()  # at the focused node or selected wire: menus.py
        return self.plain_key(key, shift)  # Tab, arrows, Shift+L/M, F, +, =, -, G, L, /

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
        self._drop_missing()
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
        self._drop_missing()

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

    def begin_run(self, targets: list[str] | None) -> None:
        """Forget the statuses of the nodes about to run."""
        self.forget_status(set(self.boxes) if not targets else self.upstream(targets))

    def check_wire(self, src: str, dst: str) -> str | None:
        """Why output ``src`` may not feed input ``dst`` (``"node.port"`` each), or None when it may.

        An input that already has an edge may be rewired: the old edge is replaced.
        """
        a, ap = parse_ref(src)
        b, bp = parse_ref(dst)
        if a == NEW_INPUT or b == NEW_OUTPUT:
            return None  # a new body input or output: made to fit the port at the other end
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
        if parse_ref(src)[0] == NEW_INPUT or parse_ref(dst)[0] == NEW_OUTPUT:
            return rail_wire(self, src, dst)
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

    def rename(self, old: str, new: str) -> None:
        """Rename a node; edges, selection, status and previews follow. Raises FlowError when not allowed."""
        if old == new:
            return
        if not _ID_RE.match(new):
            raise FlowError(f"{new!r} is not a valid id: start with a letter or '_', then letters, digits, "
                            "'_' or '-'", node=old, field="id")
        self.edit("rename node", lambda: self.flow.rename(old, new))
        for d in (self.status, self.errors, self.previews):
            if old in d:
                d[new] = d.pop(old)
        self.selection = {(new if i == old else i): None for i in self.selection}
        self.say(f"renamed {old} -> {new}")

    def set_params(self, node_id: str, **params: Any) -> None:
        """Change params of a node (validated by the flow; raises ParamError when invalid)."""
        self.edit("edit params", lambda: self.flow.set_params(node_id, **params))
        self.problems.pop(node_id, None)

    def replace(self, other: Flow) -> None:
        """Take another flow's contents (import) as one undo step."""
        self.edit("import", lambda: self.flow.replace(other))
        self.selection, self.selected_edge = {}, None
        self.clear_status()

