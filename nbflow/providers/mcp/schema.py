"""JSON Schema and nbflow port types, both ways, and checking tool arguments against a schema.

An MCP tool describes its arguments with a JSON Schema object; an nbflow flow describes its inputs
with port types. :func:`port_type_for` turns a schema property into the port type a canvas wire can
carry, :func:`schema_for` turns a port type into the schema an MCP client sees, and
:func:`check_arguments` gives a one-line reason when arguments do not fit a tool's schema.
"""

from __future__ import annotations

import re
from typing import Any

from nbflow.model.types import MEDIA_TYPES, element_type

__all__ = [
    "PORT_NAME",
    "argument_ports",
    "check_arguments",
    "flow_input_schema",
    "port_type_for",
    "schema_for",
]

#: Argument names that can be a port on the canvas (``node.port`` references split on the dot).
PORT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

_SCALARS = {"string": "text", "number": "number", "integer": "number", "boolean": "boolean"}

_MEDIA_HINT = ("a data: URL (data:<mime>;base64,...); over stdio also a local path or an http(s) URL")


def port_type_for(schema: Any) -> str:
    """The port type for a JSON Schema property: text, number, boolean, else json.

    Arrays and objects become ``json`` rather than ``list[...]``: a ``json`` port accepts text,
    numbers, lists and objects from any node, which is what a canvas user wiring a tool expects.
    """
    if not isinstance(schema, dict):
        return "json"
    t = schema.get("type")
    if isinstance(t, list):  # ["string", "null"] is an optional string
        kinds = [k for k in t if k != "null"]
        t = kinds[0] if len(kinds) == 1 else None
    if isinstance(t, str) and t in _SCALARS:
        return _SCALARS[t]
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return "text"
    return "json"


def argument_ports(schema: dict[str, Any] | None) -> dict[str, tuple[str, bool, str]]:
    """``{argument: (port type, required, description)}`` for the top-level properties of ``schema``.

    Properties whose names cannot be port names (dots, spaces...) are left out: they can still be
    given through the ``arguments`` port or param.
    """
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    required = set(schema.get("required") or ())
    out: dict[str, tuple[str, bool, str]] = {}
    for name, prop in props.items():
        if not PORT_NAME.match(name):
            continue
        desc = (prop.get("description") or prop.get("title") or "") if isinstance(prop, dict) else ""
        out[name] = (port_type_for(prop), name in required, str(desc))
    return out


def schema_for(port_type: str) -> dict[str, Any]:
    """The JSON Schema of values of ``port_type`` as an MCP client sends them."""
    if port_type == "text":
        return {"type": "string"}
    if port_type == "number":
        return {"type": "number"}
    if port_type == "boolean":
        return {"type": "boolean"}
    if port_type in MEDIA_TYPES:
        return {"type": "string", "description": f"the {port_type}: {_MEDIA_HINT}"}
    inner = element_type(port_type)
    if inner is not None:
        return {"type": "array", "items": {} if inner == "any" else schema_for(inner)}
    return {}  # json and any: every JSON value


def flow_input_schema(inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The tool input schema for a flow's named inputs (``Flow.inputs``)."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, info in inputs.items():
        prop = dict(schema_for(info["type"]))
        desc = info.get("description") or ""
        if desc:
            prop["description"] = f"{desc} ({prop['description']})" if "description" in prop else desc
        default = info.get("default")
        if default is not None and info["type"] not in MEDIA_TYPES:
            prop["default"] = default
        props[name] = prop
        if info.get("required"):
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())  # one line, whatever the validator wrote
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_arguments(arguments: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """None when ``arguments`` fit ``schema``; otherwise one line naming the argument and the problem.

    An invalid schema (a server's mistake) is not held against the caller: it returns None and the
    server has the last word.
    """
    from jsonschema import SchemaError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    try:
        cls = validator_for(schema)
        cls.check_schema(schema)
    except SchemaError:
        return None
    err = best_match(cls(schema).iter_errors(arguments))
    if err is None:
        return None
    where = ".".join(str(p) for p in err.absolute_path)
    if err.validator == "required" and not where:
        missing = [m for m in schema.get("required", ()) if m not in arguments]
        return f"missing required argument {missing[0]!r}" if missing else _clip(err.message)
    if err.validator == "additionalProperties" and not where:
        allowed = set(schema.get("properties") or {})
        extra = sorted(k for k in arguments if k not in allowed)
        known = ", ".join(sorted(allowed)) or "none"
        return f"unknown argument {extra[0]!r} (arguments: {known})" if extra else _clip(err.message)
    return _clip(f"argument {where!r}: {err.message}" if where else err.message)
