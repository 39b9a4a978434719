"""Who may call the server: a bearer token, or an HMAC-SHA256 signature with a replay window.

Bearer: ``Authorization: Bearer <token>``, compared in constant time.

Signature (for webhooks from systems that sign rather than hold a token)::

    X-Nbflow-Timestamp: 1767225600
    X-Nbflow-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + raw body)>

A signature is accepted only while its timestamp is within ``window`` seconds of the server's
clock, and (for requests that change something) only once, so a captured request cannot be
replayed. :func:`sign` builds the headers for a client.

The secrets themselves are never logged, returned or put in an error.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Auth", "sign"]

SIGNATURE_HEADER = "x-nbflow-signature"
TIMESTAMP_HEADER = "x-nbflow-timestamp"


def _mac(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: float | None = None) -> dict[str, str]:
    """The headers that sign ``body`` with ``secret`` (now, or at ``timestamp``)."""
    ts = str(int(time.time() if timestamp is None else timestamp))
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: f"sha256={_mac(secret, ts, body)}"}


class Auth:
    """Checks a request's credentials.

    Args:
        token: the bearer token, if bearer auth is on.
        hmac_secret: the signing secret, if signature auth is on.
        window: seconds a signature's timestamp may differ from now.
        clock: time source (tests move it).
    """

    def __init__(self, *, token: str | None = None, hmac_secret: str | None = None, window: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._token = token.encode() if token else None
        self._secret = hmac_secret or None
        self.window = window
        self.clock = clock
        self._seen: dict[str, float] = {}  # signature -> when it stops mattering
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._token is not None or self._secret is not None

    @property
    def schemes(self) -> list[str]:
        return [name for name, on in (("bearer", self._token), ("hmac", self._secret)) if on]

    def __repr__(self) -> str:  # never show the secrets
        return f"<Auth {'+'.join(self.schemes) or 'off'}>"

    def check(self, headers: Mapping[str, str], body: bytes, *, method: str = "POST") -> str | None:
        """None when the request may proceed, else why not (``missing``, ``bad_token``,
        ``bad_signature``, ``expired`` or ``replayed``)."""
        if not self.enabled:
            return None
        auth = headers.get("authorization")
        if auth is not None and self._token is not None:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._token):
                return None
            return "bad_token"
        signature = headers.get(SIGNATURE_HEADER)
        if signature is not None and self._secret is not None:
            return self._check_signature(signature, headers.get(TIMESTAMP_HEADER), body, method)
        return "bad_token" if auth is not None else "missing"

    def _check_signature(self, signature: str, timestamp: str | None, body: bytes, method: str) -> str | None:
        assert self._secret is not None
        if not timestamp:
            return "bad_signature"
        try:
            ts = float(timestamp)
        except ValueError:
            return "bad_signature"
        now = self.clock()
        if abs(now - ts) > self.window:
            return "expired"
        given = signature.strip().removeprefix("sha256=").lower()
        if not hmac.compare_digest(given.encode(), _mac(self._secret, timestamp, body).encode()):
            return "bad_signature"
        if method.upper() in ("GET", "HEAD"):
            return None  # reading twice is harmless; only requests that change state are one-shot
        with self._lock:
            for sig in [s for s, until in self._seen.items() if until < now]:
                del self._seen[sig]
            if given in self._seen:
                return "replayed"
            self._seen[given] = ts + self.window
        return None
