"""MCP both ways: call Model Context Protocol tools from flows, and serve flows as MCP tools.

    import nbflow.mcp
    nbflow.mcp.list_tools(["python", "server.py"])          # what a server offers, with input schemas
    nbflow.mcp.choose_tool(flow, "search", "web_search")    # point an mcp.tool node at one tool
    nbflow.mcp.serve_stdio([nbflow.load("flow.json")])      # or: nbflow mcp serve flow.json

Needs the ``mcp`` package (``pip install 'nbflow[mcp]'``). Importing this package does not import
it: the names that need the SDK are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbflow.lazy import lazy_attrs
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

__getattr__, __dir__ = lazy_attrs(globals(), {
    "nbflow.providers.mcp.client": ("acall_tool", "alist_tools"),
    ".picker": ("choose_tool", "list_tools"),
    ".server": ("FlowToolset", "serve_http", "serve_stdio"),
})

if TYPE_CHECKING:
    from nbflow.mcp.picker import choose_tool, list_tools
    from nbflow.mcp.server import FlowToolset, serve_http, serve_stdio
    from nbflow.providers.mcp.client import acall_tool, alist_tools
