"""Fetching what a job produced: result URLs that expire, redirects that must not carry the key.

Media APIs hand back a URL instead of bytes. Most are signed URLs on a storage host (Flux's last ten
minutes, Recraft's about a day), so the bytes are fetched the moment the job finishes and kept in the
:class:`~nbflow.model.values.Media` value; a run record never depends on a URL that will stop working.

Some result URLs need the API key (Gemini's ``files/...:download``) and answer with a redirect to a
storage host. httpx drops ``Authorization`` on a cross-origin redirect but keeps every other header,
and these providers authenticate with ``x-goog-api-key``, ``x-key`` or ``Authorization: Key``. So
:func:`fetch_media` follows redirects itself and sends the given auth headers only to the origin they
were meant for.
"""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import httpx

from nbflow.exceptions import ProviderError
from nbflow.providers.clients import DEFAULT_CLIENTS, HttpClients
from nbflow.providers.errors import error_from_response, error_from_transport
from nbflow.providers.secrets import redact

__all__ = ["EXPIRED_STATUSES", "MAX_REDIRECTS", "fetch_media", "origin", "same_origin"]

log = logging.getLogger("nbflow.providers")

#: Statuses a storage host answers for a signed URL that has expired (S3, GCS and CDNs differ).
EXPIRED_STATUSES = frozenset({401, 403, 404, 410})
MAX_REDIRECTS = 5


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the unit of trust for credentials)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


def _data_url(url: str, provider: str) -> tuple[bytes, str]:
    head, _, payload = url[5:].partition(",")
    mime = head.split(";")[0] or "application/octet-stream"
    try:
        raw = base64.b64decode(payload, validate=True) if head.endswith(";base64") else unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise ProviderError("returned a malformed data URL", provider=provider, retryable=True) from None
    return raw, mime


async def fetch_media(provider: str, url: str, *, what: str = "file", auth: dict[str, str] | None = None,
                      timeout: float = 300.0, clients: HttpClients | None = None) -> tuple[bytes, str]:
    """GET ``url`` and return (bytes, content type); ``auth`` goes only to ``url``'s own origin.

    Redirects are followed by hand (at most :data:`MAX_REDIRECTS`); once one leaves the first origin
    no auth header is sent again, even if a later hop comes back. ``data:`` URLs are decoded. The
    requests go through ``clients`` (the calling provider's, so an injected transport sees them too).

    Raises:
        ProviderError: the URL has expired (retryable: running the job again gives a fresh one), the
            host failed, or the body was empty.
    """
    if url.startswith("data:"):
        return _data_url(url, provider)
    first, current, trusted = url, url, True
    for _ in range(MAX_REDIRECTS + 1):
        headers = dict(auth or {}) if trusted else {}
        client = (clients or DEFAULT_CLIENTS).client("download", origin(current))
        try:
            resp = await client.get(current, headers=headers, follow_redirects=False,
                                    timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)))
        except httpx.TransportError as exc:
            raise error_from_transport(provider, exc) from None
        log.debug("GET %s -> %s", redact(current), resp.status_code)
        if resp.is_redirect and resp.headers.get("location"):
            current = urljoin(current, resp.headers["location"])
            trusted = trusted and same_origin(current, first)
            continue
        if resp.status_code in EXPIRED_STATUSES and not headers:  # a signed URL refused: it has expired
            raise ProviderError(f"the {what} URL has expired or is no longer readable (HTTP {resp.status_code}); "
                                "running the job again gives a fresh one", provider=provider,
                                status=resp.status_code, retryable=True)
        if resp.status_code >= 400:
            err = error_from_response(provider, resp)
            err.message = f"downloading the {what}: {err.message}"
            raise err
        if not resp.content:
            raise ProviderError(f"the {what} download was empty", provider=provider, retryable=True)
        return resp.content, resp.headers.get("content-type", "").split(";")[0].strip()
    raise ProviderError(f"downloading the {what}: more than {MAX_REDIRECTS} redirects", provider=provider,
                        retryable=False)
