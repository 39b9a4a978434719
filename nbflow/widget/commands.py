"""Editing commands of the canvas: add (where nothing overlaps), copy, cut, paste, duplicate, delete,
select all, snap to grid and auto-layout. A mixin of the view model; plain Python, no Jupyter import.

Each command that changes the flow is one undo step. The clipboard belongs to the kernel (module
level), so nodes copied in one editor paste into another editor of the same notebook. Pasted nodes
get fresh ids, keep the wires among themselves, and land at the pointer where nothing overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbflow.exceptions import NbflowError
from nbflow.model.spec import FrameSpec, NodeSpec, Position, WireLayout, parse_ref
from nbflow.widget.arrange import free_spot, snap
from nbflow.widget.grouping import group_nodes
from nbflow.widget.mapitem import item_candidates
from nbflow.widget.moves import count
from nbflow.widget.popups import MenuItem, Popup
from nbflow.widget.style import GRID_SNAP, NODE_W

if TYPE_CHECKING:
    from collections.abc import Callable

    from nbflow.flow import Flow
    from nbflow.widget.geometry import NodeBox, PortCache, View
    from nbflow.widget.layers import Layer

__all__ = ["Clip", "Commands", "clipboard"]


@dataclass(frozen=True, slots=True)
class Clip:
    """Copied nodes: their specs, the wires among them, and their positions; with the frames around
    them and the reroute points of those wires (layout)."""

    nodes: tuple[NodeSpec, ...]
    edges: tuple[tuple[str, str], ...]
    positions: dict[str, tuple[float, float]]
    frames: tuple[FrameSpec, ...] = ()
    wires: tuple[WireLayout, ...] = ()


_CLIPBOARD: list[Clip] = []


def clipboard() -> Clip | None:
    """What was copied last in this kernel (from any editor), or None."""
    return _CLIPBOARD[-1] if _CLIPBOARD else None


_ALL: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "minimap", "overlay"))
_NONE: frozenset[Layer] = frozenset()


class Commands:
    """Copy, paste, duplicate, delete, select all, snap and auto-layout (mixed into the view model)."""

    if TYPE_CHECKING:
        flow: Flow
        ports: PortCache
        view: View
        selection: dict[str, None]
        selected_edge: tuple[str, str] | None
        mouse: tuple[float, float]
        snap: bool
        selected_frame: str | None
        selected_point: Any
        popup: Popup | None
        status: dict[str, str]
        errors: dict[str, str]
        previews: dict[str, Any]
        problems: dict[str, Any]

        @property
        def boxes(self) -> dict[str, NodeBox]: ...
        def edit(self, label: str, fn: Callable[[], Any]) -> Any: ...
        def say(self, message: str, level: Any = "info") -> None: ...
        def select(self, ids: list[str] | set[str], *, add: bool = False) -> frozenset[Layer]: ...
        def delete_frame(self, frame_id: str | None = None) -> frozenset[Layer]: ...
        def delete_point(self) -> frozenset[Layer]: ...
        def select_frame(self, frame_id: str | None) -> frozenset[Layer]: ...
        def select_frames(self, ids: list[str], *, add: bool = False) -> None: ...
        def show(self, node_id: str) -> None: ...
        @property
        def selected_frames(self) -> list[str]: ...

    def snapped(self, v: float) -> float:
        return snap(v, GRID_SNAP)

    def _taken(self, skip: set[str] | None = None) -> list[tuple[float, float, float, float]]:
        return [(b.x, b.y, b.w, b.h) for b in self.boxes.values() if not skip or b.id not in skip]

    def place(self, x: float, y: float, w: float, h: float) -> tuple[float, float]:
        """The free spot nearest to (x, y) for a w x h box, on the grid when snapping; inside the view
        when it has room."""
        if self.snap:
            x, y = self.snapped(x), self.snapped(y)
        fx, fy = free_spot(x, y, w, h, self._taken(), step=GRID_SNAP, within=self.view.visible())
        return float(round(fx)), float(round(fy))

    def add_node(self, node_type: str, *, at: tuple[float, float] | None = None, **params: Any) -> str:
        """Add a node of ``node_type`` at world point ``at`` (default: the middle of the view), moved to
        the nearest spot inside the view where it overlaps no other node (or, in a full view, the
        nearest spot outside, and the view pans to it); select it and return its id."""
        if at is None:
            wx, wy = self.view.to_world(self.view.width / 2, self.view.height / 2)
            at = (wx - NODE_W / 2, wy - 50)

        def do() -> str:
            nid = self.flow.add(node_type, x=at[0], y=at[1], **params)
            b = self.boxes[nid]
            taken = self._taken({nid})
            x, y = (self.snapped(at[0]), self.snapped(at[1])) if self.snap else at
            fx, fy = free_spot(x, y, b.w, b.h, taken, step=GRID_SNAP, within=self.view.visible())
            if (fx, fy) != (b.x, b.y):
                self.flow.move(nid, float(round(fx)), float(round(fy)))
            return nid

        nid: str = self.edit("add node", do)
        self.select([nid])
        self.show(nid)
        self.say(f"added {node_type} node {nid}")
        return nid

    def select_all(self) -> frozenset[Layer]:
        self.select(list(self.flow.nodes))
        self.say(f"{len(self.selection)} nodes selected")
        return _ALL

    def _clip(self) -> Clip | None:
        """The selected nodes (or the selected frame and the nodes in it) with the wires among them,
        the frames around only them and those wires' reroute points; None when nothing is selected."""
        from nbflow.widget.frames import clip_layout

        ids = [n.id for n in self.flow.spec.nodes if n.id in self.selection]
        chosen = [*self.selected_frames, *([self.selected_frame] if self.selected_frame else [])]
        frames, wires, inside = clip_layout(self.flow.spec, self.boxes, ids, chosen)
        ids = [n.id for n in self.flow.spec.nodes if n.id in self.selection or n.id in inside]
        if not ids and not frames:
            return None
        keep = set(ids)
        edges = tuple((a, b) for a, b in self.flow.edges if parse_ref(a)[0] in keep and parse_ref(b)[0] in keep)
        return Clip(tuple(self.flow.node(i).model_copy(deep=True) for i in ids), edges,
                    {i: self.flow.position(i) for i in ids}, frames, wires)

    def copy(self) -> frozenset[Layer]:
        """Copy the selected nodes (and the wires among them, the frames around them) to the kernel's
        clipboard; with a frame selected, the frame and what is inside it."""
        clip = self._clip()
        if clip is None:
            self.say("select nodes to copy")
            return _NONE
        _CLIPBOARD[:] = [clip]
        self.say(f"copied {_count(clip)}")
        return _NONE

    def cut(self) -> frozenset[Layer]:
        if not self.selection and self.selected_frame is None and not self.selected_frames:
            self.say("select nodes to cut")
            return _NONE
        self.copy()
        return self.delete_selected()

    @property
    def can_paste(self) -> bool:
        return clipboard() is not None

    def paste(self, at: tuple[float, float] | None = None) -> frozenset[Layer]:
        """Paste the clipboard with its top-left at world point ``at`` (default: the pointer)."""
        clip = clipboard()
        if clip is None:
            self.say("nothing to paste: copy nodes first (Ctrl+C)")
            return _NONE
        if at is None:
            at = self.view.to_world(*self.mouse)
        self._insert(clip, at, "paste")
        return _ALL

    def duplicate(self) -> frozenset[Layer]:
        """Copies of the selected nodes (with the wires among them) beside the originals."""
        clip = self._clip()
        if clip is None:
            self.say("select nodes to duplicate")
            return _NONE
        x0, y0, _, _ = self._clip_bounds(clip)
        self._insert(clip, (x0 + 40, y0 + 40), "duplicate")
        return _ALL

    def _clip_bounds(self, clip: Clip) -> tuple[float, float, float, float]:
        rects = [(x, y, self.boxes[i].w if i in self.boxes else 200, self.boxes[i].h if i in self.boxes else 120)
                 for i, (x, y) in clip.positions.items()] + [(f.x, f.y, f.w, f.h) for f in clip.frames]
        return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[0] + r[2] for r in rects),
                max(r[1] + r[3] for r in rects))

    def _insert(self, clip: Clip, at: tuple[float, float], label: str) -> list[str]:
        from nbflow.widget.frames import paste_layout

        x0, y0, x1, y1 = self._clip_bounds(clip)
        ax, ay = self.place(at[0], at[1], x1 - x0, y1 - y0)
        dx, dy = ax - x0, ay - y0
        frame_ids: list[str] = []

        def do() -> list[str]:
            new: dict[str, str] = {}
            for n in clip.nodes:
                x, y = clip.positions[n.id]
                pol = n.policy.model_dump(exclude_none=True) if n.policy else None
                new[n.id] = self.flow.add(n.type, self._fresh_id(n.id), title=n.title, x=x + dx, y=y + dy,
                                          policy=pol, **n.params)
            for a, b in clip.edges:
                (na, pa), (nb, pb) = parse_ref(a), parse_ref(b)
                self.flow.connect(f"{new[na]}.{pa}", f"{new[nb]}.{pb}")
            if clip.frames or clip.wires:
                frame_ids.extend(paste_layout(self.flow, clip.frames, clip.wires, new, dx, dy))
            return list(new.values())

        ids: list[str] = self.edit(label, do)
        self.select(ids)
        if ids:
            self.show(min(ids, key=lambda i: self.flow.position(i)))  # the top-left one, in view
        if not ids and len(frame_ids) == 1:
            self.select_frame(frame_ids[0])
        else:
            self.select_frames(frame_ids)  # what was pasted is the selection: drag it, delete it, copy it
        done = "pasted" if label == "paste" else "duplicated"
        self.say(f"{done} {_count(clip)}" + (f": {', '.join(ids[:4])}{'…' if len(ids) > 4 else ''}" if ids else ""))
        return ids

    def _fresh_id(self, base: str) -> str:
        taken = self.flow.nodes
        stem = base.rstrip("0123456789").rstrip("_") or "node"
        i = 2
        while f"{stem}_{i}" in taken:
            i += 1
        return f"{stem}_{i}"

    def delete_selected(self) -> frozenset[Layer]:
        """Delete the selected nodes (and their edges) and frames, or the selected edge, frame or reroute
        point, as one undo step. A deleted frame's nodes stay unless they are selected too."""
        if self.selected_frame is not None:
            return self.delete_frame()
        if self.selected_point is not None:
            return self.delete_point()
        if self.selection or self.selected_frames:
            ids, fids = list(self.selection), set(self.selected_frames)

            def do() -> None:
                for nid in ids:
                    self.flow.remove(nid)
                if fids:
                    lay = self.flow.spec.layout.model_copy(deep=True)
                    lay.frames = [f for f in lay.frames if f.id not in fids]
                    self.flow.set_layout(lay)

            what = count(len(ids), len(fids))
            self.edit("delete node" if len(ids) == 1 and not fids else f"delete {what}", do)
            self.selection = {}
            for nid in ids:
                for d in (self.status, self.previews, self.errors, self.problems):
                    d.pop(nid, None)
            self.say(f"deleted node {ids[0]}" if len(ids) == 1 and not fids else f"deleted {what}")
            return _ALL
        if self.selected_edge is not None:
            src, dst = self.selected_edge
            self.edit("delete edge", lambda: self.flow.disconnect(dst, src))
            self.selected_edge = None
            self.say(f"deleted edge {src} -> {dst}")
            return _ALL
        self.say("select a node or an edge to delete")
        return _NONE

    def group(self, kind: str = "subflow", item: str | None = None) -> frozenset[Layer]:
        """Put the selected nodes into one ``subflow``, ``loop`` or ``map`` node's embedded body (one undo step).

        A map with several outside outputs wired into the selection first asks which one carries the
        item (``item``: that output, ``"node.port"``); the others go to every item unchanged."""
        ids = [n.id for n in self.flow.spec.nodes if n.id in self.selection]
        if not ids:
            self.say(f"select nodes to group into a {kind}")
            return _NONE
        if kind == "map" and item is None and len(choices := item_candidates(self.flow, ids, self.ports)) > 1:
            return self._ask_item(choices)
        try:
            gid: str = self.edit(f"group into {kind}",
                                 lambda: group_nodes(self.flow, ids, self.ports, kind=kind, item=item))
        except NbflowError as exc:
            self.say(f"cannot group into a {kind}: {exc}", "error")
            return _NONE
        for nid in ids:
            for d in (self.status, self.previews, self.errors, self.problems):
                d.pop(nid, None)
        self.select([gid])
        once = ": it runs once until you set 'until' and max_iterations in Params" if kind == "loop" else ""
        self.say(f"grouped {len(ids)} node{'s' if len(ids) > 1 else ''} into {kind} {gid}{once} (double-click to open)")
        return _ALL

    def _ask_item(self, choices: list[tuple[str, str]]) -> frozenset[Layer]:
        """A menu at the pointer: which wire coming in carries each item of the new map."""
        sx, sy = self.mouse
        items = [MenuItem(f"Map over {ref} ({typ})", f"group:map:{ref}") for ref, typ in choices]
        self.popup = Popup("menu", sx, sy, *self.view.to_world(sx, sy), items)
        self.popup.index = -1
        self.popup.move(1)
        self.popup.clamp(self.view.width, self.view.height)
        self.say("map over which input? The others go to every item unchanged (Enter: the first; Escape: cancel)")
        return frozenset(("overlay",))

    def toggle_snap(self) -> frozenset[Layer]:
        """Turn snap to grid on or off (on: moved, added and pasted nodes land on the grid)."""
        self.snap = not self.snap
        self.say(f"snap to grid {'on' if self.snap else 'off'}")
        return frozenset(("overlay",))

    def auto_layout(self) -> frozenset[Layer]:
        """Lay the whole flow out left to right by its wires, each frame's members as one block with the
        frame refitted around them; reroute points move as their wires' ends do (one undo step)."""
        from nbflow.widget.arrange_frames import auto_layout_frames, moved_points

        if not self.flow.spec.nodes:
            self.say("nothing to lay out")
            return _NONE
        pos, rects = auto_layout_frames(self.flow.spec, self.boxes)

        def do() -> None:
            spec = self.flow.spec.model_copy(deep=True)
            spec.layout.wires = moved_points(spec, pos)
            for nid, (x, y) in pos.items():
                spec.layout.nodes[nid] = Position(x=x, y=y)
            spec.layout.frames = [f.model_copy(update=dict(zip("xywh", map(round, rects[f.id]), strict=True)))
                                  if f.id in rects else f for f in spec.layout.frames]
            self.flow.replace(spec)

        self.edit("auto-layout", do)
        frames = f" and {len(rects)} frame{'s' if len(rects) > 1 else ''}" if rects else ""
        self.say(f"laid out {len(pos)} nodes{frames}")
        return _ALL


def _count(clip: Clip) -> str:
    """``"2 nodes"``, ``"1 node and 1 frame"``, ``"2 frames"``."""
    return count(len(clip.nodes), len(clip.frames))
