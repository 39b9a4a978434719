"""Port types and the coercions allowed between them.

A port type is a small string: one of the scalar names (``text``, ``number``, ``boolean``, ``json``,
``image``, ``audio``, ``video``, ``file``), ``any``, or ``list[<scalar>]``. Strings keep the flow file
readable and the type checks cheap.

Only the coercions declared in :data:`COERCIONS` connect. Everything else is a wiring error that
names both ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nbflow.model.values import Media

__all__ = [
    "COERCIONS",
    "MEDIA_TYPES",
    "PORT_TYPES",
    "SCALAR_TYPES",
    "can_connect",
    "check_value",
    "coerce",
    "coercion",
    "element_type",
    "is_port_type",
    "list_of",
    "to_text",
]

SCALAR_TYPES = ("text", "number", "boolean", "json", "image", "audio", "video", "file")
MEDIA_TYPES = frozenset({"image", "audio", "video", "file"})
PORT_TYPES: tuple[str, ...] = (*SCALAR_TYPES, *(f"list[{t}]" for t in SCALAR_TYPES), "list[any]", "any")
_PORT_TYPE_SET = frozenset(PORT_TYPES)


def is_port_type(name: str) -> bool:
    """Whether ``name`` is a valid port type."""
    return name in _PORT_TYPE_SET


def list_of(t: str) -> str:
    """``list_of("text") == "list[text]"``."""
    return f"list[{t}]"


def element_type(t: str) -> str | None:
    """The element type of a list type, or None when ``t`` is not a list."""
    if t.startswith("list[") and t.endswith("]"):
        return t[5:-1]
    return None


def to_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _identity(v: Any) -> Any:
    return v


def _media_to_file(v: Any) -> Any:
    return v


# (from, to) -> converter. Identity pairs and ``any`` on either side are handled in `coercion`.
COERCIONS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("number", "text"): to_text,
    ("boolean", "text"): to_text,
    ("json", "text"): to_text,
    ("list[text]", "text"): lambda vs: "\n".join(vs),
    ("text", "json"): _identity,
    ("number", "json"): _identity,
    ("boolean", "json"): _identity,
    ("image", "file"): _media_to_file,
    ("audio", "file"): _media_to_file,
    ("video", "file"): _media_to_file,
}
for _t in ("text", "number", "boolean", "json"):
    COERCIONS[(f"list[{_t}]", "json")] = _identity
for _t in SCALAR_TYPES:
    COERCIONS[(f"list[{_t}]", "list[any]")] = _identity
for (_a, _b), _fn in list(COERCIONS.items()):
    if _a in SCALAR_TYPES and _b in SCALAR_TYPES:
        COERCIONS[(f"list[{_a}]", f"list[{_b}]")] = (lambda f: lambda vs: [f(x) for x in vs])(_fn)


def coercion(src: str, dst: str) -> Callable[[Any], Any] | None:
    """The converter from ``src`` to ``dst`` values, or None when they do not connect.

    Returns ``None`` for "not allowed"; the identity function when no conversion is needed.
    """
    if src == dst or dst == "any" or src == "any":
        return _identity
    if dst == "list[any]" and src == "any":
        return _identity
    return COERCIONS.get((src, dst))


def can_connect(src: str, dst: str) -> bool:
    """Whether an output of type ``src`` may feed an input of type ``dst``."""
    return coercion(src, dst) is not None


def coerce(value: Any, src: str, dst: str) -> Any:
    """Convert ``value`` of type ``src`` for a ``dst`` port. Raises ValueError when not allowed."""
    fn = coercion(src, dst)
    if fn is None:
        raise ValueError(f"cannot convert {src} to {dst}")
    return fn(value)


def check_value(value: Any, t: str) -> str | None:
    """Return None when ``value`` fits port type ``t``, or a short reason why not."""
    if t == "any":
        return None
    inner = element_type(t)
    if inner is not None:
        if not isinstance(value, list):
            return f"expected a list, got {type(value).__name__}"
        if inner == "any":
            return None
        for i, item in enumerate(value):
            why = check_value(item, inner)
            if why:
                return f"item {i}: {why}"
        return None
    if t == "text":
        return None if isinstance(value, str) else f"expected text, got {type(value).__name__}"
    if t == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected a number, got {type(value).__name__}"
    if t == "boolean":
        return None if isinstance(value, bool) else f"expected a boolean, got {type(value).__name__}"
    if t == "json":
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            return f"expected a JSON value, got {type(value).__name__}"
        return None
    if t in MEDIA_TYPES:
        if not isinstance(value, Media):
            return f"expected {t} media, got {type(value).__name__}"
        if t != "file" and value.kind != t:
            return f"expected {t} media, got {value.kind} ({value.mime})"
        return None
    return f"unknown port type {t!r}"
