"""Submit a long job, then poll it until it finishes: the pattern of video (and other slow) APIs.

:func:`submit_and_poll` owns the waiting: a poll interval that grows gently, progress callbacks and
one overall timeout covering submit, polling and the caller's download. Provider modules supply
only the two calls that speak their wire format.

A poll that fails with a retryable error (429 with ``Retry-After``, a 5xx, a dropped connection) is
waited out and repeated inside the loop rather than raised: raising would make the engine retry the
node, which submits (and pays for) the job again. Only :data:`MAX_POLL_FAILURES` failures in a row
give up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nbflow.clock import Clock, MonotonicClock
from nbflow.exceptions import ProviderError
from nbflow.providers.provider import OnProgress

__all__ = ["MAX_POLL_FAILURES", "JobState", "submit_and_poll"]

#: Retryable poll failures in a row after which the job is given up.
MAX_POLL_FAILURES = 5


@dataclass(frozen=True, slots=True)
class JobState:
    """What one poll learned.

    Attributes:
        done: the job finished (successfully when ``error`` is None).
        result: the provider's result (e.g. output URLs) when done.
        error: why the job failed.
        retryable: whether submitting the job again may succeed.
        progress: fraction done, when the provider says.
        status: the provider's status word, for progress messages.
    """

    done: bool
    result: Any = None
    error: str | None = None
    retryable: bool = False
    progress: float | None = None
    status: str = ""


async def submit_and_poll(provider: str, submit: Callable[[], Awaitable[str]],
                          poll: Callable[[str], Awaitable[JobState]], *, interval: float = 5.0,
                          max_interval: float = 30.0, timeout: float = 900.0,
                          on_progress: OnProgress | None = None, clock: Clock | None = None) -> Any:
    """Submit a job and poll it until done; returns ``JobState.result``.

    Args:
        provider: provider name, for errors.
        submit: starts the job, returns its id.
        poll: reads the job's state by id.
        interval: first wait between polls; it grows by half each time up to ``max_interval``.
        timeout: seconds for the whole job.
        clock: where time comes from (default: :class:`~nbflow.clock.MonotonicClock`; tests pass a fake).

    Raises:
        ProviderError: the job failed (retryable as the provider's state says), a poll failed for
            good (not retryable, or :data:`MAX_POLL_FAILURES` times in a row), or the job did not
            finish in ``timeout`` seconds (not retryable: submitting again would pay again).
    """
    clock = clock or MonotonicClock()
    deadline = clock.now() + timeout
    job_id = await asyncio.wait_for(submit(), timeout)
    if on_progress is not None:
        on_progress(0.0, f"submitted job {job_id}")
    wait, failures = interval, 0
    while True:
        left = deadline - clock.now()
        if left <= 0:
            raise ProviderError(f"job {job_id} did not finish within {timeout:g}s", provider=provider)
        try:
            state = await asyncio.wait_for(poll(job_id), left)
        except ProviderError as exc:
            failures += 1
            if not exc.retryable or failures >= MAX_POLL_FAILURES:
                raise
            pause = max(wait, exc.retry_after or 0.0)
            if on_progress is not None:
                on_progress(None, f"job {job_id}: polling again in {pause:g}s ({exc.message})")
            now = clock.now()
            await clock.sleep_until(now + max(0.0, min(pause, deadline - now)))
            continue
        failures = 0
        if state.done:
            if state.error is not None:
                raise ProviderError(f"job {job_id} failed: {state.error}", provider=provider,
                                    retryable=state.retryable)
            return state.result
        if on_progress is not None:
            on_progress(state.progress, f"job {job_id} {state.status.lower() or 'running'}")
        now = clock.now()
        await clock.sleep_until(now + max(0.0, min(wait, deadline - now)))
        wait = min(max_interval, wait * 1.5)
