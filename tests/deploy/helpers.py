"""Flows, node types and clients shared by the deploy tests (server, schedules, batch, history, alerts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from nbflow.flow import Flow
from nbflow.nodes.nodetype import NodeType, Params, Port
from nbflow.nodes.registry import Registry

TOKEN = "test-token-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}

# Built-in nodes only, so dask workers and subprocesses can load it: "n" is converted to a number (a
# non-numeric "n" fails the run), "topic" goes through the offline model.
NUMBERS = {
    "nbflow": 1, "name": "numbers",
    "description": "Checks a number and writes a line about a topic.",
    "nodes": [
        {"id": "n", "type": "input.text", "params": {"description": "a number, as text"}},
        {"id": "topic", "type": "input.text", "params": {"default": "tea"}},
        {"id": "num", "type": "convert", "params": {"to": "number"}},
        {"id": "prompt", "type": "template", "params": {"template": "One line about {{topic}}."}},
        {"id": "copy", "type": "llm"},
        {"id": "number", "type": "output"},
        {"id": "line", "type": "output"},
    ],
    "edges": [
        {"from": "n.value", "to": "num.value"},
        {"from": "num.value", "to": "number.value"},
        {"from": "topic.value", "to": "prompt.topic"},
        {"from": "prompt.text", "to": "copy.prompt"},
        {"from": "copy.text", "to": "line.value"},
    ],
}

APPROVE = {
    "nbflow": 1, "name": "review",
    "nodes": [
        {"id": "draft", "type": "input.text"},
        {"id": "check", "type": "approval", "params": {"prompt": "Publish this?"}},
        {"id": "published", "type": "output"},
    ],
    "edges": [{"from": "draft.value", "to": "check.value"}, {"from": "check.approved", "to": "published.value"}],
}

MEDIA = {
    "nbflow": 1, "name": "picture",
    "nodes": [{"id": "photo", "type": "input.image"}, {"id": "out", "type": "output"}],
    "edges": [{"from": "photo.value", "to": "out.value"}],
}


def write_flow(tmp_path: Path, spec: dict[str, Any], name: str | None = None) -> Path:
    p = tmp_path / (name or f"{spec['name']}.json")
    p.write_text(json.dumps(spec), encoding="utf-8")
    return p


def load(tmp_path: Path, spec: dict[str, Any]) -> Flow:
    return Flow.load(write_flow(tmp_path, spec))


class GateParams(Params):
    pass


class Gate(NodeType[GateParams]):
    """Waits until the test opens its gate (a threading.Event, so another thread may open it)."""

    type = "t.gate"
    inputs = {"x": Port("any")}
    outputs = {"out": Port("any")}
    cacheable = False
    gate = threading.Event()
    entered = 0

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        type(self).entered += 1
        while not self.gate.is_set():
            await asyncio.sleep(0.005)
        return {"out": inputs["x"]}


def gated_flow() -> Flow:
    reg = Registry(plugins=False)
    reg.register(Gate)
    flow = Flow("gated", registry=reg)
    flow.add("input.text", id="x")
    flow.add("t.gate", id="g")
    flow.add("output", id="y")
    flow.connect("x.value", "g.x")
    flow.connect("g.out", "y.value")
    return flow


@contextlib.asynccontextmanager
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for the app, with its lifespan (schedules, alerts) running."""
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://nbflow.test") as c:
        yield c


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The events of a Server-Sent-Events body: dicts with id, event and data (parsed JSON)."""
    out = []
    for block in text.split("\n\n"):
        ev: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            ev[key] = json.loads(value) if key == "data" else value
        if ev:
            out.append(ev)
    return out


class Receiver:
    """A local HTTP server that records the JSON bodies POSTed to it (an alert webhook)."""

    def __init__(self, status: int = 200) -> None:
        received: list[Any] = []
        self.received = received
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append(json.loads(body))
                self.send_response(outer.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
