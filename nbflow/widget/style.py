"""Colours and sizes of the canvas, shared by the view model (geometry) and the drawing layer.

Plain data, no Jupyter import: the view model's hit testing and the drawing must agree on every size.
"""

from __future__ import annotations

__all__ = [
    "BACKGROUND",
    "CATEGORY_COLORS",
    "EDGE_WIDTH",
    "GRID_MAJOR",
    "GRID_MINOR",
    "HEADER_H",
    "NODE_W",
    "PORT_COLORS",
    "PORT_HIT",
    "PORT_R",
    "PREVIEW_H",
    "ROW_H",
    "STATUS_COLORS",
    "category_color",
    "hex_to_rgb",
    "port_color",
]

#: Node box width, header height, one port row, and the short-preview strip at the bottom (world px).
NODE_W = 200.0
HEADER_H = 26.0
ROW_H = 20.0
PREVIEW_H = 40.0
#: Port dot radius, and how far from its centre a click still counts as hitting it.
PORT_R = 5.5
PORT_HIT = 10.0
EDGE_WIDTH = 2.0
GRID_MINOR = 20.0
GRID_MAJOR = 100.0
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
    "Control": "#b7950b",
    "Media": "#c0392b",
    "Other": "#5f6b7a",
}

#: Fill of the status pill on a node, per engine status.
STATUS_COLORS: dict[str, str] = {
    "queued": "#95a5a6",
    "running": "#f1c40f",
    "done": "#27ae60",
    "cached": "#1abc9c",
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
