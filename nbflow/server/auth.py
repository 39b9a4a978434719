"""Who may call the server: a bearer token, or an HMAC-SHA256 signature with a replay window.

Bearer: ``Authorization: Bearer <token>``, compared in constant time.

Signature (for webhooks from systems that sign rather than hold a token), scheme ``v1``::

    X-Nbflow-Timestamp: 1767225600
    X-Nbflow-Delivery: 6f1c2d3e-...            (a unique id per delivery; optional but recommended)
    X-Nbflow-Signature: v1=<hex of HMAC-SHA256(secret, signed string)>

    signed string = "v1" LF timestamp LF delivery LF METHOD LF path[?query] LF raw body

So a signature binds the method, the path (with its query string, as the server receives it), the
timestamp, the delivery id and the exact body bytes: one taken from a GET cannot start a run with a
POST, nor one for one flow start another. It is accepted only while its timestamp is within
``window`` seconds of the server's clock and, for requests that change something, only once: seen
signatures are kept for the replay window in the run store (when the server has one), so a replay
after a restart, or at another server sharing the store, is refused too. Two deliveries with the same
body in the same second are told apart by their delivery ids. :func:`sign` builds the headers for a
client.

The secrets themselves are never logged, returned or put in an error.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable, Mapping

__all__ = ["DELIVERY_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Auth", "sign", "signed_string"]

SIGNATURE_HEADER = "x-nbflow-signature"
TIMESTAMP_HEADER = "x-nbflow-timestamp"
DELIVERY_HEADER = "x-nbflow-delivery"

#: Remember a key for ``ttl`` seconds; False when it was remembered already (``RunStore.remember``).
Remember = Callable[..., bool]


def signed_string(timestamp: str, delivery: str, method: str, path: str, body: bytes) -> bytes:
    """The bytes a ``v1`` signature covers."""
    return f"v1\n{timestamp}\n{delivery}\n{method.upper()}\n{path}\n".encode() + body


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, method: str = "POST", path: str, timestamp: float | None = None,
         delivery: str | None = None) -> dict[str, str]:
    """The headers that sign a request: ``method`` to ``path`` (with its query string) with ``body``.

    ``delivery`` defaults to a new random id; ``timestamp`` to now.
    """
    ts = str(int(time.time() if timestamp is None else timestamp))
    did = uuid.uuid4().hex if delivery is None else delivery
    mac = _mac(secret, signed_string(ts, did, method, path, body))
    return {TIMESTAMP_HEADER: ts, DELIVERY_HEADER: did, SIGNATURE_HEADER: f"v1={mac}"}


class Auth:
    """Checks a request's credentials.

    Args:
        token: the bearer token, if bearer auth is on.
        hmac_secret: the signing secret, if signature auth is on.
        window: seconds a signature's timestamp may differ from now.
        clock: time source (tests move it).
        remember: where seen signatures are kept for the replay window (the server passes its run
            store's ``remember``); by default a dictionary in this process.
    """

    def __init__(self, *, token: str | None = None, hmac_secret: str | None = None, window: float = 300.0,
                 clock: Callable[[], float] = time.time, remember: Remember | None = None) -> None:
        self._token = token.encode() if token else None
        self._secret = hmac_secret or None
        self.window = window
        self.clock = clock
        self._seen: dict[str, float] = {}  # signature -> when it stops mattering (without a store)
        self._lock = threading.Lock()
        self.remember: Remember = remember or self._remember_here
        self._own_memory = remember is None

    @property
    def enabled(self) -> bool:
        return self._token is not None or self._secret is not None

    @property
    def schemes(self) -> list[str]:
        return [name for name, on in (("bearer", self._token), ("hmac", self._secret)) if on]

    def __repr__(self) -> str:  # never show the secrets
        return f"<Auth {'+'.join(self.schemes) or 'off'}>"

    def check(self, headers: Mapping[str, str], body: bytes, *, method: str = "POST",
              path: str = "/") -> str | None:
        """None when the request may proceed, else why not (``missing``, ``bad_token``,
        ``bad_signature``, ``expired`` or ``replayed``). ``path`` includes the query string."""
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
            return self._check_signature(signature, headers.get(TIMESTAMP_HEADER) or "",
                                         headers.get(DELIVERY_HEADER) or "", body, method, path)
        return "bad_token" if auth is not None else "missing"

    def _check_signature(self, signature: str, timestamp: str, delivery: str, body: bytes, method: str,
                         path: str) -> str | None:
        assert self._secret is not None
        try:
            ts = float(timestamp)
        except ValueError:
            return "bad_signature"
        now = self.clock()
        if abs(now - ts) > self.window:
            return "expired"
        scheme, _, given = signature.strip().partition("=")
        if scheme != "v1" or len(delivery) > 200:
            return "bad_signature"
        given = given.lower()
        expected = _mac(self._secret, signed_string(timestamp, delivery, method, path, body))
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return "bad_signature"
        if method.upper() in ("GET", "HEAD"):
            return None  # reading twice is harmless; only requests that change state are one-shot
        # Kept until the timestamp leaves the window: after that the signature is refused as expired.
        if not self.remember(f"hmac-v1:{given}", ttl=max(1.0, ts + self.window - now + 1.0)):
            return "replayed"
        return None

    def caller(self, headers: Mapping[str, str]) -> str:
        """The key a request that passed :meth:`check` came with, as budgets count it (``key_day``):
        ``bearer:<id>`` or ``hmac:<id>``, where ``<id>`` is 12 hex digits of the SHA-256 of the token or
        signing secret (never the secret; a rotated secret is a new key), or ``anonymous`` without auth."""
        if headers.get("authorization") is not None and self._token is not None:
            return "bearer:" + hashlib.sha256(self._token).hexdigest()[:12]
        if headers.get(SIGNATURE_HEADER) is not None and self._secret is not None:
            return "hmac:" + hashlib.sha256(self._secret.encode()).hexdigest()[:12]
        return "anonymous"

    def keep_seen_in(self, remember: Remember) -> None:
        """Keep seen signatures there (e.g. ``store.remember``), unless one was given at creation."""
        if self._own_memory:
            self.remember = remember
            self._own_memory = False

    def _remember_here(self, key: str, *, ttl: float) -> bool:
        now = time.time()
        with self._lock:
            for k in [k for k, until in self._seen.items() if until <= now]:
                del self._seen[k]
            if key in self._seen:
                return False
            self._seen[key] = now + ttl
        return True
