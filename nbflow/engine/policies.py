"""Frozen policy objects: timeout, retry, cache, fallback. Graph defaults, node overrides.

``resolve_policy(defaults, node)`` merges the flow's ``defaults`` with a node's ``policy`` field by
field, so a node states only what differs.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

from nbflow.exceptions import NodeError, ProviderError
from nbflow.model.spec import DefaultsSpec, PolicySpec, RetrySpec

__all__ = ["Policy", "Retry", "is_retryable", "resolve_policy"]

#: Never wait longer than this for one retry, whatever a server's Retry-After says.
MAX_RETRY_AFTER = 600.0


@dataclass(frozen=True, slots=True)
class Retry:
    """Exponential backoff with full jitter for retryable errors.

    Attributes:
        attempts: total attempts, the first included (1 = no retry).
        backoff: the first wait's upper bound, in seconds.
        multiplier: how the bound grows per attempt.
        max_backoff: cap on one wait.
        jitter: wait a uniformly random time in [0, bound] ("full jitter") rather than the bound.
    """

    attempts: int = 3
    backoff: float = 1.0
    multiplier: float = 2.0
    max_backoff: float = 60.0
    jitter: bool = True

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A server's ``retry_after`` is honoured: the wait is never shorter than it asks.
        """
        bound = min(self.max_backoff, self.backoff * self.multiplier ** (attempt - 1))
        wait = (rng or random).uniform(0, bound) if self.jitter else bound
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
        return wait

    @classmethod
    def from_spec(cls, spec: RetrySpec) -> Retry:
        return cls(attempts=spec.attempts, backoff=spec.backoff, multiplier=spec.multiplier,
                   max_backoff=spec.max_backoff, jitter=spec.jitter)


@dataclass(frozen=True, slots=True)
class Policy:
    """The resolved policy of one node."""

    timeout: float | None = None
    retry: Retry = Retry()
    cache: bool = True
    fallback: tuple[str, ...] = ()


def resolve_policy(defaults: DefaultsSpec, node: PolicySpec | None) -> Policy:
    """Merge graph defaults with a node's overrides, field by field."""
    def pick(name: str) -> Any:
        v = getattr(node, name, None) if node is not None else None
        return v if v is not None else getattr(defaults, name)

    retry_spec = pick("retry")
    return Policy(
        timeout=pick("timeout"),
        retry=Retry.from_spec(retry_spec) if retry_spec is not None else Retry(),
        cache=pick("cache") if pick("cache") is not None else True,
        fallback=tuple(pick("fallback") or ()),
    )


def is_retryable(exc: BaseException) -> bool:
    """Whether an error is worth another attempt: marked retryable, a timeout or a connection error."""
    if isinstance(exc, NodeError):
        return exc.retryable
    return isinstance(exc, (asyncio.TimeoutError, TimeoutError, ConnectionError))


def retry_after_of(exc: BaseException) -> float | None:
    """The wait a provider asked for, if any."""
    return exc.retry_after if isinstance(exc, ProviderError) else None
