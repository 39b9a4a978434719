"""The keyboard focus of the canvas, apart from the selection (the WAI-ARIA listbox pattern).

The focus is one node, drawn with a dashed ring outside the selection's outline. ``Tab`` /
``Shift+Tab`` move the focus and select that node alone (see :mod:`~nbflow.widget.keynav`);
``Ctrl+arrows`` move the focus to the nearest node that way without changing the selection;
``Ctrl+Shift+arrows`` move it and add that node to the selection; ``Space`` adds the focused node to
the selection or takes it out. What acts on the selection (arrows, Delete, Ctrl+C, Ctrl+G, H...) then
acts on the nodes chosen this way. ``Shift+W`` selects the next wire of the focused node (``Delete``
removes it); ``W`` starts wiring by keyboard (:mod:`~nbflow.widget.keywire`).

Leaving the canvas (no keyboard trap): after ``Escape`` the DOM helper lets the next ``Tab`` /
``Shift+Tab`` move the page's focus on (:mod:`~nbflow.widget.dom`) and the kernel hears of it
(:meth:`KeyFocus.left_canvas`). A mixin of the view model; plain Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbflow.widget.keynav import ARROWS, KeyNav, reading_order
from nbflow.widget.keywire import KeyWiring
from nbflow.widget.layers import ALL_LAYERS

if TYPE_CHECKING:
    from nbflow.widget.geometry import NodeBox
    from nbflow.widget.layers import Layer

__all__ = ["KeyFocus", "nearest"]

_NONE: frozenset[Layer] = frozenset()


def nearest(boxes: dict[str, NodeBox], start: str, dx: int, dy: int) -> str | None:
    """The node nearest to ``start`` in direction (dx, dy) (centre to centre; a node off the axis counts
    twice its sideways distance), or None when no node lies that way."""
    a = boxes[start]
    ax, ay = a.x + a.w / 2, a.y + a.h / 2
    best: tuple[float, str] | None = None
    for b in boxes.values():
        if b.id == start:
            continue
        along = (b.x + b.w / 2 - ax) * dx + (b.y + b.h / 2 - ay) * dy
        across = abs((b.x + b.w / 2 - ax) * dy) + abs((b.y + b.h / 2 - ay) * dx)
        if along <= 0:
            continue
        score = (along + 2 * across, b.id)
        if best is None or score < best:
            best = score
    return None if best is None else best[1]


class KeyFocus(KeyNav, KeyWiring):
    """The focus ring, Space / Ctrl+arrows multi-select, wires by key, and leaving the canvas by Tab
    (with the keys of :class:`~nbflow.widget.keynav.KeyNav`; mixed into the view model)."""

    if TYPE_CHECKING:
        selection: dict[str, None]
        selected_edge: tuple[str, str] | None
        popup: Any
        drag: Any

        @property
        def selected(self) -> str | None: ...

    #: Escape was the last key: Tab and Shift+Tab now leave the canvas (the DOM helper lets them through).
    escaped = False
    _focus: str | None = None
    _focus_tag: tuple[str, ...] | None = None  # the selection when the focus was set

    @property
    def focus(self) -> str | None:
        """The node with the keyboard focus: the one the keys put it on while the selection is as they
        left it, else the last selected node (a click moves the focus too); None for none."""
        f = self._focus if self._focus_tag == tuple(self.selection) else self.selected
        return f if f is not None and f in self.boxes else None

    @property
    def keyboard_focus(self) -> str | None:
        """The focused node when the keys put the focus there (the ring is drawn), else None."""
        f = self._focus if self._focus_tag == tuple(self.selection) else None
        return f if f is not None and f in self.boxes else None

    def set_focus(self, node_id: str | None) -> None:
        """Put the focus on ``node_id`` (None: nowhere) without changing the selection."""
        self._focus, self._focus_tag = node_id, tuple(self.selection)

    def focus_key(self, key: str, shift: bool, mod: bool) -> frozenset[Layer] | None:
        """The keys of this module, or None for a key they leave to the others."""
        if key == "Escape" and self.key_wire is None:
            self.escaped = True
            self.say("selection cleared: Tab / Shift+Tab now leave the canvas")
            return None
        self.escaped = False
        if self.key_wire is not None:
            done = self.wire_key(key, shift)
            if done is not None:
                return done
        if mod and key in ARROWS:
            return self.move_focus(*ARROWS[key], extend=shift)
        if key == " ":
            return self.toggle_focused()
        if not mod and key.lower() == "w":
            return self.next_wire() if shift else self.start_wire(self.focus)
        return None

    def move_focus(self, dx: int, dy: int, *, extend: bool = False) -> frozenset[Layer]:
        """Move the focus to the nearest node that way (``extend``: and add it to the selection)."""
        boxes = self.boxes
        if not boxes:
            self.say("no nodes")
            return _NONE
        cur = self.focus
        nid = reading_order(boxes)[0] if cur is None else nearest(boxes, cur, dx, dy)
        if nid is None:
            self.say(f"no node {_WAY[(dx, dy)]} {cur}")
            return _NONE
        if extend:
            self.select([nid], add=True)
        self.set_focus(nid)
        self.show(nid)
        self.say(f"focus on {nid}, {self._count()}" + ("" if extend else " (Space adds or removes it)"))
        return ALL_LAYERS

    def toggle_focused(self) -> frozenset[Layer]:
        """Add the focused node to the selection, or take it out."""
        nid = self.focus
        if nid is None:
            self.say("no node has the focus: Tab or Ctrl+arrows to one first")
            return _NONE
        if nid in self.selection:
            self.selection.pop(nid)
            verb = "took {} out of"
        else:
            self.select([nid], add=True)
            verb = "added {} to"
        self.set_focus(nid)
        self.say(f"{verb.format(nid)} the selection, {self._count()}")
        return ALL_LAYERS

    def next_wire(self) -> frozenset[Layer]:
        """Select the next wire into or out of the focused node (Delete removes it); the focus stays."""
        nid = self.focus
        if nid is None:
            self.say("no node has the focus: Tab to one, then Shift+W picks its wires")
            return _NONE
        wires = [e for e in self.flow.edges if e[1].split(".", 1)[0] == nid] + [
            e for e in self.flow.edges if e[0].split(".", 1)[0] == nid]
        if not wires:
            self.say(f"{nid} has no wires (W starts one)")
            return _NONE
        cur = self.selected_edge
        i = (wires.index(cur) + 1) % len(wires) if cur in wires else 0
        self.selection = {}
        self.selected_edge = wires[i]
        self.set_focus(nid)
        self.say(f"wire {wires[i][0]} -> {wires[i][1]} ({i + 1} of {len(wires)}): Delete removes it, "
                 "Shift+W the next")
        return ALL_LAYERS

    def left_canvas(self, *, back: bool = False) -> None:
        """Tab (``back``: Shift+Tab) took the page's focus off the canvas: Tab back in walks the nodes
        from the first (Shift+Tab from the last). The notebook may move the page's focus off the canvas
        and back on its own; that keeps the focus where it was."""
        self.escaped = False
        self.cancel_wire()
        self.set_focus(None)
        self.say(f"{'Shift+Tab' if back else 'Tab'} left the canvas; Tab back to it for its keys")

    def _count(self) -> str:
        n = len(self.selection)
        return f"{n} node{'s' if n != 1 else ''} selected"


_WAY = {(1, 0): "to the right of", (-1, 0): "to the left of", (0, 1): "below", (0, -1): "above"}
