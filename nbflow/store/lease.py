"""Who runs a run: leases in the store, renewed by one heartbeat thread per process.

A run that executes, or is being resumed, is *claimed*: the store holds a :class:`Lease` naming the
owner (this process: host, pid and a random token) and when the lease expires. A claim is a
compare-and-set in the store: it succeeds when the run has no lease, its lease has expired, or the
claimer already owns it; so of two processes that resume (approve, reject) the same run at once,
exactly one wins. While a run executes, :mod:`nbflow.store.owners` renews its lease on a timer (a
third of the lease time; never per node), so a live owner keeps it and a killed one loses it within
one lease time; ``serve``, ``batch`` and ``schedule`` then mark such orphaned runs ``interrupted``
(:func:`nbflow.store.owners.interrupt_orphans`).

The lease time is ``NBFLOW_LEASE_TTL`` seconds (default 30).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

from nbflow.exceptions import ConfigError

__all__ = ["DEFAULT_TTL", "Lease", "lease_ttl", "owner_gone", "owner_id"]

#: Seconds a lease lasts without renewal, unless ``NBFLOW_LEASE_TTL`` says otherwise.
DEFAULT_TTL = 30.0

_OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
_OWNER_PID = os.getpid()


def owner_id() -> str:
    """This process's owner id: ``host:pid:token`` (a new token after a fork)."""
    global _OWNER, _OWNER_PID
    if os.getpid() != _OWNER_PID:
        _OWNER, _OWNER_PID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}", os.getpid()
    return _OWNER


def lease_ttl() -> float:
    """The lease time in seconds (``NBFLOW_LEASE_TTL``, default 30)."""
    raw = os.environ.get("NBFLOW_LEASE_TTL")
    if not raw:
        return DEFAULT_TTL
    try:
        ttl = float(raw)
    except ValueError:
        raise ConfigError(f"NBFLOW_LEASE_TTL: {raw!r} is not a number of seconds") from None
    if not 0.1 <= ttl <= 86400:
        raise ConfigError(f"NBFLOW_LEASE_TTL: {raw!r} must be between 0.1 and 86400 seconds")
    return ttl


@dataclass(frozen=True, kw_only=True, slots=True)
class Lease:
    """A claim on one run: who holds it and until when."""

    run_id: str
    owner: str
    """``host:pid:token`` of the holding process."""
    acquired_at: float
    """When this owner first claimed it."""
    expires_at: float
    """When it lapses unless renewed (seconds since the epoch)."""

    def live(self, now: float | None = None) -> bool:
        """Whether the lease still holds at ``now``."""
        return self.expires_at > (time.time() if now is None else now)

    @property
    def pid(self) -> int | None:
        """The holder's process id, when the owner id names one."""
        parts = self.owner.split(":")
        return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None

    @property
    def host(self) -> str:
        """The holder's host name."""
        return self.owner.rsplit(":", 2)[0]

    def describe(self) -> str:
        """``process 123 on host-a (lease until 12:00:05)``, for error messages."""
        until = time.strftime("%H:%M:%S", time.localtime(self.expires_at))
        return f"process {self.pid} on {self.host} (lease until {until})"


def owner_gone(lease: Lease, now: float | None = None) -> bool:
    """Whether the lease's owner is gone: the lease expired, or it names a process on this machine
    that no longer exists (then there is no need to wait for the lease to lapse)."""
    if not lease.live(now):
        return True
    pid = lease.pid
    if pid is None or lease.host != socket.gethostname() or os.name != "posix" or lease.owner == owner_id():
        return False
    if pid == os.getpid():
        return True  # this process, under an earlier token (before a fork): not a live owner
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
