"""Popups drawn on the canvas: the context menu and search-to-add. Plain Python, no Jupyter import.

Both live in screen pixels on the overlay layer and are driven by the same mouse and key events as
the canvas: arrows move the highlight, Enter chooses, Escape closes, typing filters the search. They
are drawn by the canvas itself rather than as HTML so that they sit exactly at the pointer, inside
the canvas' own focus (so JupyterLab's shortcuts and cell menu stay out), and are testable here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from nbflow.nodes.registry import Registry

__all__ = ["ITEM_H", "MENU_W", "SEARCH_ROWS", "MenuItem", "Popup", "rank_types"]

#: Height of one row and width of a popup (screen pixels); text in them is 12 px.
ITEM_H = 24.0
MENU_W = 250.0
SEARCH_W = 320.0
SEARCH_ROWS = 10


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One row of a menu: its label, the shortcut that does the same, and the command it runs."""

    label: str
    command: str
    keys: str = ""
    enabled: bool = True


def rank_types(registry: Registry, query: str) -> list[tuple[str, str]]:
    """``(label, type)`` of every node type matching ``query`` (all words), best match first."""
    q = query.strip().lower()
    ranked = []
    for name, cls in registry.types().items():
        hay = f"{name} {cls.title} {cls.category} {cls.description}".lower()
        if not q or all(part in hay for part in q.split()):
            rank = 0 if name == q else 1 if name.startswith(q) else 2 if q in cls.title.lower() else 3
            ranked.append((rank if q else 0, f"{cls.category} · {cls.title or name} ({name})", name))
    ranked.sort()
    return [(label, name) for _, label, name in ranked]


@dataclass(slots=True)
class Popup:
    """An open menu or search box at screen (x, y); ``wx, wy`` is the world point it acts on."""

    kind: Literal["menu", "search"]
    x: float
    y: float
    wx: float
    wy: float
    items: list[MenuItem] = field(default_factory=list)
    index: int = 0
    query: str = ""
    target: str | None = None
    edge: tuple[str, str] | None = None
    anchor: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self.anchor = (self.x, self.y)

    @property
    def width(self) -> float:
        return SEARCH_W if self.kind == "search" else MENU_W

    @property
    def rows(self) -> int:
        """Rows drawn: the search has its query line on top of the results."""
        return (1 + min(SEARCH_ROWS, len(self.items))) if self.kind == "search" else len(self.items)

    @property
    def height(self) -> float:
        return self.rows * ITEM_H + 8

    def clamp(self, width: float, height: float) -> None:
        """Put the popup at its anchor, moved just enough to stay inside a ``width`` x ``height`` canvas."""
        ax, ay = self.anchor or (self.x, self.y)
        self.x = max(0.0, min(ax, width - self.width))
        self.y = max(0.0, min(ay, height - self.height))

    def contains(self, sx: float, sy: float) -> bool:
        return self.x <= sx <= self.x + self.width and self.y <= sy <= self.y + self.height

    def first_row(self) -> int:
        """Index of the first result shown (the list scrolls with the highlight)."""
        if self.kind != "search":
            return 0
        return max(0, min(self.index - SEARCH_ROWS + 1, len(self.items) - SEARCH_ROWS))

    def item_at(self, sx: float, sy: float) -> int | None:
        """Index of the item under screen (sx, sy), or None (outside, or on the query line)."""
        if not self.contains(sx, sy):
            return None
        row = int((sy - self.y - 4) // ITEM_H) - (1 if self.kind == "search" else 0)
        if row < 0:
            return None
        i = self.first_row() + row
        return i if i < len(self.items) and self.items[i].enabled else None

    def move(self, step: int) -> None:
        """Move the highlight by ``step`` rows, skipping disabled items."""
        n = len(self.items)
        if not n:
            return
        i = self.index
        for _ in range(n):
            i = (i + step) % n
            if self.items[i].enabled:
                self.index = i
                return

    def filter(self, registry: Registry) -> None:
        """The search's results for its query (each item's command is ``add:<type>``)."""
        self.items = [MenuItem(label, f"add:{name}") for label, name in rank_types(registry, self.query)]
        self.index = 0

    def chosen(self) -> MenuItem | None:
        if 0 <= self.index < len(self.items) and self.items[self.index].enabled:
            return self.items[self.index]
        return None
