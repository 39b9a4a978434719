"""A real MCP server for the tests, built with the official SDK: ``python toolserver.py stdio|http``.

Over HTTP it listens on 127.0.0.1 on a free port and prints ``URL <url>`` on stdout once it listens.
``MCP_TEST_TOKEN`` in its environment makes it require ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import base64
import os
import sys
import time

from mcp.server import MCPServer
from mcp.types import AudioContent, EmbeddedResource, ImageContent, TextResourceContents

# A 1x1 PNG and a tiny WAV: real magic numbers, so nbflow's media sniffing sees real media.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00@\x1f\x00\x00\x01\x00\x08\x00data\x00\x00\x00\x00"

server = MCPServer("nbflow-test-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str, times: int = 1) -> str:
    """Repeat a text."""
    return text * times


@server.tool()
def picture(caption: str) -> list[ImageContent | AudioContent | EmbeddedResource]:
    """An image, a sound and a caption resource."""
    return [ImageContent(data=base64.b64encode(PNG).decode(), mime_type="image/png"),
            AudioContent(data=base64.b64encode(WAV).decode(), mime_type="audio/wav"),
            EmbeddedResource(resource=TextResourceContents(uri="test://caption", text=caption))]


@server.tool()
def env(name: str) -> str:
    """The value of an environment variable of the server process."""
    return os.environ.get(name, "<unset>")


@server.tool()
def fail(message: str) -> str:
    """Always fails with the message."""
    from mcp.server.mcpserver.exceptions import ToolError

    raise ToolError(message)


@server.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "done"


@server.tool()
def crash() -> str:
    """Kill the server process without answering."""
    sys.stderr.write("toolserver: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


def _serve_http() -> None:
    import socket

    import anyio
    import uvicorn

    app = server.streamable_http_app()
    token = os.environ.get("MCP_TEST_TOKEN")
    if token:
        inner = app

        async def app(scope, receive, send):  # type: ignore[no-redef]
            if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != f"Bearer {token}".encode():
                from starlette.responses import PlainTextResponse

                await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
                return
            await inner(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: uv.serve(sockets=[sock]))
            while not uv.started:
                await anyio.sleep(0.02)
            print(f"URL http://127.0.0.1:{port}/mcp", flush=True)

    anyio.run(main)


if __name__ == "__main__":
    if sys.argv[1:] == ["http"]:
        _serve_http()
    else:
        server.run()
