"""Auto-layout that keeps frames whole: each frame's members are laid out as one block. Pure Python.

A node belongs to the smallest frame around its centre, and a frame to the smallest larger frame
wholly around it (what a drag of the title bar would move, one level at a time). Bottom up, each
frame's own nodes and inner frames are laid out left to right by the wires among them
(:func:`~nbflow.widget.arrange.layered`, a wire between two members of different inner frames counts
between those frames), and the frame is refitted around them with room for its title bar; then the
flow's loose nodes and outermost frames are laid out the same way, each frame as one box. So after a
layout no two frames overlap unless one holds the other, and a frame holds exactly its members.
A frame with no members (a comment) keeps its size and is laid out as a box of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbflow.model.spec import Position, parse_ref
from nbflow.widget.arrange import layered
from nbflow.widget.frames import FRAME_TITLE_H, MIN_H, MIN_W, PAD

if TYPE_CHECKING:
    from nbflow.model.spec import FlowSpec, FrameSpec, WireLayout
    from nbflow.widget.geometry import NodeBox

__all__ = ["TOP_PAD", "Rect", "auto_layout_frames", "frame_tree", "moved_points"]

#: Room above a frame's members: its title bar and a line of comment text (as a new frame leaves).
TOP_PAD = PAD + FRAME_TITLE_H + 10
Rect = tuple[float, float, float, float]
_TOP = ""  # the flow itself, as the parent of what no frame holds
_F = "#"  # frames' keys in the tree: "#" + id, which no node id can be




def _around(f: FrameSpec, x: float, y: float) -> bool:
    return f.x <= x <= f.x + f.w and f.y <= y <= f.y + f.h


def frame_tree(spec: FlowSpec, boxes: dict[str, NodeBox]) -> dict[str, str]:
    """Each node's and each frame's parent: the smallest frame around it (a node's centre; a frame
    wholly, and larger, ties broken by file order), or ``""`` for the flow itself. Frames appear as
    ``"#" + id``, keys and values, so a node and a frame may share an id."""
    frames = spec.layout.frames
    rank = {f.id: (f.w * f.h, i) for i, f in enumerate(frames)}
    by_size = sorted(frames, key=lambda f: rank[f.id])
    parent: dict[str, str] = {}
    for f in frames:
        parent[_F + f.id] = next((_F + g.id for g in by_size if rank[g.id] > rank[f.id] and _around(g, f.x, f.y)
                             and _around(g, f.x + f.w, f.y + f.h)), _TOP)
    for b in boxes.values():
        parent[b.id] = next((_F + g.id for g in by_size if _around(g, b.x + b.w / 2, b.y + b.h / 2)), _TOP)
    return parent


def _chain(parent: dict[str, str], item: str) -> list[str]:
    """``item`` and the frames around it, innermost first, ending with ``""`` (the flow)."""
    out = [item]
    while out[-1] != _TOP:
        out.append(parent[out[-1]])
    return out


def _level_edges(spec: FlowSpec, parent: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Per container (frame id, or ``""``), the wires between its items: a wire counts in the innermost
    container holding both ends, between the items of that container the ends are in."""
    out: dict[str, list[tuple[str, str]]] = {}
    chains: dict[str, list[str]] = {}
    for e in spec.edges:
        a, b = parse_ref(e.from_)[0], parse_ref(e.to)[0]
        if a not in parent or b not in parent or a == b:
            continue
        ca = chains[a] if a in chains else chains.setdefault(a, _chain(parent, a))
        cb = chains[b] if b in chains else chains.setdefault(b, _chain(parent, b))
        common = set(cb)
        k = next(i for i, c in enumerate(ca) if c in common)  # the innermost container of both
        box = ca[k]
        ia, ib = ca[k - 1], cb[cb.index(box) - 1]
        if ia != ib:
            out.setdefault(box, []).append((ia, ib))
    return out


def auto_layout_frames(spec: FlowSpec, boxes: dict[str, NodeBox], *, x0: float = 40.0,
                       y0: float = 40.0) -> tuple[dict[str, tuple[float, float]], dict[str, Rect]]:
    """New node positions and frame rectangles ``(x, y, w, h)``: frames laid out as blocks around their
    members, refitted with their title bar's room (see the module's docstring)."""
    frames = {_F + f.id: f for f in spec.layout.frames}
    parent = frame_tree(spec, boxes)
    edges = _level_edges(spec, parent)
    items: dict[str, list[str]] = {}
    for n in spec.nodes:  # file order, as the plain layout
        if n.id in boxes:
            items.setdefault(parent[n.id], []).append(n.id)
    for f in spec.layout.frames:
        items.setdefault(parent[_F + f.id], []).append(_F + f.id)
    size = {i: (b.w, b.h) for i, b in boxes.items()}
    local: dict[str, dict[str, tuple[float, float]]] = {}  # container -> item -> place inside it
    # inner frames first: a frame's size is known before its parent's layout needs it
    for fid in sorted(frames, key=lambda i: len(_chain(parent, i)), reverse=True):
        members = items.get(fid, [])
        if not members:
            f = frames[fid]
            size[fid] = (max(f.w, MIN_W), max(f.h, MIN_H))
            continue
        pos = layered(members, size, edges.get(fid, []), x0=PAD, y0=TOP_PAD)
        local[fid] = pos
        size[fid] = (max(MIN_W, max(pos[i][0] + size[i][0] for i in members) + PAD),
                     max(MIN_H, max(pos[i][1] + size[i][1] for i in members) + PAD))
    local[_TOP] = layered(items.get(_TOP, []), size, edges.get(_TOP, []), x0=x0, y0=y0)
    nodes: dict[str, tuple[float, float]] = {}
    rects: dict[str, Rect] = {}
    todo = [(_TOP, 0.0, 0.0)]
    while todo:  # place each container's items relative to where the container landed
        box, ox, oy = todo.pop()
        for item, (x, y) in local.get(box, {}).items():
            if item in frames:
                rects[item[1:]] = (ox + x, oy + y, *size[item])
                todo.append((item, ox + x, oy + y))
            else:
                nodes[item] = (ox + x, oy + y)
    return nodes, rects


def moved_points(spec: FlowSpec, new: dict[str, tuple[float, float]]) -> list[WireLayout]:
    """The flow's reroute points after its nodes moved to ``new``: each point moves by the mean of
    how far its wire's two ends moved, so a wire keeps its shape (and a point inside a frame laid out
    as a block goes with the block)."""
    old = spec.layout.nodes
    out = []
    for w in spec.layout.wires:
        (a, _), (b, _) = parse_ref(w.from_), parse_ref(w.to)
        ds = [(new[n][0] - old[n].x, new[n][1] - old[n].y) for n in (a, b) if n in new and n in old]
        dx, dy = (sum(d[0] for d in ds) / len(ds), sum(d[1] for d in ds) / len(ds)) if ds else (0.0, 0.0)
        out.append(w.model_copy(update={"via": [Position(x=round(p.x + dx), y=round(p.y + dy)) for p in w.via]}))
    return out
