"""Names a package exports but imports on first use (PEP 562), so importing it stays cheap.

A package lists where each of its lazy names lives and installs the two module hooks::

    __getattr__, __dir__ = lazy_attrs(globals(), {".spec": ("FlowSpec", "NodeSpec"), ".io": ("read_spec",)})

``pkg.FlowSpec`` (or ``from pkg import FlowSpec``) then imports ``pkg.spec`` once and keeps the value in
the package's namespace, so later lookups are plain attribute reads. Type checkers and IDEs see the names
through ``if TYPE_CHECKING:`` imports next to the table. This module imports nothing beyond what the
interpreter has loaded at start-up: it sits below every other layer.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

__all__ = ["lazy_attrs"]

_ABSENT = object()  # no such name (a lazy name may well be None)


def lazy_attrs(namespace: dict[str, Any], sources: Mapping[str, Iterable[str]], *, submodules: bool = False,
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of the package whose ``globals()`` is ``namespace``.

    Args:
        namespace: the package's ``globals()``; a value is stored there when first imported.
        sources: module -> the names it provides; a module starting with ``.`` is relative to the package.
        submodules: also answer ``pkg.sub`` with the submodule ``pkg.sub`` (imported on first use), as
            an eager package would after importing it.
    """
    package = namespace["__name__"]
    where = {name: module for module, names in sources.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module, package), name)
        elif submodules and not name.startswith("_"):
            value = _submodule(package, name)
        else:
            value = _ABSENT
        if value is _ABSENT:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace.get("__all__", ()), *where})

    return __getattr__, __dir__


def _submodule(package: str, name: str) -> Any:
    """The submodule ``package.name``, or ``_ABSENT`` when there is none (a failure inside it propagates)."""
    full = f"{package}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:
            raise
        return _ABSENT
