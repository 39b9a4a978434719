"""The llm and vision nodes: JSON validation with one repair, context-window checks, images."""

from __future__ import annotations

from typing import Any

import pytest

from nbflow import Flow, ParamError
from nbflow.providers.offline import png_bytes
from nbflow.providers.tokens import context_window, count_tokens, fit_prompt

from .helpers import chat_requests, llm_flow

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
          "required": ["name", "price"]}


def test_valid_json_passes_with_one_call(fake_env: Any) -> None:
    fake_env.script('```json\n{"name": "Teapot", "price": 20}\n```')  # a fence is forgiven
    res = llm_flow(json_schema=SCHEMA, stream=False).run()
    assert res.outputs["data"] == {"name": "Teapot", "price": 20}
    assert len(chat_requests(fake_env)) == 1


def test_one_repair_attempt_fixes_bad_json(fake_env: Any) -> None:
    fake_env.script('{"name": "Teapot"}', times=1)  # missing price
    fake_env.script('{"name": "Teapot", "price": 12.5}', times=1)
    events: list[Any] = []
    res = llm_flow(json_schema=SCHEMA, stream=False).run(on_event=events.append)
    assert res.ok and res.outputs["data"] == {"name": "Teapot", "price": 12.5}
    first, repair = chat_requests(fake_env)
    msgs = repair.json["messages"]
    assert msgs[-2] == {"role": "assistant", "content": '{"name": "Teapot"}'}
    assert msgs[-1]["role"] == "user" and "'price' is a required property" in msgs[-1]["content"]
    assert len(res.nodes["llm"].usage) == 2  # both calls are paid for and recorded
    assert any("repair" in e.data.get("message", "") for e in events if e.kind == "progress")


def test_still_invalid_after_repair_is_a_node_error(fake_env: Any) -> None:
    fake_env.script("not json at all", times=2)
    res = llm_flow(json_schema=SCHEMA, stream=False).run()
    assert res.status == "failed"
    assert res.error == ("node 'llm': output does not match json_schema after one repair attempt: "
                         "not valid JSON (Expecting value at line 1 column 1)")
    assert len(chat_requests(fake_env)) == 2  # not retried: the repair was the second chance


def test_wrong_type_is_named_by_path(fake_env: Any) -> None:
    fake_env.script('{"name": "T", "price": "cheap"}', times=2)
    res = llm_flow(json_schema=SCHEMA, stream=False).run()
    assert "price: 'cheap' is not of type 'number'" in (res.error or "")


def test_invalid_schema_is_a_param_error() -> None:
    with pytest.raises(ParamError, match="not a valid JSON Schema") as info:
        llm_flow(json_schema={"type": "no-such-type"})
    assert info.value.node == "llm"


def test_prompt_too_long_fails_before_the_call(fake_env: Any) -> None:
    long = "word " * 40_000  # about 50,000 tokens
    res = llm_flow("openai", "gpt-4", stream=False).run(prompt=long)
    assert res.status == "failed"
    msg = res.nodes["llm"].error["message"]
    assert "context window" in msg and "'gpt-4'" in msg and "8,192" in msg
    assert chat_requests(fake_env) == []  # nothing was sent, nothing paid
    assert res.nodes["llm"].attempts == 1  # not retryable


def test_declared_truncation_keeps_the_end(fake_env: Any) -> None:
    long = "start " + "x" * 50_000 + " the end"
    res = llm_flow("openai", "custom-model", context_window=2000, max_tokens=500, on_overflow="keep_end",
                   stream=False).run(prompt=long)
    assert res.ok, res.error
    sent = chat_requests(fake_env)[0].json["messages"][-1]["content"]
    assert sent.endswith(" the end") and not sent.startswith("start") and count_tokens(sent) <= 1500


def test_fit_prompt_and_windows() -> None:
    assert context_window("gpt-4o-2024-08-06") == 128_000 and context_window("claude-opus-4-1") == 200_000
    assert context_window("mystery") is None and fit_prompt("x" * 10**6, model="mystery") == "x" * 10**6
    assert fit_prompt("abcdefgh" * 100, model="m", window=50, policy="keep_start").startswith("abcd")
    with pytest.raises(Exception, match="lower max_tokens"):
        fit_prompt("hi", model="m", window=100, max_tokens=200)
    assert count_tokens("日本語") == 3 and count_tokens("abcd") == 1


def _vision_flow(provider: str, model: str) -> Flow:
    f = Flow("vision")
    f.add("input.image", id="photo")
    f.add("input.text", id="question", default="What is in the picture?")
    f.add("vision", id="llm", provider=provider, model=model, stream=False)
    f.add("output", id="out")
    f.connect("photo.value", "llm.image")
    f.connect("question.value", "llm.prompt")
    f.connect("llm.text", "out.value")
    return f


@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4"),
                                                 ("gemini", "gemini-2.5-flash"), ("offline", "offline-chat")])
def test_vision_node_sends_the_image(fake_env: Any, tmp_path: Any, provider: str, model: str) -> None:
    img = tmp_path / "p.png"
    img.write_bytes(png_bytes(2, 2, [b"\xff\0\0" * 2] * 2))
    res = _vision_flow(provider, model).run(photo=str(img))
    assert res.ok, res.error
    if provider == "offline":
        assert "looked at 1 image" in res.outputs["out"]
        return
    body = chat_requests(fake_env)[0].json
    text = str(body)
    assert "What is in the picture?" in text and ("image" in text or "inlineData" in text)
