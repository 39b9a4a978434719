"""One deadline per node bounds its attempts and the waits between them."""

from __future__ import annotations

from typing import Any

from .helpers import llm_flow

SLOW_RETRY = {"attempts": 5, "backoff": 30.0, "multiplier": 1.0, "max_backoff": 30.0, "jitter": False}


def test_retry_after_beyond_the_deadline_fails_at_once_with_one_line(fake_env: Any) -> None:
    fake_env.fault("status", status=429, retry_after="3600")
    f = llm_flow("openai", stream=False, retry={"attempts": 3, "backoff": 0.0, "jitter": False})
    f.set_policy("llm", deadline=5)
    res = f.run()
    rec = res.nodes["llm"]
    assert res.status == "failed" and rec.attempts == 1
    assert len(fake_env.requests) == 1
    msg = rec.error["message"]
    assert "\n" not in msg and "(HTTP 429)" in msg
    assert "asks to retry after 3600s, beyond the node's deadline of 5s" in msg


def test_a_backoff_that_would_pass_the_deadline_ends_the_node(fake_env: Any) -> None:
    fake_env.fault("status", status=500)
    f = llm_flow("openai", stream=False, retry=SLOW_RETRY)
    f.set_policy("llm", deadline=2)
    res = f.run()
    assert res.status == "failed" and res.nodes["llm"].attempts == 1
    assert "no time left to retry within the node's deadline of 2s" in res.nodes["llm"].error["message"]


def test_the_deadline_bounds_an_attempt_and_is_not_retried(fake_env: Any) -> None:
    fake_env.fault("slow", delay=2.0)
    f = llm_flow("openai", stream=False, retry={"attempts": 3, "backoff": 0.0, "jitter": False})
    f.set_policy("llm", deadline=0.3)
    res = f.run()
    rec = res.nodes["llm"]
    assert res.status == "failed" and rec.attempts == 1
    assert rec.error["message"] == "deadline of 0.3s passed"


def test_without_a_deadline_a_short_retry_after_is_honoured(fake_env: Any) -> None:
    fake_env.fault("status", status=429, retry_after="0")
    f = llm_flow("openai", stream=False, retry={"attempts": 2, "backoff": 0.0, "jitter": False})
    assert f.run().ok
