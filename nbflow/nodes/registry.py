"""The node type registry: built-ins plus third-party packages via the ``nbflow.nodes`` entry point group.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."nbflow.nodes"]
    my_nodes = "my_package.nodes"        # a module: every NodeType subclass in it is registered
    # or  upper = "my_package.nodes:Upper"  (one class)
    # or  all = "my_package.nodes:node_types"  (a function returning a list of classes)

Entry points are loaded on first use, so ``import nbflow`` stays fast.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from nbflow.exceptions import NbflowError, UnknownNodeTypeError
from nbflow.nodes.nodetype import NodeType

__all__ = ["ENTRY_POINT_GROUP", "Registry", "registry"]

ENTRY_POINT_GROUP = "nbflow.nodes"

_BUILTIN_MODULES = (
    "nbflow.nodes.io_nodes",
    "nbflow.nodes.text_nodes",
    "nbflow.nodes.data_nodes",
    "nbflow.nodes.list_nodes",
    "nbflow.nodes.ai_nodes",
    "nbflow.nodes.control_nodes",
    "nbflow.nodes.control_subflow",
    "nbflow.nodes.control_loops",
    "nbflow.nodes.mcp_nodes",
)


class Registry:
    """Maps type names (``llm``, ``input.text``) to NodeType classes."""

    def __init__(self, *, builtins: Iterable[str] = _BUILTIN_MODULES, plugins: bool = True) -> None:
        self._types: dict[str, type[NodeType]] = {}
        self._origin: dict[str, str] = {}
        self._builtin_modules = tuple(builtins)
        self._plugins = plugins
        self._loaded = False
        self.plugin_errors: list[str] = []

    def register(self, cls: type[NodeType], *, origin: str = "user", replace: bool = False) -> type[NodeType]:
        """Add a node type. Usable as a class decorator."""
        if not (isinstance(cls, type) and issubclass(cls, NodeType)) or not cls.type:
            raise NbflowError(f"{cls!r} is not a NodeType subclass with a 'type' name")
        if cls.type in self._types and self._types[cls.type] is not cls and not replace:
            raise NbflowError(f"node type {cls.type!r} is already registered by {self._origin[cls.type]}")
        self._types[cls.type] = cls
        self._origin[cls.type] = origin
        return cls

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for mod in self._builtin_modules:
            self._register_module(importlib.import_module(mod), origin="nbflow")
        if self._plugins:
            self.load_plugins()

    def load_plugins(self) -> None:
        """Register node types from every installed ``nbflow.nodes`` entry point."""
        from importlib.metadata import entry_points  # reading package metadata is slow: only on first use

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            origin = f"plugin {ep.name} ({ep.value})"
            try:
                obj = ep.load()
                self._register_any(obj, origin=origin)
            except Exception as exc:  # a broken plugin must not break nbflow; it is reported
                self.plugin_errors.append(f"{origin}: {type(exc).__name__}: {exc}")

    def _register_any(self, obj: Any, *, origin: str) -> None:
        if isinstance(obj, ModuleType):
            self._register_module(obj, origin=origin)
        elif isinstance(obj, type):
            self.register(obj, origin=origin, replace=True)
        elif callable(obj):
            for cls in obj():
                self.register(cls, origin=origin, replace=True)
        else:
            raise NbflowError(f"entry point gives {type(obj).__name__}, not a module, class or function")

    def _register_module(self, module: ModuleType, *, origin: str) -> None:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, NodeType) and cls.type and cls.__module__ == module.__name__
                    and not inspect.isabstract(cls)):
                self.register(cls, origin=origin, replace=True)

    def get(self, name: str) -> type[NodeType]:
        """The class for ``name``; UnknownNodeTypeError (with a suggestion) when there is none."""
        self._ensure_loaded()
        try:
            return self._types[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self._types, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; `nbflow nodes` lists the known types"
            raise UnknownNodeTypeError(f"unknown node type {name!r}{hint}") from None

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._types

    def types(self) -> dict[str, type[NodeType]]:
        """Every registered type, sorted by name."""
        self._ensure_loaded()
        return dict(sorted(self._types.items()))

    def origin(self, name: str) -> str:
        """Who registered ``name``: ``nbflow``, ``user`` or the plugin's entry point."""
        self._ensure_loaded()
        return self._origin[name]


#: The process-wide registry used by default.
registry = Registry()

