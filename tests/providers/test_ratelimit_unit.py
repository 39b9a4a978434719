"""The process-wide limiter: request spacing, token budget, concurrency, cooldown, sharing across loops."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nbflow.clock import ManualClock
from nbflow.providers.ratelimit import Limiter, RateLimit, key_fingerprint, limiter_for, reset_limiters


class JumpClock:
    """A fake clock where sleeping moves time to the wake-up moment at once (thread-safe; for the
    cross-loop test, which checks reservations, not the order of wake-ups)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, t: float) -> None:
        with self._lock:
            self._now = max(self._now, t)
        await asyncio.sleep(0)


def _starts(limiter: Limiter, n: int, tokens: int = 0) -> list[float]:
    """When each of ``n`` concurrent calls was let through, on the limiter's clock (a ManualClock is
    moved a minute ahead, waking sleepers in time order)."""
    clock = limiter.clock

    async def one(out: list[float]) -> None:
        async with limiter.slot(tokens):
            out.append(clock.now())

    async def go() -> list[float]:
        out: list[float] = []
        tasks = [asyncio.ensure_future(one(out)) for _ in range(n)]
        if isinstance(clock, ManualClock):
            await clock.advance(60)
        await asyncio.gather(*tasks)
        return sorted(out)

    return asyncio.run(go())


def test_rpm_spaces_requests_evenly() -> None:
    starts = _starts(Limiter("t", RateLimit(rpm=1200), clock=ManualClock(0.0)), 6)  # one every 50 ms
    assert starts == pytest.approx([0.0, 0.05, 0.10, 0.15, 0.20, 0.25])


def test_burst_lets_the_first_requests_through_together() -> None:
    starts = _starts(Limiter("t", RateLimit(rpm=600, burst=3), clock=ManualClock(0.0)), 4)
    assert starts == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_tpm_holds_calls_until_tokens_refill() -> None:
    clock = JumpClock()
    lim = Limiter("t", RateLimit(tpm=6000), clock=clock)  # 100 tokens a second, 6000 in the bucket

    async def go() -> float:
        async with lim.slot(5990):  # leaves 10 tokens
            pass
        async with lim.slot(15):  # needs 5 more: 50 ms of refill
            return clock.now()

    assert asyncio.run(go()) == pytest.approx(0.05)


def test_settle_refunds_unused_tokens() -> None:
    clock = JumpClock()
    lim = Limiter("t", RateLimit(tpm=600), clock=clock)  # 10 tokens a second

    async def go() -> float:
        async with lim.slot(600) as permit:
            permit.settle(10)  # used far fewer than reserved
        async with lim.slot(500):
            return clock.now()

    assert asyncio.run(go()) == 0.0  # without the refund: 49 s of refill


def test_concurrency_cap() -> None:
    lim = Limiter("t", RateLimit(concurrency=2))
    active = peak = 0

    async def one() -> None:
        nonlocal active, peak
        async with lim.slot():
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1

    async def go() -> None:
        await asyncio.gather(*(one() for _ in range(7)))

    asyncio.run(go())
    assert peak == 2


def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    lim = Limiter("t", RateLimit(concurrency=1))

    async def go() -> None:
        async def hold() -> None:
            async with lim.slot():
                await asyncio.sleep(0.05)

        holder = asyncio.ensure_future(hold())
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(hold())
        await asyncio.sleep(0.01)
        waiter.cancel()
        await holder
        async with lim.slot():  # would hang if the cancelled waiter kept the slot
            pass

    asyncio.run(asyncio.wait_for(go(), 2))


def test_cooldown_pauses_everyone() -> None:
    lim = Limiter("t", clock=ManualClock(0.0))
    lim.cooldown(0.1)
    assert _starts(lim, 2) == pytest.approx([0.1, 0.1]) and lim.waited == pytest.approx(0.2)


def test_limiters_are_shared_per_provider_and_key_and_across_loops() -> None:
    reset_limiters()
    a = limiter_for("openai", "https://x/v1", key_fingerprint("k1"), RateLimit(rpm=1200))
    assert limiter_for("openai", "https://x/v1/", key_fingerprint("k1")) is a
    assert limiter_for("openai", "https://x/v1", key_fingerprint("k2")) is not a
    assert "k1" not in repr(a)
    a.clock = JumpClock()
    threads = [threading.Thread(target=_starts, args=(a, 2)) for _ in range(2)]  # two event loops
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One budget: four calls reserved four 50 ms slots, whichever loop each ran on (two budgets: two).
    assert a._tat == pytest.approx(0.20)
    reset_limiters()
