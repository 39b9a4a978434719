"""Where things are on the canvas: node boxes, port dots, edge curves and the pan/zoom view.

Pure Python (no Jupyter import). World coordinates are the flow's layout units; the view maps them to
canvas pixels with a pan offset and a zoom factor. Node ports come from each node's type and params,
so a node whose flow does not compile yet (an unwired required input) still has its ports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from nbflow.engine.plan import make_node
from nbflow.exceptions import NbflowError
from nbflow.model.spec import FlowSpec, NodeSpec, parse_ref
from nbflow.nodes.control_subflow import flow_context
from nbflow.nodes.nodetype import Port
from nbflow.nodes.registry import Registry
from nbflow.widget.style import HEADER_H, NODE_W, PREVIEW_H, ROW_H

#: Node types whose ports come from a body flow (the same set as ``bodies.COMPOSITE_TYPES``).
_COMPOSITE = frozenset({"subflow", "loop", "map"})

__all__ = [
    "EdgeGeom",
    "NodeBox",
    "PortCache",
    "PortGeom",
    "View",
    "bezier_controls",
    "bezier_points",
    "edge_geoms",
    "layout",
    "node_height",
    "segment_distance",
]

MIN_ZOOM = 0.1
MAX_ZOOM = 3.0


@dataclass(frozen=True, slots=True)
class PortGeom:
    """A port dot: its name, type and centre in world coordinates."""

    name: str
    type: str
    required: bool
    is_input: bool
    x: float
    y: float


@dataclass(slots=True)
class NodeBox:
    """A node as drawn: box, header text and port dots (world coordinates).

    Attributes:
        problem: why the node's ports are unknown (unknown type, invalid params), else None.
    """

    id: str
    type: str
    title: str
    category: str
    x: float
    y: float
    w: float
    h: float
    inputs: dict[str, PortGeom] = field(default_factory=dict)
    outputs: dict[str, PortGeom] = field(default_factory=dict)
    problem: str | None = None

    def contains(self, wx: float, wy: float) -> bool:
        return self.x <= wx <= self.x + self.w and self.y <= wy <= self.y + self.h

    def port(self, name: str, is_input: bool) -> PortGeom | None:
        return (self.inputs if is_input else self.outputs).get(name)

    def moved_to(self, x: float, y: float) -> NodeBox:
        """The same node drawn at (x, y): used for the dragged copy on the overlay."""
        dx, dy = x - self.x, y - self.y

        def shift(ports: dict[str, PortGeom]) -> dict[str, PortGeom]:
            return {k: PortGeom(p.name, p.type, p.required, p.is_input, p.x + dx, p.y + dy)
                    for k, p in ports.items()}

        return NodeBox(self.id, self.type, self.title, self.category, x, y, self.w, self.h,
                       shift(self.inputs), shift(self.outputs), self.problem)


@dataclass(frozen=True, slots=True)
class EdgeGeom:
    """An edge from an output dot to an input dot. ``ok`` is False when a port no longer exists."""

    src: str
    dst: str
    src_node: str
    dst_node: str
    type: str
    x1: float
    y1: float
    x2: float
    y2: float
    ok: bool = True
    via: tuple[tuple[float, float], ...] = ()

    def segments(self) -> list[tuple[float, float, float, float]]:
        """The curves the wire is drawn as: one from its output to its input, or one per stretch
        between its reroute points."""
        pts = [(self.x1, self.y1), *self.via, (self.x2, self.y2)]
        return [(*pts[i], *pts[i + 1]) for i in range(len(pts) - 1)]

    def bounds(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` around both ends and every reroute point."""
        xs = [self.x1, self.x2, *(p[0] for p in self.via)]
        ys = [self.y1, self.y2, *(p[1] for p in self.via)]
        return min(xs), min(ys), max(xs), max(ys)


class PortCache:
    """Ports per (node type, params), so a redraw does not rebuild every node instance."""

    def __init__(self, registry: Registry, source: Callable[[], str | None] | None = None) -> None:
        self.registry = registry
        self.source = source  # the flow file's path, so a body named by a relative 'path' is found
        self._cache: dict[tuple[str, str], tuple[dict[str, Port], dict[str, Port], str, str | None]] = {}

    def ports(self, spec: NodeSpec) -> tuple[dict[str, Port], dict[str, Port], str, str | None]:
        """``(inputs, outputs, category, problem)`` for a node spec; never raises."""
        try:
            key = (spec.type, json.dumps(spec.params, sort_keys=True, default=str))
        except (TypeError, ValueError):
            key = (spec.type, repr(spec.params))
        if spec.type in _COMPOSITE and "path" in spec.params:  # the file behind it may change
            return self._compute(spec)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._compute(spec)
        return hit

    def _compute(self, spec: NodeSpec) -> tuple[dict[str, Port], dict[str, Port], str, str | None]:
        if spec.type not in self.registry:
            return {}, {}, "Other", f"unknown node type {spec.type!r}"
        cls = self.registry.get(spec.type)
        try:
            if spec.type in _COMPOSITE:  # its ports are its body's: built the way the engine builds it
                with flow_context(self.source() if self.source else None):
                    impl = make_node(spec, self.registry)
                    return dict(impl.input_ports()), dict(impl.output_ports()), cls.category, None
            params_model: Any = cls.Params
            impl = cls(params_model.model_validate(spec.params), spec.id)
            return dict(impl.input_ports()), dict(impl.output_ports()), cls.category, None
        except NbflowError as exc:
            return {}, {}, cls.category, str(exc)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            return {}, {}, cls.category, f"params.{loc}: {err['msg']}"
        except Exception as exc:  # a plugin's port code failing must not break the canvas
            return {}, {}, cls.category, f"{type(exc).__name__}: {exc}"


def node_height(n_in: int, n_out: int) -> float:
    """Box height for a node with that many input and output ports."""
    return HEADER_H + max(n_in, n_out, 1) * ROW_H + 6 + PREVIEW_H


def layout(spec: FlowSpec, ports: PortCache) -> dict[str, NodeBox]:
    """Boxes for every node, in the flow's node order (later nodes are drawn on top)."""
    boxes: dict[str, NodeBox] = {}
    pos = spec.layout.nodes
    for n in spec.nodes:
        ins, outs, category, problem = ports.ports(n)
        p = pos.get(n.id)
        x, y = (p.x, p.y) if p is not None else (0.0, 0.0)
        top = y + HEADER_H + ROW_H / 2
        box = NodeBox(n.id, n.type, n.title or n.id, category, x, y, NODE_W,
                      node_height(len(ins), len(outs)), problem=problem)
        box.inputs = {name: PortGeom(name, pt.type, pt.required, True, x, top + i * ROW_H)
                      for i, (name, pt) in enumerate(ins.items())}
        box.outputs = {name: PortGeom(name, pt.type, pt.required, False, x + NODE_W, top + i * ROW_H)
                       for i, (name, pt) in enumerate(outs.items())}
        boxes[n.id] = box
    return boxes


def edge_geoms(spec: FlowSpec, boxes: dict[str, NodeBox],
               only: set[tuple[str, str]] | None = None) -> list[EdgeGeom]:
    """Curves for every edge (or the ``(from, to)`` pairs in ``only``); an edge whose port is gone is
    drawn to the node's header, marked not ok."""
    out: list[EdgeGeom] = []
    via = {(w.from_, w.to): tuple((p.x, p.y) for p in w.via) for w in spec.layout.wires}
    for e in spec.edges:
        if only is not None and (e.from_, e.to) not in only:
            continue
        a, ap = parse_ref(e.from_)
        b, bp = parse_ref(e.to)
        sa, sb = boxes.get(a), boxes.get(b)
        if sa is None or sb is None:
            continue
        pa, pb = sa.outputs.get(ap), sb.inputs.get(bp)
        x1, y1 = (pa.x, pa.y) if pa else (sa.x + sa.w, sa.y + HEADER_H / 2)
        x2, y2 = (pb.x, pb.y) if pb else (sb.x, sb.y + HEADER_H / 2)
        out.append(EdgeGeom(e.from_, e.to, a, b, pa.type if pa else "any", x1, y1, x2, y2,
                            ok=pa is not None and pb is not None, via=via.get((e.from_, e.to), ())))
    return out


def bezier_controls(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float, float, float]:
    """Control points of an edge curve: out of the output to the right, into the input from the left."""
    dx = max(40.0, abs(x2 - x1) * 0.5)
    return x1 + dx, y1, x2 - dx, y2


def bezier_points(x1: float, y1: float, x2: float, y2: float, n: int = 16) -> list[tuple[float, float]]:
    """``n + 1`` points along an edge curve, for hit testing."""
    c1x, c1y, c2x, c2y = bezier_controls(x1, y1, x2, y2)
    pts = []
    for i in range(n + 1):
        t = i / n
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        pts.append((a * x1 + b * c1x + c * c2x + d * x2, a * y1 + b * c1y + c * c2y + d * y2))
    return pts


def segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Distance from point P to segment AB."""
    vx, vy = bx - ax, by - ay
    ll = vx * vx + vy * vy
    t = 0.0 if ll == 0 else max(0.0, min(1.0, ((px - ax) * vx + (py - ay) * vy) / ll))
    return math.hypot(px - (ax + t * vx), py - (ay + t * vy))


@dataclass(slots=True)
class View:
    """Pan and zoom: ``screen = world * zoom + (ox, oy)``. ``width``/``height`` are the canvas pixels."""

    width: int
    height: int
    ox: float = 0.0
    oy: float = 0.0
    zoom: float = 1.0

    def to_world(self, sx: float, sy: float) -> tuple[float, float]:
        return (sx - self.ox) / self.zoom, (sy - self.oy) / self.zoom

    def to_screen(self, wx: float, wy: float) -> tuple[float, float]:
        return wx * self.zoom + self.ox, wy * self.zoom + self.oy

    def visible(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """The world rectangle on screen ``(x0, y0, x1, y1)``, grown by ``margin`` world units."""
        x0, y0 = self.to_world(0, 0)
        x1, y1 = self.to_world(self.width, self.height)
        return x0 - margin, y0 - margin, x1 + margin, y1 + margin

    def zoom_at(self, factor: float, sx: float, sy: float) -> None:
        """Zoom by ``factor`` keeping the world point under screen (sx, sy) in place."""
        wx, wy = self.to_world(sx, sy)
        self.zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        self.ox = sx - wx * self.zoom
        self.oy = sy - wy * self.zoom

    def fit(self, boxes: Iterable[NodeBox], margin: float = 30.0) -> None:
        """Pan and zoom so every box is visible (zoom at most 1.5)."""
        bs = list(boxes)
        if not bs:
            self.ox, self.oy, self.zoom = 0.0, 0.0, 1.0
            return
        x0 = min(b.x for b in bs)
        y0 = min(b.y for b in bs)
        x1 = max(b.x + b.w for b in bs)
        y1 = max(b.y + b.h for b in bs)
        zx = (self.width - 2 * margin) / max(x1 - x0, 1.0)
        zy = (self.height - 2 * margin) / max(y1 - y0, 1.0)
        self.zoom = min(1.5, MAX_ZOOM, max(MIN_ZOOM, min(zx, zy)))
        self.ox = (self.width - (x1 - x0) * self.zoom) / 2 - x0 * self.zoom
        self.oy = (self.height - (y1 - y0) * self.zoom) / 2 - y0 * self.zoom

    def state(self) -> dict[str, Any]:
        return {"ox": self.ox, "oy": self.oy, "zoom": self.zoom}
