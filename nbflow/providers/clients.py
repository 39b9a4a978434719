"""The one place outbound HTTP clients are made: every provider call, http node and media download.

One ``httpx.AsyncClient`` per (provider, base URL) per event loop, kept for the life of that loop:
connections are reused across nodes and runs, and a client is never used on a loop other than the one
it was made on (an ``AsyncClient`` breaks when its loop closes, which happens between successive
``asyncio.run`` calls from the CLI, scripts and tests).

The seam: an :class:`HttpClients` takes an ``httpx`` transport, or a function that wraps the real one
(to record or replay traffic), and a run uses it through its providers::

    flow.run(providers=Providers(transport=httpx.MockTransport(handler)))        # a function as the server
    flow.run(providers=Providers(clients=HttpClients(wrap=my_recorder)))          # real traffic, observed

Clients of different :class:`HttpClients` never share a pool, so an injected transport stays with its run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx loads on the first call, so `import nbflow` stays quick
    import httpx

__all__ = ["DEFAULT_CLIENTS", "DEFAULT_TIMEOUT", "HttpClients", "TransportWrapper", "aclose_clients",
           "pooled_client"]

#: Seconds to wait for a response (an LLM may think for minutes); connecting gets 10 s.
DEFAULT_TIMEOUT = 600.0
_USER_AGENT = "nbflow/0.1 (+httpx)"

#: Takes the real transport, returns the one clients use (a recorder, a replayer, a fault injector).
TransportWrapper = Callable[["httpx.AsyncBaseTransport"], "httpx.AsyncBaseTransport"]

_Key = tuple[int, str, str]
_Clients = dict[_Key, "httpx.AsyncClient"]
_POOL: dict[asyncio.AbstractEventLoop, tuple[_Clients, Any]] = {}
_POOL_LOCK = threading.Lock()
_MAX_CONNECTIONS, _MAX_KEEPALIVE = 100, 20


class HttpClients:
    """Makes (and pools) the HTTP clients of the runs that use it.

    Args:
        transport: the transport every client sends through (e.g. ``httpx.MockTransport``); default:
            the real network.
        wrap: applied to the transport (the real one when ``transport`` is None), e.g. a cassette.
        offline: ``wrap`` answers every request itself (a replaying cassette): nothing reaches the network.

    Attributes:
        offline: no request of these clients reaches the network (an injected ``transport``, or
            ``offline=True``): the URL guard of media inputs then resolves no host names.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, *,
                 wrap: TransportWrapper | None = None, offline: bool = False) -> None:
        self.transport = transport
        self.wrap = wrap
        self.offline = offline or transport is not None

    def __repr__(self) -> str:
        what = type(self.transport).__name__ if self.transport is not None else "network"
        return f"<HttpClients {what}{' wrapped' if self.wrap else ''}>"

    def _transport(self, limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
        import httpx

        if self.transport is None and self.wrap is None:
            return None  # httpx's own, with the pool limits
        base = self.transport if self.transport is not None else httpx.AsyncHTTPTransport(limits=limits)
        return self.wrap(base) if self.wrap is not None else base

    def client(self, provider: str, base_url: str) -> httpx.AsyncClient:
        """The shared client for ``provider`` at ``base_url`` on the running event loop."""
        loop = asyncio.get_running_loop()
        key = (id(self), provider, base_url.rstrip("/"))
        with _POOL_LOCK:
            clients = _loop_clients(loop)
            client = clients.get(key)
            if client is None or client.is_closed:
                import httpx

                limits = httpx.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_KEEPALIVE)
                client = clients[key] = httpx.AsyncClient(
                    transport=self._transport(limits), timeout=httpx.Timeout(DEFAULT_TIMEOUT, connect=10.0),
                    limits=limits, headers={"user-agent": _USER_AGENT}, follow_redirects=True)
            return client


#: The clients of runs given no other: the real network.
DEFAULT_CLIENTS = HttpClients()


def _loop_clients(loop: asyncio.AbstractEventLoop) -> _Clients:
    for old in [lp for lp in _POOL if lp.is_closed()]:
        del _POOL[old]  # a loop closed without shutting down its async generators
    entry = _POOL.get(loop)
    if entry is None:
        clients: _Clients = {}
        closer = _close_when_loop_ends(clients)
        started = asyncio.ensure_future(closer.__anext__())  # registers it with the loop's shutdown
        entry = _POOL[loop] = (clients, (closer, started))
    return entry[0]


async def _close_when_loop_ends(clients: _Clients) -> AsyncIterator[None]:
    """An async generator parked on the loop: ``asyncio.run`` closes it at shutdown, closing the clients."""
    try:
        yield
    finally:
        with _POOL_LOCK:
            items = list(clients.values())
            clients.clear()
        for c in items:
            await c.aclose()


def pooled_client(provider: str, base_url: str) -> httpx.AsyncClient:
    """The default (real network) client for ``provider`` at ``base_url`` on the running loop."""
    return DEFAULT_CLIENTS.client(provider, base_url)


async def aclose_clients() -> None:
    """Close the pooled clients of the running loop (they are recreated on next use)."""
    loop = asyncio.get_running_loop()
    with _POOL_LOCK:
        entry = _POOL.get(loop)
        items = list(entry[0].values()) if entry else []
        if entry:
            entry[0].clear()
    for c in items:
        await c.aclose()
