"""Pointing an ``mcp.tool`` node at one of its server's tools (what the canvas side panel does).

The panel lists a node's server with :func:`nbflow.mcp.list_tools` (giving it the node's params),
offers the tools by name, and on a choice stores the tool's name and input schema in the node's
params, which gives the node one input port per argument. :func:`choose_tool` does the same from code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbflow.engine.sync import run_sync
from nbflow.exceptions import FlowError, ParamError
from nbflow.providers.mcp.client import alist_tools
from nbflow.providers.mcp.params import McpServerParams

__all__ = ["achoose_tool", "choose_tool", "tool_params"]


def tool_params(tool: dict[str, Any]) -> dict[str, Any]:
    """The params that point an ``mcp.tool`` node at ``tool`` (an entry of ``list_tools``)."""
    return {"tool": tool["name"], "input_schema": tool["input_schema"]}


async def achoose_tool(flow: Any, node_id: str, tool: str, *,
                       resolve: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Async :func:`choose_tool`."""
    spec = flow.node(node_id)
    if spec.type != "mcp.tool":
        raise FlowError(f"is a {spec.type} node, not mcp.tool", node=node_id)
    fields = set(McpServerParams.model_fields)
    server = {k: v for k, v in spec.params.items() if k in fields}
    try:
        tools = await alist_tools(server, resolve=resolve or flow.providers.secrets.require)
    except ParamError as exc:
        exc.node = node_id
        raise
    found = next((t for t in tools if t["name"] == tool), None)
    if found is None:
        known = ", ".join(t["name"] for t in tools) or "none"
        raise ParamError(f"the server has no tool {tool!r} (tools: {known})", node=node_id, field="params.tool")
    flow.set_params(node_id, **tool_params(found))
    return found


def choose_tool(flow: Any, node_id: str, tool: str, *,
                resolve: Callable[[str], str] | None = None) -> dict[str, Any]:
    """List the server of ``flow``'s node ``node_id``, and set the node to call ``tool``.

    Stores the tool's name and input schema in the node's params (so its input ports follow the
    schema) and returns the tool's entry (name, title, description, input_schema, output_schema).

    Raises:
        FlowError: the node is not an ``mcp.tool`` node; ParamError: the server has no such tool;
        NodeError: the server cannot be reached.
    """
    return run_sync(achoose_tool(flow, node_id, tool, resolve=resolve))


def list_tools(server: Any, *, resolve: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Synchronous :func:`~nbflow.providers.mcp.client.alist_tools` (works in a script and in a Jupyter cell)."""
    return run_sync(alist_tools(server, resolve=resolve))
