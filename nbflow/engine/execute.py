"""The ready-queue scheduler: a node starts the moment its inputs exist.

No supersteps, no barriers, no recursion. Each node keeps a count of unfinished predecessors; when a
node finishes, its successors' counts drop, and every successor that reaches zero starts at once.
The task that finished a node carries on with one newly ready successor itself and spawns tasks for
the others, so a chain costs no task creation per node and a fan-out runs fully in parallel.

Per node: cache lookup -> concurrency slot -> (timeout -> run -> retry)* -> fallbacks -> outputs ->
events -> record. A node wired from an output that was not produced (a branch not taken, a rejected
approval) or from a failed or skipped node is ``skipped`` with the reason, optional inputs included,
unless it is a join (``merge``, ``policy.join``); see ``_missing`` and docs/control.md.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from nbflow.engine.budget import BudgetGuard, budget_for
from nbflow.engine.cache import Cache, combine_key, value_key
from nbflow.engine.context import NodeRunContext
from nbflow.engine.failures import beyond_deadline, error_info, error_message, timed_out
from nbflow.engine.plan import Plan, PlanNode
from nbflow.engine.policies import is_retryable, retry_after_of
from nbflow.engine.runproviders import RunProviders
from nbflow.engine.select import Selection, choose, seed
from nbflow.exceptions import InputError, NodeError
from nbflow.model.events import Event, EventKind, Listener
from nbflow.model.record import NodeRecord, RunResult, value_to_json
from nbflow.nodes.nodetype import Pause
from nbflow.redaction import scrub

if TYPE_CHECKING:
    from nbflow.providers.catalog import Providers

__all__ = ["Execution", "Pause", "new_run_id"]  # Pause lives in nodes (raised by nodes); kept here too

#: Statuses of a node that finished with outputs (a resumed or narrowed run does not run it again).
_FINISHED = ("done", "cached", "pinned")


def new_run_id() -> str:
    """A sortable, unique run id: time prefix plus randomness."""
    return f"{int(time.time() * 1000):x}-{os.urandom(6).hex()}"


class Execution:
    """One run of a plan. Create, then ``await run()``; ``cancel()`` stops it."""

    def __init__(self, plan: Plan, *, inputs: dict[str, Any] | None = None, run_id: str | None = None,
                 cache: Cache | None = None, listeners: Iterable[Listener] = (), concurrency: int | None = None,
                 providers: Providers | None = None, make_providers: Callable[[], Providers] | None = None,
                 targets: list[str] | None = None, restore: RunResult | None = None,
                 resume: dict[str, dict[str, Any]] | None = None,
                 price: Any = None, start: list[str] | None = None, only: list[str] | None = None,
                 pins: dict[str, dict[str, Any]] | None = None, budget: BudgetGuard | None = None) -> None:
        self.plan = plan
        self.run_id = run_id or (restore.run_id if restore else new_run_id())
        self.cache = cache
        self.listeners = list(listeners)
        self._providers = RunProviders(providers, make_providers)  # made when a node first asks
        self.price = price or _zero_price
        self.budget = budget if budget is not None else budget_for(plan, self.run_id)  # cost caps, if any
        n = len(plan.nodes)
        self.result = RunResult(run_id=self.run_id, flow=plan.name)
        self._raw_inputs = dict(inputs or {})
        self.given: dict[str, Any] = {}
        self._keys: list[str | None] = [None] * n
        self._outs: list[dict[str, Any] | None] = [None] * n
        self._recs: list[NodeRecord | None] = [None] * n
        self._remaining = [0] * n
        self._active = [False] * n
        self._targets, self._start, self._only, self._pins = targets, start, only, pins or {}
        self._sel = Selection(active=set())
        self._seeds: dict[str, NodeRecord] = {}
        self._restore, self._resume = restore, resume or {}
        cap = concurrency or plan.concurrency
        self._sem = asyncio.Semaphore(cap) if cap else None
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight = 0
        self._finished: asyncio.Future[None] | None = None
        self._inline: asyncio.Task[Any] | None = None
        self._cancelled = False

    @property
    def providers(self) -> Providers:
        """The run's providers (made when first asked for: see :class:`RunProviders`)."""
        return self._providers.get()

    # -- events ---------------------------------------------------------------------------------

    def subflow(self, plan: Plan, inputs: dict[str, Any]) -> Any:
        """Run another plan as part of a node of this run (sub-flows, loops, map): an awaitable result."""
        return Execution(plan, inputs=inputs, cache=self.cache, make_providers=self._providers.get,
                         price=self.price, budget=self.budget).run()

    def emit(self, kind: EventKind, node_id: str | None = None, data: dict[str, Any] | None = None) -> None:
        if not self.listeners:
            return
        ev = Event(kind, self.run_id, node_id, scrub(data) if data else {})
        for fn in self.listeners:
            fn(ev)

    # -- set-up ---------------------------------------------------------------------------------

    def _parse_inputs(self) -> None:
        plan = self.plan
        unknown = sorted(set(self._raw_inputs) - set(plan.inputs))
        if unknown:
            known = ", ".join(sorted(plan.inputs)) or "none"
            raise InputError(f"unknown graph input {unknown[0]!r} (inputs: {known})", field=unknown[0])
        for name, pn in plan.inputs.items():
            impl: Any = pn.impl
            if name in self._raw_inputs:
                try:
                    self.given[name] = impl.parse(self._raw_inputs[name])
                except InputError as exc:
                    exc.node = pn.id
                    raise
            elif impl.required and self._active[pn.idx] and not self._restored(pn.idx):
                raise InputError(f"missing graph input {name!r} (give it with --input {name}=...)",
                                 node=pn.id)
        self.result.inputs = dict(self.given)

    def _restored(self, i: int) -> bool:
        nid = self.plan.nodes[i].id
        if nid in self._seeds or nid in self._pins:
            return True
        r = self._restore
        if r is None:
            return False
        rec = r.nodes.get(nid)
        return rec is not None and rec.status in _FINISHED

    def _select(self) -> None:
        plan = self.plan
        if not (self._targets or self._start or self._only or self._pins):
            # Every node but the fallbacks runs, and fallbacks have no wired outputs, so each node
            # waits for all its predecessors: the plan's counts, with no per-run walk over bindings.
            self._active = [not pn.standby for pn in plan.nodes]
            self._remaining = [pn.npreds for pn in plan.nodes]
            return
        self._sel = sel = choose(plan, targets=self._targets, start=self._start, only=self._only,
                                 pinned=set(self._pins))
        for pn in plan.nodes:
            self._active[pn.idx] = not pn.standby and pn.idx in sel.active
        for pn in plan.nodes:
            if self._active[pn.idx]:
                self._remaining[pn.idx] = sum(1 for p in {b.src for b in pn.bindings} if self._active[p])

    def _preflight(self) -> None:
        """Let each node that will run (and its fallbacks) check what it needs, e.g. its API key.

        A node type may define ``preflight(providers)``; raising there stops the run before any node
        runs, so a missing key never surfaces after other nodes' calls have been paid for.
        """
        nodes = self.plan.nodes
        seen: set[int] = set()
        for idx in self.plan.preflight:
            pn = nodes[idx]
            if not self._active[pn.idx] or self._restored(pn.idx):
                continue
            for i in (pn.idx, *pn.fallbacks):
                hook = getattr(nodes[i].impl, "preflight", None)
                if hook is not None and i not in seen:
                    seen.add(i)
                    hook(self.providers)

    # -- the run --------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run to the end (succeeded, failed, paused or cancelled) and return the record."""
        with self._providers.run_scope():  # secrets managers' answers are kept for the run only
            return await self._run()

    async def _run(self) -> RunResult:
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        self._select()
        self._parse_inputs()
        self._seeds = seed(self.plan, self._sel, pins=self._pins, cache=self.cache, given=self.given)
        self._preflight()
        res = self.result
        res.started_at = time.time()
        self.emit("run_started", None, {"flow": self.plan.name, "inputs": sorted(self.given)})
        ready: list[int] = []
        if self._restore is not None or self._seeds:
            ready = self._apply_restore()
        else:
            ready = [pn.idx for pn in self.plan.nodes if self._active[pn.idx] and self._remaining[pn.idx] == 0]
        for i in ready[1:]:
            self._spawn(i)
        try:
            if ready:
                await self._drive_inline(ready[0])
            if self._inflight == 0 and not self._finished.done():
                self._finished.set_result(None)
            await self._finished
        except asyncio.CancelledError:
            await self._stop()
            self._finish("cancelled")
            raise
        if self._cancelled:
            await self._stop()
        self._tasks.clear()
        self._finish(None)
        return res

    async def _drive_inline(self, i: int) -> None:
        """Drive the first ready node in the task that called :meth:`run`, not in a new task.

        A chain (and every run's first node) then costs no task and no event-loop turn. ``cancel()``
        cancels this task too; that cancellation is ours, so it is absorbed here and the run ends as
        ``cancelled`` like any other. A cancellation from outside propagates.
        """
        me = asyncio.current_task()
        self._inflight += 1
        self._inline = me
        try:
            await self._drive(i)
        except asyncio.CancelledError:
            if not self._cancelled or me is None:
                raise
            uncancel = getattr(me, "uncancel", None)  # Python 3.11+: forget the request we made
            if uncancel is not None:
                uncancel()
        finally:
            self._inline = None

    def cancel(self) -> None:
        """Stop the run: running nodes are cancelled and the run ends as cancelled."""
        self._cancelled = True
        for t in self._tasks:
            if not t.done():
                t.cancel()
        inline = self._inline
        if inline is not None and not inline.done() and inline is not asyncio.current_task():
            inline.cancel()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    async def _stop(self) -> None:
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _finish(self, forced: str | None) -> None:
        res = self.result
        statuses = []
        for pn in self.plan.nodes:
            rec = self._recs[pn.idx]
            if rec is None:
                if not self._active[pn.idx]:
                    continue
                rec = self._record(pn)
            if rec.status in ("running", "queued") and (forced or self._cancelled):
                rec.status = "cancelled"
                rec.ended_at = rec.ended_at or time.time()
            statuses.append(rec.status)
        res.nodes = {pn.id: r for pn in self.plan.nodes if (r := self._recs[pn.idx]) is not None}
        if forced or self._cancelled:
            res.status = "cancelled"
            res.error = "run was cancelled"
        elif "failed" in statuses:
            res.status = "failed"
            first = next(r for r in res.nodes.values() if r.status == "failed")
            res.error = f"node {first.id!r}: {first.error['message'] if first.error else 'failed'}"
        elif "paused" in statuses:
            res.status = "paused"
        else:
            res.status = "succeeded"
        res.ended_at = time.time()
        if self.listeners:
            self.emit("run_finished", None, {"status": res.status, "duration": res.duration,
                                             "usage": res.usage, "cost": res.cost, "error": res.error})

    def node_record(self, node_id: str) -> NodeRecord | None:
        """The live record of one node (None before it was reached); run stores read it from events."""
        pn = self.plan.by_id.get(node_id)
        return None if pn is None else self._recs[pn.idx]

    def _record(self, pn: PlanNode) -> NodeRecord:
        rec = self._recs[pn.idx]
        if rec is None:
            rec = self._recs[pn.idx] = NodeRecord(pn.id, pn.spec.type)
        return rec

    def _spawn(self, i: int) -> None:
        self._inflight += 1
        # Finished tasks stay in the list until the run ends (no done-callback: one less loop hop per node).
        self._tasks.append(asyncio.get_running_loop().create_task(self._drive(i)))

    async def _drive(self, i: int | None) -> None:
        try:
            while i is not None:
                await self._execute(i)
                i = self._release(i)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # an engine bug: fail the run loudly rather than hang
            if self._finished is not None and not self._finished.done():
                self._finished.set_exception(exc)
            raise
        finally:
            self._inflight -= 1
            if self._inflight == 0 and self._finished is not None and not self._finished.done():
                self._finished.set_result(None)

    def _release(self, i: int) -> int | None:
        """Count node ``i`` as finished for its successors. Returns one ready successor to run inline."""
        if self._cancelled:
            return None
        rec = self._recs[i]
        if rec is not None and rec.status == "paused":
            return None  # successors wait for the resume
        nodes = self.plan.nodes
        stack = [i]
        carry: int | None = None
        while stack:
            j = stack.pop()
            for s in nodes[j].succs:
                if not self._active[s]:
                    continue
                self._remaining[s] -= 1
                if self._remaining[s]:
                    continue
                why = self._missing(nodes[s])
                if why is not None:
                    self._skip(nodes[s], why)
                    stack.append(s)
                elif carry is None:
                    carry = s
                else:
                    self._spawn(s)
        return carry

    def _missing(self, pn: PlanNode) -> str | None:
        """Why ``pn`` must be skipped, or None when it can run (the table in docs/control.md).

        An input is cut when its source failed, was skipped, or finished without that output (a
        branch route not taken, an approval's other outcome). A cut input skips the node whether the
        input is required or optional, unless the node is a join (``merge``, ``policy.join``); an
        optional graph input that was not given is just absent.
        """
        nodes = self.plan.nodes
        for b in pn.bindings:
            outs = self._outs[b.src]
            if outs is not None and b.src_port in outs:
                continue
            src = nodes[b.src]
            src_rec = self._recs[b.src]
            st = src_rec.status if src_rec is not None else "pending"
            cut = st not in ("done", "cached") or src.role != "input"
            required = pn.in_ports[b.port].required
            if not required and (pn.join or not cut):
                continue  # a join takes what arrived; an optional graph input may be left out
            if st == "failed":
                return f"upstream node {src.id!r} failed"
            if st == "skipped":
                return f"upstream node {src.id!r} was skipped"
            why = " (branch not taken or rejected)" if cut else ""
            return f"input {b.port!r}: {src.id}.{b.src_port} was not produced{why}"
        return None

    def _skip(self, pn: PlanNode, why: str) -> None:
        rec = self._record(pn)
        rec.status = "skipped"
        rec.reason = why
        self.emit("skipped", pn.id, {"reason": why})

    def _apply_restore(self) -> list[int]:
        """Mark nodes finished in the restored record, pinned nodes and seeded upstream nodes as
        finished; return the nodes ready to run."""
        old: dict[str, NodeRecord] = {}
        if self._restore is not None:
            old.update(self._restore.nodes)
            self.result.started_at = self._restore.started_at
            self.result.inputs = {**self._restore.inputs, **self.result.inputs}
            self.given = {**self._restore.inputs, **self.given}
        old.update(self._seeds)
        nodes = self.plan.nodes
        self.result.outputs = {}
        done: list[int] = []
        for pn in nodes:
            rec = old.get(pn.id)
            if pn.id in self._seeds and self.listeners:
                self.emit(rec.status, pn.id, {})  # type: ignore[union-attr, arg-type]
                self.emit("output", pn.id, {"outputs": value_to_json(rec.outputs, inline_media=False)})  # type: ignore[union-attr]
            if rec is not None and rec.status in _FINISHED and self._active[pn.idx]:
                self._recs[pn.idx] = rec
                self._outs[pn.idx] = rec.outputs or {}
                self._keys[pn.idx] = rec.key
                if pn.role == "output" and rec.outputs and "value" in rec.outputs:
                    self.result.outputs[pn.impl.output_name] = rec.outputs["value"]  # type: ignore[attr-defined]
                done.append(pn.idx)
        finished = set(done)
        for i in done:
            for s in nodes[i].succs:
                if self._active[s]:
                    self._remaining[s] -= 1
        # A node skipped here (its branch was not taken) counts as finished for its successors, as
        # in _release; otherwise a merge after a branch would wait forever on a resumed run.
        ready: list[int] = []
        todo = [pn.idx for pn in nodes
                if self._active[pn.idx] and pn.idx not in finished and self._remaining[pn.idx] == 0]
        while todo:
            i = todo.pop()
            if i in finished:
                continue
            finished.add(i)
            why = self._missing(nodes[i])
            if why is None:
                ready.append(i)
                continue
            self._skip(nodes[i], why)
            for s in nodes[i].succs:
                if self._active[s]:
                    self._remaining[s] -= 1
                    if self._remaining[s] == 0:
                        todo.append(s)
        ready.sort()  # plan order, as a fresh run starts them
        return ready

    # -- one node -------------------------------------------------------------------------------

    def _gather(self, pn: PlanNode) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        inputs: dict[str, Any] = {}
        keys: list[tuple[str, str]] = []
        outs = self._outs
        for b in pn.bindings:
            src_outs = outs[b.src]
            if src_outs is None or b.src_port not in src_outs:
                continue
            v = src_outs[b.src_port]
            inputs[b.port] = v if b.convert is None else b.convert(v)
            keys.append((b.port, f"{self._keys[b.src]}.{b.src_port}"))
        return inputs, keys

    async def _execute(self, i: int) -> None:
        pn = self.plan.nodes[i]
        rec = self._record(pn)
        inputs, in_keys = self._gather(pn)
        if pn.role == "input":
            name = pn.impl.input_name  # type: ignore[attr-defined]
            in_keys.append(("$input", value_key(self.given.get(name, pn.impl.default))))  # type: ignore[attr-defined]
        key = self._keys[i] = combine_key(pn.key_part, in_keys)
        rec.key = key
        cache = self.cache
        use_cache = cache is not None and pn.policy.cache and pn.impl.cacheable and pn.id not in self._resume
        if use_cache and i not in self._sel.fresh:
            hit = cache.get(key)  # type: ignore[union-attr]
            if hit is not None:
                self._outs[i] = hit
                rec.status = "cached"
                rec.outputs = hit
                rec.started_at = rec.ended_at = time.time()
                self._on_output(pn, hit, inputs)
                self.emit("cached", pn.id, {})
                return
        if self._sem is not None:
            rec.status = "queued"
            self.emit("node_queued", pn.id)
            async with self._sem:
                outs = await self._attempts(pn, rec, inputs)
        else:
            outs = await self._attempts(pn, rec, inputs)
        if outs is None:
            return
        self._outs[i] = outs
        if use_cache:
            cache.put(key, outs, flow=self.plan.name, node=pn.id)  # type: ignore[union-attr]
        self._on_output(pn, outs, inputs)

    def _on_output(self, pn: PlanNode, outs: dict[str, Any], inputs: dict[str, Any]) -> None:
        if pn.role == "output" and "value" in inputs:
            self.result.outputs[pn.impl.output_name] = inputs["value"]  # type: ignore[attr-defined]
            outs = {"value": inputs["value"]}
            self._outs[pn.idx] = outs
            self._recs[pn.idx].outputs = outs  # type: ignore[union-attr]
        if self.listeners:
            self.emit("output", pn.id, {"outputs": value_to_json(outs, inline_media=False)})
            rec = self._recs[pn.idx]
            self.emit("node_finished", pn.id, {"status": rec.status, "duration": rec.duration,  # type: ignore[union-attr]
                                               **_spent(rec)})

    async def _candidate(self, pn: PlanNode, cand: PlanNode, rec: NodeRecord, inputs: dict[str, Any],
                         ) -> tuple[dict[str, Any] | None, BaseException | None]:
        """Run ``cand`` (``pn`` or one of its fallbacks) with retries within its deadline.

        Returns ``(outputs, None)``, ``(None, error)`` after the last attempt, or ``(None, None)`` when
        the node paused.
        """
        pol = cand.policy
        retry = pol.retry
        loop = asyncio.get_running_loop()
        end = loop.time() + pol.deadline if pol.deadline is not None else None
        err: BaseException | None = None
        for attempt in range(1, retry.attempts + 1):
            timeout = pol.timeout
            if end is not None:
                left = end - loop.time()
                timeout = left if timeout is None else min(timeout, left)
            rec.attempts += 1
            if self.listeners:
                self.emit("node_started", pn.id, {"attempt": rec.attempts, "node": cand.id})
            ctx = NodeRunContext(self, pn.id, rec, attempt, self._resume.get(pn.id), pol)
            try:
                coro = cand.impl.run(inputs, ctx)
                if timeout is None:
                    outs = await coro
                elif sys.version_info >= (3, 11):
                    async with asyncio.timeout(timeout):
                        outs = await coro
                else:  # pragma: no cover - Python 3.10
                    outs = await asyncio.wait_for(coro, timeout)
                cand.check_outputs(outs)
                return scrub(outs), None  # nothing a node lets out carries a resolved secret
            except asyncio.CancelledError:
                rec.status = "cancelled"
                rec.ended_at = time.time()
                raise
            except Pause as p:
                rec.status = "paused"
                rec.reason = p.reason
                rec.pause = scrub(p.data)
                rec.ended_at = time.time()
                self.emit("paused", pn.id, {"reason": p.reason, **value_to_json(p.data, inline_media=False)})
                return None, None
            except Exception as exc:
                err = timed_out(exc, pol, end, loop.time()) if timeout is not None else exc
                rec.history.append({"node": cand.id, "attempt": attempt, "error": error_message(err),
                                    **({"status": err.status} if isinstance(err, NodeError)
                                       and err.status is not None else {})})
                if attempt >= retry.attempts or not is_retryable(err):
                    break
                delay = retry.delay(attempt, retry_after_of(err))
                beyond = beyond_deadline(err, delay, pol, end, loop.time())
                if beyond is not None:
                    err = beyond
                    rec.history.append({"node": cand.id, "attempt": attempt, "error": error_message(err)})
                    break
                self.emit("retry", pn.id, {"attempt": rec.attempts, "delay": round(delay, 3),
                                           "error": error_message(err)})
                await asyncio.sleep(delay)
        return None, err

    async def _attempts(self, pn: PlanNode, rec: NodeRecord, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """Run ``pn`` under its policies, then its fallbacks. Returns outputs, or None on failure/pause."""
        rec.status = "running"
        rec.started_at = time.time()
        candidates = (pn, *(self.plan.nodes[f] for f in pn.fallbacks)) if pn.fallbacks else (pn,)
        err: BaseException | None = None
        for n, cand in enumerate(candidates):
            if n:
                self.emit("fallback", pn.id, {"to": cand.id, "error": error_message(err) if err else ""})
                rec.history.append({"fallback": cand.id, "after": error_message(err) if err else ""})
            outs, err = await self._candidate(pn, cand, rec, inputs)
            if outs is not None:
                if n:
                    rec.fallback = cand.id
                rec.status = "done"
                rec.outputs = outs
                rec.ended_at = time.time()
                return outs
            if err is None:  # paused
                return None
        assert err is not None
        rec.status = "failed"
        rec.error = error_info(err, rec.attempts)
        rec.ended_at = time.time()
        self.emit("failed", pn.id, rec.error)
        self.emit("node_finished", pn.id, {"status": "failed", "duration": rec.duration, **_spent(rec)})
        return None


def _spent(rec: NodeRecord | None) -> dict[str, Any]:
    """The usage and cost part of a node_finished event (empty when the node called no provider)."""
    return {"usage": rec.usage, "cost": round(rec.cost, 8)} if rec is not None and rec.usage else {}


def _zero_price(entry: dict[str, Any]) -> float:
    return 0.0
