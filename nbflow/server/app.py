"""The webhook server: a Starlette ASGI app over the run manager, schedules and alert rules.

Routes (all but ``/healthz`` need credentials, see :mod:`.auth`):

====================================  ===========================================================
``GET  /healthz``                     liveness: ``{"status": "ok", ...}``
``GET  /metrics``                     Prometheus text
``GET  /flows``                       served flows with their input JSON Schemas
``GET  /flows/{name}``                one flow
``POST /flows/{name}/runs``           start a run: JSON body of inputs; 202 ``{"run_id", ...}``, or the
                                      finished run with ``?wait=true``; ``Idempotency-Key`` header
``GET  /runs``                        recent runs (``?flow=&status=&source=&limit=``)
``GET  /runs/{id}``                   status, outputs, usage, cost, nodes, pending approvals
``GET  /runs/{id}/events``            the run's events as Server-Sent Events (``Last-Event-ID``)
``POST /runs/{id}/resume``            ``{"approve": true, "value": ..., "node": ..., "comment": ...}``
``GET  /approvals/{token}``           an approval link's confirm page (signed link, no credentials)
``POST /approvals/{token}``           decide through the link, once; the run resumes
====================================  ===========================================================

Errors are JSON ``{"error": "<one line>", "field": ...}``: 400 bad JSON, 401 no or bad
credentials, 404 unknown flow or run, 409 conflict (still running, key reused with other inputs,
nothing to resume), 413 body too large, 422 invalid inputs naming the field, 503 store unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from nbflow.exceptions import ConfigError, InputError, NbflowError, ResumeError, StoreError
from nbflow.executor import DaskExecutor
from nbflow.flow import Flow
from nbflow.model.io import too_deep
from nbflow.model.spec import BudgetSpec
from nbflow.ops.notifier import Notifier
from nbflow.resuming import UNSET
from nbflow.server.approvals import approval_routes
from nbflow.server.auth import Auth
from nbflow.server.manager import ApiError, RunManager
from nbflow.server.metrics import Metrics
from nbflow.server.streams import sse_frame
from nbflow.store.owners import interrupt_if_orphaned
from nbflow.store.runstore import RunStore
from nbflow.storefeed import StoreFeed, finished_event

__all__ = ["ServerState", "create_app", "flow_info"]

log = logging.getLogger("nbflow.server")

_JSON_TYPES = {"text": {"type": "string"}, "number": {"type": "number"}, "boolean": {"type": "boolean"},
               "json": {}}


def flow_info(name: str, flow: Flow) -> dict[str, Any]:
    """A served flow as ``GET /flows`` lists it: name, description, input JSON Schema, outputs."""
    props: dict[str, Any] = {}
    required = []
    for iname, info in flow.inputs.items():
        prop = dict(_JSON_TYPES.get(info["type"], {"type": "string", "format": "uri"}))
        prop["x-nbflow-type"] = info["type"]
        if info["description"]:
            prop["description"] = info["description"]
        if info["default"] is not None:
            prop["default"] = info["default"]
        props[iname] = prop
        if info["required"]:
            required.append(iname)
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return {"name": name, "description": flow.spec.description, "inputs": schema, "outputs": flow.outputs,
            "runs_url": f"/flows/{name}/runs"}


class ServerState:
    """What the app's handlers share (reachable as ``app.state.nbflow``)."""

    def __init__(self, manager: RunManager, auth: Auth, metrics: Metrics, *, max_body: int,
                 wait_timeout: float, public_metrics: bool = False) -> None:
        self.manager = manager
        self.auth = auth
        self.metrics = metrics
        self.max_body = max_body
        self.wait_timeout = wait_timeout
        self.public_metrics = public_metrics
        self.started_at = time.time()
        self.background: list[Callable[[], Awaitable[Any]]] = []
        """Started with the app (schedules, alert rules); each returns a coroutine run as a task."""
        self.stoppers: list[Callable[[], Awaitable[Any]]] = []
        self.notifier: Notifier | None = None
        """Sends approval notices and signs their links (``notices`` in the configuration)."""


def _error(status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"error": message.replace("\n", " ")}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


def _status_of(exc: NbflowError) -> tuple[int, str | None]:
    if isinstance(exc, ApiError):
        return exc.status, exc.field
    if isinstance(exc, InputError):
        return 422, exc.field or exc.port or exc.node
    if isinstance(exc, ResumeError):
        return 409, None
    if isinstance(exc, StoreError):
        return (404, "run_id") if "no run" in str(exc) else (503, None)
    if isinstance(exc, ConfigError):
        return 422, None
    return 400, None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is over the {limit:,}-byte limit")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise ApiError(413, f"request body is over the {limit:,}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


#: Deepest nesting a request body may have (a graph input's JSON value included).
MAX_JSON_DEPTH = 64


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        obj = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"request body is not valid JSON: {getattr(exc, 'msg', exc)}") from None
    except RecursionError:  # the parser's own stack guard: deeper than Python can parse
        obj = None
        deep = True
    else:
        deep = too_deep(obj, MAX_JSON_DEPTH)
    if deep:
        raise ApiError(400, f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(obj, dict):
        raise ApiError(422, f"request body must be a JSON object of {what}")
    return obj


Handler = Callable[[Request, bytes, ServerState], Awaitable[Response]]


def _endpoint(route: str, handler: Handler, *, auth: bool = True) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        st: ServerState = request.app.state.nbflow
        try:
            body = await _read_body(request, st.max_body)
            if auth and not (route == "/metrics" and st.public_metrics):
                path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                why = st.auth.check(request.headers, body, method=request.method, path=path)
                if why is not None:
                    st.metrics.auth_failures.inc(reason=why)
                    raise ApiError(401, {"missing": "credentials required (Authorization: Bearer ... or a "
                                                    "signature)",
                                         "expired": "signature timestamp is outside the allowed window",
                                         "replayed": "this signed request was already used"}.get(
                                             why, "invalid credentials"))
            response = await handler(request, body, st)
        except NbflowError as exc:
            status, field = _status_of(exc)
            headers = {"www-authenticate": 'Bearer realm="nbflow"'} if status == 401 else None
            response = _error(status, exc.message if isinstance(exc, ApiError) else str(exc), field, headers)
        st.metrics.http_requests.inc(route=route, method=request.method, status=response.status_code)
        return response

    return endpoint


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def _timeout(request: Request, st: ServerState) -> float:
    raw = request.query_params.get("timeout")
    if raw is None:
        return st.wait_timeout
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(422, "timeout must be a number of seconds", field="timeout") from None
    return max(0.0, min(value, st.wait_timeout))


# -- handlers -----------------------------------------------------------------------------------------

async def healthz(request: Request, body: bytes, st: ServerState) -> Response:
    active = sum(1 for r in st.manager.live.values() if not r.ended)
    return JSONResponse({"status": "ok", "flows": len(st.manager.flows), "runs_active": active,
                         "uptime": round(time.time() - st.started_at, 3)})


async def metrics_text(request: Request, body: bytes, st: ServerState) -> Response:
    return PlainTextResponse(st.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


async def list_flows(request: Request, body: bytes, st: ServerState) -> Response:
    return JSONResponse({"flows": [flow_info(n, f) for n, f in sorted(st.manager.flows.items())]})


async def get_flow(request: Request, body: bytes, st: ServerState) -> Response:
    name = request.path_params["name"]
    return JSONResponse(flow_info(name, st.manager.flow(name)))


async def start_run(request: Request, body: bytes, st: ServerState) -> Response:
    name = request.path_params["name"]
    inputs = _json_object(body, "graph inputs")
    wait = _flag(request, "wait")
    timeout = _timeout(request, st) if wait else 0.0
    run_id, replayed = await st.manager.start(name, inputs, source="server",
                                              caller=st.auth.caller(request.headers),
                                              idempotency_key=request.headers.get("idempotency-key"))
    headers = {"location": f"/runs/{run_id}"}
    if replayed:
        headers["idempotent-replayed"] = "true"
    if wait and await st.manager.wait(run_id, timeout):
        return JSONResponse(st.manager.describe(run_id), status_code=200, headers=headers)
    out = st.manager.describe(run_id)
    return JSONResponse({**out, "status_url": f"/runs/{run_id}", "events_url": f"/runs/{run_id}/events"},
                        status_code=202, headers=headers)


async def list_runs(request: Request, body: bytes, st: ServerState) -> Response:
    q = request.query_params
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        raise ApiError(422, "limit must be an integer", field="limit") from None
    runs = st.manager.store.list_runs(flow=q.get("flow"), status=q.get("status"), source=q.get("source"),
                                      limit=max(1, min(limit, 1000)))
    return JSONResponse({"runs": [{"run_id": r.id, "flow": r.flow, "status": r.status, "source": r.source,
                                   "started_at": r.started_at, "duration": r.duration, "cost": r.cost,
                                   "error": r.error} for r in runs]})


async def get_run(request: Request, body: bytes, st: ServerState) -> Response:
    return JSONResponse(st.manager.describe(request.path_params["run_id"]))


async def run_events(request: Request, body: bytes, st: ServerState) -> Response:
    run_id = request.path_params["run_id"]
    evlog = st.manager.logs.get(run_id)
    if evlog is not None and evlog.done and _paused_here_resumed_elsewhere(evlog, st.manager.store, run_id):
        evlog = None  # another server sharing the store resumed it: its record is the truth
    if evlog is None:
        st.manager.store.summary(run_id)  # 404 when there is no such run
        return StreamingResponse(_replay(st.manager.store, run_id), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})
    last = request.headers.get("last-event-id", "")
    start = int(last) + 1 if last.isdigit() else 0
    return StreamingResponse(_follow(evlog, start), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


def _paused_here_resumed_elsewhere(evlog: Any, store: RunStore, run_id: str) -> bool:
    last = evlog.events[-1] if evlog.events else None
    if last is None or last.get("kind") != "run_finished" or last.get("data", {}).get("status") != "paused":
        return False
    try:
        return store.summary(run_id).status != "paused"
    except NbflowError:
        return False


async def _follow(evlog: Any, start: int) -> AsyncIterator[bytes]:
    async for item in evlog.follow(start):
        if item is None:
            yield b": keep-alive\n\n"
        else:
            i, ev = item
            yield sse_frame(i, ev["kind"], ev)


async def _replay(store: RunStore, run_id: str, *, poll: float = 0.25) -> AsyncIterator[bytes]:
    """A run this process is not executing (another replica or a Dask worker runs it, or it ended):
    told from its record in the shared store as it goes (:class:`~nbflow.storefeed.StoreFeed`).

    A run still ``running`` elsewhere is followed (node by node, with keep-alives) and never reported
    as finished while it runs; one whose process died is marked ``interrupted``.
    """
    feed = StoreFeed(store, run_id)
    quiet = 0.0
    while True:
        running = store.summary(run_id).status == "running" and not interrupt_if_orphaned(store, run_id)
        events = feed.poll()
        for ev in events:
            yield sse_frame(None, ev.kind, ev.to_json())
        if not running:
            break
        quiet = 0.0 if events else quiet + poll
        if quiet >= 15.0:
            quiet = 0.0
            yield b": keep-alive\n\n"
        await asyncio.sleep(poll)
    ev = finished_event(store, run_id)
    yield sse_frame(None, ev.kind, ev.to_json())


async def resume_run(request: Request, body: bytes, st: ServerState) -> Response:
    run_id = request.path_params["run_id"]
    obj = _json_object(body, "decision fields")
    unknown = sorted(set(obj) - {"approve", "value", "node", "comment", "by"})
    if unknown:
        raise ApiError(422, "unknown field (expected approve, value, node, comment, by)", field=unknown[0])
    approve = obj.get("approve")
    if approve is not None and not isinstance(approve, bool):
        raise ApiError(422, "approve must be true or false", field="approve")
    for name in ("node", "comment", "by"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise ApiError(422, f"{name} must be a string", field=name)
    await st.manager.resume(run_id, approve=approve, value=obj.get("value", UNSET),
                            node=obj.get("node"), comment=obj.get("comment"), by=obj.get("by"),
                            caller=st.auth.caller(request.headers))
    if _flag(request, "wait") and await st.manager.wait(run_id, _timeout(request, st)):
        return JSONResponse(st.manager.describe(run_id))
    return JSONResponse({**st.manager.describe(run_id), "status_url": f"/runs/{run_id}"}, status_code=202)


async def _sweep_orphans(manager: RunManager, resume: bool) -> None:
    """Every half lease time, do what a start does: mark ``interrupted`` the runs whose owner died (a
    replica killed mid-run, on any machine sharing the store), and resume them when configured."""
    from nbflow.store.lease import lease_ttl

    interval = max(0.5, lease_ttl() / 2)
    while True:
        await asyncio.sleep(interval)
        try:
            await manager.recover(resume=resume)
        except Exception:  # a store hiccup must not end the sweeping; the next round tries again
            log.exception("sweeping interrupted runs failed")


def create_app(flows: dict[str, Flow], store: RunStore, auth: Auth, *, metrics: Metrics | None = None,
               max_body: int = 1 << 20, max_concurrent_runs: int = 32, wait_timeout: float = 300.0,
               cache: Any = False, public_metrics: bool = False, resume_interrupted: bool = False,
               allow_hosts: list[str] | None = None, budget: BudgetSpec | None = None,
               executor: str | None = None) -> Starlette:
    """The ASGI app serving ``flows`` (name -> flow). Schedules and alert rules are added with
    :func:`nbflow.server.build_app`, which also reads a :class:`~nbflow.server.config.ServeConfig`."""
    metrics = metrics or Metrics()
    remote = None
    if executor:  # runs execute on a Dask cluster; workers share the store and cache folder
        remote = DaskExecutor(executor, store, cache=cache if isinstance(cache, str) else "" if cache is True else None,
                              allow_hosts=allow_hosts, budget=budget)
    manager = RunManager(flows, store, metrics, max_concurrent=max_concurrent_runs, cache=cache,
                         allow_hosts=allow_hosts, budget=budget, executor=remote)
    auth.keep_seen_in(store.remember)  # a replay is refused after a restart, or at another server
    state = ServerState(manager, auth, metrics, max_body=max_body, wait_timeout=wait_timeout,
                        public_metrics=public_metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await manager.recover(resume=resume_interrupted)
        tasks = [asyncio.ensure_future(start()) for start in state.background]
        tasks.append(asyncio.ensure_future(_sweep_orphans(manager, resume_interrupted)))
        try:
            yield
        finally:
            for stop in state.stoppers:
                await stop()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await manager.shutdown()
            if remote is not None:
                await remote.close()

    routes = [
        Route("/healthz", _endpoint("/healthz", healthz, auth=False), methods=["GET"]),
        Route("/metrics", _endpoint("/metrics", metrics_text), methods=["GET"]),
        Route("/flows", _endpoint("/flows", list_flows), methods=["GET"]),
        Route("/flows/{name}", _endpoint("/flows/{name}", get_flow), methods=["GET"]),
        Route("/flows/{name}/runs", _endpoint("/flows/{name}/runs", start_run), methods=["POST"]),
        Route("/runs", _endpoint("/runs", list_runs), methods=["GET"]),
        Route("/runs/{run_id}", _endpoint("/runs/{run_id}", get_run), methods=["GET"]),
        Route("/runs/{run_id}/events", _endpoint("/runs/{run_id}/events", run_events), methods=["GET"]),
        Route("/runs/{run_id}/resume", _endpoint("/runs/{run_id}/resume", resume_run), methods=["POST"]),
    ]
    # No credentials asked: the signed link is the credential (see nbflow.server.approvals).
    routes += [Route(path, _endpoint("/approvals/{token}", handler, auth=False), methods=methods)
               for path, handler, methods in approval_routes()]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.nbflow = state
    return app
