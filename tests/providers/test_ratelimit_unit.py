"""The process-wide limiter: request spacing, token budget, concurrency, cooldown, sharing across loops."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

from nbflow.providers.ratelimit import Limiter, RateLimit, key_fingerprint, limiter_for, reset_limiters


def _starts(limiter: Limiter, n: int, tokens: int = 0) -> list[float]:
    async def one(out: list[float]) -> None:
        async with limiter.slot(tokens):
            out.append(time.monotonic())

    async def go() -> list[float]:
        out: list[float] = []
        await asyncio.gather(*(one(out) for _ in range(n)))
        return sorted(out)

    return asyncio.run(go())


def test_rpm_spaces_requests_evenly() -> None:
    starts = _starts(Limiter("t", RateLimit(rpm=1200)), 6)  # one every 50 ms
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.045
    assert starts[-1] - starts[0] >= 0.24


def test_burst_lets_the_first_requests_through_together() -> None:
    starts = _starts(Limiter("t", RateLimit(rpm=600, burst=3)), 4)
    assert starts[2] - starts[0] < 0.03 and starts[3] - starts[0] >= 0.09


def test_tpm_holds_calls_until_tokens_refill() -> None:
    lim = Limiter("t", RateLimit(tpm=6000))  # 100 tokens a second, 6000 in the bucket

    async def go() -> float:
        async with lim.slot(5990):  # leaves 10 tokens
            pass
        t0 = time.monotonic()
        async with lim.slot(15):  # needs 5 more: 50 ms of refill
            return time.monotonic() - t0

    assert 0.04 <= asyncio.run(go()) < 0.5


def test_settle_refunds_unused_tokens() -> None:
    lim = Limiter("t", RateLimit(tpm=600))  # 10 tokens a second

    async def go() -> float:
        async with lim.slot(600) as permit:
            permit.settle(10)  # used far fewer than reserved
        t0 = time.monotonic()
        async with lim.slot(500):
            return time.monotonic() - t0

    assert asyncio.run(go()) < 0.05


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
    lim = Limiter("t")
    lim.cooldown(0.1)
    starts = _starts(lim, 1)
    assert lim.waited >= 0.09 and starts


def test_limiters_are_shared_per_provider_and_key_and_across_loops() -> None:
    reset_limiters()
    a = limiter_for("openai", "https://x/v1", key_fingerprint("k1"), RateLimit(rpm=1200))
    assert limiter_for("openai", "https://x/v1/", key_fingerprint("k1")) is a
    assert limiter_for("openai", "https://x/v1", key_fingerprint("k2")) is not a
    assert "k1" not in repr(a)
    starts: list[float] = []

    def run_one() -> None:
        starts.extend(_starts(a, 2))

    threads = [threading.Thread(target=run_one) for _ in range(2)]  # two event loops, one budget
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert min(b - x for x, b in itertools.pairwise(starts)) >= 0.045
    reset_limiters()
