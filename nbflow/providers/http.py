"""The HTTP layer every real provider shares: rate limits, errors, JSON, SSE, downloads.

Clients come from the run's :class:`~nbflow.providers.clients.HttpClients` (pooled per event loop;
the seam where a test or a cassette puts its own transport).

Each call makes exactly one attempt. Retries, backoff and fallbacks belong to the engine, which
records every attempt; this layer's job is to raise a :class:`~nbflow.exceptions.ProviderError` that
says whether a retry may help and how long the server asked us to wait.
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from nbflow.exceptions import ProviderError
from nbflow.providers.clients import DEFAULT_CLIENTS, DEFAULT_TIMEOUT, HttpClients, aclose_clients, pooled_client
from nbflow.providers.errors import error_from_response, error_from_transport
from nbflow.providers.provider import Provider
from nbflow.providers.ratelimit import Limiter, Permit, RateLimit, key_fingerprint, limiter_for
from nbflow.providers.redirects import send_following
from nbflow.providers.secrets import Secret, redact
from nbflow.providers.sse import SSEEvent, iter_sse

__all__ = ["DEFAULT_TIMEOUT", "HttpProvider", "aclose_clients", "pooled_client"]

log = logging.getLogger("nbflow.providers")


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HttpProvider(Provider):
    """Base of the HTTP providers: subclasses set ``name``, ``default_base_url`` and ``auth_headers``.

    Args:
        base_url: API root (``https://api.openai.com/v1``...).
        api_key: the resolved key, or None for servers that need none.
        limit: rate limits to apply to this provider and key (shared process-wide).
        timeout: seconds to wait for a response.
        clients: where its HTTP clients come from (default: the real network).
    """

    name = "http"
    default_base_url = ""

    def __init__(self, *, base_url: str | None = None, api_key: Secret | None = None,
                 limit: RateLimit | None = None, timeout: float | None = None,
                 clients: HttpClients | None = None) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.clients = clients or DEFAULT_CLIENTS
        self._key = api_key
        self.timeout = timeout or DEFAULT_TIMEOUT
        fp = key_fingerprint(api_key.reveal() if api_key else None)
        self.limiter: Limiter = limiter_for(self.name, self.base_url, fp, limit)

    def __repr__(self) -> str:
        key = f" key={self._key.name}" if self._key else ""
        return f"<{type(self).__name__} {self.name} {self.base_url}{key}>"

    @property
    def key_name(self) -> str | None:
        """The name of the secret the key came from (never its value)."""
        return self._key.name if self._key else None

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request (built per request, never stored on a client)."""
        return {}

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def _client(self, url: str | None = None) -> httpx.AsyncClient:
        return self.clients.client(self.name, self.base_url or _origin(url or ""))

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=min(10.0, self.timeout))

    def _fail(self, response: httpx.Response, text: str | None = None) -> ProviderError:
        err = error_from_response(self.name, response, body_text=text)
        if err.status == 429 and err.retry_after:
            self.limiter.cooldown(err.retry_after)
        return err

    async def send(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None, tokens: int = 0, auth: bool = True,
                   usage: Callable[[httpx.Response], int] | None = None) -> httpx.Response:
        """One request under the rate limiter; raises ProviderError for errors and failed connections."""
        url = self.url(path)
        creds = self.auth_headers() if auth else {}
        hdrs = {**creds, **(headers or {})}
        client = self._client(url)  # made before the slot: making one costs time (SSL context)
        t0 = time.monotonic()
        async with self.limiter.slot(tokens) as permit:
            try:
                req = client.build_request(method, url, json=json, params=params, headers=hdrs,
                                           timeout=self._timeout())
                resp = await send_following(client, req, secret_headers=creds, provider=self.name)
                await resp.aread()
            except httpx.TransportError as exc:
                log.debug("%s %s failed: %s", method, redact(url), type(exc).__name__)
                raise error_from_transport(self.name, exc) from None
            log.debug("%s %s -> %s in %.3fs", method, redact(url), resp.status_code, time.monotonic() - t0)
            if resp.status_code >= 400:
                raise self._fail(resp)
            if usage is not None:
                self._settle(permit, usage, resp)
        return resp

    @staticmethod
    def _settle(permit: Permit, usage: Callable[[httpx.Response], int], resp: httpx.Response) -> None:
        try:
            permit.settle(usage(resp))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return  # usage could not be read; the estimate stands

    async def send_json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        """``send`` and parse a JSON object; an empty, malformed or non-object body is a retryable ProviderError."""
        resp = await self.send(method, path, **kw)
        return self.parse_json(resp.text, resp.status_code)

    def parse_json(self, text: str, status: int | None = None) -> dict[str, Any]:
        """A JSON object from a response body or a stream event; anything else is a retryable ProviderError."""
        if not text.strip():
            raise ProviderError("returned an empty response body", provider=self.name, status=status,
                                retryable=True)
        try:
            data = jsonlib.loads(text)
        except (ValueError, RecursionError):
            snippet = "an HTML page" if text.lstrip().startswith("<") else "malformed JSON"
            raise ProviderError(f"returned {snippet} instead of a JSON response", provider=self.name,
                                status=status, retryable=True) from None
        if not isinstance(data, dict):
            raise ProviderError(f"returned JSON {_kind(data)} where an object was expected", provider=self.name,
                                status=status, retryable=True)
        return data

    @contextmanager
    def reading(self, what: str = "response") -> Iterator[None]:
        """Read a provider's answer inside this block: a field of the wrong type or shape (a list where an
        object belongs, text where a number belongs) becomes one retryable ProviderError line, not a
        Python exception from deep inside the parser."""
        try:
            yield
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            if isinstance(exc, ProviderError):
                raise
            raise ProviderError(f"returned a malformed {what} (a field has an unexpected type or shape)",
                                provider=self.name, status=200, retryable=True) from None

    def expect_media(self, content: bytes, content_type: str, what: str) -> None:
        """Refuse a body that is a page or a JSON document where ``what`` (audio, a video...) was expected."""
        ctype = content_type.split(";")[0].strip().lower()
        head = content.lstrip()[:1]
        if ctype.startswith("text/") or ctype.endswith("json") or (not ctype and head in (b"<", b"{", b"[")):
            found = "an HTML page" if head == b"<" else "JSON" if head in (b"{", b"[") else ctype or "text"
            raise ProviderError(f"returned {found} instead of {what}", provider=self.name, status=200,
                                retryable=True)

    @asynccontextmanager
    async def sse(self, path: str, *, json: Any, params: dict[str, Any] | None = None,
                  tokens: int = 0) -> AsyncIterator[AsyncIterator[SSEEvent]]:
        """POST ``json`` and yield the response's server-sent events; the slot is held while streaming."""
        url = self.url(path)
        creds = self.auth_headers()
        hdrs = {**creds, "accept": "text/event-stream"}
        client = self._client(url)
        async with self.limiter.slot(tokens):
            try:
                req = client.build_request("POST", url, json=json, params=params, headers=hdrs,
                                           timeout=self._timeout())
                resp = await send_following(client, req, stream=True, secret_headers=creds,
                                            provider=self.name)
                try:
                    if resp.status_code >= 400:
                        await resp.aread()
                        raise self._fail(resp)
                    yield iter_sse(resp.aiter_lines())
                finally:
                    await resp.aclose()
            except httpx.TransportError as exc:
                raise error_from_transport(self.name, exc) from None

    async def download(self, url: str, *, what: str = "file") -> tuple[bytes, str]:
        """GET a URL a provider returned (signed, so no auth header). Returns (bytes, content type)."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ProviderError(f"returned a {what} URL that is not http(s)", provider=self.name, status=200,
                                retryable=True)
        client = self.clients.client("download", _origin(url))
        try:
            resp = await send_following(client, client.build_request("GET", url, timeout=self._timeout()),
                                        provider=self.name)
            await resp.aread()
        except httpx.TransportError as exc:
            raise error_from_transport(self.name, exc) from None
        if resp.status_code >= 400:
            err = error_from_response(self.name, resp)
            err.message = f"downloading the {what}: {err.message}"
            raise err
        if not resp.content:
            raise ProviderError(f"the {what} download was empty", provider=self.name, retryable=True)
        return resp.content, resp.headers.get("content-type", "").split(";")[0].strip()
