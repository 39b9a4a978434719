"""Data nodes: JSON extract by path, JSON parse, and convert between scalar types."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from nbflow.exceptions import NodeError
from nbflow.model.types import check_value, to_text
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port
from nbflow.providers.structured import parse_json_text

__all__ = ["Convert", "JsonExtract", "JsonParse", "JsonPath", "extract_path", "parse_path"]

_SEGMENT = re.compile(r"""\.?([A-Za-z_][\w\-]*)|\[(\d+|-\d+)\]|\[["']([^"']*)["']\]|\.(\d+)""")


def parse_path(path: str) -> list[str | int]:
    """Parse ``$.items[0].name``, ``items.0.name`` or ``a["odd key"]`` into segments."""
    p = path.strip()
    if p in ("", "$"):
        return []
    p = p[1:] if p.startswith("$") else p
    segs: list[str | int] = []
    pos = 0
    while pos < len(p):
        m = _SEGMENT.match(p, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse path {path!r} at {p[pos:]!r}")
        name, idx, quoted, dotted_idx = m.groups()
        if name is not None:
            segs.append(name)
        elif idx is not None:
            segs.append(int(idx))
        elif dotted_idx is not None:
            segs.append(int(dotted_idx))
        else:
            segs.append(quoted)
        pos = m.end()
    return segs


def _checked_path(path: str) -> str:
    parse_path(path)
    return path


#: A params field holding a JSON path, checked when the params are validated.
JsonPath = Annotated[str, AfterValidator(_checked_path)]


def extract_path(data: Any, segs: list[str | int]) -> Any:
    """Follow ``segs`` into ``data``; KeyError naming the missing step when it is not there."""
    cur = data
    walked = "$"
    for s in segs:
        if isinstance(s, int):
            if not isinstance(cur, list) or not -len(cur) <= s < len(cur):
                raise KeyError(f"{walked} has no item [{s}]")
            cur = cur[s]
            walked += f"[{s}]"
        elif isinstance(cur, dict) and s in cur:
            cur = cur[s]
            walked += f".{s}"
        elif isinstance(cur, list) and s.isdigit() and int(s) < len(cur):
            cur = cur[int(s)]
            walked += f"[{s}]"
        else:
            raise KeyError(f"{walked} has no key {s!r}")
    return cur


class ExtractParams(Params):
    path: JsonPath = Field(default="$", description="Path like $.items[0].name or items.0.name.")
    default: Any = Field(default=None, description="Returned when the path is missing; else the node fails.")



class JsonExtract(NodeType[ExtractParams]):
    type = "json.extract"
    title = "JSON extract"
    category = "Data"
    description = "Pick a value out of JSON by path."
    inputs = {"data": Port("json")}
    outputs = {"value": Port("json")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        try:
            return {"value": extract_path(inputs["data"], parse_path(self.params.path))}
        except KeyError as exc:
            if self.params.default is not None:
                return {"value": self.params.default}
            raise NodeError(f"path {self.params.path!r}: {exc.args[0]}") from None


class JsonParse(NodeType[Params]):
    type = "json.parse"
    title = "Parse JSON"
    category = "Data"
    description = "Parse text as JSON (a surrounding ``` fence is allowed)."
    inputs = {"text": Port("text")}
    outputs = {"value": Port("json")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        try:
            return {"value": parse_json_text(inputs["text"])}
        except json.JSONDecodeError as exc:
            raise NodeError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


class ConvertParams(Params):
    to: Literal["text", "number", "boolean", "json"] = Field(default="text", description="Target type.")


class Convert(NodeType[ConvertParams]):
    type = "convert"
    title = "Convert"
    category = "Data"
    description = "Convert a value to text, number, boolean or JSON; fails clearly when it cannot."
    inputs = {"value": Port("any")}

    def output_ports(self) -> dict[str, Port]:
        return {"value": Port(self.params.to)}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        v = inputs["value"]
        to = self.params.to
        if to == "text":
            return {"value": to_text(v)}
        if to == "json":
            if isinstance(v, str):
                try:
                    return {"value": parse_json_text(v)}
                except json.JSONDecodeError:
                    return {"value": v}
            why = check_value(v, "json")
            if why:
                raise NodeError(f"cannot convert to JSON: {why}")
            return {"value": v}
        if to == "number":
            if isinstance(v, bool):
                return {"value": int(v)}
            if isinstance(v, (int, float)):
                return {"value": v}
            if isinstance(v, str):
                try:
                    f = float(v.strip())
                    return {"value": int(f) if f.is_integer() and "." not in v else f}
                except ValueError:
                    pass
            raise NodeError(f"cannot convert {to_text(v)[:60]!r} to a number")
        if isinstance(v, bool):
            return {"value": v}
        if isinstance(v, (int, float)):
            return {"value": v != 0}
        if isinstance(v, str) and v.strip().lower() in ("true", "yes", "1", "false", "no", "0", ""):
            return {"value": v.strip().lower() in ("true", "yes", "1")}
        raise NodeError(f"cannot convert {to_text(v)[:60]!r} to a boolean")
