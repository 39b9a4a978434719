"""``nbflow templates`` and ``nbflow new TEMPLATE OUT.json``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("templates", help="list ready-made flows to start from")
    p.add_argument("--json", action="store_true", help="machine-readable list")
    p.set_defaults(func=templates_main)

    p = sub.add_parser("new", help="write a template flow to a file")
    p.add_argument("template", help="template name (see `nbflow templates`)")
    p.add_argument("out", help="the flow file to write, e.g. my_flow.json")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=new_main)


def templates_main(args: argparse.Namespace) -> int:
    from nbflow.templates import list_templates

    items = list_templates()
    if args.json:
        sys.stdout.write(json.dumps([{"name": t.name, "description": t.description} for t in items],
                                    indent=2, ensure_ascii=False) + "\n")
        return 0
    width = max(len(t.name) for t in items)
    for t in items:
        sys.stdout.write(f"{t.name:<{width}}  {t.description}\n")
    return 0


def new_main(args: argparse.Namespace) -> int:
    from nbflow.templates import write_template

    path = write_template(args.template, args.out, overwrite=args.force)
    sys.stdout.write(f"wrote {path}; run it with: nbflow run {path}\n")
    return 0
