"""``nbflow mcp serve FLOW.json ...`` (flows as MCP tools) and ``nbflow mcp tools SERVER`` (list a server's tools)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nbflow.cli import add_allow_host_option
from nbflow.exceptions import InputError

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("mcp", help="serve flows as MCP tools; list an MCP server's tools",
                       description="Model Context Protocol: serve flows as tools, or list a server's tools.")
    mcp_sub = p.add_subparsers(dest="mcp_command", metavar="ACTION", parser_class=type(p))

    s = mcp_sub.add_parser("serve", help="expose each flow as an MCP tool (stdio or streamable HTTP)",
                           description="Expose each flow as one MCP tool: name and description from the flow, "
                           "input schema from its named inputs, outputs as the result.")
    s.add_argument("flows", nargs="+", metavar="FLOW.json", help="flow files to serve")
    s.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                   help="stdio (default; for a host that starts this command) or http (streamable HTTP)")
    s.add_argument("--host", default="127.0.0.1", help="HTTP: address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="HTTP: port (default 8000; 0 picks a free one)")
    s.add_argument("--path", default="/mcp", help="HTTP: endpoint path (default /mcp)")
    s.add_argument("--token-env", metavar="NAME", help="HTTP: require 'Authorization: Bearer <token>', the "
                   "token being the value of secret NAME (an environment variable or .env entry)")
    add_allow_host_option(s)
    s.add_argument("--no-store", action="store_true", help="do not record the runs in the run store")
    s.set_defaults(func=serve_main)

    t = mcp_sub.add_parser("tools", help="list the tools of an MCP server, with their input schemas",
                           description="List the tools of an MCP server: a URL (streamable HTTP) or a "
                           "command and its arguments (stdio), e.g. `nbflow mcp tools -- npx -y some-server`.")
    t.add_argument("server", nargs="+", metavar="URL | COMMAND ARGS", help="put -- before a command whose "
                   "arguments start with a dash")
    t.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                   help="HTTP header (repeatable); write secrets as ${ENV_NAME}")
    t.add_argument("--json", action="store_true", help="print the tools as JSON (name, description, schemas)")
    t.set_defaults(func=tools_main)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def serve_main(args: argparse.Namespace) -> int:
    from nbflow.extras import require
    from nbflow.flow import Flow

    require("nbflow mcp serve", "mcp")
    flows = [Flow.load(path) for path in args.flows]  # every file is validated before serving starts
    from nbflow.cli.run import open_cli_store
    from nbflow.mcp.server import FlowToolset, aserve_http, aserve_stdio

    store: Any = False if args.no_store else open_cli_store()
    http = args.transport == "http"
    toolset = FlowToolset(flows, local_media=not http, store=store)
    names = ", ".join(toolset.flows)
    try:
        if http:
            import asyncio

            from nbflow.providers.secrets import Secrets

            token = Secrets().require(args.token_env) if args.token_env else None

            def ready(url: str) -> None:
                sys.stderr.write(f"nbflow: serving {len(flows)} tool(s) ({names}) at {url}\n")
                sys.stderr.flush()

            asyncio.run(aserve_http(toolset, host=args.host, port=args.port, path=args.path, token=token,
                                    on_ready=ready))
        else:
            import anyio

            # stdout belongs to the protocol: anything for a human goes to stderr.
            sys.stderr.write(f"nbflow: serving {len(flows)} tool(s) ({names}) over stdio\n")
            sys.stderr.flush()
            anyio.run(aserve_stdio, toolset)
    finally:
        if store is not False and hasattr(store, "close"):
            store.close()
    return 0


def _parse_headers(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InputError(f"--header {pair!r}: expected NAME=VALUE")
        out[name] = value
    return out


def tools_main(args: argparse.Namespace) -> int:
    from nbflow.extras import require

    require("nbflow mcp tools", "mcp")
    from nbflow.mcp.picker import list_tools
    from nbflow.providers.mcp.params import server_params

    words = list(args.server)
    if words[0].startswith(("http://", "https://")):
        if len(words) > 1:
            raise InputError(f"unexpected argument after the URL: {words[1]!r}")
        server = server_params({"url": words[0], "headers": _parse_headers(args.header)})
    else:
        if args.header:
            raise InputError("--header is for a URL server; a command gets its secrets from its environment")
        server = server_params(words)
    tools = list_tools(server)
    if args.json:
        sys.stdout.write(json.dumps(tools, indent=2, ensure_ascii=False) + "\n")
        return 0
    for tool in tools:
        props = (tool["input_schema"] or {}).get("properties") or {}
        required = set((tool["input_schema"] or {}).get("required") or ())
        sig = ", ".join(f"{k}{'' if k in required else '?'}: {v.get('type', 'any') if isinstance(v, dict) else 'any'}"
                        for k, v in props.items())
        sys.stdout.write(f"{tool['name']}({sig})\n")
        if tool["description"]:
            sys.stdout.write(f"    {' '.join(tool['description'].split())}\n")
    return 0
