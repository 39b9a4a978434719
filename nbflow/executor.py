"""Where accepted runs execute: in the accepting process (the default) or on a Dask cluster.

With ``--executor dask://HOST:PORT`` (``nbflow serve``, ``nbflow schedule``) the accepting process
only accepts, records and follows: it claims the run and writes its row (as an in-process run),
then submits one task to the cluster. The task, on a worker, opens the same run store, takes the
run's lease over from the accepting process, runs the flow through the one engine, and records
every node as it finishes; the accepting process follows the record (:mod:`nbflow.storefeed`) to
stream events, and reads the result from the store. So workers need nbflow, the node packages the
flow uses, the provider keys, and the store: a SQLite file they can open (one machine) or a
``postgresql://`` URL; a ``:memory:`` store is refused. A task carries the URL without its password
(tasks show in the scheduler, its dashboard and logs): a worker uses its own ``NBFLOW_STORE`` when
that names the same database as the same user, else libpq's ``PGPASSWORD`` or ``.pgpass``.

A worker that dies mid-run stops renewing the run's lease: the run becomes ``interrupted``
(by lease expiry, or at once when the dead process was on the same machine), and resumes like any
interrupted run; a resume through the API runs on the cluster too. Dask may hand the task of a
dead worker to another worker: that retry sees the run's lease held by someone other than the
accepting process and does nothing, so a run never starts over and never pays twice for a node.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

from nbflow import exceptions
from nbflow.engine.budget import spending
from nbflow.engine.execute import new_run_id
from nbflow.exceptions import ConfigError, NbflowError
from nbflow.flow import Flow
from nbflow.model.events import Event
from nbflow.model.record import RunResult
from nbflow.model.spec import BudgetSpec
from nbflow.model.unset import UNSET
from nbflow.providers.netguard import AllowList, allowing
from nbflow.resume_runs import aresume
from nbflow.store.lease import lease_ttl, owner_id
from nbflow.store.memory import MemoryStore
from nbflow.store.owners import heartbeat, interrupt_if_orphaned
from nbflow.store.pgurl import local_url, without_password
from nbflow.store.runstore import RunStore
from nbflow.storefeed import StoreFeed, finished_event

__all__ = ["SCHEME", "DaskExecutor", "dask_address", "execute_run", "resume_run", "store_location"]

log = logging.getLogger("nbflow.executor")

#: The executor URL scheme: ``dask://HOST:PORT`` names a Dask scheduler.
SCHEME = "dask://"


def dask_address(executor: str, *, where: str = "--executor") -> str:
    """The scheduler address (``tcp://HOST:PORT``) of a ``dask://HOST:PORT`` executor URL."""
    rest = executor[len(SCHEME):] if executor.startswith(SCHEME) else None
    host, _, port = (rest or "").rpartition(":")
    if not rest or not host or not port.isdigit() or "/" in rest:
        raise ConfigError(f"{where} {executor!r}: expected dask://HOST:PORT (a Dask scheduler), "
                          "or no executor to run in this process")
    return f"tcp://{rest}"


def store_location(store: RunStore, *, where: str = "--executor") -> dict[str, str]:
    """How a worker opens ``store``; ConfigError for a store only this process can see. A database
    URL goes without its password: the worker takes it from its own environment (:func:`local_url`)."""
    if isinstance(store, MemoryStore):
        raise ConfigError(f"{where}: the run store is in memory, which Dask workers cannot see; give a "
                          "shared store (--store FILE.db on one machine, or --store postgresql://...)")
    url = getattr(store, "url", None)
    if isinstance(url, str):  # never the password: a task's arguments show in the scheduler and its logs
        return {"url": without_password(url)}
    path, blobs = getattr(store, "path", None), getattr(store, "blob_dir", None)
    if path is None:
        raise ConfigError(f"{where}: Dask workers cannot open a {type(store).__name__}; give --store "
                          "FILE.db or --store postgresql://...")
    return {"path": os.path.abspath(path), "blob_dir": os.path.abspath(blobs) if blobs else ""}


# -- on the worker ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _open(where: tuple[tuple[str, str], ...]) -> RunStore:
    loc = dict(where)
    if "url" in loc:
        from nbflow.store.postgres import PostgresStore

        return PostgresStore(local_url(loc["url"]))
    from nbflow.store.sqlite import SQLiteStore

    return SQLiteStore(loc["path"], blob_dir=loc.get("blob_dir") or None)


@functools.lru_cache(maxsize=16)
def _flow(text: str, source: str | None) -> Flow:
    return Flow.loads(text, source=source)


def _disk(cache: str | None) -> Any:
    if cache is None:
        return False
    from nbflow.caching import open_cache

    return open_cache(cache or None)


def _refused(exc: NbflowError) -> dict[str, Any]:
    return {"error": str(exc), "type": type(exc).__name__}


def execute_run(where: dict[str, str], run_id: str, flow_text: str, flow_file: str | None,
                inputs: dict[str, Any], *, source: str, accepted_by: str, cache: str | None = None,
                allow_hosts: tuple[str, ...] = (), caller: str | None = None,
                budget: BudgetSpec | None = None) -> dict[str, Any]:
    """Runs on a worker: execute an accepted run; ``{"status": ...}``, or ``{"skipped": why}`` when
    the run is not the accepting process's to hand over any more (a retry after a worker died).
    ``caller`` and ``budget``: the server caller's key and the server's caps the run's spend obeys."""
    store = _open(tuple(sorted(where.items())))
    held, me, ttl = store.lease(run_id), owner_id(), lease_ttl()
    if held is None or held.owner != accepted_by or store.claim(run_id, me, ttl=ttl, take_from=accepted_by) is None:
        return {"skipped": f"run {run_id!r} is no longer waiting for a worker"}
    heartbeat.hold(store, run_id, ttl)
    try:
        with allowing(AllowList.parse(list(allow_hosts), where="allow_hosts")), \
                spending(key=caller, budget=budget):
            result = _flow(flow_text, flow_file).run(inputs, store=store, run_id=run_id, source=source,
                                                     cache=_disk(cache))
        return {"status": result.status}
    except NbflowError as exc:  # refused before its first node (a missing key, a bad input)
        store.record_finish(RunResult(run_id=run_id, flow=store.summary(run_id).flow, status="failed",
                                      inputs=inputs, started_at=store.summary(run_id).started_at,
                                      error=str(exc)))
        return {"status": "failed", **_refused(exc)}
    finally:
        heartbeat.drop(store, run_id)
        store.release(run_id, me)


def resume_run(where: dict[str, str], run_id: str, *, approve: bool | None, value: Any = UNSET,
               node: str | None = None, comment: str | None = None, by: str | None = None,
               cache: str | None = None, allow_hosts: tuple[str, ...] = (), caller: str | None = None,
               budget: BudgetSpec | None = None) -> dict[str, Any]:
    """Runs on a worker: resume a run (an approval's decision, or finishing an interrupted run)."""
    from nbflow.engine.sync import run_sync

    store = _open(tuple(sorted(where.items())))
    try:
        with allowing(AllowList.parse(list(allow_hosts), where="allow_hosts")), \
                spending(key=caller, budget=budget):
            result = run_sync(aresume(run_id, approve=approve, value=value, node=node, comment=comment, by=by,
                                      store=store, cache=_disk(cache)))
    except NbflowError as exc:
        return _refused(exc)
    return {"status": result.status}


# -- in the accepting process -------------------------------------------------------------------------

def _raise_refusal(out: dict[str, Any]) -> None:
    cls = getattr(exceptions, str(out.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, NbflowError)):
        cls = NbflowError
    try:
        exc = cls(out["error"])
    except TypeError:
        exc = NbflowError(out["error"])
    raise exc


class DaskExecutor:
    """Submits accepted runs to a Dask scheduler and follows them in the run store.

    Args:
        executor: ``dask://HOST:PORT``.
        store: the shared run store (the workers open the same one).
        cache: the persistent cache folder workers use (``""``: their default), or None for none.
        allow_hosts: internal hosts URL inputs may name (as for in-process runs).
        budget: the server's cost caps, obeyed by every run it submits.
        poll: seconds between looks at a running run's record.
        connect_timeout: seconds to wait for the scheduler when first connecting.
    """

    def __init__(self, executor: str, store: RunStore, *, cache: str | None = None,
                 allow_hosts: list[str] | None = None, budget: BudgetSpec | None = None,
                 poll: float = 0.2, connect_timeout: float = 30.0) -> None:
        self.connect_timeout = connect_timeout
        self.budget = budget
        self.url = executor
        self.address = dask_address(executor)
        self.store = store
        self.where = store_location(store)
        self.cache = cache
        self.allow_hosts = tuple(allow_hosts or ())
        self.poll = poll
        self._client: Any = None
        self._connecting: asyncio.Lock | None = None

    async def client(self) -> Any:
        """The asynchronous Dask client, connected on first use (in the running loop)."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # runs accepted together share one connection
            if self._client is None:
                from nbflow.extras import require

                require("--executor dask://", "distributed")
                from distributed import Client

                try:
                    self._client = await Client(self.address, asynchronous=True, timeout=self.connect_timeout)
                except OSError as exc:
                    raise ConfigError(f"--executor {self.url!r}: cannot reach the Dask scheduler ({exc})") from None
        return self._client

    async def _submit(self, fn: Callable[..., dict[str, Any]], run_id: str, *args: Any,
                      **kwargs: Any) -> dict[str, Any]:
        client = await self.client()
        fut = client.submit(fn, self.where, run_id, *args, key=f"nbflow-{fn.__name__}-{run_id}-{uuid.uuid4().hex[:8]}",
                            pure=False, cache=self.cache, allow_hosts=self.allow_hosts, budget=self.budget,
                            **kwargs)
        try:
            out: dict[str, Any] = await fut
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the worker died (KilledWorker), the scheduler went away ...
            out = {"lost": f"the Dask task failed: {type(exc).__name__}: {exc}"}
        return out

    def run(self, run_id: str, flow: Flow, inputs: dict[str, Any], *, source: str,
            caller: str | None = None) -> asyncio.Task[dict[str, Any]]:
        """Submit an accepted run (claimed by this process, its row recorded); the task's outcome.
        ``caller``: the server caller whose key the run's spend counts against."""
        return asyncio.ensure_future(self._submit(
            execute_run, run_id, flow.dumps(), str(flow.source) if flow.source else None, inputs,
            source=source, accepted_by=owner_id(), caller=caller))

    def resume(self, run_id: str, **decision: Any) -> asyncio.Task[dict[str, Any]]:
        """Submit a resume (``approve``, ``value``, ``node``, ``comment``, ``by``, ``caller``)."""
        return asyncio.ensure_future(self._submit(resume_run, run_id, **decision))

    async def started(self, run_id: str, task: asyncio.Task[dict[str, Any]]) -> None:
        """Return once a submitted resume has started (the run is ``running`` again) or ended; raise
        what the worker refused (ResumeError, ClaimError, StoreError ...)."""
        while not task.done() and self.store.summary(run_id).status != "running":
            await asyncio.wait({task}, timeout=self.poll / 4)
        if task.done():
            out = task.result()
            if "error" in out and "status" not in out:
                _raise_refusal(out)

    async def follow(self, run_id: str, task: asyncio.Task[dict[str, Any]],
                     listeners: list[Callable[[Event], Any]] = (), *,  # type: ignore[assignment]
                     accepted_by: str | None = None) -> RunResult:
        """Tell the run's events from its record until it stops running; its record then.

        A task that never ran the run (lost with its worker, or refused) leaves it to its lease: a
        lease still held by this process is this process's to end (the run is recorded ``failed``);
        a worker's lease lapses and the run is marked ``interrupted``.
        """
        feed = StoreFeed(self.store, run_id, accepted_by=accepted_by)

        def tell() -> None:
            for ev in feed.poll():
                if ev.kind == "run_started" and feed.worker is not None:
                    heartbeat.drop(self.store, run_id)  # the worker holds the lease now; stop renewing ours
                for fn in listeners:
                    fn(ev)

        while not task.done():
            tell()
            await asyncio.wait({task}, timeout=self.poll)
        try:
            out = task.result()
        except NbflowError as exc:  # the scheduler cannot be reached
            out = {"lost": str(exc)}
        while self.store.summary(run_id).status == "running":
            held = self.store.lease(run_id)
            if held is not None and held.owner == owner_id() and "status" not in out:
                self._fail(run_id, out.get("lost") or out.get("skipped") or out.get("error", "not run"))
                break
            if interrupt_if_orphaned(self.store, run_id):
                break
            tell()
            await asyncio.sleep(self.poll)
        tell()
        ev = finished_event(self.store, run_id)
        for fn in listeners:
            fn(ev)
        return self.store.get(run_id)

    def _fail(self, run_id: str, why: str) -> None:
        s = self.store.summary(run_id)
        self.store.record_finish(RunResult(run_id=run_id, flow=s.flow, status="failed", started_at=s.started_at,
                                           inputs=self.store.get(run_id).inputs, error=why))
        heartbeat.drop(self.store, run_id)
        self.store.release(run_id, owner_id())

    async def launch(self, flow: Flow, inputs: dict[str, Any], *, source: str,
                     on_event: Callable[[Event], Any] | None = None) -> RunResult:
        """Accept a run of ``flow`` (claim it, record it), execute it on the cluster, return its record."""
        run_id, ttl = new_run_id(), lease_ttl()
        self.store.claim(run_id, owner_id(), ttl=ttl)
        heartbeat.hold(self.store, run_id, ttl)
        self.store.record_start(RunResult(run_id=run_id, flow=flow.name, inputs=inputs), flow_text=flow.dumps(),
                                flow_file=str(flow.source) if flow.source else None, source=source)
        task = self.run(run_id, flow, inputs, source=source)
        try:
            return await self.follow(run_id, task, [on_event] if on_event else [], accepted_by=owner_id())
        finally:
            heartbeat.drop(self.store, run_id)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    def __repr__(self) -> str:
        return f"<DaskExecutor {self.url!r}>"
