"""MCP benchmarks: what a tool call costs through nbflow, against the SDK on an open session.

Run: ``.venv/bin/python bench/mcp_calls.py [--calls N]``. Starts the test tool server (tests/mcp/toolserver.py)
over HTTP on 127.0.0.1 and ``nbflow mcp serve`` on a small flow, then prints per-call milliseconds
(medians) and ratios against the baseline measured in the same run: the SDK calling ``add`` on a
session it keeps open.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp import Client  # noqa: E402

import nbflow  # noqa: E402
from nbflow.providers.mcp.client import acall_tool  # noqa: E402
from tests.mcp.conftest import TOOLSERVER, start_process, start_toolserver, stop_process  # noqa: E402


async def per_call_ms(fn: Callable[[], Awaitable[Any]], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def echo_flow() -> nbflow.Flow:
    f = nbflow.Flow("echo")
    f.add("input.text", id="text")
    f.add("output", id="out")
    f.connect("text.value", "out.value")
    return f


async def main(calls: int) -> None:
    proc, url = start_toolserver()
    with tempfile.TemporaryDirectory() as tmp:
        flow_file = Path(tmp) / "echo.json"
        echo_flow().save(flow_file)
        served, line = start_process([sys.executable, "-m", "nbflow", "mcp", "serve", str(flow_file), "--transport",
                                      "http", "--port", "0", "--no-store"], marker="nbflow: serving", stream="stderr")
        serve_url = line.rsplit(" ", 1)[1]
        try:
            rows: list[tuple[str, float]] = []
            async with Client(url) as client:
                await client.list_tools()
                base = await per_call_ms(lambda: client.call_tool("add", {"a": 1, "b": 2}), calls)
            rows.append(("SDK, open session (baseline)", base))

            async def sdk_fresh() -> Any:
                async with Client(url) as c:
                    return await c.call_tool("add", {"a": 1, "b": 2})

            rows.append(("SDK, new session per call", await per_call_ms(sdk_fresh, calls)))
            rows.append(("nbflow acall_tool over HTTP", await per_call_ms(
                lambda: acall_tool(url, "add", {"a": 1, "b": 2}), calls)))

            f = nbflow.Flow("bench")
            f.add("mcp.tool", id="call", url=url, tool="add", arguments={"a": 1, "b": 2})
            f.add("output", id="out")
            f.connect("call.json", "out.value")
            rows.append(("mcp.tool node in a flow run, HTTP", await per_call_ms(lambda: f.arun(cache=False), calls)))
            stdio = [sys.executable, TOOLSERVER]
            rows.append(("nbflow acall_tool over stdio (starts the server)", await per_call_ms(
                lambda: acall_tool(stdio, "add", {"a": 1, "b": 2}), max(3, calls // 10))))

            local = echo_flow()
            async with Client(serve_url) as client:
                await client.list_tools()
                served_ms = await per_call_ms(lambda: client.call_tool("echo", {"text": "hi"}), calls)
            rows.append(("served flow via nbflow mcp serve, open session", served_ms))
            rows.append(("same flow, flow.arun in process", await per_call_ms(
                lambda: local.arun({"text": "hi"}, cache=False), calls)))
        finally:
            stop_process(served)
            stop_process(proc)
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}}  ms/call   x baseline   ({calls} calls, medians)")
    for name, ms in rows:
        print(f"{name:{width}}  {ms:8.2f}   {ms / base:8.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    asyncio.run(main(parser.parse_args().calls))
