"""Rate limits from node policy and code, shared by every run in the process, seen from the server."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from nbflow import Flow
from nbflow.providers.ratelimit import reset_limiters, set_rate_limit

from .helpers import FAST_RETRY


def _fan_out(n: int, **limits: Any) -> Flow:
    f = Flow("fan")
    f.add("input.text", id="prompt", default="hi")
    for i in range(n):
        f.add("llm", id=f"c{i}", provider="openai", model="gpt-4o-mini", stream=False,
              policy={"retry": {**FAST_RETRY, "attempts": 1}, **limits})
        f.connect("prompt.value", f"c{i}.prompt")
    return f


def _gaps(server: Any) -> list[float]:
    times = sorted(r.time for r in server.requests)
    return [b - a for a, b in itertools.pairwise(times)]


def test_rpm_policy_spaces_calls_and_avoids_429s(fake_env: Any) -> None:
    fake_env.rate_limit(20, burst=3)  # the server allows 20 requests a second
    # 600 a minute: one every 100 ms, half the server's rate. At exactly the server's rate a busy
    # machine's stall sends two granted calls in one instant and the server's small bucket rejects
    # one: a real client keeps the same margin below a provider's limit.
    res = _fan_out(8, rpm=600).run(cache=False)
    assert res.ok, res.error
    assert fake_env.rejected == 0
    # spaced, not all at once (unlimited, eight calls arrive within milliseconds): the limiter grants one
    # every 100 ms; arrivals add connection set-up and jitter, hence the margin
    assert sum(_gaps(fake_env)) >= 7 * 0.1 * 0.8


def test_without_a_limit_the_same_batch_is_rejected(fake_env: Any) -> None:
    fake_env.rate_limit(20, burst=3)
    res = _fan_out(8).run(cache=False)
    assert res.status == "failed" and fake_env.rejected >= 4


def test_max_concurrency_policy(fake_env: Any) -> None:
    for _ in range(4):
        fake_env.fault("slow", delay=0.1)
    t0 = time.monotonic()
    assert _fan_out(4, max_concurrency=1).run(cache=False).ok
    assert time.monotonic() - t0 >= 0.38  # one at a time


def test_limits_set_in_code_are_shared_by_concurrent_runs(fake_env: Any) -> None:
    set_rate_limit("openai", rpm=1200)
    try:
        flows = [_fan_out(3), _fan_out(3)]
        threads = [threading.Thread(target=f.run, kwargs={"cache": False}) for f in flows]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(fake_env.requests) == 6
        # One budget for both runs on two event loops (threads contend for the GIL, so allow slack).
        assert sum(_gaps(fake_env)) >= 3.5 * 0.05
    finally:
        reset_limiters()
