"""``nbflow validate``, ``nbflow schema`` and ``nbflow nodes``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_parser", "flow_json_schema", "node_catalog"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="check a flow file without running it")
    p.add_argument("flow", help="path to the flow JSON file")
    p.set_defaults(func=validate_main)

    p = sub.add_parser("schema", help="print the JSON Schema of flow files")
    p.add_argument("--node", metavar="TYPE", help="print the params schema of one node type instead")
    p.set_defaults(func=schema_main)

    p = sub.add_parser("nodes", help="list the node types (built-ins and plugins)")
    p.add_argument("--json", action="store_true", help="machine-readable catalogue")
    p.set_defaults(func=nodes_main)


def validate_main(args: argparse.Namespace) -> int:
    from nbflow.flow import Flow

    flow = Flow.load(args.flow)
    plan = flow.validate()
    ins = ", ".join(f"{k} ({pn.impl.value_type})" for k, pn in plan.inputs.items()) or "none"  # type: ignore[attr-defined]
    outs = ", ".join(plan.outputs) or "none"
    sys.stdout.write(f"{args.flow}: valid: {len(plan.nodes)} nodes, {len(flow.spec.edges)} edges; "
                     f"inputs: {ins}; outputs: {outs}\n")
    states = flow.pin_states()
    if states:
        stale = sorted(n for n, st in states.items() if st == "stale")
        sys.stdout.write(f"pins: {len(states)} ({len(stale)} stale)\n")
        for node_id in sorted(states):
            ports = ", ".join(sorted(flow.spec.pins[node_id].outputs)) or "no outputs"
            note = "  STALE: its params or something upstream changed since pinning" \
                if states[node_id] == "stale" else ""
            sys.stdout.write(f"  {node_id} ({ports}){note}\n")
    return 0


def flow_json_schema() -> dict[str, Any]:
    """JSON Schema of the flow file format, generated from the pydantic models."""
    from nbflow.model.spec import FORMAT_VERSION, FlowSpec

    schema = FlowSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"nbflow flow file, format version {FORMAT_VERSION}"
    return schema


def schema_main(args: argparse.Namespace) -> int:
    if args.node:
        from nbflow.nodes.registry import registry

        schema = registry.get(args.node).Params.model_json_schema()
    else:
        schema = flow_json_schema()
    sys.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    return 0


def node_catalog() -> list[dict[str, Any]]:
    """Every registered node type with its default ports and params schema."""
    from nbflow.nodes.registry import registry

    out = []
    for name, cls in registry.types().items():
        try:
            impl = cls(cls.Params(), name)
            ins = {k: p.type + ("" if p.required else "?") for k, p in impl.input_ports().items()}
            outs = {k: p.type for k, p in impl.output_ports().items()}
        except Exception:  # params without defaults: ports depend on them
            ins, outs = {}, {}
        out.append({"type": name, "title": cls.title, "category": cls.category,
                    "description": cls.description, "version": cls.version, "origin": registry.origin(name),
                    "inputs": ins, "outputs": outs, "params": cls.Params.model_json_schema()})
    return out


def nodes_main(args: argparse.Namespace) -> int:
    from nbflow.nodes.registry import registry

    cat = node_catalog()
    if args.json:
        sys.stdout.write(json.dumps(cat, indent=2, ensure_ascii=False) + "\n")
        return 0
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for n in cat:
        by_cat.setdefault(n["category"], []).append(n)
    for c in sorted(by_cat):
        sys.stdout.write(f"{c}\n")
        for n in by_cat[c]:
            ins = ", ".join(f"{k}: {t}" for k, t in n["inputs"].items())
            outs = ", ".join(f"{k}: {t}" for k, t in n["outputs"].items())
            origin = "" if n["origin"] == "nbflow" else f"  [{n['origin']}]"
            sys.stdout.write(f"  {n['type']:<16} {n['description']}{origin}\n")
            sys.stdout.write(f"  {'':<16} in ({ins}) -> out ({outs})\n")
    for err in registry.plugin_errors:
        sys.stderr.write(f"nbflow: warning: {err}\n")
    return 0
