"""Which input of a ``map`` node is iterated, and which are passed unchanged to every item.

The engine models the choice as the map's ``item_input`` param: the body input that receives each
element of the map's ``items`` list; every other body input is a port of the map whose one value every
item gets (broadcast). The canvas offers the choice twice: when grouping nodes into a map (which wire
coming in carries the item: :func:`item_candidates`) and afterwards in the map's Params tab
(:func:`set_map_item`, which rewires so the choice means what it says). Plain Python, no Jupyter import.
"""

from __future__ import annotations

from typing import Any

from nbflow.engine.plan import make_node
from nbflow.exceptions import FlowError, NbflowError, WiringError
from nbflow.flow import Flow
from nbflow.model.spec import parse_ref
from nbflow.model.types import element_type
from nbflow.nodes.control_subflow import flow_context

__all__ = ["item_candidates", "item_choice", "map_inputs", "set_map_item", "set_param", "source_type"]


def source_type(flow: Flow, ports: Any, ref: str) -> str:
    """The port type of output ``ref`` (``"node.port"``); ``any`` when unknown."""
    n, p = parse_ref(ref)
    port = ports.ports(flow.node(n))[1].get(p)
    return port.type if port is not None else "any"


def item_candidates(flow: Flow, ids: list[str], ports: Any) -> list[tuple[str, str]]:
    """The outside outputs wired into nodes ``ids`` as ``(ref, type)``: the ones giving a list first
    (the likely thing to map over), then in the flow's edge order. The first is the default item."""
    keep = set(ids)
    seen: dict[str, str] = {}
    for a, b in flow.edges:
        if parse_ref(a)[0] not in keep and parse_ref(b)[0] in keep and a not in seen:
            seen[a] = source_type(flow, ports, a)
    return sorted(seen.items(), key=lambda kv: element_type(kv[1]) is None)


def map_inputs(flow: Flow, node_id: str) -> tuple[str, list[str]]:
    """``(item input, every body input)`` of map ``node_id``; FlowError when its body cannot tell."""
    spec = flow.node(node_id)
    if spec.type != "map":
        raise FlowError(f"{spec.type} nodes have no item input", node=node_id)
    try:
        with flow_context(flow.source):
            impl: Any = make_node(spec, flow.registry)
        return impl.item_name(), list(impl.ref.input_ports())
    except (NbflowError, ValueError) as exc:
        raise FlowError(f"cannot read the map's body: {exc}", node=node_id) from None


def _held(flow: Flow, node_id: str, items: str | None) -> tuple[str, str | None] | None:
    """``(list node, what it holds)`` when ``items`` comes from a one-item ``list`` node that feeds only
    this map (what grouping into a map makes); None otherwise."""
    if items is None:
        return None
    wrap = parse_ref(items)[0]
    spec = flow.node(wrap)
    if spec.type != "list" or spec.params.get("count") != 1:
        return None
    if any(parse_ref(a)[0] == wrap and b != f"{node_id}.items" for a, b in flow.edges):
        return None
    return wrap, next((a for a, b in flow.edges if b == f"{wrap}.in1"), None)


def set_map_item(flow: Flow, node_id: str, name: str | None, ports: Any) -> str:
    """Make body input ``name`` (None: the map's default) receive each item of map ``node_id``.

    The wire that fed ``name`` now carries the items: a list goes straight into ``items``; another
    value goes into the one-item ``list`` node feeding ``items`` (so the flow gives the same results),
    and without such a node it is refused (``map.items takes a list, but x.value gives text``). What
    carried the items before goes to the input that received them, now passed to every item.
    Returns what happened, for the message line. Run it as one undo step: on error the caller restores.
    """
    old, names = map_inputs(flow, node_id)
    new = name
    if new is None:
        flow.set_params(node_id, item_input=None)
        new = map_inputs(flow, node_id)[0]
    if new not in names:
        raise FlowError(f"{new!r} is not an input of the map's body (inputs: {', '.join(names)})",
                        node=node_id, field="item_input")
    if new == old:
        return f"each item of {node_id} goes to '{old}' already"
    feeds = {b: a for a, b in flow.edges}
    src, items = feeds.get(f"{node_id}.{new}"), feeds.get(f"{node_id}.items")
    held = _held(flow, node_id, items)
    if src is not None:
        flow.disconnect(f"{node_id}.{new}", src)
    flow.set_params(node_id, item_input=new)
    if src is None:
        return f"{node_id}: each item goes to '{new}'; wire {node_id}.{old} (now passed to every item)"
    back = items
    if held is not None and element_type(source_type(flow, ports, src)) is None:
        wrap, back = held  # a single value: the one-item list now holds it instead
        if back is not None:
            flow.disconnect(f"{wrap}.in1", back)
        flow.connect(src, f"{wrap}.in1")
    else:
        if items is not None:
            flow.disconnect(f"{node_id}.items", items)
        flow.connect(src, f"{node_id}.items")  # refused when src is known not to give a list
        if held is not None:
            flow.remove(held[0])
            back = held[1]
    if back is None:
        return f"{node_id} maps over {src}; wire {node_id}.{old} (now passed to every item)"
    try:
        flow.connect(back, f"{node_id}.{old}")
    except WiringError as exc:
        return f"{node_id} maps over {src}; {back} could not feed '{old}' ({exc.message}): wire it"
    return f"{node_id} maps over {src} (each item goes to '{new}'); {back} goes to every item as '{old}'"


def item_choice(flow: Flow, node_id: str) -> tuple[str | None, list[str] | None]:
    """The Params tab's choice for a map's ``item_input``: ``(current, body inputs)``, Nones when unknown."""
    try:
        item, names = map_inputs(flow, node_id)
    except NbflowError:
        return None, None
    return item, names


def set_param(vm: Any, node_id: str, name: str, value: Any) -> str | None:
    """Set one params field from the Params tab as one undo step of view model ``vm``; choosing a map's
    ``item_input`` rewires it (:func:`set_map_item`) and returns what happened."""
    if name == "item_input" and vm.flow.node(node_id).type == "map":
        said: str = vm.edit(f"map {node_id} over '{value or 'default'}'",
                            lambda: set_map_item(vm.flow, node_id, value or None, vm.ports))
        return said
    vm.set_params(node_id, **{name: value})
    return None
