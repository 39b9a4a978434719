"""The ``mcp.tool`` node: call one tool of a Model Context Protocol server.

The server is a stdio command or a streamable HTTP URL (see :class:`~nbflow.providers.mcp.params.McpServerParams`).
The node's input ports come from the tool's input schema, kept in the ``input_schema`` param (the
side panel or :func:`nbflow.mcp.choose_tool` copies it from the server's tool list): one port per
top-level argument, so a canvas user wires ``query`` or ``limit`` directly and the wiring is type
checked, plus one ``arguments`` port (a JSON object) for arguments computed upstream or tools whose
schema was not stored. Fixed values go in the ``arguments`` param; wired ports override them.

The SDK is imported only when the node runs, so the registry (and ``import nbflow``) does not pay for it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nbflow.exceptions import NodeError, ParamError
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port
from nbflow.providers.mcp.params import McpServerParams
from nbflow.providers.mcp.schema import argument_ports

__all__ = ["McpTool", "McpToolParams"]

#: The catch-all input: a JSON object of argument name -> value.
ARGUMENTS_PORT = "arguments"


class McpToolParams(McpServerParams, Params):
    tool: str = Field(default="", description="Name of the tool to call (the side panel lists the server's tools).")
    input_schema: dict[str, Any] | None = Field(
        default=None, description="The tool's input JSON Schema as the server lists it; its top-level "
        "properties become input ports. Empty: pass arguments through the 'arguments' port or param.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Fixed argument values; a wired "
                                      "port of the same name overrides one.")


class McpTool(NodeType[McpToolParams]):
    type = "mcp.tool"
    title = "MCP tool"
    category = "AI"
    description = ("Call a tool of an MCP server (stdio command or streamable HTTP URL); arguments from "
                   "ports, result as text, JSON and images.")
    # A tool may act on the world (send a message, write a file): never replay it from the cache.
    cacheable = False
    outputs = {
        "text": Port("text", description="the text blocks of the result, joined"),
        "json": Port("json", description="structured content, or the text when it is JSON"),
        "image": Port("image", description="the first image of the result"),
        "images": Port("list[image]", description="every image of the result"),
        "audio": Port("audio", description="the first audio clip of the result"),
        "files": Port("list[file]", description="other binary resources of the result"),
        "content": Port("json", description="the raw content blocks (media bytes left out)"),
    }

    def _arg_ports(self) -> dict[str, tuple[str, bool, str]]:
        return argument_ports(self.params.input_schema)

    def input_ports(self) -> dict[str, Port]:
        fixed = self.params.arguments
        ports = {name: Port(t, required=req and name not in fixed, description=desc or f"argument {name}")
                 for name, (t, req, desc) in self._arg_ports().items()}
        if ARGUMENTS_PORT not in ports:
            ports[ARGUMENTS_PORT] = Port("json", required=False,
                                         description="more arguments as a JSON object (name -> value)")
        return ports

    def validate_node(self) -> None:
        p = self.params
        if p.command and p.url:
            raise ValueError("give either command (stdio) or url (streamable HTTP), not both")
        p.check_headers()
        schema = p.input_schema
        if schema is not None and schema.get("type", "object") != "object":
            raise ValueError("input_schema must describe an object (type: object)")

    def preflight(self, providers: Any) -> None:
        """Check the server, the tool name and every named secret before any node runs."""
        try:
            self.params.check_server()
        except ValueError as exc:
            raise ParamError(str(exc), node=self.id, field="params.command") from None
        if not self.params.tool:
            raise ParamError("no tool chosen", node=self.id, field="params.tool")
        for name in self.params.secret_names():
            providers.secrets.require(name, node=self.id)

    def _arguments(self, inputs: dict[str, Any]) -> dict[str, Any]:
        args = dict(self.params.arguments)
        ports = self._arg_ports()
        if ARGUMENTS_PORT in inputs and ARGUMENTS_PORT not in ports:
            extra = inputs[ARGUMENTS_PORT]
            if not isinstance(extra, dict):
                raise NodeError(f"input 'arguments': expected a JSON object of argument name -> value, "
                                f"got {type(extra).__name__}")
            args.update(extra)
        props = (self.params.input_schema or {}).get("properties") or {}
        for name in ports:
            if name in inputs:
                value = inputs[name]
                # A number port carries floats; an integer argument wants 3, not 3.0.
                if isinstance(value, float) and value.is_integer() and props.get(name, {}).get("type") == "integer":
                    value = int(value)
                args[name] = value
        return args

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        from nbflow.providers.mcp.client import acall_tool
        from nbflow.providers.mcp.content import error_text, result_outputs

        p = self.params
        if not p.tool:
            raise NodeError("no tool chosen (set the 'tool' param)")
        ctx.progress(None, f"calling {p.tool} on {p.label()}")
        result = await acall_tool(p, p.tool, self._arguments(inputs), resolve=ctx.secret)
        if result.is_error:
            from nbflow.providers.secrets import redact

            raise NodeError(redact(f"tool {p.tool!r} failed: {error_text(result)}"))
        return result_outputs(result)
