"""List nodes: make a list from inputs (``list``) and take one item of a list (``list.item``).

They are what a ``map`` needs around it: a list to map over, and one item of what it collected.
Grouping nodes into a map on the canvas puts one of each around the new map, so the flow gives the
same results as before until a real list is wired in.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nbflow.exceptions import NodeError
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port

__all__ = ["ListItem", "ListItemParams", "MakeList", "MakeListParams"]


class MakeListParams(Params):
    """Params of the ``list`` node."""

    count: int = Field(default=2, ge=1, le=32, description="How many inputs (in1..inN).")


class MakeList(NodeType[MakeListParams]):
    type = "list"
    title = "Make list"
    category = "Data"
    description = "Put the inputs in1..inN into one list, in order. Unwired inputs are left out."
    outputs = {"list": Port("list[any]", description="the inputs that arrived, in order")}

    def input_ports(self) -> dict[str, Port]:
        return {f"in{i}": Port("any", required=False) for i in range(1, self.params.count + 1)}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        names = (f"in{i}" for i in range(1, self.params.count + 1))
        return {"list": [inputs[n] for n in names if n in inputs]}


class ListItemParams(Params):
    """Params of the ``list.item`` node."""

    index: int = Field(default=0, description="Which item: 0 is the first, -1 the last.")


class ListItem(NodeType[ListItemParams]):
    type = "list.item"
    title = "List item"
    category = "Data"
    description = "One item of a list, by index (0 the first, -1 the last)."
    inputs = {"list": Port("any", description="a list")}
    outputs = {"value": Port("any", description="the item")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        items, i = inputs["list"], self.params.index
        if not isinstance(items, list):
            raise NodeError(f"input 'list': expected a list, got {type(items).__name__}")
        if not -len(items) <= i < len(items):
            raise NodeError(f"index {i} is out of range: the list has {len(items)} item(s)")
        return {"value": items[i]}
