"""Odd answers: every provider, given a 200 whose body is null, a list, a string, a number, wrong types,
truncated JSON or an HTML page, raises one retryable ProviderError line (never a Python exception);
the server answers a deep or huge JSON body with JSON 400/413 and logs no traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from nbflow.exceptions import ProviderError
from nbflow.flow import Flow
from nbflow.providers.anthropic import AnthropicProvider
from nbflow.providers.elevenlabs import ElevenLabsProvider
from nbflow.providers.gemini import GeminiProvider
from nbflow.providers.openai import OpenAIProvider
from nbflow.providers.provider import ChatRequest, ImageRequest, Message, SpeechRequest, VideoRequest
from nbflow.providers.runway import RunwayProvider
from nbflow.providers.secrets import Secret
from nbflow.server import ServeConfig, build_app

from ..deploy.helpers import AUTH, NUMBERS, TOKEN, client, write_flow

KEY = Secret("K", "fake-key")
# One body per shape; the dict ones put a wrong type where each provider looks.
WRONG_TYPES = [
    {"choices": "x", "content": "x", "candidates": "x", "data": "x"},
    {"choices": ["x"], "content": ["x"], "candidates": ["x"], "data": ["x"]},
    {"choices": [{"message": {"content": 5}}], "content": [{"type": "text", "text": 5}],
     "candidates": [{"content": {"parts": [{"text": 5}]}}], "data": [{"b64_json": 5}]},
    {"choices": [{"message": {"content": "ok"}}], "usage": {"prompt_tokens": "many"},
     "content": [{"type": "text", "text": "ok"}], "model": ["m"],
     "candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}], "modelVersion": 7},
]
BODIES = ["null", "[]", "[1, 2]", '"text"', "42", "true", '{"choices": [{"message": {"content": "cut',
          "<!DOCTYPE html><html><body>Gateway</body></html>", *[json.dumps(b) for b in WRONG_TYPES]]


def _chat(stream: bool = False) -> ChatRequest:
    return ChatRequest(model="m", messages=[Message("user", "hi")], stream=stream)


def _calls(base: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "openai": lambda: OpenAIProvider(base_url=f"{base}/v1", api_key=KEY).chat(_chat()),
        "openai-image": lambda: OpenAIProvider(base_url=f"{base}/v1", api_key=KEY).image(
            ImageRequest(model="gpt-image-1", prompt="x")),
        "anthropic": lambda: AnthropicProvider(base_url=base, api_key=KEY).chat(_chat()),
        "gemini": lambda: GeminiProvider(base_url=base, api_key=KEY).chat(_chat()),
        "runway": lambda: RunwayProvider(base_url=base, api_key=KEY).video(
            VideoRequest(model="gen4_turbo", prompt="x", poll_interval=0.01, timeout=5)),
    }


def _check(err: ProviderError) -> None:
    text = str(err)
    assert err.retryable, text
    assert "\n" not in text and "Traceback" not in text
    for py in ("AttributeError", "NoneType", "KeyError", "TypeError", "IndexError", "object has no"):
        assert py not in text, text


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("name", ["openai", "openai-image", "anthropic", "gemini", "runway"])
def test_malformed_json_answers_are_one_retryable_line(fake_env: Any, name: str, body: str) -> None:
    fake_env.fault("body", body=body, content_type="text/html" if body.startswith("<") else "application/json")
    try:
        out = asyncio.run(_calls(fake_env.url)[name]())
    except ProviderError as err:
        _check(err)
    else:  # only a body that is a valid answer for this provider may pass, and then it must be typed
        assert body.startswith("{") and "ok" in body, (name, body, out)


STREAM_BODIES = ["data: null\n\n", "data: [1]\n\n", 'data: "x"\n\n', "data: {\"choices\": \"x\", \"delta\": 5, "
                 "\"type\": \"content_block_delta\", \"candidates\": [\"x\"]}\n\n",
                 'data: {"choices": [{"delta": {"content": 5}}], "type": "content_block_delta", '
                 '"delta": {"type": "text_delta", "text": 5}, "candidates": [{"content": {"parts": [{"text": 5}]}}]}\n\n',
                 "data: {\"cut\n\n", "<html>oops</html>"]


@pytest.mark.parametrize("body", STREAM_BODIES)
@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_malformed_stream_events_are_one_retryable_line(fake_env: Any, name: str, body: str) -> None:
    fake_env.fault("body", body=body, content_type="text/event-stream")
    provider: Any = {"openai": OpenAIProvider(base_url=f"{fake_env.url}/v1", api_key=KEY),
                     "anthropic": AnthropicProvider(base_url=fake_env.url, api_key=KEY),
                     "gemini": GeminiProvider(base_url=fake_env.url, api_key=KEY)}[name]
    with pytest.raises(ProviderError) as info:
        asyncio.run(provider.chat(_chat(stream=True)))
    _check(info.value)


@pytest.mark.parametrize("body", ["null", '{"error": "x"}', "<!DOCTYPE html><html>Bad gateway</html>"])
@pytest.mark.parametrize("name", ["openai", "elevenlabs"])
def test_speech_refuses_a_page_or_json_for_audio(fake_env: Any, name: str, body: str) -> None:
    fake_env.fault("body", body=body, content_type="text/html" if body.startswith("<") else "application/json")
    provider: Any = OpenAIProvider(base_url=f"{fake_env.url}/v1", api_key=KEY) if name == "openai" else \
        ElevenLabsProvider(base_url=fake_env.url, api_key=KEY)
    with pytest.raises(ProviderError) as info:
        asyncio.run(provider.speech(SpeechRequest(model="m", text="hi")))
    _check(info.value)


def test_runway_poll_with_wrong_types():
    for data in ({"status": "SUCCEEDED", "output": "https://x/v.mp4"}, {"status": "SUCCEEDED", "output": [5]},
                 {"status": "RUNNING", "progress": "half"}):
        provider = RunwayProvider(base_url="http://127.0.0.1:9", api_key=KEY)
        try:
            with provider.reading():
                state = provider._state(data)
        except ProviderError as err:
            _check(err)
        else:
            assert state.progress is None


def test_http_node_odd_answers_are_retryable_provider_errors():
    from .helpers import Recorder

    for reply, status in ((b"null", 200), (b"<html>proxy</html>", 200), (b'{"data": 5}', 200)):
        with Recorder(status=status, reply=reply) as srv:
            flow = Flow("h")
            flow.add("http", id="call", url=f"{srv.url}/x", response_path="data.items[0]")
            flow.add("output", id="out")
            flow.connect("call.json", "out.value")
            res = flow.run(cache=False)
            err = res.nodes["call"].error
            assert res.status == "failed" and err is not None and err["type"] == "ProviderError"
            assert "\n" not in err["message"] and "data.items[0]" in err["message"]


def test_llm_node_retries_a_null_answer_and_recovers(fake_env: Any) -> None:
    from ..providers.helpers import FAST_RETRY, llm_flow

    fake_env.fault("body", body="null")
    res = llm_flow("openai", stream=False).run()
    assert res.ok and res.nodes["llm"].attempts == 2, (res.error, FAST_RETRY)
    assert "where an object was expected" in res.nodes["llm"].history[0]["error"]


def test_server_answers_deep_and_huge_json_with_json_errors(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NBFLOW_SERVE_TOKEN", TOKEN)
    app = build_app(ServeConfig.parse({"flows": [str(write_flow(tmp_path, NUMBERS))]}))

    async def go() -> None:
        async with client(app) as c:
            for depth in (100_000, 5_000, 300):
                body = '{"n": ' + "[" * depth + "]" * depth + "}"
                r = await c.post("/flows/numbers/runs", content=body, headers=AUTH)
                assert r.status_code == 400 and "nested" in r.json()["error"], (depth, r.text)
                r = await c.post("/runs/x/resume", content="[" * depth + "]" * depth, headers=AUTH)
                assert r.status_code == 400 and r.headers["content-type"] == "application/json"
            r = await c.post("/flows/numbers/runs", content=b'{"n": "' + b"1" * (2 << 20) + b'"}', headers=AUTH)
            assert r.status_code == 413 and "limit" in r.json()["error"]
            async def chunks() -> Any:  # no content-length: counted as it streams in
                for _ in range(48):
                    yield b"[" * 65536

            r = await c.post("/flows/numbers/runs", content=chunks(), headers=AUTH)
            assert r.status_code == 413

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
