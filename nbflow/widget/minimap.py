"""The minimap: the whole flow in a corner of the canvas, with the view as a frame. Plain Python.

Shown when some node is out of view. A click or drag on it centres the view on that point. It covers
the flow's bounds and the view's, so the frame is always inside it.
"""

from __future__ import annotations

from collections.abc import Mapping

from nbflow.widget.geometry import NodeBox, View

__all__ = ["MINI_H", "MINI_W", "Minimap"]

#: Size of the minimap and its distance from the canvas' bottom-right corner (screen pixels).
MINI_W = 180.0
MINI_H = 120.0
MARGIN = 10.0


class Minimap:
    """Geometry of the minimap for a view."""

    def __init__(self, view: View) -> None:
        self.view = view

    def rect(self) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` of the minimap on screen."""
        v = self.view
        return v.width - MINI_W - MARGIN, v.height - MINI_H - MARGIN, MINI_W, MINI_H

    def shown(self, boxes: Mapping[str, NodeBox]) -> bool:
        """Whether to show it: the flow has nodes and some of them are (partly) out of view."""
        if not boxes or self.view.width < 3 * MINI_W:
            return False
        x0, y0, x1, y1 = self.view.visible()
        return any(b.x < x0 or b.y < y0 or b.x + b.w > x1 or b.y + b.h > y1 for b in boxes.values())

    def world(self, boxes: Mapping[str, NodeBox]) -> tuple[float, float, float]:
        """``(wx0, wy0, scale)``: the world rectangle shown, and minimap pixels per world unit."""
        vx0, vy0, vx1, vy1 = self.view.visible()
        bs = list(boxes.values())
        x0 = min([vx0, *(b.x for b in bs)])
        y0 = min([vy0, *(b.y for b in bs)])
        x1 = max([vx1, *(b.x + b.w for b in bs)])
        y1 = max([vy1, *(b.y + b.h for b in bs)])
        scale = min((MINI_W - 8) / max(x1 - x0, 1.0), (MINI_H - 8) / max(y1 - y0, 1.0))
        return x0, y0, scale

    def to_mini(self, wx: float, wy: float, origin: tuple[float, float, float]) -> tuple[float, float]:
        mx, my, _, _ = self.rect()
        x0, y0, s = origin
        return mx + 4 + (wx - x0) * s, my + 4 + (wy - y0) * s

    def contains(self, sx: float, sy: float, boxes: Mapping[str, NodeBox]) -> bool:
        mx, my, mw, mh = self.rect()
        return mx <= sx <= mx + mw and my <= sy <= my + mh and self.shown(boxes)

    def center_on(self, sx: float, sy: float, boxes: Mapping[str, NodeBox]) -> None:
        """Pan so the world point under minimap pixel (sx, sy) is in the middle of the view."""
        mx, my, _, _ = self.rect()
        x0, y0, s = self.world(boxes)
        wx, wy = x0 + (sx - mx - 4) / s, y0 + (sy - my - 4) / s
        v = self.view
        v.ox = v.width / 2 - wx * v.zoom
        v.oy = v.height / 2 - wy * v.zoom
