"""``nbflow cache info`` and ``nbflow cache clear``: the persistent output cache."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "cache_arg", "open_cli_cache"]


def cache_arg(p: argparse.ArgumentParser, what: str) -> None:
    """The ``--cache [DIR]`` option shared by run, serve and batch."""
    p.add_argument("--cache", nargs="?", const="", default=None, metavar="DIR",
                   help=f"reuse node outputs from the persistent cache ({what}); DIR defaults to "
                        "<nbflow home>/cache")


def open_cli_cache(value: str | None) -> Any:
    """The disk cache a ``--cache [DIR]`` option names, or None when it was not given."""
    if value is None:
        return None
    from nbflow.caching import open_cache

    return open_cache(value or None)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("cache", help="inspect or clear the persistent output cache",
                       description="The persistent cache of node outputs shared by nbflow run --cache, "
                                   "the canvas and flow.run(cache=...).")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION", parser_class=type(p))
    info = csub.add_parser("info", help="entries, size, hit rate")
    info.add_argument("--dir", metavar="DIR", help="cache folder (default <nbflow home>/cache)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=info_main)
    clear = csub.add_parser("clear", help="remove cached outputs (all, or of one flow and/or node)")
    clear.add_argument("--dir", metavar="DIR", help="cache folder (default <nbflow home>/cache)")
    clear.add_argument("--flow", metavar="F", help="only outputs stored by this flow (a flow file or a "
                       "flow name)")
    clear.add_argument("--node", metavar="ID", help="only outputs of this node id")
    clear.set_defaults(func=clear_main)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_usage(sys.stderr)
    sys.stderr.write("nbflow: error: say 'info' or 'clear'\n")
    return 2


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def info_main(args: argparse.Namespace) -> int:
    from nbflow.caching import open_cache

    info = open_cache(args.dir).info()
    if args.json:
        sys.stdout.write(json.dumps(info.to_json(), indent=2) + "\n")
        return 0
    rate = "n/a" if info.hit_rate is None else f"{info.hit_rate:.0%}"
    sys.stdout.write(f"cache {info.path}\n  entries  {info.entries:,}\n  size     {_size(info.bytes)} "
                     f"of {_size(info.max_bytes)} (blobs: {info.blobs:,})\n  hits     {info.hits:,}\n"
                     f"  misses   {info.misses:,}\n  hit rate {rate}\n")
    return 0


def _flow_name(value: str) -> str:
    """A flow file's name, or the value itself when it is not a file."""
    if value.endswith(".json") or Path(value).is_file():
        from nbflow.model.io import read_spec

        return read_spec(value).name
    return value


def clear_main(args: argparse.Namespace) -> int:
    from nbflow.caching import open_cache

    cache = open_cache(args.dir)
    flow = _flow_name(args.flow) if args.flow else None
    n = cache.clear(flow=flow, node=args.node)
    scope = " and ".join(x for x in (f"flow {flow!r}" if flow else "", f"node {args.node!r}"
                                     if args.node else "") if x) or "everything"
    sys.stdout.write(f"removed {n:,} cached output{'s' if n != 1 else ''} ({scope}) from {cache.path}\n")
    return 0
