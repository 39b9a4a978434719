"""The owners of runs: the heartbeat that keeps this process's leases, and runs whose owner is gone.

:class:`Heartbeat` renews every lease this process holds from one daemon thread;
:func:`interrupt_orphans` marks ``interrupted`` the ``running`` runs whose owner died (``serve``,
``batch`` and ``schedule`` call it when they start). Leases themselves are in :mod:`nbflow.store.lease`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque

from nbflow.exceptions import StoreError
from nbflow.store.lease import lease_ttl, owner_gone, owner_id
from nbflow.store.runstore import RunStore

__all__ = ["Heartbeat", "heartbeat", "interrupt_if_orphaned", "interrupt_orphans"]


class Heartbeat:
    """Renews every lease this process holds, from one daemon thread, every third of the lease time.

    ``hold(store, run_id)`` adds a lease (after a successful claim), ``drop`` removes it; a lease
    that can no longer be renewed (another process took it after it lapsed) is dropped and kept in
    ``lost``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[int, str], tuple[weakref.ref[RunStore], float]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: deque[str] = deque(maxlen=1000)
        """The newest run ids whose lease this process lost (bounded: a long-lived server loses many)."""

    def hold(self, store: RunStore, run_id: str, ttl: float) -> None:
        with self._lock:
            self._held[(id(store), run_id)] = (weakref.ref(store), ttl)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="nbflow-lease-heartbeat", daemon=True)
                self._thread.start()
        self._wake.set()

    def drop(self, store: RunStore, run_id: str) -> None:
        with self._lock:
            self._held.pop((id(store), run_id), None)

    def holds(self, store: RunStore, run_id: str) -> bool:
        with self._lock:
            return (id(store), run_id) in self._held

    def _loop(self) -> None:
        while True:
            with self._lock:
                items = list(self._held.items())
            if not items:
                self._wake.wait(5.0)
                self._wake.clear()
                continue
            for key, (ref, ttl) in items:
                store = ref()
                try:
                    ok = store is not None and not store.closed and store.renew(key[1], owner_id(), ttl=ttl)
                except StoreError:
                    ok = True  # a busy or briefly failing store: try again next beat
                if not ok:
                    with self._lock:
                        if self._held.pop(key, None) is not None:
                            self.lost.append(key[1])
            self._wake.wait(min(ttl for _, (_, ttl) in items) / 3)
            self._wake.clear()


#: The process-wide heartbeat.
heartbeat = Heartbeat()


def interrupt_orphans(store: RunStore, *, ttl: float | None = None, now: float | None = None) -> list[str]:
    """Mark ``interrupted`` every ``running`` run whose owner is gone; returns their ids.

    A run's owner is gone when its lease has expired or names a dead process on this machine
    (:func:`owner_gone`), or when it has no lease and its record has not changed for a lease time
    (a run recorded by an older nbflow). Each orphan is claimed first (the compare-and-set), so two
    processes starting at once mark it once and never touch a run whose owner is alive.
    """
    ttl = lease_ttl() if ttl is None else ttl
    return [s.id for s in store.list_runs(status="running", limit=None)
            if interrupt_if_orphaned(store, s.id, ttl=ttl, now=now)]


def interrupt_if_orphaned(store: RunStore, run_id: str, *, ttl: float | None = None,
                          now: float | None = None) -> bool:
    """Mark one ``running`` run ``interrupted`` when its owner is gone (see :func:`interrupt_orphans`)."""
    ttl = lease_ttl() if ttl is None else ttl
    now = time.time() if now is None else now
    summary = store.summary(run_id)
    if summary.status != "running":
        return False
    held = store.lease(run_id)
    if held is not None and not owner_gone(held, now):
        return False
    if held is None and summary.updated_at > now - ttl:
        return False
    if store.claim(run_id, owner_id(), ttl=ttl, take_from=held.owner if held else None) is None:
        return False
    try:
        if store.summary(run_id).status != "running":
            return False
        store.mark_interrupted(run_id, held)
        return True
    finally:
        store.release(run_id, owner_id())
