"""Node types: the base class, the registry and the built-ins.

``Params`` and ``NoParams`` are pydantic models: they load on first use, with pydantic.
"""

from typing import TYPE_CHECKING

from nbflow.lazy import lazy_attrs
from nbflow.nodes.nodetype import NodeContext, NodeType, Port
from nbflow.nodes.registry import ENTRY_POINT_GROUP, Registry, registry

__all__ = ["ENTRY_POINT_GROUP", "NoParams", "NodeContext", "NodeType", "Params", "Port", "Registry", "registry"]


__getattr__, __dir__ = lazy_attrs(globals(), {".params": ("NoParams", "Params")})


if TYPE_CHECKING:
    from nbflow.nodes.params import NoParams, Params
