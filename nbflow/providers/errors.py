"""Turning HTTP failures into :class:`~nbflow.exceptions.ProviderError`: which to retry, and when.

Retryable: 408, 409, 429, every 5xx (Anthropic's 529 "overloaded" included), connection errors and
timeouts. Never retried: 400, 401, 403, 404 and the other 4xx, which a second try cannot fix. A
server may override that with ``x-should-retry: true|false``, as the official SDKs honour.

The wait a server asks for is read from, in order: ``retry-after-ms`` (OpenAI, Anthropic),
``Retry-After`` in seconds or as an HTTP date, and Gemini's ``google.rpc.RetryInfo.retryDelay`` in
the error body. The engine waits at least that long before the next attempt.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from nbflow.exceptions import ProviderError
from nbflow.providers.secrets import redact

__all__ = [
    "error_from_response",
    "error_from_transport",
    "is_retryable_status",
    "parse_retry_after",
    "provider_message",
]

_NEVER_RETRY = frozenset({400, 401, 403, 404, 422})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_MAX_MESSAGE = 300


def is_retryable_status(status: int) -> bool:
    """Whether a response status is worth another attempt (408, 409, 429, 5xx incl. 529)."""
    if status in _NEVER_RETRY:
        return False
    return status in (408, 409, 429) or 500 <= status <= 599


def _gemini_retry_delay(body: Any) -> float | None:
    err = body.get("error") if isinstance(body, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    if not isinstance(details, list):
        return None
    for d in details:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = d.get("retryDelay")
            if isinstance(delay, str) and (m := _DURATION.match(delay)):
                return float(m.group(1))
            if isinstance(delay, dict):  # the proto JSON form {"seconds": 3, "nanos": 0}
                return float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
    return None


def parse_retry_after(headers: Mapping[str, str], body: Any = None, *,
                      now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, or None when it did not say.

    Args:
        headers: response headers (case-insensitive mapping, e.g. ``httpx.Headers``).
        body: the parsed JSON error body, for Gemini's ``RetryInfo``.
        now: the current time (for HTTP-date values); defaults to ``time.time()``.
    """
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if ra:
        ra = ra.strip()
        try:
            return max(0.0, float(ra))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(ra)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - (time.time() if now is None else now))
    return _gemini_retry_delay(body)


def provider_message(body: Any) -> str | None:
    """The human message inside a provider's JSON error body, whatever its shape."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("type") or err.get("status")
            return str(msg) if msg else None
        if isinstance(err, str):
            return err
        detail = body.get("detail")  # ElevenLabs: {"detail": {"status": ..., "message": ...}}
        if isinstance(detail, dict):
            return str(detail.get("message") or detail.get("status") or "") or None
        if isinstance(detail, str):
            return detail
        if isinstance(body.get("message"), str):
            return body["message"]
    return None


def _one_line(text: str) -> str:
    text = " ".join(redact(text).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def error_from_response(provider: str, response: httpx.Response, *,
                        body_text: str | None = None) -> ProviderError:
    """A ProviderError for a non-2xx response: status, a one-line message, retryable, retry_after."""
    status = response.status_code
    text = body_text if body_text is not None else response.text
    body: Any = None
    ctype = response.headers.get("content-type", "")
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    msg = provider_message(body)
    if msg is None:
        if "html" in ctype or text.lstrip().lower().startswith(("<!doctype", "<html")):
            msg = "the server answered with an HTML error page, not JSON"
        elif text.strip():
            msg = text.strip()
        else:
            msg = response.reason_phrase or "request failed"
    retryable = is_retryable_status(status)
    should = response.headers.get("x-should-retry")
    if should in ("true", "false"):
        retryable = should == "true"
    return ProviderError(_one_line(msg), provider=provider, status=status, retryable=retryable,
                         retry_after=parse_retry_after(response.headers, body))


def error_from_transport(provider: str, exc: httpx.TransportError) -> ProviderError:
    """A retryable ProviderError for a timeout or a connection that failed or dropped."""
    if isinstance(exc, httpx.TimeoutException):
        kind = {httpx.ConnectTimeout: "connecting", httpx.ReadTimeout: "waiting for the response",
                httpx.WriteTimeout: "sending the request", httpx.PoolTimeout: "waiting for a connection"
                }.get(type(exc), "the request")
        return ProviderError(f"timed out {kind}", provider=provider, retryable=True)
    what = str(exc) or type(exc).__name__
    return ProviderError(_one_line(f"connection error: {what}"), provider=provider, retryable=True)
