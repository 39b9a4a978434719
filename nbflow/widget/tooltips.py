"""Tooltips under the pointer: a port's name and type, a node's full title and preview when the canvas
shows them cut (or not at all at this zoom). A view-model mixin; plain Python, no Jupyter import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbflow.widget.previews import wrap
from nbflow.widget.rails import NEW_INPUT, NEW_OUTPUT
from nbflow.widget.style import detail, fit_text

if TYPE_CHECKING:
    from nbflow.widget.geometry import NodeBox, View
    from nbflow.widget.layers import Hit, Layer
    from nbflow.widget.minimap import Minimap

__all__ = ["Tooltips"]

_OVERLAY: frozenset[Layer] = frozenset(("overlay",))
_NONE: frozenset[Layer] = frozenset()


class Tooltips:
    """Hover handling (mixed into the view model)."""

    if TYPE_CHECKING:
        view: View
        popup: Any
        tooltip: tuple[float, float, list[str]] | None
        minimap: Minimap
        previews: dict[str, Any]
        problems: dict[str, Any]

        @property
        def boxes(self) -> dict[str, NodeBox]: ...
        def hit(self, sx: float, sy: float) -> Hit: ...

    # -- hover ------------------------------------------------------------------------------------

    def _hover(self, sx: float, sy: float) -> frozenset[Layer]:
        tip = self.tooltip_at(sx, sy)
        if tip == (self.tooltip[2] if self.tooltip else None):
            return _NONE
        self.tooltip = (sx, sy, tip) if tip else None
        return _OVERLAY

    def tooltip_at(self, sx: float, sy: float) -> list[str] | None:
        """Lines of the tooltip at (sx, sy): a port's name and type, or a node's full title and preview
        when the canvas shows them cut (or not at all at this zoom)."""
        if self.popup is not None or self.minimap.contains(sx, sy, self.boxes):
            return None
        h = self.hit(sx, sy)
        if h.kind == "port" and h.node in (NEW_INPUT, NEW_OUTPUT):
            return ["new body input: drag to a node's input" if h.node == NEW_INPUT
                    else "new body output: drag a node's output here"]
        if h.kind == "port" and h.node is not None:
            p = self.boxes[h.node].port(h.port or "", h.is_input)
            return [f"{h.node}.{h.port}: {p.type if p else '?'}" + (" (input)" if h.is_input else " (output)")]
        if h.kind != "node" or h.node is None:
            return None
        b = self.boxes[h.node]
        lod = detail(self.view.zoom)
        title = b.title if b.title == b.id else f"{b.title} ({b.id})"
        lines: list[str] = []
        _, cut = fit_text(b.title, b.w - 30, lod.title_px)
        if cut or lod.far or b.title != b.id:
            lines.append(f"{title} · {b.type}")
        pv = self.previews.get(b.id)
        text = self.problems[b.id].message if b.id in self.problems else (pv.text if pv else b.problem)
        if text:
            room = (b.w - 16) * max(lod.preview_lines, 1)
            _, cut = fit_text(text, room, lod.preview_px)
            if cut or not lod.previews:
                lines.extend(wrap(text, 64, 8))
        return lines or None
