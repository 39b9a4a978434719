"""Client-side rate limits per provider and key, shared by every run in the process.

A :class:`Limiter` enforces up to three limits at once and queues calls until they may go:

* ``rpm`` requests per minute, released evenly (one every ``60/rpm`` seconds after an initial
  ``burst``), because providers enforce their per-minute limits over shorter windows too;
* ``tpm`` tokens per minute, a token bucket holding one minute's worth; a call reserves its estimated
  tokens (prompt estimate + ``max_tokens``) and settles the difference when the real usage is known;
* ``concurrency``, the most calls in flight at once.

Limiters are keyed by (provider, base URL, a fingerprint of the key), so two flows using the same
key share one budget and two keys do not. State is guarded by a thread lock and waiters are woken
on their own event loop, so runs on different loops (successive ``asyncio.run`` calls, threads) share
a limiter safely. A 429 with ``Retry-After`` pauses the whole limiter (:meth:`Limiter.cooldown`).

Configure in code with :func:`set_rate_limit`, or per node with the ``rpm``, ``tpm`` and
``max_concurrency`` fields of its ``policy``. A limiter reads and sleeps on a clock
(:mod:`nbflow.clock`; monotonic by default), so tests move time instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from nbflow.clock import Clock, MonotonicClock

__all__ = ["Limiter", "Permit", "RateLimit", "key_fingerprint", "limiter_for", "reset_limiters",
           "set_rate_limit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Limits for one provider and key; None means unlimited.

    Attributes:
        rpm: requests per minute.
        tpm: tokens per minute (input + output).
        concurrency: most requests in flight at once.
        burst: requests that may start back to back before ``rpm`` spacing applies.
    """

    rpm: float | None = None
    tpm: float | None = None
    concurrency: int | None = None
    burst: int = 1

    def merged(self, other: RateLimit) -> RateLimit:
        """``self`` with every field ``other`` sets (not None) taken from ``other``."""
        return replace(self, **{k: getattr(other, k) for k in ("rpm", "tpm", "concurrency")
                                if getattr(other, k) is not None},
                       burst=other.burst if other.burst != 1 else self.burst)


def key_fingerprint(key: str | None) -> str:
    """A short, non-reversible tag for an API key, to key limiters without holding the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else ""


class Permit:
    """One admitted call. ``settle(actual_tokens)`` corrects the token reservation afterwards."""

    __slots__ = ("_limiter", "reserved")

    def __init__(self, limiter: Limiter, reserved: int) -> None:
        self._limiter = limiter
        self.reserved = reserved

    def settle(self, actual_tokens: int) -> None:
        """Replace the estimated tokens with what the call really used."""
        self._limiter._settle(self.reserved - actual_tokens)
        self.reserved = actual_tokens


class Limiter:
    """Admits calls under a :class:`RateLimit`; see the module docstring.

    Args:
        name: for messages and ``repr``.
        limit: the limits (None: unlimited until configured).
        clock: where time comes from (default: :class:`~nbflow.clock.MonotonicClock`).
    """

    def __init__(self, name: str, limit: RateLimit | None = None, *, clock: Clock | None = None) -> None:
        self.name = name
        self.limit = limit or RateLimit()
        self.clock: Clock = clock or MonotonicClock()
        self._lock = threading.Lock()
        self._tat = float("-inf")  # theoretical arrival time of the next reservation (GCRA)
        self._last_release = float("-inf")
        self._tokens: float | None = None
        self._tokens_at = 0.0
        self._blocked_until = 0.0
        self._active = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        #: how long calls have waited in total, seconds (for tests and the benchmark)
        self.waited = 0.0

    def __repr__(self) -> str:
        return f"<Limiter {self.name} {self.limit}>"

    def configure(self, limit: RateLimit) -> None:
        """Apply new limits (fields left None keep their current value)."""
        with self._lock:
            self.limit = self.limit.merged(limit)

    def cooldown(self, seconds: float) -> None:
        """Hold every call back for ``seconds`` (the provider said it is over its limit)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self.clock.now() + seconds)

    @asynccontextmanager
    async def slot(self, tokens: int = 0) -> AsyncIterator[Permit]:
        """Wait until a call with about ``tokens`` tokens may start; hold a concurrency slot meanwhile."""
        await self._enter()
        try:
            await self._wait_rate(tokens)
            yield Permit(self, tokens if self.limit.tpm else 0)
        finally:
            self._leave()

    # -- rate ------------------------------------------------------------------------------------

    def _reserve(self, tokens: int) -> float:
        """Reserve a start time for one call; returns seconds to wait. Caller holds the lock."""
        now = self.clock.now()
        lim = self.limit
        wait = max(0.0, self._blocked_until - now)
        if lim.rpm:
            interval = 60.0 / lim.rpm
            tat = max(self._tat, now)
            allowed = tat - (max(lim.burst, 1) - 1) * interval
            wait = max(wait, allowed - now)
            self._tat = tat + interval
        if lim.tpm and tokens:
            cap, rate = float(lim.tpm), lim.tpm / 60.0
            level = cap if self._tokens is None else min(cap, self._tokens + (now - self._tokens_at) * rate)
            wait = max(wait, (min(tokens, cap) - level) / rate)
            self._tokens, self._tokens_at = level - tokens, now
        return wait

    async def _wait_rate(self, tokens: int) -> None:
        if not (self.limit.rpm or self.limit.tpm or self._blocked_until):
            return
        clock = self.clock
        t0 = clock.now()
        with self._lock:
            wait = self._reserve(tokens)
        if wait > 0:
            await clock.sleep_until(t0 + wait)
        # Reserved start times are absolute, so a late wake-up does not slow every later call. But when
        # a busy event loop wakes several callers late at once, they would go back to back: keep at
        # least half an interval between actual releases while they catch up.
        while self.limit.rpm and self.limit.burst <= 1:
            with self._lock:
                now = clock.now()
                due = self._last_release + 30.0 / self.limit.rpm
                if now >= due:
                    self._last_release = now
                    break
            await clock.sleep_until(due)
        self.waited += clock.now() - t0

    def _settle(self, refund: int) -> None:
        if not self.limit.tpm or self._tokens is None:
            return
        with self._lock:
            self._tokens = min(float(self.limit.tpm), self._tokens + refund)

    # -- concurrency -----------------------------------------------------------------------------

    async def _enter(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            cap = self.limit.concurrency
            if cap is None or self._active < cap:
                self._active += 1
                return
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._leave()  # the slot was handed to us just as we were cancelled: pass it on
            raise

    def _leave(self) -> None:
        with self._lock:
            while self._waiters:
                loop, fut = self._waiters.popleft()
                if fut.done() or loop.is_closed():
                    continue
                # Hand our slot straight to the next waiter, on its own loop (it may be another thread's).
                loop.call_soon_threadsafe(self._grant, fut)
                return
            self._active -= 1

    def _grant(self, fut: asyncio.Future[None]) -> None:
        if fut.done():  # cancelled after we picked it: the slot goes to the next one
            self._leave()
        else:
            fut.set_result(None)


_LIMITERS: dict[tuple[str, str, str], Limiter] = {}
_DEFAULTS: dict[str, RateLimit] = {}
_REGISTRY_LOCK = threading.Lock()


def set_rate_limit(provider: str, *, rpm: float | None = None, tpm: float | None = None,
                   concurrency: int | None = None, burst: int = 1) -> None:
    """Set process-wide default limits for every key of ``provider`` (node params override them)."""
    limit = RateLimit(rpm=rpm, tpm=tpm, concurrency=concurrency, burst=burst)
    with _REGISTRY_LOCK:
        _DEFAULTS[provider] = limit
        for (name, _, _), lim in _LIMITERS.items():
            if name == provider:
                lim.configure(limit)


def limiter_for(provider: str, base_url: str, fingerprint: str, limit: RateLimit | None = None) -> Limiter:
    """The process-wide limiter of (provider, base URL, key fingerprint), updated with ``limit``."""
    key = (provider, base_url.rstrip("/"), fingerprint)
    with _REGISTRY_LOCK:
        lim = _LIMITERS.get(key)
        if lim is None:
            name = f"{provider}@{key[1]}" + (f"#{fingerprint}" if fingerprint else "")
            lim = _LIMITERS[key] = Limiter(name, _DEFAULTS.get(provider))
    if limit is not None and limit != RateLimit():
        lim.configure(limit)
    return lim


def reset_limiters() -> None:
    """Forget every limiter and default (tests)."""
    with _REGISTRY_LOCK:
        _LIMITERS.clear()
        _DEFAULTS.clear()
