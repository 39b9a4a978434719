"""What composite nodes (``subflow``, ``loop``, ``map``) need from the engine while a flow compiles.

Nodes sit below the engine and never import it. While the engine builds a node (validates its params,
asks for its ports) it installs a :class:`Composer` here, so a node that runs another flow can compile
that flow and learn its ports, and a ``map`` over one node type can build that node. At run time the
node runs what it compiled through ``ctx.run_subflow`` (see :class:`~nbflow.nodes.nodetype.NodeContext`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from nbflow.model.spec import FlowSpec, NodeSpec
    from nbflow.nodes.nodetype import NodeType

__all__ = ["Composer", "composer", "composing"]


class Composer(Protocol):
    """The engine's compiler, as nodes see it."""

    def compile(self, spec: FlowSpec) -> Any:
        """Validate and compile ``spec`` (raises FlowError); the plan goes to ``ctx.run_subflow``.

        The plan has ``inputs`` and ``outputs`` (graph input/output nodes by name, each with ``impl``,
        ``spec`` and ``bindings``) and ``nodes`` (each with ``out_ports``).
        """

    def make_node(self, spec: NodeSpec) -> NodeType:
        """A validated node instance for ``spec`` (raises FlowError)."""


_COMPOSER: ContextVar[Composer | None] = ContextVar("nbflow_composer", default=None)


@contextlib.contextmanager
def composing(c: Composer) -> Iterator[None]:
    """Make ``c`` the composer while the engine builds a node."""
    token = _COMPOSER.set(c)
    try:
        yield
    finally:
        _COMPOSER.reset(token)


def composer() -> Composer:
    """The composer the engine installed; ValueError outside the engine's build of a node."""
    c = _COMPOSER.get()
    if c is None:
        raise ValueError("a node that runs another flow can only be built by the engine (compile the flow)")
    return c
