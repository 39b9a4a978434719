"""Faults from the fake server through the engine: what is retried, how long it waits, what is recorded."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from nbflow import Flow

from .helpers import FAST_RETRY, chat_requests, llm_flow


def _run(provider: str = "openai", **kw: Any) -> tuple[Any, list[Any]]:
    events: list[Any] = []
    res = llm_flow(provider, **kw).run(on_event=events.append)
    return res, events


@pytest.mark.parametrize(("kind", "opts"), [
    ("status", {"status": 429}), ("status", {"status": 500}), ("status", {"status": 502}),
    ("status", {"status": 503}), ("status", {"status": 408}), ("status", {"status": 409}),
    ("malformed", {}), ("empty", {}), ("html", {"status": 502}), ("disconnect", {}),
])
def test_transient_faults_are_retried_then_succeed(fake_env: Any, kind: str, opts: dict[str, Any]) -> None:
    fake_env.fault(kind, **opts)
    res, events = _run(stream=False)
    assert res.ok, res.error
    assert len(chat_requests(fake_env)) == 2
    assert [e.kind for e in events].count("retry") == 1
    rec = res.nodes["llm"]
    assert rec.attempts == 2 and len(rec.history) == 1 and rec.history[0]["node"] == "llm"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_never_retried(fake_env: Any, status: int) -> None:
    fake_env.fault("status", status=status, message="nope")
    res, events = _run(stream=False)
    assert res.status == "failed"
    assert len(chat_requests(fake_env)) == 1 and "retry" not in [e.kind for e in events]
    err = res.nodes["llm"].error
    assert err is not None and err["status"] == status and err["provider"] == "openai"
    assert err["message"] == f"openai (HTTP {status}): nope"


@pytest.mark.parametrize("form", ["seconds", "http_date", "ms"])
def test_retry_after_is_honoured_in_each_form(fake_env: Any, form: str) -> None:
    opts = {"seconds": {"retry_after": "1"}, "http_date": {"retry_after_date": 1.0},
            "ms": {"retry_after_ms": 300}}[form]
    fake_env.fault("status", status=429, **opts)
    res, events = _run(stream=False)
    assert res.ok
    wait = 0.3 if form == "ms" else 0.0 if form == "http_date" else 1.0  # a date has 1 s resolution
    delay = next(e for e in events if e.kind == "retry").data["delay"]
    assert delay >= wait
    first, second = chat_requests(fake_env)
    assert second.time - first.time >= wait - 0.01


def test_retries_exhausted_fail_the_node_with_every_attempt_recorded(fake_env: Any) -> None:
    fake_env.fault("status", status=500, times=3)
    res, events = _run(stream=False)
    assert res.status == "failed" and res.error == "node 'llm': openai (HTTP 500): fault 500"
    rec = res.nodes["llm"]
    assert rec.attempts == 3 and [h["attempt"] for h in rec.history] == [1, 2, 3]
    assert all(h["status"] == 500 for h in rec.history)
    assert [e.kind for e in events].count("retry") == 2


def test_slow_response_hits_the_node_timeout_and_is_retried(fake_env: Any) -> None:
    fake_env.fault("slow", delay=1.0)
    res, events = _run(stream=False, timeout=0.3)
    assert res.ok, res.error
    assert res.nodes["llm"].history[0]["error"] == "timed out after 0.3s"


def test_request_timeout_policy_is_a_retryable_provider_error(fake_env: Any) -> None:
    fake_env.fault("slow", delay=1.0)
    f = llm_flow("openai", stream=False)
    f.set_policy("llm", request_timeout=0.2, retry=FAST_RETRY)
    res = f.run()
    assert res.ok and "timed out waiting for the response" in res.nodes["llm"].history[0]["error"]


def test_disconnect_mid_stream_is_retried(fake_env: Any) -> None:
    fake_env.script("a b c d e f g h")
    fake_env.fault("disconnect", after=3)
    res, _ = _run(stream=True)
    assert res.outputs["out"] == "a b c d e f g h"
    assert "connection error" in res.nodes["llm"].history[0]["error"]


def test_connection_refused_is_retryable(fake_env: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    res, events = _run(base_url=f"http://127.0.0.1:{port}/v1", stream=False)
    assert res.status == "failed" and res.nodes["llm"].attempts == 3
    assert "connection error" in res.nodes["llm"].error["message"]


def test_empty_completion_is_a_retryable_error_never_a_silent_empty_string(fake_env: Any) -> None:
    fake_env.script("", times=1)
    fake_env.script("   \n", times=1)
    res, events = _run(stream=False)
    assert res.ok and res.outputs["out"].startswith("Fake reply")
    assert [h["error"] for h in res.nodes["llm"].history] == ["openai: returned an empty completion"] * 2
    fake_env.script("", times=3)
    res, _ = _run(stream=True)
    assert res.status == "failed" and "empty completion" in (res.error or "")


def _fallback_flow() -> Flow:
    f = Flow("fallback")
    f.add("input.text", id="prompt", default="hello")
    f.add("llm", id="primary", provider="openai", model="gpt-4o", stream=False,
          policy={"retry": {**FAST_RETRY, "attempts": 2}, "fallback": ["backup"]})
    f.add("llm", id="backup", provider="anthropic", model="claude-sonnet-4", stream=False,
          policy={"retry": FAST_RETRY})
    f.add("output", id="out")
    f.connect("prompt.value", "primary.prompt")
    f.connect("primary.text", "out.value")
    return f


def test_fallback_chain_openai_to_anthropic(fake_env: Any) -> None:
    fake_env.fault("status", status=503, provider="openai", times=5)
    fake_env.script("from claude", provider="anthropic")
    events: list[Any] = []
    res = _fallback_flow().run(on_event=events.append)
    assert res.ok and res.outputs["out"] == "from claude"
    rec = res.nodes["primary"]
    assert rec.fallback == "backup" and rec.attempts == 3
    assert [h.get("node") or h.get("fallback") for h in rec.history] == ["primary", "primary", "backup"]
    assert [r.provider for r in chat_requests(fake_env)] == ["openai", "openai", "anthropic"]
    fb = next(e for e in events if e.kind == "fallback")
    assert fb.node_id == "primary" and fb.data["to"] == "backup" and "HTTP 503" in fb.data["error"]
    assert rec.usage[0]["provider"] == "anthropic"  # the call that was paid for
    data = res.to_json()["nodes"]["primary"]
    assert data["fallback"] == "backup" and len(data["history"]) == 3
