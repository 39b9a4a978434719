"""Opening and driving the canvas' popups: the context menu and search-to-add. A view-model mixin.

What each menu offers depends on what is under the pointer: a node (the selection), a wire, or
empty canvas. Every item names the shortcut that does the same. Plain Python, no Jupyter import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbflow.widget.bodies import COMPOSITE_TYPES
from nbflow.widget.iterating import menu_items
from nbflow.widget.popups import MenuItem, Popup

if TYPE_CHECKING:
    from nbflow.flow import Flow
    from nbflow.widget.geometry import View
    from nbflow.widget.layers import Hit, Layer

__all__ = ["PopupActions"]

_OVERLAY: frozenset[Layer] = frozenset(("overlay",))
_SELECTION: frozenset[Layer] = frozenset(("edges", "nodes", "overlay"))
_ALL: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "minimap", "overlay"))
_NONE: frozenset[Layer] = frozenset()


class PopupActions:
    """Context menu and search-to-add (mixed into the view model)."""

    if TYPE_CHECKING:
        flow: Flow
        view: View
        popup: Popup | None
        tooltip: Any
        drag: Any

        @property
        def boxes(self) -> dict[str, Any]: ...
        selection: dict[str, None]
        selected_edge: tuple[str, str] | None
        snap: bool
        mouse: tuple[float, float]
        command: str | None

        @property
        def focus(self) -> str | None: ...
        def hit(self, sx: float, sy: float) -> Hit: ...
        def select(self, ids: list[str] | set[str], *, add: bool = False) -> frozenset[Layer]: ...
        def add_node(self, node_type: str, *, at: tuple[float, float] | None = None, **params: Any) -> str: ...
        @property
        def can_paste(self) -> bool: ...
        def copy(self) -> frozenset[Layer]: ...
        def cut(self) -> frozenset[Layer]: ...
        def paste(self, at: tuple[float, float] | None = None) -> frozenset[Layer]: ...
        def duplicate(self) -> frozenset[Layer]: ...
        def delete_selected(self) -> frozenset[Layer]: ...
        def select_all(self) -> frozenset[Layer]: ...
        def auto_layout(self) -> frozenset[Layer]: ...
        def toggle_snap(self) -> frozenset[Layer]: ...
        def fit(self) -> frozenset[Layer]: ...
        def group(self, kind: str = "subflow", item: str | None = None) -> frozenset[Layer]: ...
        def add_frame(self, *, comment: bool = False, at: tuple[float, float] | None = None) -> frozenset[Layer]: ...
        def add_point(self, edge: tuple[str, str] | None = None,
                      at: tuple[float, float] | None = None) -> frozenset[Layer]: ...
        def select_frame(self, frame_id: str | None) -> frozenset[Layer]: ...
        def select_point(self, edge: tuple[str, str], index: int) -> frozenset[Layer]: ...
        def select_in_frame(self, frame_id: str | None = None) -> frozenset[Layer]: ...
        def delete_frame(self, frame_id: str | None = None) -> frozenset[Layer]: ...
        def delete_point(self) -> frozenset[Layer]: ...
        def clear_points(self, edge: tuple[str, str]) -> frozenset[Layer]: ...
        def set_frame(self, frame_id: str, **fields: Any) -> None: ...
        def _geom(self, edge: tuple[str, str]) -> Any: ...

    # -- popups -----------------------------------------------------------------------------------

    def open_search(self, sx: float, sy: float) -> frozenset[Layer]:
        """Open search-to-add at screen (sx, sy): the chosen type is added where the search opened."""
        wx, wy = self.view.to_world(sx, sy)
        self.popup = Popup("search", sx, sy, wx, wy)
        self.popup.filter(self.flow.registry)
        self.popup.clamp(self.view.width, self.view.height)
        self.tooltip = None
        return _OVERLAY

    def menu_key(self) -> frozenset[Layer]:
        """The menu key or Shift+F10: the menu of the focused node (or the selected wire) opened at it,
        wherever the pointer rests; with neither, the menu of what is under the pointer."""
        node = self.focus
        if node is not None and node in self.boxes:
            b = self.boxes[node]
            return self.open_menu(*self.view.to_screen(b.x + b.w / 2, b.y + min(b.h / 2, 12.0)))
        geom = self._geom(self.selected_edge) if self.selected_edge is not None else None
        if geom is not None and not geom.via:  # a plain wire's curve passes through its ends' midpoint
            return self.open_menu(*self.view.to_screen((geom.x1 + geom.x2) / 2, (geom.y1 + geom.y2) / 2))
        return self.open_menu(*self.mouse)

    def double_click(self, sx: float, sy: float) -> frozenset[Layer]:
        """Double-click on empty space opens search-to-add there; on a loop, map or subflow node it
        opens the node's body in place (the editor takes the ``open:<id>`` command); on a wire it adds
        a reroute point there; on a frame's title bar it shows the frame's title and text to edit."""
        if self.popup is not None:
            return _NONE
        h = self.hit(sx, sy)
        if h.kind == "edge" and h.edge is not None:
            return self.add_point(h.edge, at=self.view.to_world(sx, sy))
        if h.kind == "frame" and h.frame is not None:
            self.select_frame(h.frame)
            self.command = f"frame:{h.frame}"
            return _SELECTION
        if h.kind == "node" and h.node is not None and self.flow.node(h.node).type in COMPOSITE_TYPES:
            self.command = f"open:{h.node}"
            return _NONE
        if h.kind != "empty":
            return _NONE
        return self.open_search(sx, sy)

    def open_menu(self, sx: float, sy: float) -> frozenset[Layer]:
        """The context menu for what is under (sx, sy): a node (the selection), a wire, or empty canvas."""
        self.drag = None
        h = self.hit(sx, sy)
        wx, wy = self.view.to_world(sx, sy)
        redraw = set(_OVERLAY)
        if h.kind in ("node", "port") and h.node is not None and h.node in self.boxes:
            if h.node not in self.selection:
                redraw |= self.select([h.node])
            n = len(self.selection)
            what = "node" if n == 1 else f"{n} nodes"
            opens = n == 1 and self.flow.node(h.node).type in COMPOSITE_TYPES
            items = [MenuItem("Open body", f"open:{h.node}", "Enter or double-click")] if opens else []
            items += [MenuItem(f"Copy {what}", "copy", "Ctrl+C"), MenuItem(f"Cut {what}", "cut", "Ctrl+X"),
                     MenuItem(f"Duplicate {what}", "duplicate", "Ctrl+D"),
                     MenuItem(f"Delete {what}", "delete", "Del"),
                     *menu_items(self.flow, list(self.selection)),
                     MenuItem(f"Group {what} into a subflow", "group:subflow", "Ctrl+G"),
                     MenuItem(f"Group {what} into a loop", "group:loop", "Shift+L"),
                     MenuItem(f"Group {what} into a map", "group:map", "Shift+M"),
                     MenuItem(f"Frame {what}", "frame_add", "Shift+G"),
                     MenuItem("Select all", "select_all", "Ctrl+A")]
        elif h.kind == "edge" and h.edge is not None:
            self.selection, self.selected_edge = {}, h.edge
            redraw |= _SELECTION
            geom = self._geom(h.edge)
            items = [MenuItem("Add reroute point here", "point_add", "Shift+R"),
                     MenuItem("Straighten wire", "straighten", "", bool(geom and geom.via)),
                     MenuItem("Delete wire", "delete", "Del")]
        elif h.kind == "point" and h.edge is not None:
            redraw |= self.select_point(h.edge, h.index)
            items = [MenuItem("Delete reroute point", "delete", "Del"),
                     MenuItem("Straighten wire", "straighten", "")]
        elif h.kind in ("frame", "resize") and h.frame is not None:
            redraw |= self.select_frame(h.frame)
            items = [MenuItem("Edit title and text…", f"frame:{h.frame}", "Enter"),
                     MenuItem("Select the nodes in it", "frame_select", ""),
                     MenuItem("Copy frame + nodes", "copy", "Ctrl+C"),
                     MenuItem("Duplicate frame + nodes", "duplicate", "Ctrl+D"),
                     MenuItem("Delete frame, keep nodes", "delete", "Del")]
        else:
            items = [MenuItem("Add node here…", "search", "/ or double-click"),
                     MenuItem("Paste here", "paste", "Ctrl+V", self.can_paste),
                     MenuItem("Add frame here", "frame_add", "Shift+G"),
                     MenuItem("Add comment here", "comment_add", "Shift+C"),
                     MenuItem("Select all", "select_all", "Ctrl+A"),
                     MenuItem("Auto-layout", "auto_layout", "L", bool(self.flow.spec.nodes)),
                     MenuItem(("✓ " if self.snap else "") + "Snap to grid", "toggle_snap", "G"),
                     MenuItem("Fit the flow in view", "fit", "F")]
        self.popup = Popup("menu", sx, sy, wx, wy, items, target=h.node, edge=h.edge)
        self.popup.index = -1
        self.popup.move(1)
        self.popup.clamp(self.view.width, self.view.height)
        self.tooltip = None
        return frozenset(redraw)

    def close_popup(self) -> frozenset[Layer]:
        self.popup = None
        return _OVERLAY

    def _popup_click(self, sx: float, sy: float) -> frozenset[Layer]:
        p = self.popup
        assert p is not None
        i = p.item_at(sx, sy)
        if i is None:
            return self.close_popup() if not p.contains(sx, sy) else _NONE
        p.index = i
        return self.choose()

    def _popup_key(self, key: str, mod: bool) -> frozenset[Layer]:
        p = self.popup
        assert p is not None
        if key == "Escape":
            return self.close_popup()
        if key in ("ArrowDown", "ArrowUp"):
            p.move(1 if key == "ArrowDown" else -1)
            return _OVERLAY
        if key == "Enter":
            return self.choose()
        if p.kind == "search" and not mod:
            if key == "Backspace":
                p.query = p.query[:-1]
            elif len(key) == 1:
                p.query += key
            else:
                return _NONE
            p.filter(self.flow.registry)
            p.clamp(self.view.width, self.view.height)  # fewer results: closer to the pointer
            return _OVERLAY
        return _NONE

    def choose(self) -> frozenset[Layer]:
        """Run the popup's highlighted item (and close the popup)."""
        p, self.popup = self.popup, None
        item = p.chosen() if p is not None else None
        if p is None or item is None:
            return _OVERLAY
        if item.command.startswith("add:"):
            self.add_node(item.command[4:], at=(p.wx, p.wy))
            return _ALL
        self.mouse = (p.x, p.y)
        commands: dict[str, Callable[[], frozenset[Layer]]] = {
            "copy": self.copy, "cut": self.cut, "duplicate": self.duplicate, "delete": self.delete_selected,
            "select_all": self.select_all, "auto_layout": self.auto_layout, "toggle_snap": self.toggle_snap,
            "fit": self.fit, "paste": lambda: self.paste(at=(p.wx, p.wy)),
            "search": lambda: self.open_search(p.x, p.y),
            "frame_add": lambda: self.add_frame(at=None if self.selection else (p.wx, p.wy)),
            "comment_add": lambda: self.add_frame(comment=True, at=(p.wx, p.wy)),
            "point_add": lambda: self.add_point(p.edge, at=(p.wx, p.wy)),
            "straighten": lambda: self.clear_points(p.edge) if p.edge else _NONE,
            "frame_select": self.select_in_frame}
        if item.command.startswith("group:"):
            kind, _, ref = item.command[6:].partition(":")  # group:map:<node.port> names the item
            return self.group(kind, ref or None) | _OVERLAY
        if item.command in commands:
            return commands[item.command]() | _OVERLAY
        self.command = item.command  # for the editor (e.g. run_selected, run_from, toggle_pin)
        return _OVERLAY
