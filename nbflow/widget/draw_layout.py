"""Drawing frames (behind everything on the wire layer) and reroute points (on their wires).

Text keeps the canvas' legibility rule: never under ``MIN_TEXT_PX`` on screen. Far out a frame's title
is drawn larger (it names a region of the flow) and its comment text is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nbflow.widget.frames import FRAME_TITLE_H, RESIZE, frame_order
from nbflow.widget.previews import wrap
from nbflow.widget.reroutes import POINT_R
from nbflow.widget.style import MIN_TEXT_PX, fit_text, hex_to_rgb, port_color

if TYPE_CHECKING:
    from ipycanvas import Canvas

    from nbflow.model.spec import FrameSpec
    from nbflow.widget.geometry import EdgeGeom
    from nbflow.widget.viewmodel import ViewModel

__all__ = ["comment_lines", "draw_frames", "draw_points", "shade"]

SELECT_COLOR = "#1f6feb"
TEXT_COLOR = "#1f2933"
#: Comment text size (world units) and line height factor.
TEXT_PX = 14.0


def shade(color: str, amount: float) -> str:
    """``color`` darkened towards black by ``amount`` (0 to 1)."""
    r, g, b = (round(v * (1 - amount)) for v in hex_to_rgb(color))
    return f"#{r:02x}{g:02x}{b:02x}"


def comment_lines(text: str, width: float, height: float, px: float) -> list[str]:
    """A comment's text as drawn in a ``width`` x ``height`` room at ``px``: its own line breaks kept,
    long lines wrapped, cut to the lines that fit (the last one ending in an ellipsis when cut)."""
    per_line = max(1, int(width / (px * 0.56)))
    most = max(0, int(height // (px * 1.3)))
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines.extend(wrap(para, per_line, 1000) if para.strip() else [""])
    if len(lines) > most:
        lines = lines[:most]
        if lines:
            lines[-1] = fit_text(lines[-1] + " …", width, px)[0] if len(lines[-1]) < per_line - 2 else \
                lines[-1][: per_line - 1] + "…"
    return lines


def _visible(vm: ViewModel) -> list[FrameSpec]:
    x0, y0, x1, y1 = vm.view.visible(margin=20)
    lifted = vm.lifted_frames
    return [f for f in frame_order(vm.flow.spec.layout.frames)
            if f.id not in lifted and f.x <= x1 and f.x + f.w >= x0 and f.y <= y1 and f.y + f.h >= y0]


def draw_frames(c: Canvas, vm: ViewModel, frames: list[FrameSpec] | None = None) -> None:
    """Every visible frame but those being dragged (or just ``frames``), larger ones first: fill, title
    bar, border, title, comment text, corner."""
    zoom = vm.view.zoom
    title_px = max(16.0, MIN_TEXT_PX / zoom)
    text_px = TEXT_PX if TEXT_PX * zoom >= MIN_TEXT_PX else 0.0
    chosen = {vm.selected_frame, *vm.selected_frames}
    for f in _visible(vm) if frames is None else frame_order(frames):
        bar = min(FRAME_TITLE_H, f.h)
        c.fill_style = f.color
        c.fill_rect(f.x, f.y, f.w, f.h)
        c.fill_style = shade(f.color, 0.12)
        c.fill_rect(f.x, f.y, f.w, bar)
        selected = f.id in chosen
        c.stroke_style = SELECT_COLOR if selected else shade(f.color, 0.3)
        c.line_width = max(3.0, 3.0 / zoom) if selected else max(1.0, 1.0 / zoom)
        c.stroke_rect(f.x, f.y, f.w, f.h)
        c.fill_style = TEXT_COLOR
        c.text_align = "left"
        c.text_baseline = "middle" if title_px <= bar else "top"
        c.font = f"bold {title_px:.1f}px sans-serif"
        if f.title:
            c.fill_text(fit_text(f.title, f.w - 16, title_px)[0], f.x + 8,
                        f.y + bar / 2 if title_px <= bar else f.y + 4)
        if text_px and f.text and title_px <= bar:
            c.font = f"{text_px:.1f}px sans-serif"
            c.text_baseline = "top"
            for i, line in enumerate(comment_lines(f.text, f.w - 16, f.h - bar - 12, text_px)):
                c.fill_text(line, f.x + 8, f.y + bar + 8 + i * text_px * 1.3)
        corner = max(RESIZE, 12.0 / zoom)
        c.stroke_style = shade(f.color, 0.45)
        c.line_width = max(1.5, 1.5 / zoom)
        c.begin_path()
        for k in (0.3, 0.65):
            c.move_to(f.x + f.w - corner * k, f.y + f.h - 3 / zoom)
            c.line_to(f.x + f.w - 3 / zoom, f.y + f.h - corner * k)
        c.stroke()


def draw_points(c: Canvas, vm: ViewModel, edges: list[EdgeGeom]) -> None:
    """A dot on each reroute point, in its wire's colour; the selected one ringed."""
    pts = [(x, y, port_color(e.type)) for e in edges for x, y in e.via]
    if not pts:
        return
    r = max(POINT_R, 4.0 / vm.view.zoom)
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    c.fill_styled_circles(xs, ys, r, np.array([hex_to_rgb(p[2]) for p in pts]))
    c.stroke_style = "#ffffff"
    c.line_width = max(1.5, 1.5 / vm.view.zoom)
    c.stroke_circles(xs, ys, r)
    sp = vm.selected_point
    if sp is None:
        return
    for e in edges:
        if (e.src, e.dst) == sp[0] and sp[1] < len(e.via):
            c.stroke_style = SELECT_COLOR
            c.line_width = max(2.5, 2.5 / vm.view.zoom)
            c.stroke_circle(*e.via[sp[1]], r + 3 / vm.view.zoom)
