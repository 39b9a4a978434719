"""OpenAI and OpenAI-compatible servers: what is sent, what is read, through the fake server."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from nbflow import Media
from nbflow.providers.catalog import Providers
from nbflow.providers.offline import png_bytes
from nbflow.providers.openai import OpenAIProvider, chat_body, strict_schema_ok
from nbflow.providers.provider import ChatRequest, ImageRequest, Message, SpeechRequest
from nbflow.providers.secrets import DictSecrets, Secrets

from .helpers import chat_requests, llm_flow

SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}, "n": {"type": "integer"}},
          "required": ["title", "n"], "additionalProperties": False}


def _openai(fake_env: Any, **config: Any) -> OpenAIProvider:
    return Providers().get("openai", node_id="n", **config)  # type: ignore[return-value]


def test_chat_request_wire_format(fake_env: Any) -> None:
    f = llm_flow("openai", "gpt-4o-mini", system="Be brief.", temperature=0.3, max_tokens=50, stream=False)
    res = f.run(prompt="Name a teapot")
    assert res.ok, res.error
    (req,) = chat_requests(fake_env)
    assert req.method == "POST" and req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer fake-key"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"model": "gpt-4o-mini", "temperature": 0.3, "max_completion_tokens": 50,
                        "messages": [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Name a teapot"}]}
    assert res.outputs["out"] == "Fake reply to: Be brief.\nName a teapot"
    usage = res.nodes["llm"].usage[0]
    assert usage["provider"] == "openai" and usage["model"] == "gpt-4o-mini"
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0 and usage["cost"] > 0


def test_structured_output_by_json_schema(fake_env: Any) -> None:
    fake_env.script(json={"title": "Teapot", "n": 3})
    res = llm_flow("openai", json_schema=SCHEMA, stream=False).run()
    assert res.outputs["data"] == {"title": "Teapot", "n": 3}
    rf = chat_requests(fake_env)[0].json["response_format"]
    assert rf == {"type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA, "strict": True}}


def test_strict_mode_only_for_schemas_openai_accepts() -> None:
    assert strict_schema_ok(SCHEMA)
    assert not strict_schema_ok({"type": "object", "properties": {"a": {"type": "string"}}})
    loose = {**SCHEMA, "properties": {**SCHEMA["properties"], "x": {"type": "object", "properties": {}}}}
    assert not strict_schema_ok(loose)


def test_image_parts_for_vision(fake_env: Any) -> None:
    png = png_bytes(1, 1, [b"\x10\x20\x30"])
    req = ChatRequest(model="gpt-4o", messages=[Message("user", "what is this?", [
        Media.from_bytes(png), Media(mime="image/jpeg", url="https://img.example/cat.jpg")])])
    content = chat_body(req)["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "what is this?"}
    assert content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert content[2] == {"type": "image_url", "image_url": {"url": "https://img.example/cat.jpg"}}


def test_streaming_emits_partial_output_events(fake_env: Any) -> None:
    fake_env.script("one two three four")
    events: list[Any] = []
    res = llm_flow("openai", stream=True).run(on_event=events.append)
    assert res.outputs["out"] == "one two three four"
    partials = [e.data["value"] for e in events if e.kind == "partial"]
    assert partials == ["one ", "one two ", "one two three ", "one two three four"]
    body = chat_requests(fake_env)[0].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert res.nodes["llm"].usage[0]["output_tokens"] > 0  # from the final usage chunk


def test_stream_without_done_is_a_retryable_error(fake_env: Any) -> None:
    fake_env.fault("disconnect", after=3)  # cut before finish_reason and [DONE]
    events: list[Any] = []
    res = llm_flow("openai", stream=True).run(on_event=events.append)
    assert res.ok  # the retry succeeded
    assert [e.kind for e in events].count("retry") == 1
    assert len(chat_requests(fake_env)) == 2


def test_image_generation_b64_and_url(fake_env: Any) -> None:
    p = _openai(fake_env)

    async def go() -> Any:
        a = await p.image(ImageRequest(model="dall-e-3", prompt="a teapot", n=2, size="1024x1024"))
        b = await p.image(ImageRequest(model="dall-e-3", prompt="a cup", extra={"response_format": "url"}))
        c = await p.image(ImageRequest(model="gpt-image-1", prompt="a mug"))
        return a, b, c

    a, b, c = asyncio.run(go())
    assert len(a.images) == 2 and all(i.mime == "image/png" and i.data for i in a.images)
    assert b.images[0].data and b.images[0].meta["revised_prompt"] == "a cup"
    bodies = [r.json for r in fake_env.requests if r.path.endswith("/images/generations")]
    assert bodies[0] == {"model": "dall-e-3", "prompt": "a teapot", "n": 2, "size": "1024x1024",
                         "response_format": "b64_json"}
    assert bodies[1]["response_format"] == "url"
    assert "response_format" not in bodies[2]  # gpt-image-1 rejects the field
    assert any(r.path.startswith("/files/") for r in fake_env.requests)  # the URL was downloaded


def test_image_node_records_images_and_cost(fake_env: Any) -> None:
    from nbflow import Flow

    f = Flow("img")
    f.add("input.text", id="prompt", default="a teapot")
    f.add("image", id="img", provider="openai", model="dall-e-3")
    f.add("output", id="out")
    f.connect("prompt.value", "img.prompt")
    f.connect("img.image", "out.value")
    res = f.run()
    assert res.outputs["out"].mime == "image/png"
    assert res.nodes["img"].usage == [{"provider": "openai", "model": "dall-e-3", "images": 1, "cost": 0.04}]


def test_speech(fake_env: Any) -> None:
    resp = asyncio.run(_openai(fake_env).speech(SpeechRequest(model="tts-1", text="Hello there", voice="nova",
                                                              format="mp3")))
    assert resp.audio.mime == "audio/mpeg" and resp.usage.characters == 11
    req = fake_env.requests[-1]
    assert req.path == "/v1/audio/speech"
    assert req.json == {"model": "tts-1", "input": "Hello there", "voice": "nova", "response_format": "mp3"}


@pytest.mark.parametrize("provider", ["openai-compatible", "ollama", "vllm", "llamacpp"])
def test_openai_compatible_servers_through_base_url(fake_env: Any, provider: str) -> None:
    res = llm_flow(provider, "llama3.2", base_url=f"{fake_env.url}/v1", max_tokens=20, stream=False).run()
    assert res.ok, res.error
    req = chat_requests(fake_env)[0]
    assert req.path == "/v1/chat/completions"
    assert "authorization" not in req.headers  # a local server needs no key
    assert req.json["max_tokens"] == 20 and "max_completion_tokens" not in req.json
    assert res.nodes["llm"].usage[0]["provider"] == provider


def test_compatible_server_with_a_key_from_api_key_env(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", "gw-123456")
    res = llm_flow("openai-compatible", "m", base_url=f"{fake_env.url}/v1", api_key_env="MY_GATEWAY_KEY").run()
    assert res.ok and chat_requests(fake_env)[0].headers["authorization"] == "Bearer gw-123456"


def test_ollama_host_env_and_openrouter_key(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_env.url)
    assert llm_flow("ollama", "llama3.2").run().ok
    assert chat_requests(fake_env)[0].path == "/v1/chat/completions"
    secrets = Secrets(DictSecrets({"OPENROUTER_API_KEY": "or-key-1"}))
    p = Providers(secrets).get("openrouter", node_id="n")
    assert p.base_url == "https://openrouter.ai/api/v1" and p.key_name == "OPENROUTER_API_KEY"  # type: ignore[attr-defined]


def test_compatible_without_base_url_is_a_param_error(fake_env: Any) -> None:
    from nbflow import ParamError

    with pytest.raises(ParamError, match="needs a base_url") as info:
        llm_flow("openai-compatible", "m").run()
    assert info.value.node == "llm" and fake_env.requests == []
