"""Frozen policy objects: deadline, timeouts, retry, rate limit, cache, fallback. Graph defaults, node
overrides. Everything about how a node runs lives here; params say only what it computes.

``resolve_policy(defaults, node)`` merges the flow's ``defaults`` with a node's ``policy`` field by
field, so a node states only what differs.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbflow.exceptions import NodeError, ProviderError

if TYPE_CHECKING:
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
    """The resolved policy of one node.

    Attributes:
        deadline: seconds for the whole node, attempts and retry waits included (None: no bound).
        timeout: seconds per attempt.
        request_timeout: seconds for one HTTP response (None: the node type's default).
        retry: how retryable errors are retried.
        rpm, tpm, max_concurrency: the rate limit of the node's provider and key (or host).
        cache: whether identical params and inputs may reuse an earlier result.
        fallback: node ids tried in order when this node fails.
    """

    deadline: float | None = None
    timeout: float | None = None
    request_timeout: float | None = None
    retry: Retry = Retry()
    rpm: float | None = None
    tpm: float | None = None
    max_concurrency: int | None = None
    cache: bool = True
    fallback: tuple[str, ...] = ()
    join: bool = False
    """Run even when some inputs come from a skipped, rejected or failed branch (per node only)."""

    def client_config(self) -> dict[str, Any]:
        """What a provider client takes from the policy: request timeout and rate limit, where set."""
        out: dict[str, Any] = {}
        if self.request_timeout is not None:
            out["timeout"] = self.request_timeout
        for name in ("rpm", "tpm", "max_concurrency"):
            v = getattr(self, name)
            if v is not None:
                out[name] = v
        return out


def resolve_policy(defaults: DefaultsSpec, node: PolicySpec | None) -> Policy:
    """Merge graph defaults with a node's overrides, field by field."""
    def pick(name: str) -> Any:
        v = getattr(node, name, None) if node is not None else None
        return v if v is not None else getattr(defaults, name)

    retry_spec = pick("retry")
    return Policy(
        deadline=pick("deadline"),
        timeout=pick("timeout"),
        request_timeout=pick("request_timeout"),
        retry=Retry.from_spec(retry_spec) if retry_spec is not None else Retry(),
        rpm=pick("rpm"),
        tpm=pick("tpm"),
        max_concurrency=pick("max_concurrency"),
        cache=pick("cache") if pick("cache") is not None else True,
        fallback=tuple(pick("fallback") or ()),
        join=bool(node is not None and node.join),
    )


def is_retryable(exc: BaseException) -> bool:
    """Whether an error is worth another attempt: marked retryable, a timeout or a connection error."""
    if isinstance(exc, NodeError):
        return exc.retryable
    return isinstance(exc, (asyncio.TimeoutError, TimeoutError, ConnectionError))


def retry_after_of(exc: BaseException) -> float | None:
    """The wait a provider asked for, if any."""
    return exc.retry_after if isinstance(exc, ProviderError) else None
