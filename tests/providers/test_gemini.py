"""Gemini generateContent and streamGenerateContent through the fake server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nbflow import Media, ProviderError
from nbflow.providers.catalog import Providers
from nbflow.providers.gemini import GeminiProvider, generate_body
from nbflow.providers.offline import png_bytes
from nbflow.providers.provider import ChatRequest, Message
from nbflow.providers.secrets import DictSecrets, Secrets

from .helpers import chat_requests, llm_flow


def test_generate_content_wire_format(fake_env: Any) -> None:
    res = llm_flow("gemini", "gemini-2.0-flash", system="Be brief.", temperature=0.5, max_tokens=40,
                   stream=False).run(prompt="Hi")
    assert res.ok, res.error
    (req,) = chat_requests(fake_env)
    assert req.path == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert req.headers["x-goog-api-key"] == "fake-key" and req.query == {}  # the key is never in the URL
    assert req.json == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
                        "systemInstruction": {"parts": [{"text": "Be brief."}]},
                        "generationConfig": {"temperature": 0.5, "maxOutputTokens": 40}}
    assert res.nodes["llm"].usage[0]["input_tokens"] > 0


def test_streaming_uses_alt_sse(fake_env: Any) -> None:
    fake_env.script("red green blue")
    events: list[Any] = []
    res = llm_flow("gemini", "gemini-2.5-flash", stream=True).run(on_event=events.append)
    assert res.outputs["out"] == "red green blue"
    req = chat_requests(fake_env)[0]
    assert req.path.endswith(":streamGenerateContent") and req.query == {"alt": "sse"}
    assert [e.data["value"] for e in events if e.kind == "partial"] == ["red ", "red green ", "red green blue"]
    assert res.nodes["llm"].usage[0]["output_tokens"] > 0


def test_json_schema_and_image_parts(fake_env: Any) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    png = png_bytes(1, 1, [b"\1\2\3"])
    body = generate_body(ChatRequest(model="m", json_schema=schema,
                                     messages=[Message("user", "look", [Media.from_bytes(png)])]))
    assert body["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    assert body["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "image/png"
    fake_env.script(json={"ok": True})
    assert llm_flow("gemini", "gemini-2.5-flash", json_schema=schema).run().outputs["data"] == {"ok": True}


def test_url_images_are_downloaded_and_inlined(fake_env: Any) -> None:
    png = png_bytes(1, 1, [b"\1\2\3"])
    url = fake_env.add_file("cat.png", png, "image/png")
    p = Providers().get("gemini", node_id="n")
    req = ChatRequest(model="gemini-2.5-flash", messages=[Message("user", "what?", [Media(mime="image/png", url=url)])])
    asyncio.run(p.chat(req))
    part = chat_requests(fake_env, "gemini")[0].json["contents"][0]["parts"][0]
    assert part["inlineData"]["mimeType"] == "image/png" and part["inlineData"]["data"]


def test_retry_info_delay_is_honoured(fake_env: Any) -> None:
    fake_env.fault("status", status=429, retry_delay="0.2s", provider="gemini")
    events: list[Any] = []
    res = llm_flow("gemini", "gemini-2.5-flash").run(on_event=events.append)
    assert res.ok
    assert next(e for e in events if e.kind == "retry").data["delay"] >= 0.2
    first, second = chat_requests(fake_env)
    assert second.time - first.time >= 0.19


def test_blocked_prompt_is_not_retried() -> None:
    p = GeminiProvider(base_url="https://g.mock")
    with pytest.raises(ProviderError, match="blocked") as info:
        p._read({"promptFeedback": {"blockReason": "SAFETY"}}, [])
    assert not info.value.retryable


def test_google_api_key_is_the_fallback_name(fake_env: Any) -> None:
    s = Secrets(DictSecrets({"GOOGLE_API_KEY": "g-key"}))
    assert Providers(s).get("gemini", node_id="n").key_name == "GOOGLE_API_KEY"  # type: ignore[attr-defined]
