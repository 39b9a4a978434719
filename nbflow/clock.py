"""Time for every timed part (cron scheduler, rate limiter): real clocks, and a manual one so tests
move time themselves instead of waiting for it or asserting wall-clock bounds."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "MonotonicClock", "SystemClock"]


class Clock(Protocol):
    """What a timed part needs from time: read it, and sleep until a moment."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep_until(self, t: float) -> None:
        """Return once ``now() >= t``."""
        ...


class SystemClock:
    """The wall clock. Sleeps in slices of at most a minute, so a suspended laptop or a clock
    correction does not make a fire time late by the whole original sleep."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, t: float) -> None:
        while (left := t - time.time()) > 0:
            await asyncio.sleep(min(left, 60.0))


class MonotonicClock:
    """Seconds on :func:`time.monotonic`: for intervals (rate limits), which a clock correction must not
    stretch or shrink."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, t: float) -> None:
        left = t - time.monotonic()
        await asyncio.sleep(left if left > 0 else 0)


class ManualClock:
    """A clock that moves only when told: ``await clock.advance(3600)`` wakes every sleeper whose
    time has come, in time order, letting each one's work run before moving on."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, t: float) -> None:
        if t <= self._now:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (t, next(self._seq), fut))
        await fut

    @property
    def next_wake(self) -> float | None:
        """The earliest time a sleeper waits for."""
        live = [s for s in self._sleepers if not s[2].done()]
        return min(s[0] for s in live) if live else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        await self.advance_to(self._now + seconds)

    async def advance_to(self, t: float) -> None:
        """Move time to ``t`` one wake-up at a time."""
        await _settle()
        while self._sleepers and self._sleepers[0][0] <= t:
            when, _, fut = heapq.heappop(self._sleepers)
            if fut.done():
                continue
            self._now = max(self._now, when)
            fut.set_result(None)
            await _settle()
        self._now = max(self._now, t)
        await _settle()


async def _settle(rounds: int = 20) -> None:
    # Let woken tasks run until they block again (on the clock or on real I/O).
    for _ in range(rounds):
        await asyncio.sleep(0)
