"""Fetching a URL somebody else gave: no internal addresses, every redirect hop checked, a size cap.

An image or file input given as an http(s) URL is fetched by nbflow itself, on the machine that runs
the flow: a server, a batch worker, an MCP server. Left alone, a caller could make that machine read
its own loopback services, the private network or a cloud metadata endpoint and hand the bytes back.
:func:`fetch_url` therefore:

- resolves the host name and refuses the request unless *every* address it resolves to is public
  (not loopback, private, link-local, shared, reserved, multicast or a metadata address);
- connects to the address it checked (the URL is rewritten to that IP, with the original ``Host``
  header and TLS server name), so a second DNS answer cannot swap in an internal address;
- follows redirects itself, checking each hop the same way;
- stops reading at the size cap;
- answers every refusal and every failure (refused address, DNS error, closed port, timeout, HTTP
  error status) with one and the same error text, so error messages cannot be used to scan ports.

Internal hosts that a deployment needs are allowed by name, ``name:port`` or network
(``localhost``, ``files.internal:8080``, ``10.0.0.0/8``, or ``*`` for everything) from the
``NBFLOW_ALLOW_HOSTS`` environment variable (comma-separated), the ``--allow-host`` option of
``nbflow run``/``batch``/``serve``/``mcp serve``, ``allow_hosts`` in a server configuration, or
:func:`allowing` in Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

from nbflow.exceptions import ConfigError, MediaError, NbflowError
from nbflow.providers.redirects import send_following

__all__ = ["ALLOW_ENV", "AllowList", "Fetched", "allow_list", "allowing", "fetch_url", "is_public_address",
           "post_json_guarded"]

#: The environment variable listing hosts and networks that may be fetched although internal.
ALLOW_ENV = "NBFLOW_ALLOW_HOSTS"

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Global by the registries but internal in practice: cloud metadata and the like.
_ALWAYS_INTERNAL = tuple(ipaddress.ip_network(n) for n in (
    "168.63.129.16/32",   # Azure wire server
    "100.100.100.200/32",  # Alibaba metadata
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "64:ff9b::/96",       # NAT64: may reach any IPv4 address, internal ones included
    "2002::/16",          # 6to4: embeds an IPv4 address
))


def is_public_address(ip: IP) -> bool:
    """Whether ``ip`` is a public unicast address (not loopback, private, link-local, metadata...)."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return is_public_address(mapped)
    if not ip.is_global or ip.is_multicast or ip.is_unspecified:
        return False
    return not any(ip in net for net in _ALWAYS_INTERNAL if net.version == ip.version)


@dataclass(frozen=True, slots=True)
class AllowList:
    """Internal hosts that may be fetched all the same.

    Attributes:
        hosts: host names or IP literals (lower-case), with an optional port (None: any port).
        networks: address ranges whose addresses may be fetched.
        everything: ``*``: no address is refused.
    """

    hosts: frozenset[tuple[str, int | None]] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    everything: bool = False

    @classmethod
    def parse(cls, entries: Iterable[str], *, where: str = ALLOW_ENV) -> AllowList:
        """Read entries such as ``localhost``, ``files.internal:8080``, ``[::1]:9000``, ``10.0.0.0/8``, ``*``."""
        hosts: set[tuple[str, int | None]] = set()
        nets = []
        everything = False
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                everything = True
            elif "/" in entry:
                try:
                    nets.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ConfigError(f"{where}: {raw.strip()!r} is not a network (e.g. 10.0.0.0/8)") from None
            else:
                hosts.add(_host_port(entry, raw.strip(), where))
        return cls(frozenset(hosts), tuple(nets), everything)

    def __bool__(self) -> bool:
        return bool(self.hosts or self.networks or self.everything)

    def __or__(self, other: AllowList) -> AllowList:
        return AllowList(self.hosts | other.hosts, self.networks + other.networks,
                         self.everything or other.everything)

    def allows_host(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]")
        return self.everything or (host, None) in self.hosts or (host, port) in self.hosts

    def allows_ip(self, ip: IP) -> bool:
        return self.everything or any(ip in net for net in self.networks if net.version == ip.version)


def _host_port(entry: str, raw: str, where: str) -> tuple[str, int | None]:
    host, port = entry, None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, port_text = entry.split(":")
    else:
        port_text = ""  # a bare IPv6 address
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"{where}: {raw!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    if not host:
        raise ConfigError(f"{where}: {raw!r} names no host")
    return host, port


_OVERRIDE: ContextVar[AllowList | None] = ContextVar("nbflow_allow_hosts", default=None)


def allow_list() -> AllowList:
    """The allow-list in force: ``NBFLOW_ALLOW_HOSTS`` plus whatever :func:`allowing` added here."""
    env = AllowList.parse(os.environ.get(ALLOW_ENV, "").split(","))
    extra = _OVERRIDE.get()
    return env | extra if extra is not None else env


@contextmanager
def allowing(entries: Iterable[str] | AllowList) -> Iterator[AllowList]:
    """Allow more internal hosts inside this block (and in tasks started from it)."""
    extra = entries if isinstance(entries, AllowList) else AllowList.parse(entries, where="allow_hosts")
    current = _OVERRIDE.get()
    token = _OVERRIDE.set(extra if current is None else current | extra)
    try:
        yield extra
    finally:
        _OVERRIDE.reset(token)


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Fetched:
    """What :func:`fetch_url` read: the bytes, the content type the server named, and a file name."""

    data: bytes
    content_type: str | None
    name: str | None


class _Refused(Exception):
    """Any reason a hop may not be fetched; reported with the one refusal text."""


async def _pin(request: httpx.Request, allow: AllowList, resolve: Resolver | None) -> httpx.Request:
    """A copy of ``request`` aimed at a checked address of its host; _Refused when none may be used.

    ``resolve`` None: the transport is not the network (a mock, a replayed recording), so a host name is
    neither resolved nor pinned; an address written in the URL is still checked.
    """
    url = request.url
    if url.scheme not in ("http", "https") or not url.host:
        raise _Refused
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(url.host)]
    except ValueError:
        if resolve is None:
            return request
        try:
            found = await asyncio.wait_for(resolve(url.host, port), 10.0)
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
        except (OSError, ValueError, asyncio.TimeoutError):
            raise _Refused from None
    if not addresses:
        raise _Refused
    if not allow.allows_host(url.host, port) and \
            not all(is_public_address(ip) or allow.allows_ip(ip) for ip in addresses):
        raise _Refused
    ip = addresses[0]
    extensions: dict[str, Any] = {k: v for k, v in request.extensions.items() if k != "sni_hostname"}
    if url.scheme == "https":
        extensions["sni_hostname"] = url.host
    headers = httpx.Headers(request.headers)
    headers["host"] = url.netloc.decode("ascii")
    return httpx.Request(request.method, url.copy_with(host=str(ip)), headers=headers, extensions=extensions)


def _refusal(url: str) -> MediaError:
    return MediaError(f"cannot fetch {url}: the address is not allowed, could not be reached, or did not "
                      f"answer with the content (internal hosts must be allowed with --allow-host or {ALLOW_ENV})")


async def fetch_url(url: str, *, max_bytes: int, timeout: float = 30.0, allow: AllowList | None = None,
                    client: httpx.AsyncClient | None = None, transport: httpx.AsyncBaseTransport | None = None,
                    resolve: Resolver | None = None, offline: bool = False) -> Fetched:
    """GET ``url`` the guarded way (see the module docstring).

    Args:
        max_bytes: the size cap; a larger body is a MediaError saying so.
        allow: internal hosts allowed (default: :func:`allow_list`).
        client: the client to send with (a run's pooled client, over its injected transport); default: a
            fresh one over ``transport``. The address checks apply whatever the transport.
        transport: an httpx transport for the fresh client (tests).
        resolve: ``(host, port) -> [address, ...]`` (default: the system resolver).
        offline: the client's transport is not the network (``HttpClients.offline``: a mock, or
            a replaying cassette): host names are not resolved, addresses written in URLs are still checked.

    Raises:
        MediaError: the one refusal text for every failure to fetch, or the size cap.
    """
    allow = allow_list() if allow is None else allow
    resolver = None if offline else resolve or _resolve

    name = url.rsplit("/", 1)[-1].split("?")[0] or None
    try:
        async with contextlib.AsyncExitStack() as stack:
            if client is None:
                client = await stack.enter_async_context(
                    httpx.AsyncClient(timeout=timeout, transport=transport, trust_env=False))
            sender = client

            async def check(hop: httpx.URL) -> httpx.Request:
                return await _pin(sender.build_request("GET", hop, timeout=timeout), allow, resolver)

            first = sender.build_request("GET", url, timeout=timeout)
            resp = await send_following(sender, first, stream=True, check=check, max_redirects=5)
            try:
                if resp.status_code >= 300:
                    raise _Refused
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaError(f"{url} is over the {max_bytes:,}-byte limit")
                chunks, total = [], 0
                async for chunk in resp.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise MediaError(f"{url} is over the {max_bytes:,}-byte limit")
                    chunks.append(chunk)
            finally:
                await resp.aclose()
    except MediaError:
        raise
    except (_Refused, httpx.HTTPError, httpx.InvalidURL, NbflowError, OSError, asyncio.TimeoutError):
        raise _refusal(url) from None
    ctype = resp.headers.get("content-type", "").split(";")[0].strip() or None
    return Fetched(b"".join(chunks), ctype, name)


async def post_json_guarded(url: str, payload: Any, *, timeout: float = 10.0, allow: AllowList | None = None,
                            transport: httpx.AsyncBaseTransport | None = None, resolve: Resolver | None = None,
                            headers: dict[str, str] | None = None) -> int:
    """POST ``payload`` as JSON to ``url`` (a webhook somebody configured) under the address checks of
    :func:`fetch_url`; redirects are not followed (a 3xx is the answer). Returns the HTTP status.

    Raises:
        NbflowError: the address is refused or cannot be reached. The message never holds the URL
            (a chat webhook's URL is its credential).
    """
    allow = allow_list() if allow is None else allow
    try:
        # The transport is called directly, not through a client: a client logs each request's URL.
        async with contextlib.AsyncExitStack() as stack:
            sender: httpx.AsyncBaseTransport
            if transport is not None:
                sender = transport
            else:
                sender = await stack.enter_async_context(httpx.AsyncHTTPTransport(trust_env=False))
            request = httpx.Request("POST", url, json=payload, headers=headers,
                                    extensions={"timeout": httpx.Timeout(timeout).as_dict()})
            pinned = await _pin(request, allow, None if transport is not None else resolve or _resolve)
            # _pin rebuilds the request from method, URL and headers: the body goes along here.
            resp = await sender.handle_async_request(httpx.Request(
                "POST", pinned.url, headers=pinned.headers, content=request.content, extensions=pinned.extensions))
            await resp.aclose()
            return resp.status_code
    except (_Refused, httpx.HTTPError, httpx.InvalidURL, OSError, asyncio.TimeoutError) as exc:
        why = "is not allowed (internal hosts must be allowed with --allow-host or allow_hosts)" \
            if isinstance(exc, _Refused) else f"could not be reached ({type(exc).__name__})"
        raise NbflowError(f"the webhook address {why}") from None
