"""The webhook server behind ``nbflow serve``: start runs over HTTP, follow their events, answer
approvals, scrape metrics; plus the schedules and alert rules of its configuration.

    from nbflow.server import ServeConfig, build_app, ServerThread
    app = build_app(ServeConfig(flows=["flow.json"]))
    with ServerThread(app) as server:
        ...   # POST {server.url}/flows/<name>/runs

Needs the ``serve`` extra (starlette, uvicorn, croniter).
"""

from __future__ import annotations

from nbflow.server.app import ServerState, create_app, flow_info
from nbflow.server.auth import Auth, sign
from nbflow.server.build import build_app, load_flows
from nbflow.server.config import AuthConfig, ServeConfig
from nbflow.server.manager import ApiError, LiveRun, RunManager, idempotent_run_id
from nbflow.server.metrics import Metrics
from nbflow.server.serving import ServerThread, serve_forever

__all__ = [
    "ApiError",
    "Auth",
    "AuthConfig",
    "LiveRun",
    "Metrics",
    "RunManager",
    "ServeConfig",
    "ServerState",
    "ServerThread",
    "build_app",
    "create_app",
    "flow_info",
    "idempotent_run_id",
    "load_flows",
    "serve_forever",
    "sign",
]
