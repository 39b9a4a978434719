"""Incremental checks for a flow being edited: ``Flow.add``/``connect`` check only what they change.

Compiling a whole flow on every edit made building an n-node flow O(n²). :class:`WiringIndex` keeps
what the edge rules need (node ids, each node's ports, which inputs are wired, fallback nodes) plus a
topological order maintained on each new edge (Pearce and Kelly's dynamic topological sort), so a new
edge costs O(1) when it follows the order nodes were added in, and otherwise only the nodes between
its two ends. The rules and messages are those of :func:`~nbflow.engine.plan.compile_flow`; a full
compile still runs before every run (``Flow.validate``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from nbflow.exceptions import CycleError, ParamError, WiringError
from nbflow.model.spec import FlowSpec, NodeSpec, parse_ref
from nbflow.model.types import coercion
from nbflow.nodes.nodetype import NodeType, Port
from nbflow.nodes.registry import Registry

from .plan import make_node

__all__ = ["WiringIndex"]

Ports = tuple[dict[str, Port], dict[str, Port]]
Ends = tuple[str, str, str]  # source node, target node, target port


def node_ports(impl: NodeType, node_id: str) -> Ports:
    """``(inputs, outputs)`` of a node instance; a ParamError naming the node when they cannot be computed."""
    try:
        return impl.input_ports(), impl.output_ports()
    except (ValueError, TypeError) as exc:
        raise ParamError(f"cannot compute ports: {exc}", node=node_id) from None


class WiringIndex:
    """What the edge rules need to know about a flow, kept up to date edit by edit.

    Built from a spec in O(nodes + edges); ``stale(spec)`` tells when the spec's lists were replaced or
    changed behind the index's back (then the owner builds a new one). Raises nothing on build: a spec
    with a cycle simply gives an index whose ``ordered`` is False.
    """

    def __init__(self, spec: FlowSpec, registry: Registry,
                 context: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext) -> None:
        self.registry = registry
        self.context = context  # entered to make a node instance (sub-flow paths resolve in it)
        self.pos: dict[str, int] = {}
        self.impls: dict[str, NodeType] = {}
        self.ports: dict[str, Ports] = {}
        self.suffix: dict[str, int] = {}
        self.wired: dict[str, set[str]] = {}
        self.succs: dict[str, set[str]] = {}
        self.preds: dict[str, set[str]] = {}
        self.standby: set[str] = set()
        for i, ns in enumerate(spec.nodes):
            self.pos.setdefault(ns.id, i)
            if ns.policy and ns.policy.fallback:
                self.standby.update(ns.policy.fallback)
        for e in spec.edges:
            a, b = parse_ref(e.from_)[0], parse_ref(e.to)[0]
            self.wired.setdefault(b, set()).add(parse_ref(e.to)[1])
            self.succs.setdefault(a, set()).add(b)
            self.preds.setdefault(b, set()).add(a)
        self.ord: dict[str, int] = {}
        self.ordered = self._initial_order()
        self._key = self._snapshot(spec)

    @staticmethod
    def _snapshot(spec: FlowSpec) -> tuple[int, ...]:
        return (id(spec), id(spec.nodes), len(spec.nodes), id(spec.edges), len(spec.edges))

    def stale(self, spec: FlowSpec) -> bool:
        """Whether ``spec`` changed in a way the index did not see."""
        return self._snapshot(spec) != self._key

    def _initial_order(self) -> bool:
        """Kahn's algorithm over the current edges; False when they hold a cycle."""
        remaining = {nid: len(self.preds.get(nid, ())) for nid in self.pos}
        ready = [nid for nid, k in remaining.items() if k == 0]
        while ready:
            nid = ready.pop()
            self.ord[nid] = len(self.ord)
            for s in self.succs.get(nid, ()):
                if s in remaining:
                    remaining[s] -= 1
                    if remaining[s] == 0:
                        ready.append(s)
        return len(self.ord) == len(self.pos)

    # -- edits ------------------------------------------------------------------------------------

    def added(self, spec: FlowSpec, node: NodeSpec, impl: NodeType) -> None:
        """Record a node just appended to ``spec.nodes``, with its validated instance."""
        self.pos[node.id] = len(spec.nodes) - 1
        self.impls[node.id] = impl
        self.ord[node.id] = len(self.ord)
        if node.policy and node.policy.fallback:
            self.standby.update(node.policy.fallback)
        self._key = self._snapshot(spec)

    def check_edge(self, spec: FlowSpec, src_ref: str, dst_ref: str) -> Ends:
        """Raise the error ``compile_flow`` would give for a new edge ``src_ref -> dst_ref``.

        Returns the edge's ends, parsed, for :meth:`connected`.
        """
        src_id, src_port = parse_ref(src_ref)
        dst_id, dst_port = parse_ref(dst_ref)
        edge = f"edge {src_ref} -> {dst_ref}"
        for nid in (src_id, dst_id):
            if nid not in self.pos:
                raise WiringError(f"{edge}: no node {nid!r}", node=nid)
        src_ns, dst_ns = spec.nodes[self.pos[src_id]], spec.nodes[self.pos[dst_id]]
        outs = self._ports(src_ns)[1]
        ins = self._ports(dst_ns)[0]
        if src_port not in outs:
            have = ", ".join(outs) or "none"
            raise WiringError(f"{edge}: {src_ns.type} has no output {src_port!r} (outputs: {have})",
                              node=src_id, port=src_port)
        if dst_port not in ins:
            have = ", ".join(ins) or "none"
            raise WiringError(f"{edge}: {dst_ns.type} has no input {dst_port!r} (inputs: {have})",
                              node=dst_id, port=dst_port)
        if dst_port in self.wired.get(dst_id, ()):
            src = next(e.from_ for e in spec.edges if e.to == dst_ref)
            raise WiringError(f"input already wired from {src}; an input takes one edge", node=dst_id, port=dst_port)
        st, dt = outs[src_port].type, ins[dst_port].type
        if coercion(st, dt) is None:
            raise WiringError(f"type mismatch: {src_ref} is {st} but {dst_ref} takes {dt}", node=dst_id, port=dst_port)
        if ins[dst_port].refuses(st):
            raise WiringError(f"{dst_ref} takes a list, but {src_ref} gives {st}", node=dst_id, port=dst_port)
        if dst_id in self.standby:
            primary = next(n.id for n in spec.nodes if n.policy and n.policy.fallback and dst_id in n.policy.fallback)
            raise WiringError(f"fallback node {dst_id!r} must have no wired inputs (it takes {primary!r}'s)",
                              node=primary, field="policy.fallback")
        if src_id in self.standby:
            raise WiringError("a fallback node's outputs cannot be wired; wire the primary node", node=src_id)
        self._check_order(spec, src_id, dst_id)
        return src_id, dst_id, dst_port

    def forget(self, node_id: str) -> None:
        """Drop what is known of a node's ports (its params changed)."""
        self.impls.pop(node_id, None)
        self.ports.pop(node_id, None)

    def new_id(self, base: str) -> str:
        """``base_1``, ``base_2``, ... : the first free one, remembering where the last search ended."""
        i = self.suffix.get(base, 1)
        while f"{base}_{i}" in self.pos:
            i += 1
        self.suffix[base] = i + 1
        return f"{base}_{i}"

    def connected(self, spec: FlowSpec, ends: Ends) -> None:
        """Record an edge just appended to ``spec.edges`` (``ends`` from :meth:`check_edge`)."""
        src_id, dst_id, dst_port = ends
        self.wired.setdefault(dst_id, set()).add(dst_port)
        self.succs.setdefault(src_id, set()).add(dst_id)
        self.preds.setdefault(dst_id, set()).add(src_id)
        self._key = self._snapshot(spec)

    # -- helpers ----------------------------------------------------------------------------------

    def _ports(self, ns: NodeSpec) -> Ports:
        ports = self.ports.get(ns.id)
        if ports is None:
            impl = self.impls.get(ns.id)
            with self.context():
                if impl is None:
                    impl = self.impls[ns.id] = make_node(ns, self.registry)
                ports = self.ports[ns.id] = node_ports(impl, ns.id)
        return ports

    def _check_order(self, spec: FlowSpec, x: str, y: str) -> None:
        """Refuse ``x -> y`` when ``y`` already reaches ``x``; otherwise keep ``ord`` topological.

        Pearce-Kelly: only when ``ord[y] < ord[x]`` is there work, and it touches only the nodes whose
        order lies between the two ends.
        """
        if x == y:
            self._cycle(spec, [x])
        lo, hi = self.ord[y], self.ord[x]
        if lo > hi:
            return
        forward: list[str] = []
        parent: dict[str, str | None] = {y: None}
        stack = [y]
        while stack:
            n = stack.pop()
            forward.append(n)
            for s in self.succs.get(n, ()):
                if s == x:
                    path = [n]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])  # type: ignore[arg-type]
                    self._cycle(spec, [x, *reversed(path)])
                if s not in parent and self.ord[s] < hi:
                    parent[s] = n
                    stack.append(s)
        backward: list[str] = []
        seen = {x}
        stack = [x]
        while stack:
            n = stack.pop()
            backward.append(n)
            for p in self.preds.get(n, ()):
                if p not in seen and self.ord[p] > lo:
                    seen.add(p)
                    stack.append(p)
        backward.sort(key=self.ord.__getitem__)
        forward.sort(key=self.ord.__getitem__)
        slots = sorted(self.ord[n] for n in (*backward, *forward))
        for n, o in zip((*backward, *forward), slots, strict=True):
            self.ord[n] = o

    def _cycle(self, spec: FlowSpec, loop: list[str]) -> None:
        """Raise the CycleError ``compile_flow`` gives: the loop from its earliest node, in edge order."""
        first = loop.index(min(loop, key=self.pos.__getitem__))
        cycle = loop[first:] + loop[:first]
        raise CycleError(f"cycle: {' -> '.join([*cycle, cycle[0]])} (use a loop node for repetition)",
                         node=cycle[0])
