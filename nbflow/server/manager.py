"""The server's runs: accept, queue, execute, record, look up, wait for and resume them.

Every accepted run is written to the run store *before* the request is answered (status
``running``, with its inputs and flow), so a run the server accepted is never lost: if the process
dies before the run ends, ``nbflow resume RUN_ID`` finishes it. Runs execute on the server's event
loop through ``Flow.arun`` (the one engine), at most ``max_concurrent`` at a time; the rest wait
in order. An ``Idempotency-Key`` maps to a run id derived from the flow and the key, so a repeated
request finds the first run (in memory or in the store, also after a restart) instead of starting
another.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbflow.engine.budget import spending
from nbflow.engine.execute import new_run_id
from nbflow.exceptions import InputError, NbflowError, StoreError
from nbflow.executor import DaskExecutor
from nbflow.flow import Flow
from nbflow.model.events import Event
from nbflow.model.record import RunResult, value_to_json
from nbflow.model.spec import BudgetSpec
from nbflow.model.types import MEDIA_TYPES
from nbflow.providers.netguard import AllowList, allowing
from nbflow.resume_runs import aresume
from nbflow.resuming import UNSET, pending_approvals
from nbflow.server.metrics import Metrics
from nbflow.server.streams import EventLogs
from nbflow.store.lease import lease_ttl, owner_gone, owner_id
from nbflow.store.owners import heartbeat, interrupt_orphans
from nbflow.store.runstore import RunStore

__all__ = ["ApiError", "LiveRun", "RunManager", "idempotent_run_id"]

log = logging.getLogger("nbflow.server")

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:=+/")


class ApiError(NbflowError):
    """A request the server refuses; ``status`` is the HTTP status, ``field`` what was wrong."""

    exit_code = 2

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        self.status = status
        self.message = message
        self.field = field
        super().__init__(message)


def idempotent_run_id(flow: str, key: str) -> str:
    """The run id a flow's Idempotency-Key stands for (the same in every process)."""
    return "k-" + hashlib.sha256(f"{flow}\0{key}".encode()).hexdigest()[:28]


def _canonical(value: Any) -> str:
    return json.dumps(value_to_json(value, inline_media=False), sort_keys=True, default=str)


@dataclass(kw_only=True, slots=True)
class LiveRun:
    """A run this server process accepted or resumed."""

    run_id: str
    flow: str
    source: str
    inputs: dict[str, Any]
    created_at: float = field(default_factory=time.time)
    status: str = "queued"
    """queued (waiting for a slot), running, then the run's final status."""
    nodes: dict[str, str] = field(default_factory=dict)
    """Node id -> latest status, from the run's events."""
    task: asyncio.Task[Any] | None = None
    result: RunResult | None = None
    caller: str | None = None
    """The caller key the run's spend counts against (see :meth:`nbflow.server.auth.Auth.caller`)."""

    def on_event(self, ev: Event) -> None:
        if ev.node_id is None:
            if ev.kind == "run_started":
                self.status = "running"
            return
        status = {"node_started": "running", "cached": "cached", "skipped": "skipped", "failed": "failed",
                  "paused": "paused"}.get(ev.kind)
        if ev.kind == "node_finished":
            status = str(ev.data.get("status", "done"))
        if status is not None:
            self.nodes[ev.node_id] = status

    @property
    def ended(self) -> bool:
        return self.task is not None and self.task.done()


def _pause_watch(run_id: str, on_pause: Callable[[str, set[str]], Any]) -> Callable[[Event], None]:
    """A listener calling ``on_pause`` once the run ends paused, with the nodes that paused in it."""
    paused: set[str] = set()

    def watch(ev: Event) -> None:
        if ev.kind == "paused" and ev.node_id is not None:
            paused.add(ev.node_id)
        elif ev.kind == "run_finished" and ev.data.get("status") == "paused" and paused:
            try:
                on_pause(run_id, set(paused))
            except Exception:  # telling someone must never break the run's own bookkeeping
                log.exception("run %s: approval notices failed", run_id)
            paused.clear()

    return watch


class RunManager:
    """Runs of the served flows.

    Args:
        flows: served flows by name.
        store: where every run is recorded.
        metrics: the server's metrics.
        max_concurrent: runs executing at once.
        cache: reuse node results across runs from the persistent cache (True: the default folder;
            a path: that folder; a cache object: itself).
        keep: finished runs kept in memory (older ones are read from the store).
        allow_hosts: internal hosts that URL inputs may name (see :mod:`nbflow.providers.netguard`).
        budget: cost caps for every run the server starts or resumes (see :mod:`nbflow.engine.budget`).
        executor: where runs execute: None in this process, or a :class:`~nbflow.executor.DaskExecutor`
            (this server then accepts, records and follows them in the store).
    """

    def __init__(self, flows: dict[str, Flow], store: RunStore, metrics: Metrics, *, max_concurrent: int = 32,
                 cache: Any = False, keep: int = 1000, allow_hosts: list[str] | None = None,
                 budget: BudgetSpec | None = None, executor: DaskExecutor | None = None) -> None:
        self.executor = executor
        self.allow = AllowList.parse(allow_hosts or [], where="allow_hosts")
        self.budget = budget
        self.flows = flows
        self.store = store
        self.metrics = metrics
        if cache is True or isinstance(cache, str):
            from nbflow.caching import open_cache

            cache = open_cache(None if cache is True or cache == "" else cache)
        self.cache = cache
        self.keep = keep
        self.logs = EventLogs(keep)
        self.live: OrderedDict[str, LiveRun] = OrderedDict()
        self._sem: asyncio.Semaphore | None = None
        self._max = max_concurrent
        self._texts = {name: f.dumps() for name, f in flows.items()}
        self.on_pause: Callable[[str, set[str]], Any] | None = None
        """Called with the run id and the paused nodes when a run (or a resume) ends paused (notices)."""

    @property
    def sem(self) -> asyncio.Semaphore:
        # Created on first use, inside the server's loop.
        if self._sem is None:
            self._sem = asyncio.Semaphore(self._max)
        return self._sem

    def flow(self, name: str) -> Flow:
        f = self.flows.get(name)
        if f is None:
            raise ApiError(404, f"no flow named {name!r} is served (see GET /flows)", field="name")
        return f

    # -- inputs -------------------------------------------------------------------------------------

    def check_inputs(self, flow: Flow, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate graph inputs the way the engine will; InputError naming the field otherwise.

        Media inputs must be http(s) URLs or ``data:`` URIs: a caller may not make the server read
        its own files.
        """
        plan = flow.validate()
        unknown = sorted(set(raw) - set(plan.inputs))
        if unknown:
            known = ", ".join(sorted(plan.inputs)) or "none"
            raise InputError(f"unknown input (this flow takes: {known})", field=unknown[0])
        parsed: dict[str, Any] = {}
        for name, pn in plan.inputs.items():
            impl: Any = pn.impl
            if name not in raw:
                if impl.required:
                    raise InputError("required input is missing", field=name)
                continue
            value = raw[name]
            if impl.value_type in MEDIA_TYPES and not (
                    isinstance(value, str) and value.startswith(("http://", "https://", "data:"))):
                raise InputError(f"give the {impl.value_type} as an http(s) URL or a data: URI", field=name)
            try:
                parsed[name] = impl.parse(value)
            except InputError as exc:
                raise InputError(exc.message.split(": ", 1)[-1], field=name) from None
        return parsed

    # -- starting -----------------------------------------------------------------------------------

    async def start(self, name: str, raw: dict[str, Any], *, source: str = "server",
                    idempotency_key: str | None = None, caller: str | None = None) -> tuple[str, bool]:
        """Accept a run; returns ``(run_id, replayed)``. ``replayed``: the key named an earlier run.
        ``caller``: the key its spend counts against."""
        flow = self.flow(name)
        parsed = self.check_inputs(flow, raw)
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 255 or not set(idempotency_key) <= _KEY_CHARS:
                raise ApiError(422, "Idempotency-Key must be 1 to 255 characters of letters, digits and -_.:=+/",
                               field="Idempotency-Key")
            run_id = idempotent_run_id(name, idempotency_key)
            if self._seen(run_id, parsed):
                self.metrics.idempotent_replays.inc(flow=name)
                return run_id, True
        else:
            run_id = new_run_id()
        # Held from acceptance, so a run waiting for a slot is not taken for an orphan by another server.
        # The claim is a compare-and-set in the store: of two replicas accepting the same Idempotency-Key
        # at once, one wins and the other answers with the winner's run, so the run executes once.
        ttl = lease_ttl()
        claimed = self.store.claim(run_id, owner_id(), ttl=ttl) is not None
        if not claimed and idempotency_key is not None:
            claimed = not await self._await_winner(run_id, ttl)
            if not claimed:
                self._seen(run_id, parsed)  # 409 when the inputs differ
                self.metrics.idempotent_replays.inc(flow=name)
                return run_id, True
        if claimed:
            heartbeat.hold(self.store, run_id, ttl)
        live = LiveRun(run_id=run_id, flow=name, source=source, inputs=parsed, caller=caller)
        # Durable before we answer: an accepted run is in the store even if we die before it starts.
        self.store.record_start(RunResult(run_id=run_id, flow=flow.name, inputs=parsed),
                                flow_text=self._texts.get(name) or flow.dumps(),
                                flow_file=str(Path(flow.source).resolve()) if flow.source else None, source=source)
        self._remember(live)
        self.logs.open(run_id)
        self.metrics.runs_started.inc(flow=name, source=source)
        self.metrics.runs_active.inc(flow=name)
        live.task = asyncio.ensure_future(self._execute(live, flow, raw))
        return run_id, False

    async def _await_winner(self, run_id: str, ttl: float) -> bool:
        """Another server claimed ``run_id`` first: wait, without blocking the loop, for its record.

        True once the winner's row is in the store (it writes it right after its claim, so this is
        usually at once); False when the winner died before recording it and this server took the
        claim over instead. ApiError (503) when the winner holds its claim for a whole lease time
        without recording the run.
        """
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + ttl, 0.002
        while True:
            if run_id in self.store:
                return True
            held = self.store.lease(run_id)
            dead = held is None or owner_gone(held)
            if dead and self.store.claim(run_id, owner_id(), ttl=ttl,
                                         take_from=held.owner if held is not None else None) is not None:
                if run_id not in self.store:
                    return False
                self.store.release(run_id, owner_id())  # it was recorded (and ended) meanwhile
                return True
            if loop.time() >= deadline:
                raise ApiError(503, "another server accepted this Idempotency-Key and has not recorded "
                                    "the run yet; retry the request", field="Idempotency-Key")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _seen(self, run_id: str, parsed: dict[str, Any]) -> bool:
        live = self.live.get(run_id)
        if live is not None:
            inputs = live.inputs
        elif run_id in self.store:
            inputs = self.store.get(run_id).inputs
        else:
            return False
        if _canonical(inputs) != _canonical(parsed):
            raise ApiError(409, "this Idempotency-Key was used before with different inputs",
                           field="Idempotency-Key")
        return True

    def _remember(self, live: LiveRun) -> None:
        self.live[live.run_id] = live
        self.live.move_to_end(live.run_id)
        while len(self.live) > self.keep:
            oldest = next((rid for rid, r in self.live.items() if r.ended), None)
            if oldest is None:
                break
            del self.live[oldest]

    def _listeners(self, live: LiveRun) -> list[Any]:
        evlog = self.logs.open(live.run_id)
        metrics, name = self.metrics, live.flow

        def count(ev: Event) -> None:
            metrics.on_event(name, ev)

        listeners: list[Callable[[Event], Any]] = [live.on_event, evlog.append, count]
        if self.on_pause is not None:
            listeners.append(_pause_watch(live.run_id, self.on_pause))
        return listeners

    async def _execute(self, live: LiveRun, flow: Flow, raw: dict[str, Any]) -> RunResult:
        try:
            async with self.sem:
                if self.executor is not None:
                    result = await self._execute_remote(live, flow, raw)
                else:
                    with allowing(self.allow), spending(key=live.caller, budget=self.budget):
                        result = await flow.arun(raw, store=self.store, source=live.source, run_id=live.run_id,
                                                 cache=self.cache, on_event=self._listeners(live))
        except asyncio.CancelledError:
            if live.status == "queued":  # never started: the engine recorded nothing beyond acceptance
                self._fail(live, flow, "cancelled", "the server stopped before the run started")
            raise
        except NbflowError as exc:  # refused before its first node (a missing key, a bad input file)
            result = self._fail(live, flow, "failed", str(exc))
        except Exception as exc:  # a bug must not leave an accepted run without an end
            log.exception("run %s of flow %r crashed", live.run_id, live.flow)
            result = self._fail(live, flow, "failed", f"internal error: {type(exc).__name__}")
        finally:
            self.metrics.runs_active.inc(-1, flow=live.flow)
        self._ended(live, result)
        return result

    async def _execute_remote(self, live: LiveRun, flow: Flow, raw: dict[str, Any]) -> RunResult:
        assert self.executor is not None
        try:
            task = self.executor.run(live.run_id, flow, raw, source=live.source, caller=live.caller)
            return await self.executor.follow(live.run_id, task, self._listeners(live), accepted_by=owner_id())
        finally:
            heartbeat.drop(self.store, live.run_id)  # a worker holds the run's lease from its start

    def _fail(self, live: LiveRun, flow: Flow, status: str, error: str) -> RunResult:
        result = RunResult(run_id=live.run_id, flow=flow.name, status=status,  # type: ignore[arg-type]
                           inputs=live.inputs, started_at=live.created_at, ended_at=time.time(), error=error)
        try:
            self.store.record_finish(result)
            heartbeat.drop(self.store, live.run_id)
            self.store.release(live.run_id, owner_id())
        except NbflowError as exc:
            log.error("run %s could not be recorded: %s", live.run_id, exc)
        data: dict[str, Any] = {"status": status, "duration": result.duration, "usage": {}, "cost": 0.0,
                                "error": error}
        ev = Event("run_finished", live.run_id, None, data)
        for fn in self._listeners(live):
            fn(ev)
        return result

    def _ended(self, live: LiveRun, result: RunResult) -> None:
        live.result = result
        live.status = result.status
        log.info("run %s of flow %r %s in %.2fs", live.run_id, live.flow, result.status, result.duration or 0.0)
        evlog = self.logs.get(live.run_id)
        if evlog is not None and not evlog.done:
            evlog.close()

    # -- reading ------------------------------------------------------------------------------------

    async def wait(self, run_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the run to end; whether it did."""
        live = self.live.get(run_id)
        if live is None:
            return await self._wait_stored(run_id, timeout)
        if live.task is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(live.task), timeout)
        except asyncio.TimeoutError:
            return False
        except Exception:  # the run's own failure is in its record
            return True
        return True

    async def _wait_stored(self, run_id: str, timeout: float) -> bool:
        """Wait for a run another server executes (they share the store) to stop running."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.store.summary(run_id).status != "running":
                    return True
            except StoreError:
                return True  # no such run: describing it says so
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)

    def describe(self, run_id: str) -> dict[str, Any]:
        """The run as the API shows it: status, outputs, usage, cost, nodes, pending approvals."""
        from nbflow.model.record import result_json

        live = self.live.get(run_id)
        if live is not None and live.result is None:
            return {"run_id": run_id, "flow": live.flow, "status": live.status, "source": live.source,
                    "created_at": round(live.created_at, 6), "nodes": dict(live.nodes)}
        if live is not None and live.result is not None and live.result.status != "paused":
            result, source = live.result, live.source
        else:  # a paused run may have been approved and resumed through another server sharing the store
            stored = self.store.load(run_id)
            result, source = stored.result, stored.summary.source
        out = result_json(result)
        out["source"] = source
        if result.status == "paused":
            out["approvals"] = [{"node_id": a.node_id, "reason": a.reason, "deadline": a.deadline,
                                 "default": a.default, "value": value_to_json(a.data.get("value"))}
                                for a in pending_approvals(result)]
        return out

    # -- resuming -----------------------------------------------------------------------------------

    async def resume(self, run_id: str, *, approve: bool | None, value: Any = UNSET, node: str | None = None,
                     comment: str | None = None, by: str | None = None, caller: str | None = None) -> None:
        """Resume a paused, failed or interrupted run in the background; returns once it has started
        (raising what the resume refused: ResumeError, StoreError...). Its further spend counts against
        ``caller``'s key (the one that resumed it)."""
        current = self.live.get(run_id)
        if current is not None and not current.ended and current.result is None:
            raise ApiError(409, f"run {run_id!r} is still running", field="run_id")
        summary = self.store.summary(run_id)
        served = self.flows.get(summary.flow)
        live = LiveRun(run_id=run_id, flow=summary.flow, source=summary.source, inputs={}, status="running")
        if self.executor is not None:
            decision = {"approve": approve, "node": node, "comment": comment, "by": by, "caller": caller}
            if value is not UNSET:
                decision["value"] = value
            await self._resume_remote(live, summary.status, decision)
            return
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_start(ev: Event) -> None:
            if ev.kind == "run_started" and not started.done():
                started.set_result(None)

        listeners = [on_start, *self._listeners(live)]

        async def drive() -> RunResult:
            with spending(key=caller, budget=self.budget):
                result = await aresume(run_id, approve=approve, value=value, node=node, comment=comment, by=by,
                                       store=self.store, registry=served.registry if served else None,
                                       on_event=listeners, cache=self.cache)
            self._ended(live, result)
            return result

        task = asyncio.ensure_future(drive())
        waiters: set[asyncio.Future[Any]] = {started, task}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if task.done() and task.exception() is not None:
            evlog = self.logs.get(run_id)
            if evlog is not None:
                evlog.close()  # the resume never started: followers must not wait for it
            raise task.exception()  # type: ignore[misc]
        live.task = task
        live.inputs = {}
        self._remember(live)

    async def _resume_remote(self, live: LiveRun, status: str, decision: dict[str, Any]) -> None:
        """Resume on the cluster: return once the run runs again (raising what the worker refused)."""
        assert self.executor is not None
        if status == "running":
            raise ApiError(409, f"run {live.run_id!r} is still running", field="run_id")
        task = self.executor.resume(live.run_id, **decision)
        try:
            await self.executor.started(live.run_id, task)
        except NbflowError:
            evlog = self.logs.get(live.run_id)
            if evlog is not None:
                evlog.close()  # the resume never started: followers must not wait for it
            raise
        executor, listeners = self.executor, self._listeners(live)

        async def drive() -> RunResult:
            result = await executor.follow(live.run_id, task, listeners)
            self._ended(live, result)
            return result

        live.task = asyncio.ensure_future(drive())
        self._remember(live)

    async def recover(self, *, resume: bool = False) -> list[str]:
        """On start: mark ``interrupted`` the runs whose process died (their lease lapsed, or their
        process is gone from this machine); with ``resume``, resume every interrupted run of a served
        flow (of several servers starting at once, the run's lease lets one resume it)."""
        ids = interrupt_orphans(self.store)
        for run_id in ids:
            log.warning("run %s was interrupted: the process that ran it stopped", run_id)
        if not resume:
            return ids
        for summary in self.store.list_runs(status="interrupted", limit=None):
            run_id = summary.id
            if summary.flow not in self.flows:
                continue
            try:
                await self.resume(run_id, approve=None)
                log.info("run %s resumed", run_id)
            except NbflowError as exc:
                log.warning("run %s was not resumed: %s", run_id, exc)
        return ids

    # -- stopping -----------------------------------------------------------------------------------

    async def shutdown(self, grace: float = 10.0) -> None:
        """Let running runs finish for ``grace`` seconds, then cancel the rest (recorded as cancelled,
        so ``nbflow resume`` can finish them)."""
        tasks = [r.task for r in self.live.values() if r.task is not None and not r.task.done()]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
