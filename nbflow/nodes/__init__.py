"""Node types: the base class, the registry and the built-ins."""

from nbflow.nodes.nodetype import NodeContext, NodeType, NoParams, Params, Port
from nbflow.nodes.registry import ENTRY_POINT_GROUP, Registry, registry

__all__ = ["ENTRY_POINT_GROUP", "NoParams", "NodeContext", "NodeType", "Params", "Port", "Registry", "registry"]
