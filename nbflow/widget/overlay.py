"""Drawing what sits above the flow, in screen pixels: popups, tooltips, the selection box, the minimap.

Text here is 12 px on screen whatever the zoom (never under the 11 px minimum).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ipycanvas import Canvas

from nbflow.widget.minimap import Minimap
from nbflow.widget.popups import ITEM_H, Popup
from nbflow.widget.style import STATUS_COLORS, category_color, fit_text, hex_to_rgb

__all__ = ["draw_box_rect", "draw_minimap", "draw_popup", "draw_tooltip"]

_FONT = "12px sans-serif"
_TEXT = "#1f2933"
_MUTED = "#6b7280"
_HIGHLIGHT = "#dbe8ff"


def _panel(c: Canvas, x: float, y: float, w: float, h: float) -> None:
    c.fill_style = "rgba(0,0,0,0.18)"
    c.fill_rect(x + 2, y + 3, w, h)
    c.fill_style = "#ffffff"
    c.fill_rect(x, y, w, h)
    c.stroke_style = "#9aa5b1"
    c.line_width = 1
    c.stroke_rect(x + 0.5, y + 0.5, w - 1, h - 1)


def draw_popup(c: Canvas, p: Popup) -> None:
    """The context menu (label left, shortcut right) or the search box (query line, then results)."""
    _panel(c, p.x, p.y, p.width, p.height)
    c.font = _FONT
    c.text_baseline = "middle"
    top = p.y + 4
    if p.kind == "search":
        c.fill_style = "#f1f5ff"
        c.fill_rect(p.x + 4, top + 2, p.width - 8, ITEM_H - 4)
        c.fill_style = _TEXT if p.query else _MUTED
        c.text_align = "left"
        c.fill_text(f"{p.query}▏" if p.query else "type to search node types…", p.x + 10, top + ITEM_H / 2)
        top += ITEM_H
        if not p.items:
            c.fill_style = _MUTED
            c.fill_text("no node type matches", p.x + 10, top + ITEM_H / 2)
    first = p.first_row()
    rows = p.items[first:first + (p.rows - (1 if p.kind == "search" else 0))]
    for k, item in enumerate(rows):
        y = top + k * ITEM_H
        if first + k == p.index and item.enabled:
            c.fill_style = _HIGHLIGHT
            c.fill_rect(p.x + 2, y, p.width - 4, ITEM_H)
        c.fill_style = _TEXT if item.enabled else "#9aa5b1"
        c.text_align = "left"
        room = p.width - 20 - (len(item.keys) * 7 + 10 if item.keys else 0)
        c.fill_text(fit_text(item.label, room, 12)[0], p.x + 10, y + ITEM_H / 2)
        if item.keys:
            c.fill_style = _MUTED
            c.text_align = "right"
            c.fill_text(item.keys, p.x + p.width - 10, y + ITEM_H / 2)


def draw_tooltip(c: Canvas, tip: tuple[float, float, list[str]], width: float, height: float) -> None:
    """A tooltip below-right of the pointer, kept inside the canvas."""
    sx, sy, lines = tip
    w = min(width - 8, max(len(line) for line in lines) * 7.0 + 16)
    h = len(lines) * 16 + 8
    x = min(max(4.0, sx + 14), width - w - 4)
    y = sy + 18 if sy + 18 + h < height else max(4.0, sy - h - 8)
    _panel(c, x, y, w, h)
    c.font = _FONT
    c.text_align = "left"
    c.text_baseline = "middle"
    c.fill_style = _TEXT
    for i, line in enumerate(lines):
        c.fill_text(fit_text(line, w - 16, 12)[0], x + 8, y + 12 + i * 16)


def draw_box_rect(c: Canvas, rect: tuple[float, float, float, float] | None) -> None:
    """The selection box being dragged out."""
    if rect is None:
        return
    x0, y0, x1, y1 = rect
    c.fill_style = "rgba(31,111,235,0.10)"
    c.fill_rect(x0, y0, x1 - x0, y1 - y0)
    c.stroke_style = "#1f6feb"
    c.line_width = 1
    c.set_line_dash([4, 3])
    c.stroke_rect(x0 + 0.5, y0 + 0.5, x1 - x0, y1 - y0)
    c.set_line_dash([])


def draw_minimap(c: Canvas, vm: Any) -> None:
    """Every node as a small block (status colour when it ran), and the view as a frame."""
    mm: Minimap = vm.minimap
    boxes = vm.boxes
    if not mm.shown(boxes):
        return
    mx, my, mw, mh = mm.rect()
    _panel(c, mx, my, mw, mh)
    origin = mm.world(boxes)
    s = origin[2]
    frames = vm.flow.spec.layout.frames
    if frames:  # frames behind the nodes, in their colours, cut to the panel
        c.save()
        c.begin_path()
        c.rect(mx, my, mw, mh)
        c.clip()
        for f in sorted(frames, key=lambda f: -f.w * f.h):
            c.fill_style = f.color
            c.fill_rect(*mm.to_mini(f.x, f.y, origin), max(f.w * s, 2.0), max(f.h * s, 2.0))
        c.restore()
    bs = list(boxes.values())
    xy = np.array([mm.to_mini(b.x, b.y, origin) for b in bs])
    st = vm.status
    colors = np.array([hex_to_rgb(STATUS_COLORS[st[b.id]] if st.get(b.id) in STATUS_COLORS
                                  else category_color(b.category)) for b in bs])
    c.fill_styled_rects(xy[:, 0], xy[:, 1], np.maximum(np.array([b.w for b in bs]) * s, 2.0),
                        np.maximum(np.array([b.h for b in bs]) * s, 2.0), colors)
    vx0, vy0, vx1, vy1 = vm.view.visible()
    fx0, fy0 = mm.to_mini(vx0, vy0, origin)
    fx1, fy1 = mm.to_mini(vx1, vy1, origin)
    c.stroke_style = "#1f6feb"
    c.line_width = 1.5
    c.stroke_rect(fx0, fy0, fx1 - fx0, fy1 - fy0)
