"""Group selected nodes into a ``subflow`` or ``loop`` node whose embedded body holds them. Plain Python.

Wires among the selected nodes move into the body. Each wire coming in from outside becomes a body
input node (``input.text``, ``input.number``... by the port's type; ``input.json`` for other types)
feeding the same port, and the outside source is wired to the new node's input of that name; each
selected output used outside becomes a body ``output`` node, and the outside targets are wired from
the new node's output of that name. The caller runs this as one undo step.
"""

from __future__ import annotations

import json
from typing import Any

from nbflow.flow import Flow
from nbflow.model.spec import parse_ref

__all__ = ["group_nodes"]

_INPUT_TYPES = {"text": "input.text", "number": "input.number", "boolean": "input.boolean",
                "json": "input.json", "image": "input.image", "file": "input.file"}


def _port_type(flow: Flow, ports: Any, node_id: str, port: str, is_input: bool) -> str:
    ins, outs, _, _ = ports.ports(flow.node(node_id))
    p = (ins if is_input else outs).get(port)
    return p.type if p is not None else "any"


def group_nodes(flow: Flow, ids: list[str], ports: Any, *, kind: str = "subflow",
                node_id: str | None = None) -> str:
    """Replace nodes ``ids`` of ``flow`` by one ``kind`` node (``subflow`` or ``loop``); its id."""
    sel = [n.id for n in flow.spec.nodes if n.id in set(ids)]
    keep = set(sel)
    edges = list(flow.edges)
    inner = [(a, b) for a, b in edges if parse_ref(a)[0] in keep and parse_ref(b)[0] in keep]
    incoming = [(a, b) for a, b in edges if parse_ref(a)[0] not in keep and parse_ref(b)[0] in keep]
    outgoing = [(a, b) for a, b in edges if parse_ref(a)[0] in keep and parse_ref(b)[0] not in keep]
    pos = {i: flow.position(i) for i in sel}
    x0, y0 = min(p[0] for p in pos.values()), min(p[1] for p in pos.values())
    nodes: list[dict[str, Any]] = [json.loads(flow.node(i).model_dump_json(by_alias=True, exclude_none=True))
                                   for i in sel]
    body_edges = [{"from": a, "to": b} for a, b in inner]
    layout = {i: {"x": p[0] - x0 + 260, "y": p[1] - y0} for i, p in pos.items()}
    taken = set(sel)

    def fresh(base: str) -> str:
        name, k = base, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name

    outside_in: list[tuple[str, str]] = []
    for k, (a, b) in enumerate(incoming):
        n, p = parse_ref(b)
        name = fresh(f"{n}_{p}".replace("-", "_"))
        typ = _port_type(flow, ports, n, p, True)
        nodes.append({"id": name, "type": _INPUT_TYPES.get(typ, "input.json"), "params": {}})
        layout[name] = {"x": 0, "y": k * 140}
        body_edges.append({"from": f"{name}.value", "to": b})
        outside_in.append((a, name))
    outside_out: list[tuple[str, str]] = []
    names: dict[str, str] = {}
    for a, b in outgoing:
        if a not in names:
            n, p = parse_ref(a)
            name = fresh(f"{n}_{p}".replace("-", "_"))
            out_id = fresh(f"{name}_out")
            nodes.append({"id": out_id, "type": "output", "params": {"name": name}})
            xs = [v["x"] for v in layout.values()]
            layout[out_id] = {"x": max(xs) + 260, "y": len(names) * 140}
            body_edges.append({"from": a, "to": f"{out_id}.value"})
            names[a] = name
        outside_out.append((names[a], b))
    body = {"nbflow": 1, "name": node_id or kind, "nodes": nodes, "edges": body_edges,
            "layout": {"nodes": layout}}
    for i in sel:
        flow.remove(i)
    extra: dict[str, Any] = {"max_iterations": 3} if kind == "loop" else {}
    gid = flow.add(kind, node_id, x=x0, y=y0, flow=body, **extra)
    for src, name in outside_in:
        flow.connect(src, f"{gid}.{name}")
    for name, dst in outside_out:
        flow.connect(f"{gid}.{name}", dst)
    return gid
