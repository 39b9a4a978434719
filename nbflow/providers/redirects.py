"""Following redirects by hand, so no credential ever reaches another origin.

httpx, when it follows a redirect to another origin, drops only ``Authorization``; a provider's
``x-api-key`` or ``x-goog-api-key``, or an http node's secret header, would be sent to whatever host
the ``Location`` names. Every nbflow client therefore sends with redirects off and follows them here:
each hop is the request httpx itself would make next (method and body rules of 301/302/303/307/308),
and once the chain leaves the first origin every header that may carry a credential is removed:
the auth header names of every built-in provider, the names the caller lists, and any header whose
value holds a resolved secret. Only an upgrade of the same host from ``http`` to ``https`` keeps them.

This works over any transport the client was given (a real pool, ``MockTransport``, a recorder).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import httpx

from nbflow.exceptions import ProviderError
from nbflow.redaction import contains_secret

__all__ = ["CREDENTIAL_HEADERS", "MAX_REDIRECTS", "Origin", "origin", "send_following", "strip_credentials"]

#: Redirects followed before giving up.
MAX_REDIRECTS = 10

#: Header names that carry credentials for the APIs nbflow speaks (compared lower-case).
CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "x-api-key", "x-goog-api-key", "xi-api-key",
    "api-key", "x-auth-token",
})

Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: httpx.URL) -> Origin:
    """``(scheme, host, port)`` with the scheme's default port filled in."""
    return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme, 0)


def _same_site_upgrade(first: Origin, nxt: Origin) -> bool:
    return first[0] == "http" and nxt[0] == "https" and first[1] == nxt[1] and \
        first[2] == 80 and nxt[2] == 443


def strip_credentials(headers: httpx.Headers, names: Iterable[str] = ()) -> list[str]:
    """Remove every credential-bearing header from ``headers``; returns the names removed."""
    drop = CREDENTIAL_HEADERS | {n.lower() for n in names}
    gone = [k for k, v in headers.items() if k.lower() in drop or contains_secret(v)]
    for k in gone:
        del headers[k]
    return gone


async def send_following(client: httpx.AsyncClient, request: httpx.Request, *, stream: bool = False,
                         secret_headers: Iterable[str] = (), provider: str = "http",
                         check: Callable[[httpx.URL], Awaitable[httpx.Request | None]] | None = None,
                         max_redirects: int = MAX_REDIRECTS) -> httpx.Response:
    """Send ``request`` and follow redirects, dropping credentials once the chain leaves its origin.

    Args:
        client: any client; its own ``follow_redirects`` is ignored (each send turns it off).
        stream: leave the final response's body unread (the caller reads and closes it).
        secret_headers: more header names to drop on leaving the origin.
        provider: named in the error for too many redirects.
        check: awaited with each hop's URL before it is sent (the first one included); it raises to
            refuse the hop, or returns a replacement request (e.g. pinned to a checked address).

    Raises:
        ProviderError: more than ``max_redirects`` redirects.
    """
    first = origin(request.url)
    names = list(secret_headers)
    left_origin = False
    for _ in range(max_redirects + 1):
        wire = request
        if check is not None:
            wire = await check(request.url) or request
        response = await client.send(wire, stream=stream, follow_redirects=False)
        nxt = response.next_request
        if nxt is None:
            return response
        await response.aclose()
        if wire is not request:  # the hop was rewritten (pinned): redirect from the logical URL
            nxt.url = request.url.join(response.headers["location"])
            nxt.headers["host"] = nxt.url.netloc.decode("ascii")
        here = origin(nxt.url)
        if left_origin or (here != first and not _same_site_upgrade(first, here)):
            left_origin = True
            strip_credentials(nxt.headers, names)
        request = nxt
    raise ProviderError(f"more than {max_redirects} redirects", provider=provider)
