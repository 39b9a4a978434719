"""Flows as MCP tools: ``nbflow mcp serve flow.json`` over stdio or streamable HTTP.

Each flow becomes one tool: its name is the flow's name, its description the flow's description, its
input schema the flow's named inputs (:func:`~nbflow.providers.mcp.schema.flow_input_schema`), and a call runs
the flow with the engine every other front end uses. Outputs come back as structured content (output
name -> JSON value) plus content blocks a model can read (text, images, audio, embedded files); a
failed run is an error result (``isError``) carrying the run's one-line error.

Over HTTP, media inputs must be ``data:`` URLs: a remote caller must not make the server read its
local files or fetch URLs on its behalf. Over stdio the caller is a local process, and paths and
URLs are accepted as ``nbflow run`` accepts them.
"""

from __future__ import annotations

import hmac
import logging
import re
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any

import mcp.types as mt
from mcp.server import Server

from nbflow.exceptions import FlowError, NbflowError
from nbflow.flow import Flow
from nbflow.model.types import MEDIA_TYPES
from nbflow.providers.mcp.content import run_result_content
from nbflow.providers.mcp.schema import check_arguments, flow_input_schema

__all__ = ["FlowToolset", "aserve_http", "aserve_stdio", "serve_http", "serve_stdio", "tool_name"]

log = logging.getLogger("nbflow.mcp")

_NOT_TOOL_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def tool_name(flow: Flow) -> str:
    """The tool name for ``flow``: its name with characters MCP does not allow replaced by ``_``."""
    return _NOT_TOOL_CHARS.sub("_", flow.name)[:128] or "flow"


def _error(text: str) -> mt.CallToolResult:
    return mt.CallToolResult(content=[mt.TextContent(text=" ".join(text.split()))], is_error=True)


class FlowToolset:
    """Flows offered as MCP tools, independent of the transport.

    Args:
        flows: the flows (each validated; tool names must be unique).
        local_media: accept local paths and URLs for media inputs (stdio); otherwise only ``data:`` URLs.
        store: where runs are recorded (as ``Flow.arun``'s ``store``); ``False`` records nothing.

    Raises:
        FlowError: two flows would give the same tool name.
    """

    def __init__(self, flows: Iterable[Flow], *, local_media: bool = True, store: Any = None) -> None:
        self.local_media = local_media
        self.store = store
        self.flows: dict[str, Flow] = {}
        self.tools: dict[str, mt.Tool] = {}
        for flow in flows:
            name = tool_name(flow)
            if name in self.flows:
                other = self.flows[name].source or "another flow"
                raise FlowError(f"tool name {name!r} is already taken by {other}; give the flows different "
                                "names", source=flow.source)
            self.flows[name] = flow
            self.tools[name] = self._definition(name, flow)

    @staticmethod
    def _definition(name: str, flow: Flow) -> mt.Tool:
        outputs = ", ".join(flow.outputs) or "none"
        desc = flow.spec.description or f"Run the nbflow flow {flow.name!r}."
        return mt.Tool(name=name, title=flow.name, description=f"{desc} Outputs: {outputs}.",
                       input_schema=flow_input_schema(flow.inputs))

    def definitions(self) -> list[mt.Tool]:
        """The tool definitions, in the order the flows were given."""
        return list(self.tools.values())

    def _media_problem(self, flow: Flow, arguments: dict[str, Any]) -> str | None:
        if self.local_media:
            return None
        for name, info in flow.inputs.items():
            value = arguments.get(name)
            if info["type"] in MEDIA_TYPES and value is not None and not str(value).startswith("data:"):
                return f"input {name!r}: over HTTP give the {info['type']} as a data: URL (data:<mime>;base64,...)"
        return None

    async def call(self, name: str, arguments: dict[str, Any] | None) -> mt.CallToolResult:
        """Run the flow behind tool ``name``; every problem is an error result with one line."""
        flow = self.flows.get(name)
        if flow is None:
            known = ", ".join(self.flows) or "none"
            return _error(f"unknown tool {name!r} (tools: {known})")
        args = dict(arguments or {})
        why = check_arguments(args, self.tools[name].input_schema) or self._media_problem(flow, args)
        if why:
            return _error(f"tool {name!r}: {why}")
        try:
            result = await flow.arun(args, cache=False, store=self.store, source="mcp")
        except NbflowError as exc:
            return _error(str(exc))
        except Exception as exc:  # the server must answer, not die; the log has the traceback
            log.exception("tool %r crashed", name)
            return _error(f"internal error running {name!r}: {type(exc).__name__}")
        return run_result_content(result, name)

    def server(self, name: str = "nbflow") -> Server[Any]:
        """A low-level MCP server answering ``tools/list`` and ``tools/call`` from this toolset."""
        from nbflow import __version__

        async def on_list_tools(ctx: Any, params: Any) -> mt.ListToolsResult:
            return mt.ListToolsResult(tools=self.definitions())

        async def on_call_tool(ctx: Any, params: mt.CallToolRequestParams) -> mt.CallToolResult:
            return await self.call(params.name, params.arguments)

        def input_schema(tool: str) -> dict[str, Any] | None:
            t = self.tools.get(tool)
            return None if t is None else t.input_schema

        return Server(name, version=__version__, on_list_tools=on_list_tools, on_call_tool=on_call_tool,
                      get_tool_input_schema=input_schema)


async def aserve_stdio(toolset: FlowToolset) -> None:
    """Serve ``toolset`` on this process's stdin/stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    server = toolset.server()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def serve_stdio(flows: Iterable[Flow] | FlowToolset) -> None:
    """Blocking :func:`aserve_stdio` (flows are wrapped in a :class:`FlowToolset`)."""
    import anyio

    toolset = flows if isinstance(flows, FlowToolset) else FlowToolset(flows)
    anyio.run(aserve_stdio, toolset)


class _BearerAuth:
    """ASGI wrapper: HTTP requests must carry ``Authorization: Bearer <token>``."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                from starlette.responses import JSONResponse

                response = JSONResponse({"error": "unauthorized"}, status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise FlowError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def aserve_http(toolset: FlowToolset, *, host: str = "127.0.0.1", port: int = 8000, path: str = "/mcp",
                      token: str | None = None, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``toolset`` over streamable HTTP at ``http://host:port/path`` until cancelled.

    Args:
        port: 0 picks a free port; ``on_ready(url)`` receives the real one once the server listens.
        token: when given, every request must carry ``Authorization: Bearer <token>``.
    """
    import asyncio

    import uvicorn

    app: Any = toolset.server().streamable_http_app(streamable_http_path=path, host=host)
    if token:
        app = _BearerAuth(app, token)
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{real_port}{path}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.02)
        if on_ready is not None:
            on_ready(url)

    waiter = asyncio.ensure_future(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        waiter.cancel()
        sock.close()


def serve_http(flows: Iterable[Flow] | FlowToolset, **kwargs: Any) -> None:
    """Blocking :func:`aserve_http`; media inputs must be ``data:`` URLs unless given a toolset."""
    import asyncio

    toolset = flows if isinstance(flows, FlowToolset) else FlowToolset(flows, local_media=False)
    kwargs.setdefault("on_ready", lambda url: sys.stderr.write(f"nbflow: serving MCP at {url}\n"))
    asyncio.run(aserve_http(toolset, **kwargs))
