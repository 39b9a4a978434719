"""Sub-flows: a flow used as one node, from a flow file or embedded in the parent's params.

The sub-flow's named graph inputs become the node's input ports and its named outputs become output
ports, typed from what the sub-flow wires into them. Loops and map (:mod:`.control_loops`) run
their bodies the same way.

A ``path`` is resolved against the folder of the flow that names it (see :func:`flow_context`,
which :class:`nbflow.Flow` sets while compiling), else the working directory. A flow that includes
itself, directly or through others, is refused when it is compiled. The engine compiles the sub-flow
(through :func:`~nbflow.nodes.compose.composer`) and runs it (through ``ctx.run_subflow``).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any

from pydantic import Field

from nbflow.exceptions import FlowError, NbflowError, NodeError
from nbflow.model.io import read_spec, spec_from_obj
from nbflow.model.spec import FlowSpec
from nbflow.nodes.compose import composer
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port

__all__ = ["FlowRef", "FlowRefParams", "Subflow", "flow_context", "run_nested"]

_BASE_DIR: ContextVar[Path | None] = ContextVar("nbflow_subflow_base_dir", default=None)
_INCLUDING: ContextVar[tuple[str, ...]] = ContextVar("nbflow_subflow_including", default=())


class flow_context:  # a lower-case name: it is used like a function, ``with flow_context(source):``
    """While compiling the flow read from ``source``: resolve sub-flow paths next to it.

    A class rather than a generator context manager: ``Flow.add`` enters it for every node, so it is
    kept to one context-variable set.
    """

    __slots__ = ("_base", "_token")

    def __init__(self, source: str | Path | None) -> None:
        self._base = Path(source).expanduser().resolve().parent if source else None
        self._token: Token[Path | None] | None = None

    def __enter__(self) -> None:
        self._token = _BASE_DIR.set(self._base)

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _BASE_DIR.reset(self._token)


class FlowRefParams(Params):
    """Params of nodes that run another flow: give ``path`` or ``flow``."""

    path: str | None = Field(default=None, description="A flow file, relative to this flow's folder.")
    flow: dict[str, Any] | None = Field(default=None, description="An embedded flow: the same JSON as "
                                        "a flow file.", json_schema_extra={"widget": "json"})


class FlowRef:
    """A compiled sub-flow and the facts nodes need about it: ports and a label for messages."""

    def __init__(self, spec: FlowSpec, *, path: Path | None = None) -> None:
        self.spec = spec
        self.path = path
        self.label = f"sub-flow {str(path)!r}" if path else f"sub-flow {spec.name!r}"
        token = _INCLUDING.set((*_INCLUDING.get(), str(path))) if path else None
        base = _BASE_DIR.set(path.parent) if path else None
        try:
            self.plan = composer().compile(spec)
        finally:
            if base is not None:
                _BASE_DIR.reset(base)
            if token is not None:
                _INCLUDING.reset(token)

    @classmethod
    def from_params(cls, params: FlowRefParams) -> FlowRef:
        """Load what ``params`` names; ValueError with a one-line message when it cannot."""
        if (params.path is None) == (params.flow is None):
            raise ValueError("give exactly one of 'path' (a flow file) or 'flow' (an embedded flow)")
        try:
            if params.flow is not None:
                return cls(spec_from_obj(params.flow, source="embedded flow"))
            p = Path(params.path).expanduser()  # type: ignore[arg-type]
            if not p.is_absolute():
                p = (_BASE_DIR.get() or Path.cwd()) / p
            p = p.resolve()
            if str(p) in _INCLUDING.get():
                raise ValueError(f"sub-flow {params.path!r} includes itself")
            return cls(read_spec(p), path=p)
        except FlowError as exc:
            exc.source = None  # named once, below
            where = f"sub-flow {params.path!r}" if params.path is not None else "embedded flow"
            raise ValueError(f"{where}: {exc}") from None

    def input_ports(self) -> dict[str, Port]:
        """The sub-flow's graph inputs as ports."""
        out = {}
        for name, pn in self.plan.inputs.items():
            impl: Any = pn.impl
            out[name] = Port(impl.value_type, required=bool(impl.required),
                             description=impl.params.description or f"sub-flow input {name!r}")
        return out

    def output_type(self, name: str) -> str:
        """The type of what the sub-flow wires into output ``name`` (``any`` when unwired)."""
        pn = self.plan.outputs[name]
        for b in pn.bindings:
            return self.plan.nodes[b.src].out_ports[b.src_port].type
        return "any"

    def output_ports(self) -> dict[str, Port]:
        """The sub-flow's graph outputs as ports."""
        return {name: Port(self.output_type(name), description=f"sub-flow output {name!r}")
                for name in self.plan.outputs}


async def run_nested(ctx: NodeContext, ref: FlowRef, inputs: dict[str, Any], *, label: str) -> dict[str, Any]:
    """Run ``ref`` as part of the node owning ``ctx``; returns the sub-flow's outputs.

    The sub-run's usage and cost are added to the node's, so the parent run's totals are complete.
    A failure becomes a NodeError whose message starts with ``label`` (e.g. ``iteration 3``).
    """
    try:
        res = await ctx.run_subflow(ref.plan, inputs)
    except NbflowError as exc:  # bad inputs for the sub-flow
        raise NodeError(f"{label}: {exc}") from None
    for rec in res.nodes.values():
        for u in rec.usage:
            ctx.add_usage(**u)
    if res.status == "succeeded":
        return dict(res.outputs)
    if res.status == "paused":
        where = next((k for k, r in res.nodes.items() if r.status == "paused"), "?")
        raise NodeError(f"{label}: node {where!r} paused; a pause (approval) inside a sub-flow, loop or map "
                        "is not supported: put the approval in the outer flow")
    raise NodeError(f"{label}: {res.error or res.status}")


class SubflowParams(FlowRefParams):
    """Params of the ``subflow`` node."""


class Subflow(NodeType[SubflowParams]):
    type = "subflow"
    title = "Sub-flow"
    category = "Control"
    description = "Run another flow (a file or an embedded flow); its named inputs and outputs are the ports."
    # The sub-flow may change on disk under the same params; its own nodes are cached by content instead.
    cacheable = False

    def validate_node(self) -> None:
        self._ref = FlowRef.from_params(self.params)

    @property
    def ref(self) -> FlowRef:
        if getattr(self, "_ref", None) is None:
            self._ref = FlowRef.from_params(self.params)
        return self._ref

    def input_ports(self) -> dict[str, Port]:
        return self.ref.input_ports()

    def output_ports(self) -> dict[str, Port]:
        return self.ref.output_ports()

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return await run_nested(ctx, self.ref, inputs, label=self.ref.label)
