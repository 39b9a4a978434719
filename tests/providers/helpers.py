"""Small builders shared by the provider tests."""

from __future__ import annotations

from typing import Any

from nbflow import Flow

#: Retries without real waiting: tests never sleep longer than they must.
FAST_RETRY = {"attempts": 3, "backoff": 0.01, "multiplier": 1.0, "max_backoff": 0.01, "jitter": False}


def llm_flow(provider: str = "openai", model: str = "gpt-4o", *, retry: dict[str, Any] | None = None,
             node_type: str = "llm", timeout: float | None = None, **params: Any) -> Flow:
    """``prompt`` input -> one AI node ``llm`` -> output ``out`` (and ``data`` for json)."""
    f = Flow("test")
    f.add("input.text", id="prompt", default="hello")
    policy: dict[str, Any] = {"retry": retry or FAST_RETRY}
    if timeout is not None:
        policy["timeout"] = timeout
    f.add(node_type, id="llm", provider=provider, model=model, policy=policy, **params)
    f.add("output", id="out")
    f.connect("prompt.value", "llm.prompt")
    f.connect("llm.text", "out.value")
    if params.get("json_schema") is not None:
        f.add("output", id="data", name="data")
        f.connect("llm.json", "data.value")
    return f


def chat_requests(server: Any, provider: str | None = None) -> list[Any]:
    """The requests that were chat calls (optionally of one provider)."""
    return [r for r in server.requests if r.provider != "files" and (provider is None or r.provider == provider)]
