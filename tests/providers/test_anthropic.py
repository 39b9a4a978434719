"""Anthropic Messages: headers, body, images, JSON through a forced tool, every SSE event type."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from nbflow import Media, ProviderError
from nbflow.providers.anthropic import ANTHROPIC_VERSION, AnthropicProvider, messages_body
from nbflow.providers.clients import HttpClients
from nbflow.providers.offline import png_bytes
from nbflow.providers.provider import ChatRequest, Message
from nbflow.providers.secrets import Secret

from .helpers import chat_requests, llm_flow

SCHEMA = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
          "required": ["tags"]}


def test_messages_wire_format(fake_env: Any) -> None:
    res = llm_flow("anthropic", "claude-3-5-haiku-latest", system="Be brief.", temperature=0.2,
                   max_tokens=64, stream=False).run(prompt="Hi")
    assert res.ok, res.error
    (req,) = chat_requests(fake_env)
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == "fake-key" and req.headers["anthropic-version"] == ANTHROPIC_VERSION
    assert "authorization" not in req.headers
    assert req.json == {"model": "claude-3-5-haiku-latest", "max_tokens": 64, "system": "Be brief.",
                        "temperature": 0.2, "messages": [{"role": "user", "content": "Hi"}]}
    assert res.nodes["llm"].usage[0]["cost"] > 0


def test_max_tokens_is_always_sent() -> None:
    body = messages_body(ChatRequest(model="claude-sonnet-4", messages=[Message("user", "x")]))
    assert body["max_tokens"] == 4096


def test_image_blocks_come_first() -> None:
    png = png_bytes(1, 1, [b"\0\0\0"])
    req = ChatRequest(model="m", messages=[Message("user", "describe", [
        Media.from_bytes(png), Media(mime="image/jpeg", url="https://img.example/a.jpg")])])
    content = messages_body(req)["messages"][0]["content"]
    assert content[0]["type"] == "image" and content[0]["source"]["type"] == "base64"
    assert content[0]["source"]["media_type"] == "image/png"
    assert content[1] == {"type": "image", "source": {"type": "url", "url": "https://img.example/a.jpg"}}
    assert content[2] == {"type": "text", "text": "describe"}


@pytest.mark.parametrize("stream", [False, True])
def test_json_through_a_forced_tool(fake_env: Any, stream: bool) -> None:
    fake_env.script(json={"tags": ["tea", "pot"]})
    res = llm_flow("anthropic", "claude-sonnet-4", json_schema=SCHEMA, stream=stream).run()
    assert res.outputs["data"] == {"tags": ["tea", "pot"]}, res.error
    body = chat_requests(fake_env)[0].json
    assert body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": body["tools"][0]["name"]}


def test_streaming_partials(fake_env: Any) -> None:
    fake_env.script("alpha beta gamma")
    events: list[Any] = []
    res = llm_flow("anthropic", "claude-sonnet-4", stream=True).run(on_event=events.append)
    assert res.outputs["out"] == "alpha beta gamma"
    assert [e.data["value"] for e in events if e.kind == "partial"][-1] == "alpha beta gamma"
    usage = res.nodes["llm"].usage[0]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0


def _sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


def _run_stream(body: bytes) -> Any:
    """Run one streamed chat against a MockTransport answering ``body``."""
    async def go() -> Any:
        server = httpx.MockTransport(  # a function as the server, through the provider's transport seam
            lambda req: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"}))
        p = AnthropicProvider(base_url="https://anthropic.mock", api_key=Secret("K", "k-mock-1"),
                              clients=HttpClients(server))
        deltas: list[str] = []
        resp = await p.chat(ChatRequest(model="claude-x", messages=[Message("user", "q")], stream=True),
                            on_delta=deltas.append)
        return resp, deltas

    return asyncio.run(go())


def test_every_stream_event_type() -> None:
    body = _sse(
        ("message_start", {"type": "message_start", "message": {"model": "claude-x", "usage": {
            "input_tokens": 12, "cache_read_input_tokens": 3, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "let me think"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "sig"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": "Hello"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": " world"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}))
    resp, deltas = _run_stream(body)
    assert resp.text == "Hello world" and deltas == ["Hello", " world"]  # thinking is not the answer
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (15, 9)
    assert resp.finish_reason == "end_turn" and resp.model == "claude-x"


def test_error_event_mid_stream_is_retryable_when_overloaded() -> None:
    body = _sse(("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 1}}}),
                ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    with pytest.raises(ProviderError) as info:
        _run_stream(body)
    assert info.value.retryable and info.value.status == 529 and "Overloaded" in str(info.value)


def test_stream_without_message_stop_is_an_error() -> None:
    body = _sse(("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 1}}}))
    with pytest.raises(ProviderError, match="before message_stop") as info:
        _run_stream(body)
    assert info.value.retryable


def test_529_overloaded_is_retried(fake_env: Any) -> None:
    fake_env.fault("status", status=529, provider="anthropic")
    events: list[Any] = []
    res = llm_flow("anthropic", "claude-sonnet-4").run(on_event=events.append)
    assert res.ok
    retry = next(e for e in events if e.kind == "retry")
    assert "HTTP 529" in retry.data["error"] and "Overloaded" in retry.data["error"]
    assert res.nodes["llm"].history[0]["status"] == 529
