"""Keeping the canvas layout (positions, frames, reroute points) in step with edits to the semantics.

The layout names nodes (positions) and wires (reroute points) by id; when a node is renamed they
follow it. Frames name nothing. Plain data, used by :class:`~nbflow.Flow` and the canvas alike.
"""

from __future__ import annotations

from nbflow.model.spec import LayoutSpec, parse_ref

__all__ = ["rename_in_layout", "retarget"]


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
