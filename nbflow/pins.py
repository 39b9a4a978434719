"""Pinned outputs: a node's outputs saved in the flow file and used instead of running it.

A pin keeps the node's outputs as JSON (media inline as base64, or by reference to a blob in a disk
cache) and the node's key at pinning time: the hash of its type, params and everything upstream of
it (types, params, wiring, graph input defaults). When that key changes the pin is *stale*: the node
would now compute something else. Graph input values given at run time are not part of it: a pin
stands for its node whatever the run's inputs.

Headless runs ignore pins unless asked (``use_pins=True``, ``nbflow run --use-pins``); the canvas
uses them, since it shows them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from nbflow.engine.diskcache import DiskCache
from nbflow.engine.select import PinnedOutputs, static_keys
from nbflow.exceptions import FlowError
from nbflow.model.spec import PinSpec
from nbflow.store.codec import dump_value, load_value

if TYPE_CHECKING:
    from nbflow.engine.cache import Cache

#: The API object (:class:`nbflow.Flow`, a layer above this module): typed loosely so pins never
#: import it.
Flow = Any

__all__ = ["MediaMode", "check_pins", "make_pin", "pin_states", "pin_values", "preview_run"]

MediaMode = Literal["inline", "cache"]


def _sorted(value: Any) -> Any:
    """JSON with sorted keys at every level, so a pinned value saves to the same bytes every time."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def structure_key(flow: Flow, node_id: str) -> str:
    """The key a pin of ``node_id`` records (see the module docstring)."""
    plan = flow.validate()
    return static_keys(plan)[plan.by_id[node_id].idx]


def make_pin(flow: Flow, node_id: str, value: dict[str, Any] | None, *, media: MediaMode,
             cache: Cache | None) -> PinSpec:
    """The pin of ``node_id``: ``value`` (output port -> value) or the node's output in the last run."""
    plan = flow.validate()
    pn = plan.by_id.get(node_id)
    if pn is None:
        raise FlowError("no such node", node=node_id)
    if value is None:
        last = flow.last_result
        rec = last.nodes.get(node_id) if last is not None else None
        if rec is None or rec.outputs is None or rec.status not in ("done", "cached", "pinned"):
            raise FlowError("has no output to pin yet: run it first, or pass value={port: value}",
                            node=node_id)
        if flow.ran_keys.get(node_id) != structure_key(flow, node_id):
            raise FlowError("changed since its last run: run it again before pinning its output",
                            node=node_id)
        value = dict(rec.outputs)
        output_key = rec.key
    else:
        output_key = None
    if not isinstance(value, dict):
        value = {next(iter(pn.out_ports), "value"): value} if len(pn.out_ports) == 1 else value
    if not isinstance(value, dict):
        raise FlowError(f"pin value must be a dict of output port -> value (outputs: "
                        f"{', '.join(pn.out_ports)})", node=node_id)
    unknown = sorted(set(value) - set(pn.out_ports))
    if unknown:
        raise FlowError(f"cannot pin output {unknown[0]!r}: {pn.spec.type} has outputs "
                        f"{', '.join(pn.out_ports) or 'none'}", node=node_id)
    if media == "cache":
        if not isinstance(cache, DiskCache):
            raise FlowError("media pinned by reference need a disk cache: pass cache=nbflow.DiskCache(...) "
                            "or call nbflow.use_cache()", node=node_id)
        refs: set[str] = set()
        data = dump_value(value, cache.add_blob, refs)
    elif media == "inline":
        from nbflow.model.record import value_to_json

        data = value_to_json(value, inline_media=True)
    else:
        raise FlowError(f"media must be 'inline' or 'cache', not {media!r}", node=node_id)
    try:
        outputs = _sorted(json.loads(json.dumps(data, allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise FlowError(f"pinned value is not JSON: {exc}", node=node_id) from None
    return PinSpec(key=structure_key(flow, node_id), outputs=outputs, output_key=output_key)


def pin_values(flow: Flow, cache: Cache | None) -> dict[str, dict[str, Any]]:
    """Node id -> pinned outputs as run values (media loaded inline or from the cache's blobs)."""
    out: dict[str, dict[str, Any]] = {}
    for node_id, pin in flow.spec.pins.items():

        def blob(sha: str, node_id: str = node_id) -> bytes:
            data = cache.blob(sha) if isinstance(cache, DiskCache) else None
            if data is None:
                where = f"the cache in {str(cache.path)!r}" if isinstance(cache, DiskCache) else "a disk cache"
                raise FlowError(f"pinned media {sha[:12]}... is not in {where}: pin it again with "
                                "media='inline', or run with the cache that holds it", node=node_id)
            return data

        values = PinnedOutputs(load_value(pin.outputs, blob))
        values.key = pin.output_key
        out[node_id] = values
        for port, v in values.items():
            if isinstance(v, dict) and "$media" in v:  # malformed media object: say which pin
                raise FlowError(f"pins.{node_id}.outputs.{port}: media needs data_base64, url or blob",
                                node=node_id)
    return out


def check_pins(flow: Flow) -> None:
    """Every pin names an existing node and only its output ports."""
    plan = flow.validate()
    for node_id, pin in flow.spec.pins.items():
        pn = plan.by_id.get(node_id)
        if pn is None:
            raise FlowError(f"pins: no node {node_id!r}", node=node_id, field="pins")
        unknown = sorted(set(pin.outputs) - set(pn.out_ports))
        if unknown:
            raise FlowError(f"pins.{node_id}: {pn.spec.type} has no output {unknown[0]!r}", node=node_id,
                            field="pins")


def pin_states(flow: Flow) -> dict[str, str]:
    """Node id -> ``"ok"`` or ``"stale"`` (its type, params or upstream changed since pinning)."""
    plan = flow.validate()
    keys = static_keys(plan)
    return {nid: ("ok" if keys[plan.by_id[nid].idx] == pin.key else "stale")
            for nid, pin in flow.spec.pins.items() if nid in plan.by_id}


def preview_run(flow: Flow, raw: dict[str, Any], *, cache: Cache | None, use_pins: bool,
                targets: list[str] | None, start: list[str] | None, only: list[str] | None) -> dict[str, str]:
    """:meth:`Flow.preview`: per node what a run would do (graph inputs parsed as a run parses them)."""
    from nbflow.engine.select import preview

    plan = flow.validate()
    given = {name: plan.inputs[name].impl.parse(v)
             for name, v in raw.items() if name in plan.inputs}
    pins = pin_values(flow, cache) if use_pins and flow.spec.pins else {}
    return preview(plan, given=given, cache=cache, pins=pins, targets=targets, start=start, only=only)
