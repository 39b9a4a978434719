"""Talking to an MCP server with the official SDK: list its tools, call one, map failures to NodeError.

Each call opens a connection (spawning the process for a stdio server), does its work and closes it,
all inside one task: the SDK's transports are anyio task groups that must be entered and left by the
same task, and a fresh connection means a crashed server is simply started again on the next retry.

Every failure becomes a :class:`~nbflow.exceptions.NodeError` with a one-line message naming the
server (never a secret): unreachable or disconnected servers are retryable, a tool's own error, an
unknown tool or arguments that do not fit its schema are not.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import IO, Any, TypeVar

from nbflow.exceptions import NbflowError, NodeError
from nbflow.providers.mcp.params import McpServerParams, server_params
from nbflow.providers.mcp.schema import check_arguments
from nbflow.providers.secrets import Secrets, redact

__all__ = ["acall_tool", "alist_tools", "map_error", "tool_info", "with_client"]

T = TypeVar("T")

#: Most pages of a tools/list walk: a server whose cursor never ends cannot hang a node.
MAX_PAGES = 100


def _nbflow_settings() -> dict[str, str]:
    """The ``NBFLOW_*`` variables of this process (never secrets: keys are in other variables)."""
    return {k: v for k, v in os.environ.items() if k.startswith("NBFLOW_")}


def _import_sdk() -> Any:
    try:
        import mcp
    except ImportError:
        raise NodeError("the MCP client needs the mcp package: pip install 'nbflow[mcp]'") from None
    return mcp


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (possibly nested) exception groups, depth first."""
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, (list, tuple)) and inner:
        for e in inner:
            yield from _leaves(e)
    else:
        yield exc


def _stderr_tail(errlog: IO[str] | None) -> str:
    if errlog is None:
        return ""
    try:
        errlog.seek(0)
        lines = [ln.strip() for ln in errlog.read()[-20_000:].splitlines() if ln.strip()]
    except (OSError, ValueError):
        return ""
    return lines[-1][:200] if lines else ""


def map_error(exc: BaseException, params: McpServerParams, *, stderr: str = "",
              http_status: int | None = None) -> NbflowError:
    """The NodeError (one line, secrets redacted) for a failure while talking to the server.

    ``http_status`` is the last HTTP error status seen: the SDK turns a 401 or a 503 into a generic
    JSON-RPC error, and the status is what tells a wrong token from a server that is down.
    """
    import httpx2
    from mcp.shared.exceptions import MCPError

    leaves = list(_leaves(exc))
    for leaf in leaves:  # our own errors raised inside the session win over what the SDK made of them
        if isinstance(leaf, NbflowError):
            return leaf
    leaf = next((e for e in leaves if not _is_cancel(e)), leaves[0])
    where = f"MCP server {params.label()!r}"
    retryable = False
    status: int | None = None
    if isinstance(leaf, TimeoutError):
        msg, retryable = f"{where} did not answer within {params.timeout:g}s", True
    elif isinstance(leaf, OSError) and params.command and not isinstance(leaf, ConnectionError):
        msg = f"cannot start {where}: {leaf.strerror or leaf}"
    elif isinstance(leaf, httpx2.ConnectError):
        msg, retryable = f"cannot connect to {where}", True
    elif isinstance(leaf, httpx2.HTTPStatusError):
        status = leaf.response.status_code
        msg, retryable = f"{where} answered HTTP {status}", status >= 500 or status == 429
    elif isinstance(leaf, (httpx2.TransportError, ConnectionError)):
        msg, retryable = f"{where} closed the connection ({type(leaf).__name__}); it may have crashed", True
    elif isinstance(leaf, MCPError) and http_status is not None:
        status = http_status
        hint = " (check the url and the headers' secrets)" if status in (401, 403, 404) else ""
        msg, retryable = f"{where} answered HTTP {status}{hint}", status >= 500 or status == 429
    elif isinstance(leaf, MCPError):
        if leaf.error.code == -32000 and "closed" in leaf.error.message.lower():
            msg = f"{where} exited or closed the connection"
            retryable = bool(params.url)  # an HTTP server may be restarting; a stdio process is gone
        else:
            msg = f"{where}: {leaf.error.message} (error {leaf.error.code})"
    else:
        text = str(leaf)
        msg = f"{where}: {type(leaf).__name__}" + (f": {text}" if text else "")
    if stderr:
        msg += f" (server stderr: {stderr})"
    return NodeError(redact(" ".join(msg.split())), retryable=retryable, status=status)


def _is_cancel(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, asyncio.CancelledError)


async def with_client(server: Any, fn: Callable[[Any], Awaitable[T]], *,
                      resolve: Callable[[str], str] | None = None) -> T:
    """Connect to ``server``, await ``fn(client)`` with the SDK's ``mcp.Client``, disconnect.

    Args:
        server: anything :func:`~nbflow.providers.mcp.params.server_params` accepts.
        fn: the work to do while connected.
        resolve: secret name -> value for ``${NAME}`` in headers and env (default: the environment
            and ``.env``).

    Raises:
        NodeError: one line naming the server; ``retryable`` for connection trouble and timeouts.
    """
    import anyio

    mcp = _import_sdk()
    params = server_params(server)
    resolve = resolve or Secrets().require
    errlog: IO[str] | None = None
    statuses: list[int] = []

    async def remember_status(response: Any) -> None:
        if response.status_code >= 400:
            statuses.append(response.status_code)

    try:
        # The deadline scope encloses the whole connection: anyio scopes must nest with the SDK's.
        with anyio.fail_after(params.timeout) if params.timeout else _nothing():
            async with AsyncExitStack() as stack:
                if params.url:
                    import httpx2  # the SDK's HTTP client; its transport takes one ready-made
                    from mcp.client.streamable_http import streamable_http_client

                    # Long reads: the server may keep a response stream open while the tool works.
                    http = await stack.enter_async_context(httpx2.AsyncClient(
                        headers=params.resolved_headers(resolve), timeout=httpx2.Timeout(30.0, read=300.0),
                        event_hooks={"response": [remember_status]}))
                    transport: Any = streamable_http_client(params.url, http_client=http)
                else:
                    from mcp.client.stdio import stdio_client

                    # The server's stderr goes to a file, so its last line can explain a crash.
                    errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 - read after the connection ends
                    # The SDK passes only a few safe variables on; nbflow's own settings go too, so
                    # a server that runs flows (nbflow mcp serve) uses the same home and run store.
                    env = {**_nbflow_settings(), **params.resolved_env(resolve)}
                    sp = mcp.StdioServerParameters(command=params.command, args=params.args,
                                                   env=env or None, cwd=params.cwd)
                    transport = stdio_client(sp, errlog=errlog)
                client = await stack.enter_async_context(mcp.Client(transport, cache=None))
                return await fn(client)
    except NbflowError:
        raise
    except Exception as exc:
        raise map_error(exc, params, stderr=_stderr_tail(errlog),
                        http_status=statuses[-1] if statuses else None) from None
    finally:
        if errlog is not None:
            errlog.close()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def tool_info(tool: Any) -> dict[str, Any]:
    """A tool definition as a plain dict: name, title, description, input_schema, output_schema."""
    info: dict[str, Any] = {"name": tool.name, "title": tool.title, "description": tool.description or "",
                            "input_schema": tool.input_schema, "output_schema": tool.output_schema}
    if tool.annotations is not None:
        info["annotations"] = tool.annotations.model_dump(exclude_none=True, by_alias=True)
    return info


async def _all_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


async def alist_tools(server: Any, *, resolve: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """The tools of an MCP server, each as :func:`tool_info` gives it (for pickers and side panels).

    ``server`` is a URL (streamable HTTP), a command list (stdio, e.g. ``["python", "server.py"]``),
    a dict of :class:`~nbflow.providers.mcp.params.McpServerParams` fields (a node's params work) or the model.
    """
    return [tool_info(t) for t in await with_client(server, _all_tools, resolve=resolve)]


async def acall_tool(server: Any, tool: str, arguments: dict[str, Any] | None = None, *,
                     resolve: Callable[[str], str] | None = None) -> Any:
    """Call ``tool`` on ``server`` and return the SDK's ``CallToolResult`` (error results included).

    The tool is looked up first, so an unknown name or arguments that do not fit its input schema
    fail with a NodeError naming the tool and the argument, before anything runs on the server.
    """
    args = dict(arguments or {})

    async def go(client: Any) -> Any:
        tools = {t.name: t for t in await _all_tools(client)}
        found = tools.get(tool)
        if found is None:
            known = ", ".join(sorted(tools)) or "none"
            raise NodeError(f"unknown tool {tool!r} on MCP server {server_params(server).label()!r} "
                            f"(tools: {known})")
        why = check_arguments(args, found.input_schema)
        if why:
            raise NodeError(f"tool {tool!r}: {why}")
        return await client.call_tool(tool, args)

    return await with_client(server, go, resolve=resolve)
