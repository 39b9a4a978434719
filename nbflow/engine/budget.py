"""Budgets: cost caps per run, per flow per UTC day and per server caller key per UTC day.

Caps come from the flow's ``defaults.budget`` and, for runs ``nbflow serve`` starts, from the server
configuration's ``budget`` (:func:`spending` hands them to the runs it starts, with the caller's key);
where both set a cap the lower one holds. Every provider call a node makes goes through a
:class:`BudgetedProvider`, which

1. before the call, prices the request with the estimator (:mod:`nbflow.providers.estimate`: real
   prompt sizes, output at ``max_tokens``) and *charges* that estimate to the run store's spend
   ledger for every scope at once (``run:<id>``, ``flow:<name>`` for today, ``key:<key>`` for today).
   The charge is one transaction that refuses when a scope would pass its cap, so two processes or
   replicas racing for the last of a budget never both pass;
2. after the call, charges the difference between the recorded cost (the response's usage at the
   price table's prices) and the estimate, unconditionally: a call that cost more than estimated
   takes its scope past the cap, and the next call is refused whatever its estimate.

A refused call stops the node (a :class:`BudgetError`, not retried; a fallback may still fit) or,
with ``on_exceed: "pause"``, pauses it for approval; an approval lets that node's calls pass on
resume, a rejection fails it. Without a run store the ledger is this process's memory.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbflow.exceptions import BudgetError
from nbflow.nodes.nodetype import Pause

if TYPE_CHECKING:  # the store and the estimator load only when a run has a budget
    from nbflow.model.spec import BudgetSpec
    from nbflow.store.runstore import RunStore, SpendRow

__all__ = ["BudgetGuard", "BudgetedProvider", "Caps", "budget_for", "caps_of", "day", "spending"]

#: What ``nbflow serve`` hands the runs it starts: (caller key, server budget).
_SCOPE: ContextVar[tuple[str | None, BudgetSpec | None] | None] = ContextVar("nbflow_budget_scope", default=None)
_LOCAL: dict[str, RunStore] = {}
#: What :meth:`BudgetGuard.reserve` charged, and to which (scope, period, cap) rows.
Charge = tuple[float, list[tuple[str, str, float | None]]]
_LOCAL_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Caps:
    """Resolved cost caps in USD (None: no cap) and what a run does at one."""

    run: float | None = None
    flow_day: float | None = None
    key_day: float | None = None
    on_exceed: str = "stop"

    @property
    def any(self) -> bool:
        return any(c is not None for c in (self.run, self.flow_day, self.key_day))


def caps_of(*specs: BudgetSpec | None) -> Caps:
    """Merge budget settings: each cap is the lowest one set; ``on_exceed`` the first one set."""
    given = [s for s in specs if s is not None]

    def low(name: str) -> float | None:
        vals = [getattr(s, name) for s in given if getattr(s, name) is not None]
        return min(vals) if vals else None

    on = next((s.on_exceed for s in given if s.on_exceed is not None), "stop")
    return Caps(run=low("run"), flow_day=low("flow_day"), key_day=low("key_day"), on_exceed=on)


def day(now: float | None = None) -> str:
    """The ledger period of a per-day cap: the UTC date, ``YYYY-MM-DD``."""
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() if now is None else now))


@contextlib.contextmanager
def spending(*, key: str | None = None, budget: BudgetSpec | None = None) -> Iterator[None]:
    """Runs started inside charge ``key`` (a server caller) and also obey ``budget`` (the server's)."""
    token = _SCOPE.set((key, budget))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def budget_for(plan: Any, run_id: str) -> BudgetGuard | None:
    """The guard of a run of ``plan`` (None when no cap applies to it)."""
    scope = _SCOPE.get()
    if scope is None and plan.budget is None:  # the common case costs one lookup
        return None
    key, server = scope or (None, None)
    caps = caps_of(plan.budget, server)
    if not caps.any:
        return None
    return BudgetGuard(caps, run_id=run_id, flow=plan.name, key=key)


def _local_ledger() -> RunStore:
    from nbflow.store.memory import MemoryStore

    with _LOCAL_LOCK:
        return _LOCAL.setdefault("ledger", MemoryStore())


class BudgetGuard:
    """Checks and charges one run's provider calls against its caps (shared by its sub-runs)."""

    def __init__(self, caps: Caps, *, run_id: str, flow: str, key: str | None = None,
                 store: RunStore | None = None) -> None:
        self.caps = caps
        self.run_id = run_id
        self.flow = flow
        self.key = key
        self.store = store

    @property
    def ledger(self) -> RunStore:
        """The run store the spend is kept in (this process's memory when the run has none)."""
        return self.store if self.store is not None and not self.store.closed else _local_ledger()

    def scopes(self) -> list[tuple[str, str, float | None]]:
        """(scope, period, cap) of every ledger row a call of this run charges."""
        c, today = self.caps, day()
        out: list[tuple[str, str, float | None]] = [(f"run:{self.run_id}", "", c.run),
                                                    (f"flow:{self.flow}", today, c.flow_day)]
        if self.key is not None:
            out.append((f"key:{self.key}", today, c.key_day))
        return out

    def reserve(self, estimate: float, *, node: str, approved: bool = False) -> Charge:
        """Charge ``estimate`` before a call; refuse (stop or pause) when a cap would be passed.

        ``approved``: the node was paused at a cap and a reviewer let it go on: charged, not checked.
        Returns what was charged where (to be settled after the call, on the same day's rows).
        """
        estimate = max(0.0, estimate)
        scopes = self.scopes()
        if approved:
            self.ledger.charge(estimate, scopes, check=False)
            return estimate, scopes
        refused = self.ledger.charge(estimate, scopes) if estimate else self._already_over(scopes)
        if refused is None:
            return estimate, scopes
        scope, _, spent, _ = refused
        cap = next(c for s, _, c in scopes if s == scope)
        assert cap is not None
        reason = self.reason(scope, cap, spent, estimate)
        data = {"budget": {"scope": scope, "cap": cap, "spent": round(spent, 8), "estimate": round(estimate, 8)}}
        if self.caps.on_exceed == "pause":
            raise Pause(reason, {**data, "prompt": f"node {node!r}: {reason}; approve to let it go on"})
        raise BudgetError(reason)

    def _already_over(self, scopes: list[tuple[str, str, float | None]]) -> SpendRow | None:
        """A call estimated at $0 (unpriced) passes unless a scope's recorded cost passed its cap."""
        led = self.ledger
        for scope, period, cap in scopes:
            if cap is not None and (spent := led.spent(scope, period)) > cap:
                return (scope, period, spent, cap)
        return None

    def settle(self, charged: Charge, cost: float) -> None:
        """After a call: charge the recorded ``cost`` in place of the estimate ``charged``."""
        amount, scopes = charged
        if cost != amount:
            self.ledger.charge(cost - amount, scopes, check=False)

    def reason(self, scope: str, cap: float, spent: float, estimate: float) -> str:
        """One line naming the cap and the spend (the run's error and the approval name the node)."""
        kind, _, name = scope.partition(":")
        what = {"run": f"run {name!r}", "flow": f"flow {name!r} today (UTC)",
                "key": f"caller key {name!r} today (UTC)"}[kind]
        label = {"run": "per-run", "flow": "per-flow-per-day", "key": "per-key-per-day"}[kind]
        if spent > cap:
            return (f"budget: the {label} cap of ${cap:.4f} was passed by recorded cost (spent ${spent:.4f} "
                    f"for {what}); no further provider call")
        return (f"budget: a call estimated at ${estimate:.4f} would pass the {label} cap of ${cap:.4f} "
                f"(spent ${spent:.4f} for {what})")


class BudgetedProvider:
    """A provider whose every call is checked and charged by a :class:`BudgetGuard` first."""

    def __init__(self, inner: Any, guard: BudgetGuard, *, node: str, price: Any, resume: Any = None) -> None:
        self._inner = inner
        self._guard = guard
        self._node = node
        self._price = price
        self._resume = resume if isinstance(resume, dict) else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<BudgetedProvider {self._inner!r}>"

    async def chat(self, req: Any, **kw: Any) -> Any:
        return await self._call("chat", req, **kw)

    async def image(self, req: Any, **kw: Any) -> Any:
        return await self._call("image", req, **kw)

    async def speech(self, req: Any, **kw: Any) -> Any:
        return await self._call("speech", req, **kw)

    async def video(self, req: Any, **kw: Any) -> Any:
        return await self._call("video", req, **kw)

    async def _call(self, method: str, req: Any, **kw: Any) -> Any:
        from nbflow.providers.estimate import EstimatingProvider

        name = getattr(self._inner, "name", "") or ""
        try:
            est: Any = await getattr(EstimatingProvider(name), method)(req)
        except Exception:  # a request the estimator cannot size is checked by recorded cost only
            est = None
        approved = False
        if self._resume is not None and "approved" in self._resume:
            if not self._resume["approved"]:
                raise BudgetError("budget: a reviewer rejected the call over the cap")
            approved = True
        charged = self._guard.reserve(self._cost(name, est), node=self._node, approved=approved)
        try:
            resp = await getattr(self._inner, method)(req, **kw)
        except BaseException:
            self._guard.settle(charged, 0.0)  # a failed call is not billed (a retry charges anew)
            raise
        self._guard.settle(charged, self._cost(name, resp))
        return resp

    def _cost(self, name: str, resp: Any) -> float:
        """USD of a response's usage, priced as ``ctx.add_usage`` prices it."""
        if resp is None:
            return 0.0
        usage = getattr(resp, "usage", None)
        entry: dict[str, Any] = {"provider": getattr(resp, "provider", None) or name,
                                 "model": getattr(resp, "model", "") or ""}
        if usage is not None:
            entry.update(usage.to_json())
        images = getattr(resp, "images", None)
        if images:
            entry["images"] = len(images)
        return float(self._price(entry))
