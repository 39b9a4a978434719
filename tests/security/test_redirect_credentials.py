"""No credential reaches another origin: each provider, and the http node, against a base URL that
answers 307 to another origin (a second local server on another port), which records what it got."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from nbflow.exceptions import NbflowError
from nbflow.flow import Flow
from nbflow.model.values import Media
from nbflow.providers.anthropic import AnthropicProvider
from nbflow.providers.catalog import Providers
from nbflow.providers.elevenlabs import ElevenLabsProvider
from nbflow.providers.gemini import GeminiProvider
from nbflow.providers.openai import OpenAICompatibleProvider, OpenAIProvider
from nbflow.providers.provider import ChatRequest, Message, SpeechRequest, VideoRequest
from nbflow.providers.runway import RunwayProvider
from nbflow.providers.secrets import DictSecrets, Secret, Secrets

from .helpers import Recorder

KEY = "kq7Rz2-PLANTED-redirect-key-9f3XwT"


def _chat(stream: bool) -> ChatRequest:
    return ChatRequest(model="m", messages=[Message("user", "hi")], stream=stream)


CALLS: dict[str, Callable[[str], Awaitable[Any]]] = {
    "openai": lambda base: OpenAIProvider(base_url=base, api_key=Secret("OPENAI_API_KEY", KEY)).chat(_chat(False)),
    "openai-stream": lambda base: OpenAIProvider(base_url=base, api_key=Secret("K", KEY)).chat(_chat(True)),
    "openai-compatible": lambda base: OpenAICompatibleProvider(name="vllm", base_url=base,
                                                               api_key=Secret("K", KEY)).chat(_chat(False)),
    "anthropic": lambda base: AnthropicProvider(base_url=base, api_key=Secret("K", KEY)).chat(_chat(False)),
    "anthropic-stream": lambda base: AnthropicProvider(base_url=base, api_key=Secret("K", KEY)).chat(_chat(True)),
    "gemini": lambda base: GeminiProvider(base_url=base, api_key=Secret("K", KEY)).chat(_chat(False)),
    "gemini-stream": lambda base: GeminiProvider(base_url=base, api_key=Secret("K", KEY)).chat(_chat(True)),
    "elevenlabs": lambda base: ElevenLabsProvider(base_url=base, api_key=Secret("K", KEY)).speech(
        SpeechRequest(model="eleven_multilingual_v2", text="hi")),
    "runway": lambda base: RunwayProvider(base_url=base, api_key=Secret("K", KEY)).video(
        VideoRequest(model="gen4_turbo", prompt="hi", image=Media(mime="image/png", url="https://x/y.png"))),
}


def _leaks(requests: list[dict[str, Any]]) -> list[str]:
    return [f"{k}: {v}" for r in requests for k, v in r["headers"].items() if KEY[:8] in v or KEY[-8:] in v]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_provider_keys_stay_with_their_origin(name):
    with Recorder(status=200, reply=b"{}") as other, Recorder(redirect_all=other.url) as base:
        with contextlib.suppress(NbflowError):  # the other origin's "{}" is no answer: what matters is what it saw
            asyncio.run(CALLS[name](base.url))
        assert base.requests and _leaks(base.requests)  # the key went to its own origin...
        assert other.requests, "the redirect was not followed"
        assert _leaks(other.requests) == []  # ...and nowhere else
        assert all("authorization" not in r["headers"] for r in other.requests)


def test_http_node_secret_headers_stay_with_their_origin():
    with Recorder(status=200, reply=b'{"ok": true}') as other, Recorder(redirect_all=other.url) as base:
        flow = Flow("call")
        flow.add("http", id="call", method="POST", url=f"{base.url}/api",
                 headers={"X-Custom-Token": "${MY_TOKEN}", "Authorization": "Bearer ${MY_TOKEN}",
                          "X-Trace": "plain-value"}, body={"q": 1})
        flow.add("output", id="out")
        flow.connect("call.json", "out.value")
        res = flow.run(providers=Providers(Secrets(DictSecrets({"MY_TOKEN": KEY}))))
        assert res.ok and res.outputs["out"] == {"ok": True}  # a 307 keeps method and body
        assert base.requests[0]["headers"]["x-custom-token"] == KEY
        (hop,) = other.requests
        assert hop["method"] == "POST" and json.loads(hop["body"]) == {"q": 1}
        assert _leaks(other.requests) == [] and "x-custom-token" not in hop["headers"]
        assert hop["headers"]["x-trace"] == "plain-value"  # headers without a secret travel on


def test_same_origin_redirect_keeps_the_key():
    with Recorder(status=200, reply=b'{"choices": [{"message": {"content": "ok"}}]}') as srv:
        srv.redirect_all = None
        provider = OpenAIProvider(base_url=f"{srv.url}/redirect?to={srv.url}/v1", api_key=Secret("K", KEY))
        # the base URL is itself a redirect to the same origin: the key may follow
        assert asyncio.run(provider.chat(_chat(False))).text == "ok"
        assert all(r["headers"].get("authorization") == f"Bearer {KEY}" for r in srv.requests)
