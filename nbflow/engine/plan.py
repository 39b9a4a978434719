"""Compile a flow into a plan: node instances, typed bindings, successor lists, cache key parts.

Compiling is where a flow is validated against the registry: every error names the node, port or
field. A plan is immutable and reused by every run of an unchanged flow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbflow.engine.policies import Policy, resolve_policy
from nbflow.exceptions import CycleError, FlowError, NodeError, ParamError, WiringError
from nbflow.model.refs import parse_ref
from nbflow.model.types import check_value, coercion
from nbflow.nodes.compose import composing
from nbflow.nodes.nodetype import NodeType, Port
from nbflow.nodes.registry import Registry
from nbflow.nodes.registry import registry as default_registry
from nbflow.redaction import looks_like_secret

if TYPE_CHECKING:
    from nbflow.model.spec import BudgetSpec, FlowSpec, NodeSpec

__all__ = ["Binding", "Plan", "PlanNode", "compile_flow", "make_node"]


@dataclass(frozen=True, slots=True)
class Binding:
    """Input port ``port`` takes output ``src_port`` of node ``src``, converted by ``convert``."""

    port: str
    src: int
    src_port: str
    convert: Callable[[Any], Any] | None


@dataclass(slots=True, eq=False)
class PlanNode:
    """One node of a compiled plan."""

    idx: int
    id: str
    spec: NodeSpec
    impl: NodeType
    in_ports: dict[str, Port]
    out_ports: dict[str, Port]
    policy: Policy
    key_part: str
    role: str
    bindings: list[Binding] = field(default_factory=list)
    succs: list[int] = field(default_factory=list)
    npreds: int = 0
    standby: bool = False
    fallbacks: tuple[int, ...] = ()
    join: bool = False
    """Runs with inputs from skipped, rejected or failed branches absent (merge, or ``policy.join``)."""

    def check_outputs(self, outs: Any) -> None:
        """What this node's ``run()`` returned is a dict of its output ports with values of their types."""
        if not isinstance(outs, dict):
            raise NodeError(f"{self.spec.type}.run() returned {type(outs).__name__}, not a dict of outputs")
        ports = self.out_ports
        for k, v in outs.items():
            port = ports.get(k)
            if port is None:
                raise NodeError(f"{self.spec.type}.run() returned unknown output {k!r}")
            t = port.type
            if t != "any" and t != "json":
                why = check_value(v, t)
                if why:
                    raise NodeError(f"output {k!r}: {why}")


@dataclass(slots=True, eq=False)
class Plan:
    """A validated, compiled flow."""

    name: str
    nodes: list[PlanNode]
    by_id: dict[str, PlanNode]
    inputs: dict[str, PlanNode]
    outputs: dict[str, PlanNode]
    concurrency: int | None
    #: Nodes that (or whose fallbacks) check something before a run starts (``preflight``), in order.
    preflight: tuple[int, ...] = ()
    #: The flow's cost caps (``defaults.budget``), if any.
    budget: BudgetSpec | None = None

    def __iter__(self) -> Iterator[PlanNode]:
        return iter(self.nodes)

    def ancestors(self, ids: list[str]) -> set[int]:
        """Indices of the given nodes and everything they depend on (iterative, no recursion)."""
        stack = [self.by_id[i].idx for i in ids]
        seen: set[int] = set()
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            stack.extend(b.src for b in self.nodes[i].bindings)
        return seen


def _scan_secrets(value: Any, path: str) -> str | None:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, str):
            if looks_like_secret(v):
                return p
        elif isinstance(v, dict):
            stack.extend((x, f"{p}.{k}") for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{p}[{i}]") for i, x in enumerate(v))
    return None


class _Composer:
    """What composite nodes get while they are built: compile and make with this registry."""

    __slots__ = ("reg",)

    def __init__(self, reg: Registry) -> None:
        self.reg = reg

    def compile(self, spec: FlowSpec) -> Plan:
        return compile_flow(spec, self.reg)

    def make_node(self, spec: NodeSpec) -> NodeType:
        return make_node(spec, self.reg)


def make_node(spec: NodeSpec, reg: Registry) -> NodeType:
    """A node instance for ``spec`` with validated params; ParamError/FlowError naming the node."""
    try:
        cls = reg.get(spec.type)
    except FlowError as exc:
        exc.node = spec.id
        raise
    leaked = _scan_secrets(spec.params, "params") if spec.params else None
    if leaked is not None:
        raise ParamError("looks like a literal API key; keep keys out of flow files: set an environment "
                         "variable and name it in api_key_env", node=spec.id, field=leaked)
    from pydantic import ValidationError  # loaded with the params model already: import it where it is used

    from nbflow.model.validation import first_error

    try:
        params = cls.Params.model_validate(spec.params)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ParamError(f"{msg}{more}", node=spec.id, field=f"params.{loc}" if loc else "params") from None
    impl = cls(params, spec.id)
    try:
        with composing(_Composer(reg)):
            impl.validate_node()
    except ValueError as exc:
        raise ParamError(str(exc), node=spec.id) from None
    return impl


def _key_part(impl: NodeType) -> str:
    # Params serialise in field-definition order, so this text is canonical for a given type version.
    # Params that name a secret (api_key_env) say where the key comes from, not what the node computes:
    # they stay out of the key. base_url stays in: another server may answer differently.
    from nbflow.nodes.params import secret_ref_fields  # pydantic is loaded with the params already

    params = impl.params
    exclude = secret_ref_fields(type(params))
    text = f"{impl.type}@{impl.version}:".encode() + params.__pydantic_serializer__.to_json(params,
                                                                                            exclude=exclude)
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def compile_flow(spec: FlowSpec, reg: Registry | None = None, *, complete: bool = True) -> Plan:
    """Validate ``spec`` against the registry and build its plan. Raises FlowError subclasses.

    With ``complete=False`` (an editor checking a flow being built) required inputs may still be
    unwired; every other rule (types, ports, cycles, names) is enforced.
    """
    reg = reg or default_registry
    nodes: list[PlanNode] = []
    by_id: dict[str, PlanNode] = {}
    default_policy = resolve_policy(spec.defaults, None)
    for ns in spec.nodes:
        if ns.id in by_id:
            raise FlowError("duplicate node id", node=ns.id)
        impl = make_node(ns, reg)
        try:
            in_ports, out_ports = impl.input_ports(), impl.output_ports()
        except (ValueError, TypeError) as exc:
            raise ParamError(f"cannot compute ports: {exc}", node=ns.id) from None
        policy = default_policy if ns.policy is None else resolve_policy(spec.defaults, ns.policy)
        pn = PlanNode(idx=len(nodes), id=ns.id, spec=ns, impl=impl, in_ports=in_ports, out_ports=out_ports,
                      policy=policy, key_part=_key_part(impl), role=impl.role,
                      join=bool(impl.join or policy.join))
        nodes.append(pn)
        by_id[ns.id] = pn

    _wire(spec, nodes, by_id, complete)
    _fallbacks(nodes, by_id)
    _check_acyclic(nodes)

    inputs: dict[str, PlanNode] = {}
    outputs: dict[str, PlanNode] = {}
    for pn in nodes:
        if pn.role == "input":
            name = pn.impl.input_name  # type: ignore[attr-defined]
            if name in inputs:
                raise FlowError(f"graph input name {name!r} is also used by node {inputs[name].id!r}",
                                node=pn.id, field="params.name")
            inputs[name] = pn
        elif pn.role == "output":
            name = pn.impl.output_name  # type: ignore[attr-defined]
            if name in outputs:
                raise FlowError(f"graph output name {name!r} is also used by node {outputs[name].id!r}",
                                node=pn.id, field="params.name")
            outputs[name] = pn
    preflight = tuple(pn.idx for pn in nodes
                      if any(hasattr(nodes[i].impl, "preflight") for i in (pn.idx, *pn.fallbacks)))
    return Plan(name=spec.name, nodes=nodes, by_id=by_id, inputs=inputs, outputs=outputs,
                concurrency=spec.defaults.concurrency, preflight=preflight, budget=spec.defaults.budget)


def _wire(spec: FlowSpec, nodes: list[PlanNode], by_id: dict[str, PlanNode], complete: bool) -> None:
    for e in spec.edges:
        src_id, src_port = parse_ref(e.from_)
        dst_id, dst_port = parse_ref(e.to)
        src = by_id.get(src_id)
        if src is None:
            raise WiringError(f"edge {e.from_} -> {e.to}: no node {src_id!r}", node=src_id)
        dst = by_id.get(dst_id)
        if dst is None:
            raise WiringError(f"edge {e.from_} -> {e.to}: no node {dst_id!r}", node=dst_id)
        if src_port not in src.out_ports:
            have = ", ".join(src.out_ports) or "none"
            raise WiringError(f"edge {e.from_} -> {e.to}: {src.spec.type} has no output {src_port!r} "
                              f"(outputs: {have})", node=src_id, port=src_port)
        if dst_port not in dst.in_ports:
            have = ", ".join(dst.in_ports) or "none"
            raise WiringError(f"edge {e.from_} -> {e.to}: {dst.spec.type} has no input {dst_port!r} "
                              f"(inputs: {have})", node=dst_id, port=dst_port)
        # A node has few inputs, so scanning its bindings beats building per-node sets.
        for b in dst.bindings:
            if b.port == dst_port:
                raise WiringError(f"input already wired from {nodes[b.src].id}.{b.src_port}; an input takes "
                                  "one edge", node=dst_id, port=dst_port)
        st, dt = src.out_ports[src_port].type, dst.in_ports[dst_port].type
        conv = coercion(st, dt)
        if conv is None:
            raise WiringError(f"type mismatch: {e.from_} is {st} but {e.to} takes {dt}",
                              node=dst_id, port=dst_port)
        if dst.in_ports[dst_port].refuses(st):
            raise WiringError(f"{e.to} takes a list, but {e.from_} gives {st}", node=dst_id, port=dst_port)
        new_pred = all(b.src != src.idx for b in dst.bindings)
        is_identity = st == dt or dt == "any" or st == "any"
        dst.bindings.append(Binding(dst_port, src.idx, src_port, None if is_identity else conv))
        if new_pred:
            dst.npreds += 1
            src.succs.append(dst.idx)
    # A fallback node takes its primary's inputs, so it is not wired; _fallbacks checks its inputs.
    standby = {fid for pn in nodes for fid in pn.policy.fallback}
    for pn in nodes if complete else ():
        if pn.id in standby:
            continue
        for port, p in pn.in_ports.items():
            if p.required and all(b.port != port for b in pn.bindings):
                raise WiringError(f"required input is not connected ({p.type})", node=pn.id, port=port)


def _fallbacks(nodes: list[PlanNode], by_id: dict[str, PlanNode]) -> None:
    for pn in nodes:
        fbs = []
        for fid in pn.policy.fallback:
            fb = by_id.get(fid)
            if fb is None or fb is pn:
                why = "is the node itself" if fb is pn else "does not exist"
                raise WiringError(f"fallback node {fid!r} {why}", node=pn.id, field="policy.fallback")
            if fb.bindings:
                raise WiringError(f"fallback node {fid!r} must have no wired inputs (it takes {pn.id!r}'s)",
                                  node=pn.id, field="policy.fallback")
            for port, p in fb.in_ports.items():
                if p.required and port not in pn.in_ports:
                    raise WiringError(f"fallback node {fid!r} needs input {port!r}, which {pn.id!r} lacks",
                                      node=pn.id, field="policy.fallback")
            fb.standby = True
            fbs.append(fb.idx)
        pn.fallbacks = tuple(fbs)
    for pn in nodes:
        if pn.standby and pn.succs:
            raise WiringError("a fallback node's outputs cannot be wired; wire the primary node",
                              node=pn.id)


def _check_acyclic(nodes: list[PlanNode]) -> None:
    """Kahn's algorithm; on a cycle, name the nodes in it."""
    remaining = [pn.npreds for pn in nodes]
    ready = [pn.idx for pn in nodes if remaining[pn.idx] == 0]
    seen = 0
    while ready:
        i = ready.pop()
        seen += 1
        for s in nodes[i].succs:
            remaining[s] -= 1
            if remaining[s] == 0:
                ready.append(s)
    if seen == len(nodes):
        return
    stuck = {pn.idx for pn in nodes if remaining[pn.idx] > 0}
    # Walk predecessors inside the stuck set until a node repeats: that walk is a cycle.
    start = min(stuck)
    path: list[int] = []
    pos: dict[int, int] = {}
    cur = start
    while cur not in pos:
        pos[cur] = len(path)
        path.append(cur)
        cur = next(b.src for b in nodes[cur].bindings if b.src in stuck)
    loop = list(reversed(path[pos[cur]:]))  # walked backwards along edges; reverse to follow them
    first = loop.index(min(loop))
    cycle = [nodes[i].id for i in loop[first:] + loop[:first]]
    raise CycleError(f"cycle: {' -> '.join([*cycle, cycle[0]])} (use a loop node for repetition)",
                     node=cycle[0])
