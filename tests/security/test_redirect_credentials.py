"""No credential reaches another origin: each provider, and the http node, against a base URL that
answers 307 to another origin (a second local server on another port), which records what it got.

Kling signs a fresh token per request (the key itself is never sent), so a leak is also any credential
header value the first origin received turning up at the second."""

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
from nbflow.providers.bfl import BflProvider
from nbflow.providers.catalog import Providers
from nbflow.providers.elevenlabs import ElevenLabsProvider
from nbflow.providers.fal import FalProvider
from nbflow.providers.gemini import GeminiProvider
from nbflow.providers.kling import KlingProvider
from nbflow.providers.openai import OpenAICompatibleProvider, OpenAIProvider
from nbflow.providers.provider import ChatRequest, ImageRequest, Message, SpeechRequest, VideoRequest
from nbflow.providers.recraft import RecraftProvider
from nbflow.providers.replicate import ReplicateProvider
from nbflow.providers.runway import RunwayProvider
from nbflow.providers.secrets import DictSecrets, Secret, Secrets

from .helpers import Recorder

KEY = "kq7Rz2-PLANTED-redirect-key-9f3XwT"


def _chat(stream: bool) -> ChatRequest:
    return ChatRequest(model="m", messages=[Message("user", "hi")], stream=stream)


def _image(model: str) -> ImageRequest:
    return ImageRequest(model=model, prompt="hi")


def _video(model: str, *, image: bool = False) -> VideoRequest:
    frame = Media(mime="image/png", url="https://x/y.png") if image else None
    return VideoRequest(model=model, prompt="hi", image=frame, poll_interval=0.01, timeout=5.0)


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
    "recraft": lambda base: RecraftProvider(base_url=base, api_key=Secret("K", KEY)).image(_image("recraftv3")),
    "bfl": lambda base: BflProvider(base_url=base, api_key=Secret("K", KEY)).image(_image("flux-pro-1.1")),
    "kling": lambda base: KlingProvider(base_url=base, api_key=Secret("KLING_ACCESS_KEY", KEY),
                                        secret_key=Secret("KLING_SECRET_KEY", KEY[::-1])).video(_video("kling-v1")),
    "veo": lambda base: GeminiProvider(base_url=base, api_key=Secret("K", KEY)).video(
        _video("veo-3.0-generate-001")),
    "replicate-image": lambda base: ReplicateProvider(base_url=base, api_key=Secret("K", KEY)).image(
        _image("black-forest-labs/flux-schnell")),
    "replicate-video": lambda base: ReplicateProvider(base_url=base, api_key=Secret("K", KEY)).video(
        _video("minimax/video-01")),
    "fal-image": lambda base: FalProvider(base_url=base, api_key=Secret("K", KEY)).image(
        _image("fal-ai/flux/schnell")),
    "fal-video": lambda base: FalProvider(base_url=base, api_key=Secret("K", KEY)).video(
        _video("fal-ai/kling-video/v2/master/image-to-video", image=True)),
}

#: Headers that carry a provider credential (whatever its value looks like).
_CREDENTIAL_HEADERS = ("authorization", "x-key", "x-goog-api-key", "xi-api-key", "x-api-key")


def _leaks(requests: list[dict[str, Any]]) -> list[str]:
    return [f"{k}: {v}" for r in requests for k, v in r["headers"].items() if KEY[:8] in v or KEY[-8:] in v]


def _credentials(requests: list[dict[str, Any]]) -> set[str]:
    """The credential header values sent: by header name, or because they hold the key."""
    return {v for r in requests for k, v in r["headers"].items()
            if k in _CREDENTIAL_HEADERS or KEY[:8] in v or KEY[-8:] in v}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_provider_keys_stay_with_their_origin(name):
    with Recorder(status=200, reply=b"{}") as other, Recorder(redirect_all=other.url) as base:
        with contextlib.suppress(NbflowError):  # the other origin's "{}" is no answer: what matters is what it saw
            asyncio.run(CALLS[name](base.url))
        sent = _credentials(base.requests)
        assert base.requests and sent  # the credential went to its own origin...
        assert other.requests, "the redirect was not followed"
        assert _leaks(other.requests) == []  # ...and nowhere else
        assert not any(h in r["headers"] for r in other.requests for h in _CREDENTIAL_HEADERS)
        assert not sent & {v for r in other.requests for v in r["headers"].values()}


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
