"""Signed, expiring, one-time approve/reject links for a paused approval.

A link is ``{base_url}/approvals/{token}``; the token is ``<payload>.<mac>``::

    payload = base64url(JSON {"v": 1, "run": run_id, "node": node_id, "d": "approve"|"reject",
                               "exp": unix seconds, "since": when the node paused})
    mac     = base64url(HMAC-SHA256(secret, "nbflow-approval-link-v1" LF payload))

So a link names one decision of one pause of one node of one run, and nothing in it can be changed
without the server's secret. :meth:`ApprovalLinks.verify` compares MACs in constant time and refuses an
expired link. ``since`` ties the link to one pause: when the same node pauses again (a resumed loop),
links to the earlier pause no longer match it. That a link works *once* is not kept here: the server
decides through the store's approval claim (an approval takes one decision, see
:meth:`nbflow.store.RunStore.decide`), which holds across processes and replicas sharing the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from nbflow.exceptions import NbflowError

__all__ = ["MIN_SECRET_BYTES", "ApprovalLinks", "LinkClaim", "LinkError"]

Decision = Literal["approve", "reject"]

_DOMAIN = b"nbflow-approval-link-v1\n"
_MAX_TOKEN = 2048


class LinkError(NbflowError):
    """An approval link that cannot be used; ``reason`` is ``malformed``, ``tampered`` or ``expired``."""

    exit_code = 2

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a valid link asks for."""

    run_id: str
    node_id: str
    decision: Decision
    expires_at: float
    since: float
    """When the node paused (the approval's ``created_at``): the link is for that pause only."""

    @property
    def approve(self) -> bool:
        return self.decision == "approve"


#: The shortest HMAC key approval links are signed with (a guessable key forges approvals).
MIN_SECRET_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ApprovalLinks:
    """Makes and checks approval links.

    Args:
        secret: the HMAC key (resolved from a secret reference; never shown).
        base_url: the public address of ``nbflow serve`` the links point at.
        ttl: seconds a link stays valid (capped at the approval's own deadline, when it has one).
        clock: time source (tests move it).
    """

    def __init__(self, secret: str, base_url: str, *, ttl: float = 86400.0,
                 clock: Callable[[], float] = time.time) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"an approval link secret needs at least {MIN_SECRET_BYTES} bytes")
        self._key = secret.encode()
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl
        self.clock = clock

    def __repr__(self) -> str:  # never show the secret
        return f"<ApprovalLinks {self.base_url} ttl={self.ttl:g}s>"

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest())

    def token(self, run_id: str, node_id: str, decision: Decision, *, since: float,
              deadline: float | None = None) -> str:
        """The token of one decision link; it expires after ``ttl`` (or at ``deadline``, if sooner)."""
        exp = self.clock() + self.ttl
        if deadline is not None:
            exp = min(exp, deadline)
        body = {"v": 1, "run": run_id, "node": node_id, "d": decision, "exp": int(exp), "since": since}
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._mac(payload)}"

    def url(self, token: str) -> str:
        return f"{self.base_url}/approvals/{token}"

    def pair(self, run_id: str, node_id: str, *, since: float, deadline: float | None = None) -> dict[str, str]:
        """``{"approve": url, "reject": url}`` for one paused approval."""
        return {d: self.url(self.token(run_id, node_id, d, since=since, deadline=deadline))
                for d in ("approve", "reject")}

    def verify(self, token: str) -> LinkClaim:
        """The claim of a genuine, unexpired token; LinkError otherwise."""
        payload, dot, mac = token.partition(".")
        if not dot or not payload or not mac or len(token) > _MAX_TOKEN:
            raise LinkError("malformed", "this approval link is incomplete or malformed")
        if not hmac.compare_digest(mac.encode("ascii", "replace"), self._mac(payload).encode("ascii")):
            raise LinkError("tampered", "this approval link is not valid (it was changed, or not made by "
                            "this server)")
        try:
            body: Any = json.loads(_unb64(payload))
            claim = LinkClaim(run_id=str(body["run"]), node_id=str(body["node"]), decision=body["d"],
                              expires_at=float(body["exp"]), since=float(body["since"]))
        except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise LinkError("malformed", "this approval link is malformed") from None
        if claim.decision not in ("approve", "reject") or body.get("v") != 1:
            raise LinkError("malformed", "this approval link is malformed")
        if claim.expires_at <= self.clock():
            raise LinkError("expired", "this approval link has expired; decide in nbflow instead "
                            f"(nbflow resume {claim.run_id} --approve or --reject)")
        return claim
