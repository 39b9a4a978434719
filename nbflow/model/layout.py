"""Keeping the canvas layout (positions, frames, reroute points) in step with edits to the semantics.

The layout names nodes (positions) and wires (reroute points) by id; when a node is renamed they
follow it, as its edges, fallback references and pin do. Frames name nothing. Plain data, used by
:class:`~nbflow.Flow` and the canvas alike.
"""

from __future__ import annotations

from nbflow.exceptions import FlowError
from nbflow.model.spec import FlowSpec, LayoutSpec, check_node_id, parse_ref

__all__ = ["rename_in_layout", "rename_node", "retarget"]


def retarget(ref: str, old: str, new: str) -> str:
    """``"old.port"`` -> ``"new.port"``; any other reference unchanged."""
    node, port = parse_ref(ref)
    return f"{new}.{port}" if node == old else ref


def rename_in_layout(layout: LayoutSpec, old: str, new: str) -> None:
    """Node ``old`` is now ``new``: its position and the reroute points of its wires follow."""
    if old in layout.nodes:
        layout.nodes[new] = layout.nodes.pop(old)
    for w in layout.wires:
        w.from_, w.to = retarget(w.from_, old, new), retarget(w.to, old, new)


def rename_node(spec: FlowSpec, old: str, new: str) -> None:
    """Node ``old`` of ``spec`` is now ``new``: its edges, fallback references, pin and layout follow."""
    node = next(n for n in spec.nodes if n.id == old)
    if any(n.id == new for n in spec.nodes):
        raise FlowError("duplicate node id", node=new)
    node.id = check_node_id(new)
    for e in spec.edges:
        e.from_, e.to = retarget(e.from_, old, new), retarget(e.to, old, new)
    for n in spec.nodes:
        if n.policy and n.policy.fallback:
            n.policy.fallback = [new if f == old else f for f in n.policy.fallback]
    rename_in_layout(spec.layout, old, new)
    if old in spec.pins:
        spec.pins[new] = spec.pins.pop(old)
