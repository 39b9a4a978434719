"""The cassette in use by the running context, so ``with nbflow.cassette(...)`` reaches every run inside.

A run that records or replays gets its HTTP clients from the session's wrapper of the real transport
(see :class:`nbflow.providers.clients.HttpClients`, ``wrap=``). A run told nothing reads the session of
the running context: :func:`intercepting` sets it around a block (the ``nbflow.cassette`` context
manager, the ``nbflow_cassette`` pytest fixture, a test suite), and runs and the tasks and worker
threads they start inherit it through ``contextvars``.

This module imports no HTTP library, so ``import nbflow`` stays free of httpx.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nbflow.providers.catalog import Providers

__all__ = ["Interceptor", "current_interceptor", "intercepting"]


class Interceptor(Protocol):
    """What a run needs from a cassette session: providers whose HTTP goes through it."""

    def providers(self, base: Providers) -> Providers:
        """A copy of ``base`` whose HTTP clients record or replay through this session."""
        ...

    def save(self) -> object:
        """Write what was recorded."""
        ...


_CURRENT: ContextVar[Interceptor | None] = ContextVar("nbflow_cassette", default=None)


def current_interceptor() -> Interceptor | None:
    """The cassette session of the running context, if any."""
    return _CURRENT.get()


@contextmanager
def intercepting(interceptor: Interceptor | None) -> Iterator[None]:
    """Make ``interceptor`` the session of this context (and of the runs started inside it)."""
    token = _CURRENT.set(interceptor)
    try:
        yield
    finally:
        _CURRENT.reset(token)
