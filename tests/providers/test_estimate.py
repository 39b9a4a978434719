"""``nbflow run --estimate``: tokens and cost from prompt sizes and max_tokens, with no call made."""

from __future__ import annotations

import json
from typing import Any

from nbflow import Flow
from nbflow.cli import main as cli
from nbflow.providers.estimate import DEFAULT_OUTPUT_TOKENS, estimate_flow


def _flow() -> Flow:
    f = Flow("estimate")
    f.add("input.text", id="topic", default="teapots")
    f.add("template", id="ask", template="Write 3 taglines about {{topic}}.")
    f.add("llm", id="draft", provider="openai", model="gpt-4o-mini", max_tokens=400)
    f.add("llm", id="polish", provider="anthropic", model="claude-sonnet-4")
    f.add("image", id="pic", provider="openai", model="dall-e-3", n=2)
    f.add("http", id="post", url="https://hooks.example.com/x", headers={"Authorization": "Bearer ${HOOK}"})
    f.add("output", id="out")
    f.connect("topic.value", "ask.topic")
    f.connect("ask.text", "draft.prompt")
    f.connect("draft.text", "polish.prompt")
    f.connect("polish.text", "pic.prompt")
    f.connect("polish.text", "post.text")
    f.connect("post.text", "out.value")
    return f


def test_estimate_counts_prompts_and_max_tokens_without_calls(fake_server: Any, monkeypatch: Any) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HOOK"):
        monkeypatch.delenv(name, raising=False)  # an estimate needs no keys
    est = estimate_flow(_flow(), {"topic": "a teapot " * 100})
    assert est["status"] == "succeeded" and fake_server.requests == []
    draft = est["nodes"]["draft"]["usage"][0]
    assert draft["output_tokens"] == 400 and draft["input_tokens"] >= 200  # the long topic is counted
    polish = est["nodes"]["polish"]["usage"][0]
    assert polish["output_tokens"] == DEFAULT_OUTPUT_TOKENS and polish["input_tokens"] >= 400
    assert est["nodes"]["pic"]["usage"][0]["images"] == 2
    assert est["cost"] == round(sum(n["cost"] for n in est["nodes"].values()), 8) and est["cost"] > 0.08


def test_cli_estimate_json_and_table(fake_server: Any, tmp_path: Any, capsys: Any) -> None:
    path = tmp_path / "f.json"
    _flow().save(path)
    assert cli(["run", str(path), "--estimate", "--json", "-i", "topic=mugs"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["estimate"] is True and set(out["nodes"]) == {"draft", "polish", "pic"}
    assert cli(["run", str(path), "--estimate"]) == 0
    text = capsys.readouterr().out
    assert "openai/gpt-4o-mini" in text and "estimated total: $" in text and "no calls were made" in text
    assert fake_server.requests == []
