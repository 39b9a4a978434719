"""Every outbound request of a run goes through its providers' one client factory: a transport given to
``Providers`` sees provider calls, http nodes and media downloads alike."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

import nbflow
from nbflow.providers.catalog import Providers
from nbflow.providers.clients import HttpClients

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def _server(seen: list[str]) -> httpx.MockTransport:
    def handle(req: httpx.Request) -> httpx.Response:
        seen.append(f"{req.method} {req.url.host}{req.url.path}")
        if req.url.host == "img.test":
            return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
        if req.url.path.endswith("/chat/completions"):
            return httpx.Response(200, json={"id": "c", "model": "gpt-4o-mini", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hello from the mock"},
                 "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
        return httpx.Response(200, json={"echo": json.loads(req.content or b"null")})

    return httpx.MockTransport(handle)


def test_provider_http_node_and_media_input_share_the_injected_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    f = nbflow.Flow("seam")
    f.add("input.image", id="pic", default="https://img.test/a.png")
    f.add("input.text", id="topic", default="tea")
    f.add("llm", id="write", provider="openai", model="gpt-4o-mini", stream=False)
    f.add("http", id="post", url="https://api.test/echo", body={"text": "{{text}}"})
    f.add("output", id="text")
    f.add("output", id="echo")
    f.add("output", id="image")
    f.connect("topic.value", "write.prompt")
    f.connect("write.text", "text.value")
    f.connect("write.text", "post.text")
    f.connect("post.json", "echo.value")
    f.connect("pic.value", "image.value")
    seen: list[str] = []
    res = f.run(providers=Providers(transport=_server(seen)), cache=False)
    assert res.ok, res.error
    assert res.outputs["text"] == "hello from the mock"
    assert res.outputs["echo"] == {"echo": {"text": "hello from the mock"}}
    assert res.outputs["image"].mime == "image/png"
    assert sorted(seen) == ["GET img.test/a.png", "POST api.openai.com/v1/chat/completions", "POST api.test/echo"]


def test_a_wrapper_sees_every_request_of_its_run_only() -> None:
    seen: list[str] = []
    wrapped: list[str] = []

    class Recorder(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            wrapped.append(str(request.url))
            return await self.inner.handle_async_request(request)

    f = nbflow.Flow("wrap")
    f.add("http", id="get", method="GET", url="https://api.test/x")
    f.add("output", id="out")
    f.connect("get.status", "out.value")
    clients = HttpClients(_server(seen), wrap=Recorder)
    assert f.run(providers=Providers(clients=clients)).outputs["out"] == 200
    assert wrapped == ["https://api.test/x"] and seen == ["GET api.test/x"]
    other: list[str] = []
    assert f.run(providers=Providers(transport=_server(other)), cache=False).ok
    assert wrapped == ["https://api.test/x"] and other == ["GET api.test/x"]  # its own pool, not the first's
