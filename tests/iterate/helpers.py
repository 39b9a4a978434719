"""A two-call flow: topic -> prompt (template) -> draft (llm) -> polish (llm) -> out."""

from __future__ import annotations

from typing import Any

from nbflow import Flow


def two_calls(provider: str = "openai") -> Flow:
    f = Flow("iter-test")
    f.add("input.text", id="topic", default="teapots")
    f.add("template", id="prompt", template="Write about {{topic}}.")
    f.add("llm", id="draft", provider=provider, model="gpt-4o-mini", stream=False)
    f.add("template", id="ask", template="Polish: {{text}}")
    f.add("llm", id="polish", provider=provider, model="gpt-4o-mini", stream=False)
    f.add("output", id="out")
    f.connect("topic.value", "prompt.topic")
    f.connect("prompt.text", "draft.prompt")
    f.connect("draft.text", "ask.text")
    f.connect("ask.text", "polish.prompt")
    f.connect("polish.text", "out.value")
    return f


def calls(server: Any) -> list[str]:
    """The prompts of the chat calls the fake server saw, in order."""
    from nbflow.testing.fakewire import prompt_text

    return [prompt_text(r.provider, r.json) for r in server.requests
            if r.provider == "openai" and r.path.endswith("/chat/completions")]
