"""MCP both ways: call Model Context Protocol tools from flows, and serve flows as MCP tools.

    import nbflow.mcp
    nbflow.mcp.list_tools(["python", "server.py"])          # what a server offers, with input schemas
    nbflow.mcp.choose_tool(flow, "search", "web_search")    # point an mcp.tool node at one tool
    nbflow.mcp.serve_stdio([nbflow.load("flow.json")])      # or: nbflow mcp serve flow.json

Needs the ``mcp`` package (``pip install 'nbflow[mcp]'``). Importing this package does not import
it: the names that need the SDK are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from nbflow.providers.mcp.params import McpServerParams, server_params
from nbflow.providers.mcp.schema import check_arguments, flow_input_schema, port_type_for, schema_for

__all__ = [
    "FlowToolset",
    "McpServerParams",
    "acall_tool",
    "alist_tools",
    "check_arguments",
    "choose_tool",
    "flow_input_schema",
    "list_tools",
    "port_type_for",
    "schema_for",
    "serve_http",
    "serve_stdio",
    "server_params",
]

_LAZY = {
    "acall_tool": "nbflow.providers.mcp.client",
    "alist_tools": "nbflow.providers.mcp.client",
    "list_tools": "nbflow.mcp.picker",
    "choose_tool": "nbflow.mcp.picker",
    "FlowToolset": "nbflow.mcp.server",
    "serve_http": "nbflow.mcp.server",
    "serve_stdio": "nbflow.mcp.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbflow.mcp' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
