"""Reading and writing flow files: strict JSON in, canonical JSON out, migrations on the way in."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nbflow.exceptions import FlowFormatError
from nbflow.model.spec import FORMAT_VERSION, EdgeSpec, FlowSpec, NodeSpec

__all__ = [
    "MIGRATIONS",
    "dumps_spec",
    "loads_spec",
    "migrate",
    "move_run_settings",
    "read_spec",
    "spec_to_json",
    "too_deep",
]

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _migrate_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Unversioned pre-release files: nodes keyed by id with inline x/y, positional edge arrays.

    ``{"nodes": {"a": {"type": "llm", "x": 1, "y": 2, "params": {}}},
      "edges": [["a", "text", "b", "prompt"]]}``
    """
    nodes_in = data.get("nodes", {})
    if not isinstance(nodes_in, dict):
        raise FlowFormatError("unversioned file: 'nodes' must be an object keyed by node id")
    nodes: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    for node_id, body in nodes_in.items():
        if not isinstance(body, dict):
            raise FlowFormatError("unversioned file: node must be an object", node=str(node_id))
        body = dict(body)
        x, y = body.pop("x", None), body.pop("y", None)
        if x is not None or y is not None:
            layout[node_id] = {"x": x or 0, "y": y or 0}
        nodes.append({"id": node_id, **body})
    edges_in = data.get("edges", [])
    if not isinstance(edges_in, list):
        raise FlowFormatError("unversioned file: 'edges' must be a list of [src, src_port, dst, dst_port]")
    edges = []
    for i, e in enumerate(edges_in):
        if not (isinstance(e, list) and len(e) == 4 and all(isinstance(p, str) for p in e)):
            raise FlowFormatError(f"unversioned file: edge {i} must be [src, src_port, dst, dst_port]")
        edges.append({"from": f"{e[0]}.{e[1]}", "to": f"{e[2]}.{e[3]}"})
    out = {k: v for k, v in data.items() if k not in ("nodes", "edges")}
    out.update(nbflow=1, nodes=nodes, edges=edges, layout={"nodes": layout})
    return out


#: Node types whose version-1 params held run settings, and which of them.
_V1_RUN_PARAMS = {t: ("timeout", "rpm", "tpm", "max_concurrency") for t in ("llm", "vision", "image", "speech",
                                                                              "video", "http")}


def _migrate_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Run settings move from params to ``policy``: params keep only what changes outputs.

    ``params.timeout`` (seconds for one response) becomes ``policy.request_timeout``; ``rpm``, ``tpm``
    and ``max_concurrency`` move as they are; video's ``job_timeout`` bounds the attempt, so it becomes
    ``policy.timeout`` (the smaller, when both were set). A file that was not shaped like version 1 is
    passed on unchanged for validation to name what is wrong.
    """
    nodes = data.get("nodes")
    if isinstance(nodes, list):
        data = {**data, "nodes": [move_run_settings(n) for n in nodes]}
    return {**data, "nbflow": 2}


def move_run_settings(node: Any) -> Any:
    """One node dict with version-1 run settings in its params -> the same node with them in ``policy``.

    Also used for a ``map`` body given as ``{"type", "params"}``, which carries no version of its own.
    """
    if not isinstance(node, dict) or not isinstance(node.get("params"), dict):
        return node
    moved = _V1_RUN_PARAMS.get(node.get("type"))  # type: ignore[arg-type]
    policy = node.get("policy")
    if moved is None or not isinstance(policy, (dict, type(None))):
        return node
    params = dict(node["params"])
    policy = dict(policy or {})
    for name in moved:
        if name in params:
            value = params.pop(name)
            if value is not None:
                policy.setdefault("request_timeout" if name == "timeout" else name, value)
    if node.get("type") == "video" and "job_timeout" in params:
        job = params.pop("job_timeout")
        if isinstance(job, (int, float)) and not isinstance(job, bool):
            old = policy.get("timeout")
            policy["timeout"] = min(old, job) if isinstance(old, (int, float)) else job
    out = {**node, "params": params}
    if policy:
        out["policy"] = policy
    return out


def _migrate_2_to_3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 adds canvas frames and reroute points to ``layout``; a version-2 file has neither, so
    only its version changes (an older nbflow refuses a version-3 file by its number, not by a key)."""
    return {**data, "nbflow": 3}


#: version -> function that upgrades a file of that version by one step.
MIGRATIONS: dict[int, Migration] = {0: _migrate_0_to_1, 1: _migrate_1_to_2, 2: _migrate_2_to_3}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a parsed flow file to :data:`FORMAT_VERSION`, one step at a time."""
    version = data.get("nbflow", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise FlowFormatError(f"format version must be an integer, got {version!r}", field="nbflow")
    if version > FORMAT_VERSION:
        raise FlowFormatError(
            f"format version {version} is newer than this nbflow supports ({FORMAT_VERSION}); "
            "upgrade nbflow", field="nbflow")
    if version < 0:
        raise FlowFormatError(f"format version {version} is not valid", field="nbflow")
    while version < FORMAT_VERSION:
        data = MIGRATIONS[version](data)
        version = data["nbflow"]
    return data


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise FlowFormatError(f"duplicate key {k!r}")
            seen.add(k)
    return out


def _reject_constant(name: str) -> Any:
    raise FlowFormatError(f"{name} is not valid JSON")


def _loc(loc: tuple[Any, ...], data: Any) -> str:
    """Render a pydantic error location, naming nodes by id rather than by index."""
    parts: list[str] = []
    cur = data
    for i, p in enumerate(loc):
        if i == 1 and loc[0] == "nodes" and isinstance(p, int) and isinstance(cur, list) and p < len(cur):
            node = cur[p]
            nid = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{nid!r}]" if isinstance(nid, str) else f"[{p}]")
        elif isinstance(p, int):
            parts.append(f"[{p}]")
        elif isinstance(p, str) and p.isidentifier():
            parts.append(("." if parts else "") + p)
        else:
            parts.append(f"[{str(p)!r}]")
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            cur = None
    return "".join(parts)


def loads_spec(text: str | bytes, *, source: str | None = None) -> FlowSpec:
    """Parse, migrate and shape-check a flow file's text. Registry checks come later (compile)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except FlowFormatError as exc:
        raise exc.with_source(source or "<flow>") from None
    except json.JSONDecodeError as exc:
        raise FlowFormatError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                              source=source) from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise FlowFormatError(f"not valid JSON: {type(exc).__name__}", source=source) from None
    return spec_from_obj(data, source=source)


_NOT_A_FLOW = "not a flow: a flow file has 'nodes' (and 'nbflow', its format version)"

#: Deepest nesting of objects and arrays a flow file may have (params included).
MAX_DEPTH = 100


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``data`` (parsed JSON) nests objects and arrays deeper than ``limit``."""
    stack = [(data, 1)]
    while stack:  # iterative: a deep value must not exhaust the stack of the check itself
        v, d = stack.pop()
        if d > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values() if isinstance(x, (dict, list)))
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v if isinstance(x, (dict, list)))
    return False


def spec_from_obj(data: Any, *, source: str | None = None) -> FlowSpec:
    """Migrate and validate a parsed JSON object as a flow.

    JSON that is not a flow (a list, a string, an object without ``nodes``) is refused, and so is a
    file nested deeper than :data:`MAX_DEPTH`.
    """
    if not isinstance(data, dict):
        raise FlowFormatError(f"not a flow: a flow file is a JSON object, got {_json_kind(data)}", source=source)
    if "nodes" not in data and "nbflow" not in data:
        raise FlowFormatError(_NOT_A_FLOW, source=source)
    if too_deep(data):
        raise FlowFormatError(f"nested deeper than {MAX_DEPTH} levels", source=source)
    try:
        data = migrate(data)
        spec = FlowSpec.model_validate(data)  # first: a misspelt "nodes" is told as such
        if "nodes" not in data:
            raise FlowFormatError(_NOT_A_FLOW)
        return spec
    except FlowFormatError as exc:
        raise exc.with_source(source or "<flow>") from None
    except (TypeError, KeyError, AttributeError, IndexError) as exc:  # a migration met a shape it cannot read
        raise FlowFormatError(f"format version {data.get('nbflow', 0)!r}: malformed file ({type(exc).__name__})",
                              source=source) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        where = _loc(tuple(err["loc"]), data)
        msg = err["msg"].removeprefix("Value error, ")
        raise FlowFormatError(f"{where}: {msg}{more}", source=source) from None


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def read_spec(path: str | Path) -> FlowSpec:
    """Read a flow file from disk."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FlowFormatError("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise FlowFormatError("is a directory, not a flow file", source=str(path)) from None
    except OSError as exc:
        raise FlowFormatError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    return loads_spec(raw, source=str(path))


def _node_obj(n: NodeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"id": n.id, "type": n.type}
    if n.title:
        out["title"] = n.title
    if n.params:
        out["params"] = {k: n.params[k] for k in sorted(n.params)}
    if n.policy is not None:
        pol = _ints(n.policy.model_dump(mode="json", exclude_none=True, exclude_defaults=True))
        if pol:
            out["policy"] = pol
    return out


def _edge_obj(e: EdgeSpec) -> dict[str, Any]:
    return {"from": e.from_, "to": e.to}


def spec_to_json(spec: FlowSpec) -> dict[str, Any]:
    """The canonical JSON object for a flow: fixed key order, defaults left out."""
    out: dict[str, Any] = {"nbflow": FORMAT_VERSION, "name": spec.name}
    if spec.description:
        out["description"] = spec.description
    defaults = _ints(spec.defaults.model_dump(mode="json", exclude_none=True, exclude_defaults=True))
    if defaults:
        out["defaults"] = defaults
    out["nodes"] = [_node_obj(n) for n in spec.nodes]
    out["edges"] = [_edge_obj(e) for e in spec.edges]
    if spec.pins:
        out["pins"] = {k: p.model_dump(exclude_none=True) for k, p in sorted(spec.pins.items())}
    layout = _layout_obj(spec)
    if layout:
        out["layout"] = layout
    return out


def _layout_obj(spec: FlowSpec) -> dict[str, Any]:
    """Positions by node id, frames in drawing order, and the reroute points of wires that exist (by
    input, then output), so a deleted wire leaves no points behind in the file."""
    lay = spec.layout
    out: dict[str, Any] = {}
    positions = {k: {"x": _num(p.x), "y": _num(p.y)} for k, p in sorted(lay.nodes.items())}
    if positions:
        out["nodes"] = positions
    if lay.frames:
        out["frames"] = [{"id": f.id, "title": f.title, **({"text": f.text} if f.text else {}),
                          "x": _num(f.x), "y": _num(f.y), "w": _num(f.w), "h": _num(f.h), "color": f.color}
                         for f in lay.frames]
    edges = {(e.from_, e.to) for e in spec.edges}
    wires = sorted((w for w in lay.wires if (w.from_, w.to) in edges), key=lambda w: (w.to, w.from_))
    if wires:
        out["wires"] = [{"from": w.from_, "to": w.to, "via": [{"x": _num(p.x), "y": _num(p.y)} for p in w.via]}
                        for w in wires]
    return out


def _ints(obj: Any) -> Any:
    """Write integral floats as integers (``120`` rather than ``120.0``): same JSON value, tidier file."""
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    if isinstance(obj, dict):
        return {k: _ints(v) for k, v in obj.items()}
    return obj


def _num(v: float) -> float | int:
    """Canvas coordinates to 2 decimals, integral ones as integers (rounding first keeps it idempotent)."""
    r = round(v, 2)
    return int(r) if r.is_integer() else r


_INLINE_WIDTH = 100


def _pretty(value: Any, indent: str) -> str:
    """2-space JSON where a flat object or array that fits on one line stays on one line."""
    if isinstance(value, dict) and value:
        flat = not any(isinstance(v, (dict, list)) and v for v in value.values())
        if flat:
            one = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
            if len(one) + len(indent) <= _INLINE_WIDTH:
                return one
        inner = indent + "  "
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value:
        flat = not any(isinstance(v, (dict, list)) and v for v in value)
        if flat:
            one = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
            if len(one) + len(indent) <= _INLINE_WIDTH:
                return one
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + _pretty(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps_spec(spec: FlowSpec) -> str:
    """Canonical text: 2-space indent, short flat objects on one line, UTF-8 kept, trailing newline.

    The same flow always gives the same bytes, so flow files diff well in git.
    """
    return _pretty(spec_to_json(spec), "") + "\n"
