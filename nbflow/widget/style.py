"""Colours and sizes of the canvas, shared by the view model (geometry) and the drawing layer.

Plain data, no Jupyter import: the view model's hit testing and the drawing must agree on every size.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BACKGROUND",
    "CATEGORY_COLORS",
    "EDGE_WIDTH",
    "GRID_MAJOR",
    "GRID_MINOR",
    "GRID_SNAP",
    "HEADER_H",
    "MIN_TEXT_PX",
    "NODE_W",
    "PORT_COLORS",
    "PORT_HIT",
    "PORT_R",
    "PREVIEW_H",
    "ROW_H",
    "STATUS_COLORS",
    "STATUS_RING",
    "Detail",
    "category_color",
    "contrast",
    "detail",
    "fit_text",
    "hex_to_rgb",
    "port_color",
]

#: Node box width, header height, one port row, and the short-preview strip at the bottom (world px).
NODE_W = 200.0
HEADER_H = 26.0
ROW_H = 20.0
PREVIEW_H = 56.0
#: Port dot radius, and how far from its centre a click still counts as hitting it.
PORT_R = 5.5
PORT_HIT = 10.0
EDGE_WIDTH = 2.0
GRID_MINOR = 20.0
GRID_MAJOR = 100.0
#: Snap to grid rounds positions to this step (the minor grid).
GRID_SNAP = 20.0
#: No text is drawn smaller than this on screen (pixels): below it, text is hidden or drawn larger.
MIN_TEXT_PX = 11.0
#: The status mark is a white disc (ring) around the status dot, so it stands out on every header.
STATUS_RING = "#ffffff"
BACKGROUND = "#f6f7f9"

#: One colour per scalar port type; ``list[x]`` ports take x's colour (drawn hollow), ``any`` is grey.
PORT_COLORS: dict[str, str] = {
    "text": "#2f80ed",
    "number": "#f2994a",
    "boolean": "#9b51e0",
    "json": "#27ae60",
    "image": "#eb5757",
    "audio": "#00a3a3",
    "video": "#c2185b",
    "file": "#8d6e63",
    "any": "#828282",
}

#: Header colour per palette category; unknown categories get the neutral one.
CATEGORY_COLORS: dict[str, str] = {
    "Inputs": "#3d7bd9",
    "Outputs": "#2e9e5b",
    "Text": "#6c5ce7",
    "Data": "#16a085",
    "AI": "#d35400",
    "Control": "#9a7b0a",
    "Media": "#c0392b",
    "Other": "#5f6b7a",
}

#: Fill of the status pill on a node, per engine status.
STATUS_COLORS: dict[str, str] = {
    "queued": "#95a5a6",
    "running": "#f1c40f",
    "done": "#27ae60",
    "cached": "#1abc9c",
    "pinned": "#b9770e",
    "failed": "#e74c3c",
    "skipped": "#bdc3c7",
    "paused": "#8e44ad",
    "cancelled": "#7f8c8d",
    "pending": "#dfe4ea",
}


def port_color(port_type: str) -> str:
    """The colour of a port type: ``list[image]`` shares ``image``'s colour."""
    if port_type.startswith("list[") and port_type.endswith("]"):
        port_type = port_type[5:-1]
    return PORT_COLORS.get(port_type, PORT_COLORS["any"])


def category_color(category: str) -> str:
    """Header colour for a node category."""
    return CATEGORY_COLORS.get(category, CATEGORY_COLORS["Other"])


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#2f80ed"`` -> ``(47, 128, 237)``."""
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _luminance(color: str) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c / 255) for c in hex_to_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def fit_text(text: str, width: float, px: float) -> tuple[str, bool]:
    """``text`` cut to about ``width`` units of a ``px``-unit sans-serif font, and whether it was cut.

    Estimated (0.58 em a character), so no text-measuring round trip to the browser is needed.
    """
    n = max(1, int(width / (px * 0.58)))
    if len(text) <= n:
        return text, False
    return text[: max(1, n - 1)] + "…", True


@dataclass(frozen=True, slots=True)
class Detail:
    """What the canvas draws at one zoom (level of detail). Sizes are world units.

    Every text size is at least ``MIN_TEXT_PX`` on screen; a text that would not fit its room at
    that size is not drawn (its tooltip still tells it). Far out (``far``), a node is one block
    coloured by its run status with its title across the body, and port labels, type names and
    previews are left out.
    """

    zoom: float
    title_px: float
    far: bool
    port_labels: bool
    label_px: float
    type_names: bool
    previews: bool
    preview_px: float
    preview_lines: int


def detail(zoom: float) -> Detail:
    """The level of detail at ``zoom`` (screen pixels per world unit)."""
    floor = MIN_TEXT_PX / zoom  # the world size that is MIN_TEXT_PX on screen
    title = max(13.0, floor)
    far = title > HEADER_H - 6
    label = max(12.0, floor)
    preview = max(12.0, floor)
    lines = max(0, min(3, int((PREVIEW_H - 8) // (preview * 1.25))))
    return Detail(zoom=zoom, title_px=max(13.0, (MIN_TEXT_PX + 2) / zoom) if far else title, far=far,
                  port_labels=label <= ROW_H - 3, label_px=label,
                  type_names=not far and 11.0 * zoom >= MIN_TEXT_PX, previews=lines > 0 and not far,
                  preview_px=preview, preview_lines=lines)
