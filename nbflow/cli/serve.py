"""``nbflow serve FLOW.json ... --host --port``: the webhook server (see :mod:`nbflow.server`)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

__all__ = ["add_parser", "config_from_args", "main"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve flows over HTTP (webhooks, SSE events, approvals, metrics)",
                       description="Serve flows as an HTTP API: POST /flows/NAME/runs starts a run, GET /runs/ID "
                       "gives its status, /runs/ID/events streams its events, POST /runs/ID/resume answers an "
                       "approval, GET /metrics for Prometheus. Needs a bearer token (NBFLOW_SERVE_TOKEN) or an "
                       "HMAC key (NBFLOW_SERVE_HMAC_SECRET).")
    p.add_argument("flows", nargs="*", metavar="FLOW.json", help="flow files to serve")
    p.add_argument("--config", metavar="FILE.json", help="server configuration: flows, auth, limits, schedules, "
                   "alert rules (command-line options win)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument("--token-env", metavar="NAME", help="secret holding the bearer token (default "
                   "NBFLOW_SERVE_TOKEN)")
    p.add_argument("--hmac-env", metavar="NAME", help="secret holding the HMAC signing key (default "
                   "NBFLOW_SERVE_HMAC_SECRET)")
    p.add_argument("--insecure-no-auth", action="store_true", help="serve without auth (trusted networks only)")
    p.add_argument("--store", metavar="URL", help="run store: a postgresql:// URL or a SQLite file "
                   "(default: $NBFLOW_STORE, else runs.db in $NBFLOW_HOME)")
    p.add_argument("--executor", metavar="dask://HOST:PORT", help="execute accepted runs on this Dask cluster "
                   "(workers open the same --store; default: in this process)")
    p.add_argument("--max-body", type=int, metavar="BYTES", help="largest request body (default 1 MiB)")
    p.add_argument("--max-runs", type=int, metavar="N", help="runs executing at once; more wait (default 32)")
    p.add_argument("--resume-interrupted", action="store_true", default=None,
                   help="on start, resume the runs of served flows whose process died (they are marked "
                   "interrupted either way)")
    p.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                   help="an internal host, host:port or network (10.0.0.0/8) that image/file input URLs may "
                   "name; repeatable (default: public addresses only)")
    from nbflow.cli.cache import cache_arg

    cache_arg(p, "shared by every served run, and with nbflow run --cache")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument("--check", action="store_true", help="load and check everything, print the routes, and exit")
    p.set_defaults(func=main)


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~nbflow.server.ServeConfig` from ``--config`` plus the command-line options."""
    from nbflow.server.config import ServeConfig

    config = ServeConfig.load(args.config) if args.config else ServeConfig()
    update: dict[str, Any] = {}
    if args.flows:
        from pathlib import Path

        update["flows"] = [*config.flows, *[str(Path(f).resolve()) for f in args.flows]]
    for name in ("host", "port", "store", "max_body", "executor"):
        if getattr(args, name) is not None:
            update[name] = getattr(args, name)
    if args.allow_host:
        update["allow_hosts"] = [*config.allow_hosts, *args.allow_host]
    if args.max_runs is not None:
        update["max_concurrent_runs"] = args.max_runs
    if args.resume_interrupted:
        update["resume_interrupted"] = True
    if args.cache is not None:
        update["cache"] = args.cache or True
    auth = config.auth.model_dump()
    if args.token_env:
        auth["token_env"] = args.token_env
    if args.hmac_env:
        auth["hmac_env"] = args.hmac_env
    if args.insecure_no_auth:
        auth["disabled"] = True
    merged = {**config.model_dump(), **update, "auth": auth}
    return ServeConfig.parse(merged, where="nbflow serve")


def main(args: argparse.Namespace) -> int:
    from nbflow.extras import require

    require("nbflow serve", "starlette", "uvicorn", "croniter")
    from nbflow.server import build_app, serve_forever
    config = config_from_args(args)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(name)s %(message)s")
    app = build_app(config)
    state = app.state.nbflow
    flows = sorted(state.manager.flows)
    auth = "+".join(state.auth.schemes) or "NONE (--insecure-no-auth)"
    sys.stderr.write(f"nbflow: serving {len(flows)} flow(s) on http://{config.host}:{config.port} "
                     f"(auth: {auth}; schedules: {len(config.schedules)}; alert rules: {len(config.alerts)})\n")
    for name in flows:
        sys.stderr.write(f"  POST /flows/{name}/runs\n")
    if state.notifier is not None:
        sys.stderr.write(f"  approval notices: {state.notifier!r}; links: GET/POST /approvals/{{token}}\n")
    if args.check:
        return 0
    serve_forever(app, host=config.host, port=config.port, log_level=args.log_level)
    return 0
