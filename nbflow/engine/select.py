"""Which nodes a run runs: all, up to targets, from a node on, only some; pins and cached upstream.

A run normally runs every node. It can be narrowed:

- ``targets``: only what the target nodes need ("up to here");
- ``start``: the start nodes and everything downstream of them ("run from here");
- ``only``: exactly these nodes ("run only this").

For ``start`` and ``only`` the nodes outside the chosen region that feed it (its *frontier*) are not
run: their outputs come from a pin or from the cache, looked up by the key a full run would give them,
and a frontier node with neither is named in a clear error. The region runs fresh (cache reads
bypassed, writes kept), since re-running it is the point.

A pinned node (with ``use_pins``) is not run either: it gives its pinned outputs, and nodes upstream of
it run only when something else needs them. Its key is the key of the pinned value, so downstream
cache entries made from a pin never mix with those made from a real run.

Keys here are the keys the scheduler computes as it goes (see :mod:`nbflow.engine.cache`), computed
ahead of the run in one pass over a topological order: linear, no recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nbflow.engine.cache import Cache, combine_key, value_key
from nbflow.engine.plan import Plan
from nbflow.exceptions import FlowError
from nbflow.model.record import NodeRecord, value_to_json

__all__ = ["PinnedOutputs", "Selection", "choose", "pin_key", "seed", "static_keys", "topo_order"]


@dataclass(slots=True)
class Selection:
    """What a run will do: ``active[i]`` runs or is seeded; ``fresh`` nodes bypass cache reads."""

    active: set[int]
    region: set[int] | None = None
    fresh: set[int] = field(default_factory=set)


def topo_order(plan: Plan) -> list[int]:
    """Node indices so that every node comes after the nodes it takes inputs from (Kahn)."""
    nodes = plan.nodes
    remaining = [pn.npreds for pn in nodes]
    ready = [pn.idx for pn in nodes if remaining[pn.idx] == 0]
    ready.reverse()
    order: list[int] = []
    while ready:
        i = ready.pop()
        order.append(i)
        for s in nodes[i].succs:
            remaining[s] -= 1
            if remaining[s] == 0:
                ready.append(s)
    return order


class PinnedOutputs(dict[str, Any]):
    """A pin's outputs, knowing the key they were cached under when the pin took a run's output.

    Dependents of a pin that holds exactly what a run produced keep that run's keys, so pinning a
    node's last output invalidates nothing downstream; a value written by hand gets its own key.
    """

    key: str | None = None


def pin_key(outputs: dict[str, Any]) -> str:
    """The key a pinned node gives its dependents: the run key it was pinned from, else the key of
    the pinned value itself."""
    known = getattr(outputs, "key", None)
    return known or value_key({"$pin": value_to_json(outputs, inline_media=False)})


def static_keys(plan: Plan, given: dict[str, Any] | None = None,
                pinned: dict[int, str] | None = None) -> list[str]:
    """Every node's cache key for a run with graph inputs ``given`` (defaults for the rest).

    ``pinned`` maps node index -> key for nodes that give a pinned value. With ``given=None`` and no
    pins, the result depends only on the flow (types, params, wiring, input defaults): the key a pin
    records to tell when it became stale.
    """
    given = given or {}
    pinned = pinned or {}
    keys = [""] * len(plan.nodes)
    for i in topo_order(plan):
        pn = plan.nodes[i]
        if i in pinned:
            keys[i] = pinned[i]
            continue
        in_keys = [(b.port, f"{keys[b.src]}.{b.src_port}") for b in pn.bindings]
        if pn.role == "input":
            impl: Any = pn.impl
            in_keys.append(("$input", value_key(given.get(impl.input_name, impl.default))))
        keys[i] = combine_key(pn.key_part, in_keys)
    return keys


def _idx(plan: Plan, ids: list[str], what: str) -> list[int]:
    out = []
    for nid in ids:
        pn = plan.by_id.get(nid)
        if pn is None:
            known = ", ".join(sorted(plan.by_id)) or "none"
            raise FlowError(f"{what}: no node {nid!r} (nodes: {known})", node=nid)
        if pn.standby:
            raise FlowError(f"{what}: {nid!r} is a fallback node; name its primary node", node=nid)
        out.append(pn.idx)
    return out


def _upstream(plan: Plan, roots: list[int], stop: set[int]) -> set[int]:
    """``roots`` and what they depend on, not looking past nodes in ``stop`` (pins)."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        if i not in stop:
            stack.extend(b.src for b in plan.nodes[i].bindings)
    return seen


def _downstream(plan: Plan, roots: list[int]) -> set[int]:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(plan.nodes[i].succs)
    return seen


def choose(plan: Plan, *, targets: list[str] | None = None, start: list[str] | None = None,
           only: list[str] | None = None, pinned: set[str] = frozenset()) -> Selection:  # type: ignore[assignment]
    """The nodes a run takes part in, before inputs are known."""
    if start and only:
        raise FlowError("give either start (run from here) or only (run only these), not both")
    stop = {plan.by_id[n].idx for n in pinned if n in plan.by_id}
    if targets:
        wanted = _upstream(plan, _idx(plan, targets, "targets"), stop)
    else:
        sinks = [pn.idx for pn in plan.nodes if not pn.standby and not pn.succs]
        wanted = _upstream(plan, sinks, stop)
    if not (start or only):
        return Selection(active=wanted)
    if only:
        region = set(_idx(plan, only, "only"))
    else:
        region = _downstream(plan, _idx(plan, start or [], "start"))
        if targets:
            region &= wanted
    region = {i for i in region if i not in stop and not plan.nodes[i].standby}
    frontier = {b.src for i in region for b in plan.nodes[i].bindings if b.src not in region}
    return Selection(active=region | frontier, region=region, fresh=set(region))


def seed(plan: Plan, sel: Selection, *, pins: dict[str, dict[str, Any]], cache: Cache | None,
         given: dict[str, Any]) -> dict[str, NodeRecord]:
    """Records of the nodes that give their outputs without running: pinned ones and a region's
    frontier (from the cache). Raises FlowError naming the first frontier output that is missing."""
    pinned = {plan.by_id[n].idx: pin_key(v) for n, v in pins.items() if n in plan.by_id}
    out: dict[str, NodeRecord] = {}
    for i, key in pinned.items():
        if i in sel.active:
            pn = plan.nodes[i]
            out[pn.id] = NodeRecord(pn.id, pn.spec.type, status="pinned", outputs=dict(pins[pn.id]), key=key)
    if sel.region is None:
        return out
    keys: list[str] | None = None
    for i in sorted(sel.active - sel.region):
        pn = plan.nodes[i]
        if pn.id in out:
            continue
        if keys is None:
            keys = static_keys(plan, given, pinned)
        hit = cache.get(keys[i]) if cache is not None else None
        if hit is None:
            user = next(plan.nodes[j] for j in sorted(sel.region)
                        for b in plan.nodes[j].bindings if b.src == i)
            port = next(b for b in user.bindings if b.src == i)
            why = ("this run uses no cache to take it from (--cache on the command line, cache=... in Python)"
                   if cache is None else "it is neither cached nor pinned")
            raise FlowError(f"{user.id}.{port.port} needs the output {pn.id}.{port.src_port}, but {why}: "
                            f"run the flow (or up to {pn.id!r}) first, or pin {pn.id!r}", node=pn.id)
        out[pn.id] = NodeRecord(pn.id, pn.spec.type, status="cached", outputs=hit, key=keys[i])
    return out


def preview(plan: Plan, *, given: dict[str, Any], cache: Cache | None, pins: dict[str, dict[str, Any]],
            targets: list[str] | None = None, start: list[str] | None = None,
            only: list[str] | None = None) -> dict[str, str]:
    """Node id -> what a run would do with it, running nothing: ``run``, ``cached``, ``pinned``,
    ``missing`` (a region's upstream output that is neither cached nor pinned) or ``idle``."""
    sel = choose(plan, targets=targets, start=start, only=only, pinned=set(pins))
    pinned = {plan.by_id[n].idx: pin_key(v) for n, v in pins.items() if n in plan.by_id}
    keys = static_keys(plan, given, pinned)
    has = getattr(cache, "contains", None)

    def cached(i: int) -> bool:
        if cache is None:
            return False
        return bool(has(keys[i])) if has is not None else cache.get(keys[i]) is not None

    out: dict[str, str] = {}
    for pn in plan.nodes:
        i = pn.idx
        if i not in sel.active or pn.standby:
            out[pn.id] = "idle"
        elif i in pinned:
            out[pn.id] = "pinned"
        elif sel.region is not None and i not in sel.region:
            out[pn.id] = "cached" if cached(i) else "missing"
        elif i not in sel.fresh and pn.policy.cache and pn.impl.cacheable and cached(i):
            out[pn.id] = "cached"
        else:
            out[pn.id] = "run"
    return out
