"""Node types: the base class, the registry and the built-ins.

``Params`` and ``NoParams`` are pydantic models: they load on first use, with pydantic.
"""

from typing import TYPE_CHECKING, Any

from nbflow.nodes.nodetype import NodeContext, NodeType, Port
from nbflow.nodes.registry import ENTRY_POINT_GROUP, Registry, registry

__all__ = ["ENTRY_POINT_GROUP", "NoParams", "NodeContext", "NodeType", "Params", "Port", "Registry", "registry"]


def __getattr__(name: str) -> Any:
    if name in ("Params", "NoParams"):
        from nbflow.nodes import params

        return getattr(params, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from nbflow.nodes.params import NoParams, Params
