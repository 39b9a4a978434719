"""Where nodes go: snap to grid, a free spot that overlaps nothing, and auto-layout. Pure Python.

Auto-layout puts each node in the column of its longest path from a source (so every wire runs left
to right), orders each column by the average row of its predecessors (fewer crossings), and stacks
the column with a gap. It is linear in nodes + edges apart from the column sort.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from math import ceil, floor

from nbflow.model.spec import FlowSpec, parse_ref
from nbflow.widget.geometry import NodeBox
from nbflow.widget.style import GRID_SNAP, NODE_W

__all__ = ["COLUMN", "GAP", "auto_layout", "free_spot", "layered", "overlaps", "snap"]

#: Horizontal distance between auto-layout columns, and the gap kept between placed nodes.
COLUMN = NODE_W + 80.0
GAP = 24.0

Rect = tuple[float, float, float, float]


def snap(v: float, step: float = GRID_SNAP) -> float:
    """``v`` rounded to the grid."""
    return float(round(v / step) * step)


def overlaps(a: Rect, b: Rect, gap: float = 0.0) -> bool:
    """Whether rectangles ``(x, y, w, h)`` overlap (or come closer than ``gap``)."""
    return (a[0] < b[0] + b[2] + gap and b[0] < a[0] + a[2] + gap
            and a[1] < b[1] + b[3] + gap and b[1] < a[1] + a[3] + gap)


def free_spot(x: float, y: float, w: float, h: float, taken: Iterable[Rect], *,
              step: float = GRID_SNAP, gap: float = GAP, within: Rect | None = None) -> tuple[float, float]:
    """The spot nearest to (x, y) where a ``w`` x ``h`` box overlaps none of ``taken``.

    Candidates are tried ring by ring around (x, y) on a ``step`` grid, nearest first; a flow
    always has room further out, so this ends. Each row of candidates is worked out once as the
    x intervals its neighbours block, so a candidate costs one bisection, not a check against
    every node of a large flow. With ``within`` (a world rectangle ``(x0, y0, x1, y1)``, the view),
    a free spot with the whole box inside it wins over a nearer one outside; the nearest free spot
    anywhere is the answer only when the rectangle has no room.
    """
    rows = _Rows(list(taken), w, h, gap)
    inside = _inside(within, w, h) if within is not None else None
    if inside is not None and within is not None and not rows.room(x, y, step, within, inside):
        inside = None  # the view is full: the nearest spot anywhere
    if (inside is None or inside(x, y)) and rows.free(x, y):
        return x, y
    ring = 1
    while True:
        for i, j in _ring(ring):
            cx, cy = x + i * step, y + j * step
            if (inside is None or inside(cx, cy)) and rows.free(cx, cy):
                return cx, cy
        ring += 1


def _inside(within: Rect, w: float, h: float) -> Callable[[float, float], bool]:
    """Whether a ``w`` x ``h`` box with its top-left at (x, y) lies inside ``within``."""
    x0, y0, x1, y1 = within
    return lambda x, y: x0 <= x and x + w <= x1 and y0 <= y and y + h <= y1


def _ring(ring: int) -> list[tuple[int, int]]:
    """The grid offsets at Chebyshev distance ``ring``, nearest (Euclidean) first."""
    cands = []
    for i in range(-ring, ring + 1):
        for j in (-ring, ring):
            cands.append((i, j))
            cands.append((j, i))
    cands.sort(key=lambda c: (c[0] * c[0] + c[1] * c[1], abs(c[1]), c[0]))
    return cands


class _Rows:
    """For a ``w`` x ``h`` box: per top edge y, the merged open x intervals where it overlaps."""

    def __init__(self, rects: list[Rect], w: float, h: float, gap: float) -> None:
        self.rects, self.w, self.h, self.gap = rects, w, h, gap
        self.rows: dict[float, tuple[list[float], list[float]]] = {}

    def _row(self, y: float) -> tuple[list[float], list[float]]:
        w, h, gap = self.w, self.h, self.gap
        spans = sorted((r[0] - w - gap, r[0] + r[2] + gap) for r in self.rects
                       if y < r[1] + r[3] + gap and r[1] < y + h + gap)
        starts: list[float] = []
        ends: list[float] = []
        for a, b in spans:
            if ends and a < ends[-1]:
                ends[-1] = max(ends[-1], b)
            else:
                starts.append(a)
                ends.append(b)
        return starts, ends

    def room(self, x: float, y: float, step: float, within: Rect, inside: Callable[[float, float], bool]) -> bool:
        """Whether some grid point ``(x + i * step, y + j * step)`` inside ``within`` is free: row by
        row, jumping over each blocked interval (the rows are the ones the ring search reads next)."""
        ilo, ihi = ceil((within[0] - x) / step), floor((within[2] - self.w - x) / step)
        for j in range(ceil((within[1] - y) / step), floor((within[3] - self.h - y) / step) + 1):
            cy = y + j * step
            i = ilo
            while i <= ihi:
                cx = x + i * step
                if self.free(cx, cy) and inside(cx, cy):
                    return True
                starts, ends = self.rows[cy]
                k = bisect_right(starts, cx) - 1
                i = max(i + 1, ceil((ends[k] - x) / step)) if k >= 0 and cx < ends[k] else i + 1
        return False

    def free(self, x: float, y: float) -> bool:
        """Whether a box with its top-left corner at (x, y) overlaps nothing."""
        row = self.rows.get(y)
        if row is None:
            row = self.rows[y] = self._row(y)
        starts, ends = row
        k = bisect_right(starts, x) - 1
        return k < 0 or not (starts[k] < x < ends[k])


def auto_layout(spec: FlowSpec, boxes: dict[str, NodeBox], *, x0: float = 40.0,
                y0: float = 40.0) -> dict[str, tuple[float, float]]:
    """New positions for every node: columns by longest path, rows by predecessor barycentre."""
    ids = [n.id for n in spec.nodes]
    size = {i: (boxes[i].w, boxes[i].h) if i in boxes else (NODE_W, 120.0) for i in ids}
    edges = [(parse_ref(e.from_)[0], parse_ref(e.to)[0]) for e in spec.edges]
    return layered(ids, size, edges, x0=x0, y0=y0)


def layered(ids: list[str], size: dict[str, tuple[float, float]], edges: Iterable[tuple[str, str]], *,
            x0: float = 40.0, y0: float = 40.0) -> dict[str, tuple[float, float]]:
    """Top-left corners for boxes ``ids`` of ``size`` (w, h): each in the column of its longest path
    from a source, columns ordered by predecessor barycentre and stacked with a gap. A column is
    ``COLUMN`` wide, or its widest box plus the gap between columns (frames laid out as blocks)."""
    preds: dict[str, list[str]] = {i: [] for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    for a, b in edges:
        if a in preds and b in preds and a != b:
            preds[b].append(a)
            succs[a].append(b)
    columns = _columns(ids, preds, succs)
    rank: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    x = x0
    for c in sorted(columns):
        members = columns[c]
        key = {n: (sum(rank[p] for p in preds[n] if p in rank) / len(preds[n]) if preds[n] else float(i))
               for i, n in enumerate(members)}
        members.sort(key=lambda n: key[n])
        y = y0
        for r, n in enumerate(members):
            rank[n] = float(r)
            out[n] = (x, y)
            y += size[n][1] + GAP
        x += max(COLUMN, max(size[n][0] for n in members) + COLUMN - NODE_W)
    return out


def _columns(ids: list[str], preds: dict[str, list[str]], succs: dict[str, list[str]]) -> dict[int, list[str]]:
    """Column -> nodes in Kahn's order: a node's column is 1 + the largest column of its predecessors.

    A cycle (never in a valid flow; possible between frames laid out as blocks) is broken where it
    waits for the fewest predecessors: that node goes next, after the predecessors placed so far."""
    indeg = {i: len(preds[i]) for i in ids}
    ready = [i for i in ids if indeg[i] == 0]
    col: dict[str, int] = {}
    columns: dict[int, list[str]] = {}
    while len(col) < len(ids):
        if not ready:
            ready.append(min((i for i in ids if i not in col), key=lambda i: indeg[i]))
        n = ready.pop(0) if len(ready) < 64 else ready.pop()
        if n in col:
            continue
        col[n] = max((col[p] + 1 for p in preds[n] if p in col), default=0)
        columns.setdefault(col[n], []).append(n)
        for s in succs[n]:
            indeg[s] -= 1
            if indeg[s] == 0 and s not in col:
                ready.append(s)
    return columns
