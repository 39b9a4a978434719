"""Drawing the iterate marks above nodes: the pin mark (left) and the source badge (right).

Each is a small coloured tag sitting on the node's top edge with white text. Its size is fixed on
screen (``TAG_PX`` text, never smaller than ``MIN_TEXT_PX``), so it stays legible at every zoom, even
far out where a node is one block of colour. Tags of one colour are filled in one batched command.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbflow.widget.geometry import NodeBox
from nbflow.widget.iterating import PIN_MARKS, SOURCE_BADGES
from nbflow.widget.style import MIN_TEXT_PX

__all__ = ["TAG_PX", "draw_marks", "tags"]

#: On-screen size of a tag's text, and its height and padding (screen pixels).
TAG_PX = MIN_TEXT_PX
TAG_H = 16.0
TAG_PAD = 5.0
#: Gap between a tag and the node's top edge (screen pixels): clear of the selection outline.
TAG_GAP = 4.0


def tags(boxes: list[NodeBox], pins: dict[str, str], status: dict[str, str],
         zoom: float) -> list[tuple[float, float, float, str, str]]:
    """``(x, y, w, text, colour)`` of every tag (world units) for these nodes at ``zoom``."""
    s = 1.0 / zoom  # world units per screen pixel
    h, pad = TAG_H * s, TAG_PAD * s
    char = TAG_PX * 0.62 * s
    out: list[tuple[float, float, float, str, str]] = []
    for b in boxes:
        y = b.y - TAG_GAP * s - h
        left = b.x
        state = pins.get(b.id)
        if state is not None:
            text, color = PIN_MARKS.get(state, PIN_MARKS["ok"])
            w = len(text) * char + 2 * pad
            out.append((b.x, y, w, text, color))
            left = b.x + w + pad
        badge = SOURCE_BADGES.get(status.get(b.id, ""))
        if badge is not None:
            text, color = badge
            w = len(text) * char + 2 * pad
            out.append((max(left, b.x + b.w - w), y, w, text, color))
    return out


def draw_marks(c: Any, boxes: list[NodeBox], pins: dict[str, str], status: dict[str, str], zoom: float) -> None:
    """Draw the pin marks and source badges of ``boxes`` on canvas ``c`` (in world transform)."""
    todo = tags(boxes, pins, status, zoom)
    if not todo:
        return
    s = 1.0 / zoom
    h = TAG_H * s
    by_color: dict[str, list[tuple[float, float, float, str, str]]] = {}
    for t in todo:
        by_color.setdefault(t[4], []).append(t)
    for color, group in by_color.items():
        c.fill_style = color
        c.fill_rects(np.array([t[0] for t in group]), np.array([t[1] for t in group]),
                     np.array([t[2] for t in group]), np.full(len(group), h))
    c.fill_style = "#ffffff"
    c.font = f"bold {TAG_PX * s:.2f}px sans-serif"
    c.text_align = "left"
    c.text_baseline = "middle"
    for x, y, _, text, _ in todo:
        c.fill_text(text, x + TAG_PAD * s, y + h / 2)
