"""Filling JSON templates and reading response paths for the ``http`` node, without any HTTP client.

Headers may reference secrets as ``${NAME}`` (resolved at run time, never stored); the body is a
JSON template whose ``{{name}}`` placeholders are filled from the node's inputs; a response path such
as ``data.items[0].name`` (a leading ``$.`` is allowed) picks the value to output. Kept apart from
:mod:`nbflow.providers.generic` so node types can use them without loading httpx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

__all__ = ["extract_path", "fill_template", "secret_refs", "substitute_secrets"]

_SECRET_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
_STEP = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]|\[\"([^\"]+)\"\]|\['([^']+)'\]")


def secret_refs(text: str) -> list[str]:
    """The secret names referenced as ``${NAME}`` in ``text``."""
    return _SECRET_REF.findall(text)


def substitute_secrets(text: str, resolve: Callable[[str], str]) -> str:
    """``text`` with each ``${NAME}`` replaced by the secret's value (for outgoing headers only)."""
    return _SECRET_REF.sub(lambda m: resolve(m.group(1)), text)


def _lookup(vars: dict[str, Any], dotted: str) -> Any:
    cur: Any = vars
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur


def fill_template(template: Any, vars: dict[str, Any], *, url: bool = False) -> Any:
    """Fill ``{{name}}`` placeholders in a JSON template.

    A string that is exactly one placeholder takes the value itself (number, object...); a placeholder
    inside a longer string is replaced by the value as text (URL-quoted when ``url``).

    Raises:
        KeyError: naming the first placeholder with no value.
    """
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template.strip())
        if whole and not url:
            return _lookup(vars, whole.group(1))

        def text(m: re.Match[str]) -> str:
            v = _lookup(vars, m.group(1))
            s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            return quote(s, safe="") if url else s

        return _PLACEHOLDER.sub(text, template)
    if isinstance(template, list):
        return [fill_template(v, vars) for v in template]
    if isinstance(template, dict):
        return {k: fill_template(v, vars) for k, v in template.items()}
    return template


def extract_path(value: Any, path: str) -> Any:
    """The part of ``value`` at ``path`` (``a.b[0].c``, ``$.a.b``, ``items[-1]``, ``a["x.y"]``).

    Raises:
        KeyError: naming the first step of the path that is not there.
    """
    path = path.strip()
    if path in ("", "$"):
        return value
    path = path[2:] if path.startswith("$.") else path[1:] if path.startswith("$") else path
    cur = value
    pos = 0
    done = ""
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None or m.end() == pos:
            raise KeyError(f"cannot read the path at {path[pos:]!r}")
        key, index, q1, q2 = m.groups()
        name = key or q1 or q2
        if index is not None:
            if not isinstance(cur, list) or not -len(cur) <= int(index) < len(cur):
                raise KeyError(f"no item [{index}] at {done or '$'}")
            cur = cur[int(index)]
        else:
            if not isinstance(cur, dict) or name not in cur:
                raise KeyError(f"no key {name!r} at {done or '$'}")
            cur = cur[name]
        done = path[: m.end()]
        pos = m.end()
    return cur
