"""Group selected nodes into a ``subflow``, ``loop`` or ``map`` node whose embedded body holds them.

Wires among the selected nodes move into the body. Each wire coming in from outside becomes a body
input node (``input.text``, ``input.number``... by the port's type; ``input.json`` for other types)
feeding the same port, and the outside source is wired to the new node's input of that name; each
selected output used outside becomes a body ``output`` node, and the outside targets are wired from
the new node's output of that name. The caller runs this as one undo step.

A ``map`` runs its body once per item of a list. One outside output wired into the selection carries
the item (the caller's choice; by default the first that gives a list, else the first in the flow's
edge order, see :func:`~nbflow.widget.mapitem.item_candidates`): every selected port it fed is fed
by one body input named ``item`` (the map's default ``item_input``), and other wires coming in become
inputs shared by every item. So that the flow gives the same results as before, the item's source
goes into a ``list`` node (a one-item list) wired to the map's ``items``, and each map output (a
list, one entry per item) goes through a ``list.item`` node (index 0) to the old targets. Wire a real
list into ``items`` (or add inputs to the ``list`` node) to map over more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nbflow.exceptions import FlowError
from nbflow.flow import Flow
from nbflow.model.spec import parse_ref
from nbflow.widget.arrange import COLUMN, free_spot
from nbflow.widget.geometry import node_height
from nbflow.widget.mapitem import item_candidates
from nbflow.widget.style import NODE_W

__all__ = ["INPUT_TYPES", "group_nodes"]

INPUT_TYPES = {"text": "input.text", "number": "input.number", "boolean": "input.boolean",
                "json": "input.json", "image": "input.image", "file": "input.file"}
#: Names a map's body may not use for its own ports (the map's ports of those names).
_MAP_NAMES = ("items", "errors", "count")
Wire = tuple[str, str]


def _port_type(flow: Flow, ports: Any, node_id: str, port: str, is_input: bool) -> str:
    ins, outs, _, _ = ports.ports(flow.node(node_id))
    p = (ins if is_input else outs).get(port)
    return p.type if p is not None else "any"


@dataclass
class _Body:
    """The body being built and how the new node is to be wired from outside."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, str]]
    layout: dict[str, dict[str, float]]
    taken: set[str]
    inputs: list[Wire] = field(default_factory=list)  # (outside source, body input name)
    outputs: list[Wire] = field(default_factory=list)  # (body output name, outside target)
    item: str | None = None  # the outside source of a map's items
    item_name: str = "item"  # the body input that receives each item

    def fresh(self, base: str) -> str:
        name, k = base, 2
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def add_input(self, name: str, typ: str, targets: list[str], row: int) -> None:
        self.nodes.append({"id": name, "type": INPUT_TYPES.get(typ, "input.json"), "params": {}})
        self.layout[name] = {"x": 0, "y": row * 140}
        self.edges += [{"from": f"{name}.value", "to": b} for b in targets]


def _build(flow: Flow, sel: list[str], ports: Any, kind: str, edges: list[Wire], item: str | None) -> _Body:
    keep = set(sel)
    pos = {i: flow.position(i) for i in sel}
    x0, y0 = min(p[0] for p in pos.values()), min(p[1] for p in pos.values())
    body = _Body(nodes=[json.loads(flow.node(i).model_dump_json(by_alias=True, exclude_none=True)) for i in sel],
                 edges=[{"from": a, "to": b} for a, b in edges if parse_ref(a)[0] in keep and parse_ref(b)[0] in keep],
                 layout={i: {"x": p[0] - x0 + 260, "y": p[1] - y0} for i, p in pos.items()},
                 taken=set(sel) | (set(_MAP_NAMES) if kind == "map" else set()))
    incoming = [(a, b) for a, b in edges if parse_ref(a)[0] not in keep and parse_ref(b)[0] in keep]
    outgoing = [(a, b) for a, b in edges if parse_ref(a)[0] in keep and parse_ref(b)[0] not in keep]
    if kind == "map":
        if not incoming:
            raise FlowError("a map needs a wire coming into the selection to carry each item")
        body.item = item or item_candidates(flow, sel, ports)[0][0]
        if all(a != body.item for a, _ in incoming):
            raise FlowError(f"{body.item} is not wired into the selection, so it cannot carry the items")
        targets = [b for a, b in incoming if a == body.item]
        n, p = parse_ref(targets[0])
        body.item_name = body.fresh("item")
        body.add_input(body.item_name, _port_type(flow, ports, n, p, True), targets, 0)
        incoming = [(a, b) for a, b in incoming if a != body.item]
    for a, b in incoming:
        n, p = parse_ref(b)
        name = body.fresh(f"{n}_{p}".replace("-", "_"))
        body.add_input(name, _port_type(flow, ports, n, p, True), [b], len(body.layout) - len(sel))
        body.inputs.append((a, name))
    names: dict[str, str] = {}
    for a, b in outgoing:
        if a not in names:
            n, p = parse_ref(a)
            name = body.fresh(f"{n}_{p}".replace("-", "_"))
            out_id = body.fresh(f"{name}_out")
            body.nodes.append({"id": out_id, "type": "output", "params": {"name": name}})
            body.layout[out_id] = {"x": max(v["x"] for v in body.layout.values()) + 260, "y": len(names) * 140}
            body.edges.append({"from": a, "to": f"{out_id}.value"})
            names[a] = name
        body.outputs.append((names[a], b))
    return body


def group_nodes(flow: Flow, ids: list[str], ports: Any, *, kind: str = "subflow",
                node_id: str | None = None, item: str | None = None) -> str:
    """Replace nodes ``ids`` of ``flow`` by one ``kind`` node (``subflow``, ``loop`` or ``map``); its id.

    ``item`` (a map only): the outside output (``"node.port"``) whose value each item replaces."""
    sel = [n.id for n in flow.spec.nodes if n.id in set(ids)]
    if not sel:
        raise FlowError("nothing selected to group")
    x0 = min(flow.position(i)[0] for i in sel)
    y0 = min(flow.position(i)[1] for i in sel)
    body = _build(flow, sel, ports, kind, list(flow.edges), item)
    spec = {"nbflow": 1, "name": node_id or kind, "nodes": body.nodes, "edges": body.edges,
            "layout": {"nodes": body.layout}}
    for i in sel:
        flow.remove(i)
    # a new loop runs its body once (the flow gives what it gave before grouping, with no extra calls)
    # until the user sets 'until' and the bound: repeating blindly would multiply every call in it
    extra: dict[str, Any] = {"max_iterations": 1} if kind == "loop" else {}
    if body.item_name != "item":  # a selected node is called 'item': name the body input that is
        extra["item_input"] = body.item_name
    gid = flow.add(kind, node_id, x=x0, y=y0, flow=spec, **extra)
    for src, name in body.inputs:
        flow.connect(src, f"{gid}.{name}")
    if kind != "map":
        for name, dst in body.outputs:
            flow.connect(f"{gid}.{name}", dst)
        return gid
    _wire_map(flow, ports, gid, body)
    return gid


def _wire_map(flow: Flow, ports: Any, gid: str, body: _Body) -> None:
    """The one-item ``list`` into the map's items and a ``list.item`` per output to its old targets."""
    x, y = flow.position(gid)
    taken = [(*flow.position(n), NODE_W, node_height(*(len(d) for d in ports.ports(flow.node(n))[:2])))
             for n in flow.nodes]

    def place(want_x: float, want_y: float, n_in: int, n_out: int) -> tuple[float, float]:
        spot = free_spot(want_x, want_y, NODE_W, node_height(n_in, n_out), taken)
        taken.append((*spot, NODE_W, node_height(n_in, n_out)))
        return spot

    def fresh(base: str) -> str:
        name, k = base, 2
        while name in flow.nodes:
            name, k = f"{base}_{k}", k + 1
        return name

    lx, ly = place(x - COLUMN, y, 1, 1)
    wrap = flow.add("list", fresh(f"{gid}_items"), x=lx, y=ly, count=1)
    assert body.item is not None
    flow.connect(body.item, f"{wrap}.in1")
    flow.connect(f"{wrap}.list", f"{gid}.items")
    picks: dict[str, str] = {}
    for name, dst in body.outputs:
        if name not in picks:
            px, py = place(x + COLUMN, y + len(picks) * 120, 1, 1)
            picks[name] = flow.add("list.item", fresh(f"{gid}_{name}"), x=px, y=py)
            flow.connect(f"{gid}.{name}", f"{picks[name]}.list")
        flow.connect(f"{picks[name]}.value", dst)
