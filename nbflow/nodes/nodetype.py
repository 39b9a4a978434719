"""The node type contract: params model, typed ports, ``async run(inputs, ctx)``.

A node type is a class::

    class Upper(NodeType):
        type = "text.upper"
        title = "Upper case"
        inputs = {"text": Port("text")}
        outputs = {"text": Port("text")}

        async def run(self, inputs, ctx):
            return {"text": inputs["text"].upper()}

The engine makes one instance per node with its validated params (``self.params``) and id
(``self.id``), asks it for its ports (which may depend on params, as the template node's do), and
awaits ``run`` with a dict of input values. ``run`` returns a dict of output values; leaving an output
out means "not produced", and nodes wired to it are skipped (that is how branches work).

Everything a node may ask of the engine goes through ``ctx`` (:class:`NodeContext`): providers, secrets,
progress, usage, pausing the run (:meth:`NodeContext.pause`) and running a compiled sub-flow
(:meth:`NodeContext.run_subflow`). Node modules never import the engine (an import-linter contract holds
that), so a third-party node type depends on this module only.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, Protocol, TypeVar, get_args

from nbflow.lazy import lazy_attrs
from nbflow.model.types import is_port_type

if TYPE_CHECKING:
    from nbflow.model.record import RunResult
    from nbflow.nodes.params import NoParams, Params
    from nbflow.providers.clients import HttpClients
    from nbflow.providers.provider import Provider

__all__ = [
    "NoParams",
    "NodeContext",
    "NodeType",
    "Params",
    "Pause",
    "Port",
]


class Pause(Exception):
    """Raised (through :meth:`NodeContext.pause`) by a node to pause the run, e.g. for human approval.

    The run ends ``paused`` with its state saved; resuming it hands the node its decision as
    ``ctx.resume``. A signal, not an error: it is no :class:`~nbflow.exceptions.NbflowError`.

    Attributes:
        reason: shown to the user.
        data: JSON-able details (e.g. the value to approve).
    """

    def __init__(self, reason: str, data: dict[str, Any] | None = None) -> None:
        self.reason = reason
        self.data = data or {}
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Port:
    """A typed input or output of a node.

    Attributes:
        type: a port type such as ``text`` or ``list[image]`` (see :mod:`nbflow.model.types`).
        required: for inputs: the node cannot run without it. An optional input may be unwired.
        description: shown on the canvas and in ``nbflow nodes``.
        lists_only: for an ``any`` input that must get a list (a map's ``items``): a wire from an
            output known not to give one (``text``, ``number``...) is refused when wired and compiled.
    """

    type: str = "any"
    required: bool = True
    description: str = ""
    lists_only: bool = False

    def __post_init__(self) -> None:
        if not is_port_type(self.type):
            raise ValueError(f"unknown port type {self.type!r}")

    def refuses(self, src_type: str) -> bool:
        """Whether this input refuses an output of ``src_type`` that its type alone would take."""
        return self.lists_only and src_type not in ("any", "json") and not src_type.startswith("list[")


#: ``Params`` and ``NoParams`` (pydantic models) load on first use: see :mod:`nbflow.nodes.params`.
__getattr__, __dir__ = lazy_attrs(globals(), {"nbflow.nodes.params": ("NoParams", "Params")})


class _DefaultParams:
    """``NodeType.Params`` of a node type that declares none: :class:`NoParams`, loaded on first use."""

    def __get__(self, obj: object, owner: builtins.type | None = None) -> builtins.type[Params]:
        from nbflow.nodes.params import NoParams

        return NoParams


P = TypeVar("P", bound="Params")


class NodeContext(Protocol):
    """What a running node can ask of the engine. The engine's run context implements it."""

    run_id: str
    node_id: str
    attempt: int
    resume: dict[str, Any] | None
    """The decision this node was resumed with (after it paused), else None."""

    @property
    def request_timeout(self) -> float | None:
        """Seconds for one HTTP response, from the node's policy (None: the node type's default)."""

    @property
    def attempt_timeout(self) -> float | None:
        """Seconds this attempt may take, from the node's policy (None: unbounded)."""

    @property
    def clients(self) -> HttpClients:
        """Where this run's HTTP clients come from: fetch URLs through it, so an injected transport sees them."""

    def progress(self, fraction: float | None = None, message: str = "") -> None:
        """Report progress (0..1) and/or a status message."""

    def partial(self, port: str, value: Any) -> None:
        """Report a partial output, e.g. streamed text so far."""

    def add_usage(self, *, provider: str, model: str, input_tokens: int = 0, output_tokens: int = 0,
                  cost: float | None = None, **extra: Any) -> None:
        """Record tokens and cost spent by this node."""

    def provider(self, name: str, **config: Any) -> Provider:
        """The provider client called ``name`` (``offline``, ``openai``, ...)."""

    def secret(self, name: str) -> str:
        """Resolve a secret reference (an env var name) to its value at run time."""

    def graph_input(self, name: str) -> tuple[bool, Any]:
        """``(True, value)`` when the run was given graph input ``name``, else ``(False, None)``."""

    def log(self, message: str) -> None:
        """A line for the run's log."""

    def pause(self, reason: str, data: dict[str, Any] | None = None) -> NoReturn:
        """Pause the run at this node (raises :class:`Pause`); a resume hands the decision as ``resume``."""

    def run_subflow(self, plan: Any, inputs: dict[str, Any]) -> Awaitable[RunResult]:
        """Run a sub-flow compiled by :func:`nbflow.nodes.compose.composer` as part of this node."""


class NodeType(ABC, Generic[P]):
    """Base class of every node type. Subclasses set the class attributes and implement ``run``.

    Class attributes:
        type: the registered name used in flow files, e.g. ``llm`` or ``input.text``.
        title: a human label for the palette.
        category: palette group (Inputs, Outputs, Text, Data, AI, Control, ...).
        description: one or two sentences for the palette and ``nbflow nodes``.
        version: bump when outputs for the same params and inputs change; part of the cache key.
        Params: the pydantic model of the params.
        inputs / outputs: static ports; override ``input_ports``/``output_ports`` for dynamic ones.
        role: ``node``, or ``input``/``output`` for graph inputs and outputs.
        cacheable: whether identical params and inputs may reuse an earlier result.
        join: whether the node joins branches by design (``merge``): it runs when some inputs come
            from a skipped, rejected or failed branch, with those inputs absent. Other nodes are
            skipped then, unless their policy sets ``join``.
    """

    type: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = "Other"
    description: ClassVar[str] = ""
    version: ClassVar[int] = 1
    Params: ClassVar[builtins.type[Params]] = _DefaultParams()  # type: ignore[assignment]  # or from NodeType[X]
    inputs: ClassVar[dict[str, Port]] = {}
    outputs: ClassVar[dict[str, Port]] = {}
    role: ClassVar[str] = "node"
    cacheable: ClassVar[bool] = True
    join: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Params" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            args = get_args(base)
            if args and isinstance(args[0], type):
                from nbflow.nodes.params import Params  # a params class exists, so pydantic is loaded

                if issubclass(args[0], Params):
                    cls.Params = args[0]
                    return

    def __init__(self, params: P, node_id: str = "") -> None:
        self.params: P = params
        self.id = node_id

    def input_ports(self) -> dict[str, Port]:
        """This node's input ports (may depend on ``self.params``)."""
        return self.inputs

    def output_ports(self) -> dict[str, Port]:
        """This node's output ports (may depend on ``self.params``)."""
        return self.outputs

    def validate_node(self) -> None:
        """Extra checks across params after field validation; raise ValueError with a message."""

    @classmethod
    def adjust_params(cls, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Params after a change from ``old`` to ``new`` (``Flow.set_params``, the canvas): a node type may
        fix params that depend on the one changed, e.g. a model that does not fit a new provider."""
        return new

    @abstractmethod
    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        """Compute the outputs from the inputs."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} ({self.type})>"
