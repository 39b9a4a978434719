"""The node type registry: built-ins plus third-party packages via the ``nbflow.nodes`` entry point group.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."nbflow.nodes"]
    my_nodes = "my_package.nodes"        # a module: every NodeType subclass in it is registered
    # or  upper = "my_package.nodes:Upper"  (one class)
    # or  all = "my_package.nodes:node_types"  (a function returning a list of classes)

Built-in types load module by module as they are looked up, entry points on the first lookup of a name no
built-in has (or a full listing), so ``import nbflow`` and a first flow of plain nodes stay fast.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from nbflow.exceptions import NbflowError, UnknownNodeTypeError
from nbflow.nodes.nodetype import NodeType

__all__ = ["BUILTIN_TYPES", "ENTRY_POINT_GROUP", "Registry", "node_classes", "registry"]

ENTRY_POINT_GROUP = "nbflow.nodes"

#: Which module defines each built-in node type. A lookup imports only the module it needs, so a flow of
#: plain nodes never loads the AI nodes (and with them the provider catalog) or the control nodes' models.
#: tests/test_builtin_nodes.py checks this table against what each module defines.
BUILTIN_TYPES: dict[str, str] = {
    **dict.fromkeys(("input.text", "input.number", "input.boolean", "input.json", "input.file", "input.image",
                     "output"), "nbflow.nodes.io_nodes"),
    **dict.fromkeys(("template", "join"), "nbflow.nodes.text_nodes"),
    **dict.fromkeys(("convert", "json.extract", "json.parse"), "nbflow.nodes.data_nodes"),
    **dict.fromkeys(("list", "list.item"), "nbflow.nodes.list_nodes"),
    **dict.fromkeys(("llm", "vision", "image", "speech", "video", "http"), "nbflow.nodes.ai_nodes"),
    **dict.fromkeys(("approval", "branch", "merge"), "nbflow.nodes.control_nodes"),
    "subflow": "nbflow.nodes.control_subflow",
    **dict.fromkeys(("loop", "map"), "nbflow.nodes.control_loops"),
    "mcp.tool": "nbflow.nodes.mcp_nodes",
}

_BUILTIN_MODULES = tuple(dict.fromkeys(BUILTIN_TYPES.values()))

#: Built-in modules whose nodes name providers: a plugin may register its provider when it loads, so the
#: entry points load with them.
_WITH_PLUGINS = ("nbflow.nodes.ai_nodes",)


def node_classes(module: ModuleType) -> list[type[NodeType]]:
    """The concrete NodeType classes ``module`` itself defines (not the ones it imports)."""
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, NodeType) and cls.type and cls.__module__ == module.__name__
            and not inspect.isabstract(cls)]


class Registry:
    """Maps type names (``llm``, ``input.text``) to NodeType classes.

    Built-in types are imported one module at a time, when one of their names is first looked up; entry
    points are read on the first lookup of a name no built-in has, of a provider node (a plugin may register
    a provider), or when every type is listed. A plugin
    that reuses a built-in's name replaces it from then on (a flow built before that keeps the built-in).
    """

    def __init__(self, *, builtins: Iterable[str] = _BUILTIN_MODULES, plugins: bool = True) -> None:
        self._types: dict[str, type[NodeType]] = {}
        self._origin: dict[str, str] = {}
        modules = tuple(builtins)
        self._lazy = {name: mod for name, mod in BUILTIN_TYPES.items() if mod in modules}  # not imported yet
        self._eager = [mod for mod in modules if mod not in _BUILTIN_MODULES]  # outside the table: all at once
        self._plugins_due = plugins
        self._lock = threading.RLock()
        self.plugin_errors: list[str] = []

    def register(self, cls: type[NodeType], *, origin: str = "user", replace: bool = False) -> type[NodeType]:
        """Add a node type. Usable as a class decorator."""
        if not (isinstance(cls, type) and issubclass(cls, NodeType)) or not cls.type:
            raise NbflowError(f"{cls!r} is not a NodeType subclass with a 'type' name")
        with self._lock:
            if cls.type in self._lazy and not replace:
                raise NbflowError(f"node type {cls.type!r} is already registered by nbflow")
            if cls.type in self._types and self._types[cls.type] is not cls and not replace:
                raise NbflowError(f"node type {cls.type!r} is already registered by {self._origin[cls.type]}")
            self._lazy.pop(cls.type, None)
            self._types[cls.type] = cls
            self._origin[cls.type] = origin
        return cls

    def _import_builtin(self, mod: str) -> None:
        """Register the types ``mod`` defines that are still waiting in the table (not replaced since)."""
        module = importlib.import_module(mod)
        for cls in node_classes(module):
            if self._lazy.get(cls.type) == mod:
                self._types[cls.type] = cls
                self._origin[cls.type] = "nbflow"
        for name in [name for name, m in self._lazy.items() if m == mod]:
            del self._lazy[name]
        if mod in _WITH_PLUGINS:
            self._load_unlisted()

    def _load_unlisted(self) -> None:
        """Modules outside the table, then the entry points: what a name no built-in has may come from."""
        while self._eager:
            self._register_module(importlib.import_module(self._eager.pop(0)), origin="nbflow")
        if self._plugins_due:
            self._plugins_due = False
            self.load_plugins()

    def _find(self, name: str) -> type[NodeType] | None:
        with self._lock:
            if name not in self._types:
                if name in self._lazy:
                    self._import_builtin(self._lazy[name])
                else:
                    self._load_unlisted()
            return self._types.get(name)

    def _load_all(self) -> None:
        with self._lock:
            for mod in dict.fromkeys(self._lazy.values()):
                self._import_builtin(mod)
            self._load_unlisted()

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
        for cls in node_classes(module):
            self.register(cls, origin=origin, replace=True)

    def get(self, name: str) -> type[NodeType]:
        """The class for ``name``; UnknownNodeTypeError (with a suggestion) when there is none."""
        cls = self._types.get(name) or self._find(name)
        if cls is None:
            import difflib

            close = difflib.get_close_matches(name, [*self._types, *self._lazy], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; `nbflow nodes` lists the known types"
            raise UnknownNodeTypeError(f"unknown node type {name!r}{hint}")
        return cls

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name in self._types or name in self._lazy or self._find(name) is not None

    def types(self) -> dict[str, type[NodeType]]:
        """Every registered type, sorted by name (this imports every built-in and reads the entry points)."""
        self._load_all()
        return dict(sorted(self._types.items()))

    def origin(self, name: str) -> str:
        """Who registered ``name``: ``nbflow``, ``user`` or the plugin's entry point."""
        self.get(name)
        return self._origin[name]


#: The process-wide registry used by default.
registry = Registry()

