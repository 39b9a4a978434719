"""Conditions: small, declarative tests on a value, used by the branch and loop nodes.

A condition reads a value at a JSON path and compares it::

    {"path": "$.score", "op": ">=", "value": 0.8}
    {"path": "$.kind", "op": "==", "value": "image"}       # media values expose kind, mime, name, size
    {"path": "$.tags", "op": "contains", "value": "urgent"}

A missing path makes every test false except ``missing``, so a route never fires on data that is not
there. Numbers written as text (``"0.85"``, as models like to answer) compare as numbers.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nbflow.model.types import to_text
from nbflow.model.values import Media
from nbflow.nodes.data_nodes import JsonPath, parse_path

__all__ = ["MISSING", "OPS", "Condition", "ConditionError", "check_all", "normalise_label", "resolve_path"]

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", "not_contains", "startswith",
             "endswith", "matches", "exists", "missing", "truthy", "falsy", "empty", "not_empty"]
OPS: tuple[str, ...] = Op.__args__  # type: ignore[attr-defined]

_MISSING = object()
#: What :func:`resolve_path` returns when the path is not there.
MISSING = _MISSING


class ConditionError(ValueError):
    """A condition cannot be evaluated on this value (e.g. ``<`` between text and a number)."""


class Condition(BaseModel):
    """One test: the value at ``path`` compared with ``value`` by ``op``."""

    model_config = ConfigDict(extra="forbid")

    path: JsonPath = Field(default="$", description="Where to look, e.g. $.score or $.items[0].label.")
    op: Op = Field(default="==", description="Comparison: " + ", ".join(OPS) + ".")
    value: Any = Field(default=None, description="What to compare with (a list for in / not_in).")
    ignore_case: bool = Field(default=False, description="Compare text without regard to case.")

    def describe(self) -> str:
        """``$.score >= 0.8``: for messages."""
        if self.op in ("exists", "missing", "truthy", "falsy", "empty", "not_empty"):
            return f"{self.path} {self.op}"
        return f"{self.path} {self.op} {self.value!r}"

    def test(self, data: Any) -> bool:
        """Whether the condition holds for ``data``; ConditionError when it cannot be evaluated."""
        got = resolve_path(data, self.path)
        op = self.op
        if op == "missing":
            return got is _MISSING
        if got is _MISSING:
            return False
        if op == "exists":
            return True
        if op in ("truthy", "falsy"):
            return _truthy(got) == (op == "truthy")
        if op in ("empty", "not_empty"):
            empty = got is None or (hasattr(got, "__len__") and len(got) == 0)
            return empty == (op == "empty")
        want = self.value
        a, b = (_fold(got), _fold(want)) if self.ignore_case else (got, want)
        if op in ("==", "!="):
            return _equal(a, b) == (op == "==")
        if op in ("<", "<=", ">", ">="):
            x, y = _numbers(a, b)
            try:
                return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
            except TypeError:
                raise ConditionError(f"{self.path}: cannot compare {type(got).__name__} with "
                                     f"{type(want).__name__} by {op}") from None
        if op in ("in", "not_in"):
            if not isinstance(b, (list, tuple, str)):
                raise ConditionError(f"{self.path}: '{op}' needs a list (or text) as its value")
            inside = (a in b) if isinstance(b, str) and isinstance(a, str) else any(_equal(a, x) for x in b)
            return inside == (op == "in")
        if op in ("contains", "not_contains"):
            if isinstance(a, str):
                has = to_text(b) in a
            elif isinstance(a, (list, tuple)):
                has = any(_equal(x, b) for x in a)
            elif isinstance(a, dict):
                has = b in a
            else:
                raise ConditionError(f"{self.path}: '{op}' needs text, a list or an object, got "
                                     f"{type(got).__name__}")
            return has == (op == "contains")
        if op in ("startswith", "endswith"):
            s, t = to_text(a), to_text(b)
            return s.startswith(t) if op == "startswith" else s.endswith(t)
        if op == "matches":
            try:
                return re.search(to_text(want), to_text(got), re.I if self.ignore_case else 0) is not None
            except re.error as exc:
                raise ConditionError(f"{self.path}: bad regular expression {want!r}: {exc}") from None
        raise ConditionError(f"unknown op {op!r}")  # pragma: no cover - Literal keeps this out


def check_all(conditions: list[Condition], data: Any, *, any_of: bool = False) -> bool:
    """Whether all (or, with ``any_of``, any) of ``conditions`` hold; an empty list holds."""
    if not conditions:
        return True
    if any_of:
        return any(c.test(data) for c in conditions)
    return all(c.test(data) for c in conditions)


def _media_view(m: Media) -> dict[str, Any]:
    return {"kind": m.kind, "mime": m.mime, "name": m.name, "size": m.size, "url": m.url, "meta": m.meta}


def resolve_path(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data`` (media expose kind, mime, name, size, url, meta); a private
    sentinel when it is not there."""
    cur = data
    for seg in parse_path(path):
        if isinstance(cur, Media):
            cur = _media_view(cur)
        if isinstance(seg, int):
            if not isinstance(cur, list) or not -len(cur) <= seg < len(cur):
                return _MISSING
            cur = cur[seg]
        elif isinstance(cur, dict) and seg in cur:
            cur = cur[seg]
        elif isinstance(cur, list) and seg.isdigit() and int(seg) < len(cur):
            cur = cur[int(seg)]
        else:
            return _MISSING
    return cur


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() not in ("", "false", "no", "0", "off", "none", "null")
    return bool(v)


def _fold(v: Any) -> Any:
    if isinstance(v, str):
        return v.casefold()
    if isinstance(v, list):
        return [_fold(x) for x in v]
    return v


def _as_number(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return v
    return v


def _numbers(a: Any, b: Any) -> tuple[Any, Any]:
    """Compare text holding a number with a number as numbers."""
    num = (int, float)
    if isinstance(a, num) and not isinstance(a, bool) and isinstance(b, str):
        return a, _as_number(b)
    if isinstance(b, num) and not isinstance(b, bool) and isinstance(a, str):
        return _as_number(a), b
    return a, b


def _equal(a: Any, b: Any) -> bool:
    if a == b:
        return True
    x, y = _numbers(a, b)
    return x == y if (x, y) != (a, b) else False


_LABEL_JUNK = re.compile(r"[^a-z0-9_]+")


def normalise_label(value: Any) -> str:
    """A classifier's answer as a route name: ``" Product photo."`` -> ``product_photo``."""
    text = to_text(value).strip().strip("\"'`").casefold()
    return _LABEL_JUNK.sub("_", text).strip("_")
