"""Build the whole server from a :class:`~.config.ServeConfig`: flows, store, auth, schedules, alerts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from nbflow.clock import Clock
from nbflow.cron.schedule import ScheduleSpec
from nbflow.cron.scheduler import Fire, Scheduler
from nbflow.cron.state import ScheduleState
from nbflow.exceptions import ConfigError
from nbflow.flow import Flow
from nbflow.ops.alerts import AlertManager
from nbflow.ops.notifier import Notifier
from nbflow.providers.netguard import AllowList
from nbflow.server.app import ServerState, create_app
from nbflow.server.approvals import install_notices
from nbflow.server.auth import Auth
from nbflow.server.config import ServeConfig
from nbflow.store import RunStore, is_postgres_url, open_store

__all__ = ["build_app", "load_flows"]

log = logging.getLogger("nbflow.server")


def load_flows(config: ServeConfig) -> dict[str, Flow]:
    """The configuration's flow files, by flow name; ConfigError on a duplicate name."""
    flows: dict[str, Flow] = {}
    for p in config.flows:
        flow = Flow.load(config.path(p))
        if flow.name in flows:
            raise ConfigError(f"two served flows are named {flow.name!r} ({flows[flow.name].source} and {p}); "
                              "flow names must be unique")
        flows[flow.name] = flow
    return flows


def _schedule_flow(spec: ScheduleSpec, flows: dict[str, Flow], config: ServeConfig) -> str:
    """The served flow a schedule runs: by name, or by file (which is then served too)."""
    if spec.flow in flows:
        return spec.flow
    path = config.path(spec.flow)
    if not path.exists():
        raise ConfigError(f"schedule {spec.key!r}: flow {spec.flow!r} is neither a served flow name nor a file")
    flow = Flow.load(path)
    existing = flows.get(flow.name)
    if existing is not None and existing.source != flow.source:
        raise ConfigError(f"schedule {spec.key!r}: its flow file is named {flow.name!r}, like another served flow")
    flows.setdefault(flow.name, flow)
    return flow.name


def build_app(config: ServeConfig, *, flows: dict[str, Flow] | None = None, store: RunStore | None = None,
              auth: Auth | None = None, clock: Clock | None = None, schedule_state: ScheduleState | None = None,
              alert_send: Any = None) -> Starlette:
    """The configured app. Keyword arguments replace parts of the configuration (tests use them to
    inject a store, a manual clock or a fake alert sender)."""
    served = dict(flows) if flows is not None else load_flows(config)
    jobs = [(spec, _schedule_flow(spec, served, config)) for spec in config.schedules]
    if not served:
        raise ConfigError("no flows to serve: give flow files (nbflow serve FLOW.json ...) or 'flows' in the "
                          "configuration")
    store = store if store is not None else open_store(_store_where(config))
    auth = auth if auth is not None else config.auth.build()
    app = create_app(served, store, auth, max_body=config.max_body, max_concurrent_runs=config.max_concurrent_runs,
                     wait_timeout=config.wait_timeout, cache=config.cache, public_metrics=config.public_metrics,
                     resume_interrupted=config.resume_interrupted, allow_hosts=config.allow_hosts,
                     budget=config.budget, executor=config.executor)
    state: ServerState = app.state.nbflow
    if jobs:
        _add_schedules(state, jobs, clock, schedule_state)
    if config.alerts:
        _add_alerts(state, AlertManager(list(config.alerts), store, send=alert_send))
    if config.notices is not None:
        install_notices(state, Notifier(config.notices, allow=AllowList.parse(config.allow_hosts,
                                                                              where="allow_hosts")))
    return app


def _add_schedules(state: ServerState, jobs: list[tuple[ScheduleSpec, str]], clock: Clock | None,
                   schedule_state: ScheduleState | None) -> None:
    manager, metrics = state.manager, state.metrics

    def launcher(flow_name: str) -> Any:
        async def launch(spec: ScheduleSpec, at: float) -> Any:
            run_id, _ = await manager.start(flow_name, dict(spec.inputs), source="schedule")
            live = manager.live[run_id]
            assert live.task is not None
            return await live.task

        return launch

    def on_fire(fire: Fire) -> None:
        metrics.schedule_fires.inc(schedule=fire.schedule, outcome=fire.outcome)

    scheduler = Scheduler([(spec, launcher(name)) for spec, name in jobs], clock=clock, state=schedule_state,
                          on_fire=on_fire)
    state.scheduler = scheduler  # type: ignore[attr-defined]
    state.background.append(scheduler.run)

    async def stop() -> None:
        await scheduler.stop(wait=False)

    state.stoppers.append(stop)


def _add_alerts(state: ServerState, alerts: AlertManager) -> None:
    state.alerts = alerts  # type: ignore[attr-defined]
    interval = min(r.interval for r in alerts.rules)

    async def loop() -> None:
        due = {id(r): 0.0 for r in alerts.rules}
        while True:
            now = asyncio.get_running_loop().time()
            rules = [r for r in alerts.rules if due[id(r)] <= now]
            for r in rules:
                due[id(r)] = now + r.interval
            if rules:
                try:
                    fired = await asyncio.to_thread(alerts.check, rules=rules)
                except Exception:  # a failing check is logged; the next interval tries again
                    log.exception("alert rules could not be evaluated")
                    fired = []
                for a in fired:
                    state.metrics.alerts_fired.inc(rule=a.rule, flow=a.flow)
            await asyncio.sleep(interval)

    state.background.append(loop)


def _store_where(config: ServeConfig) -> str | Path | None:
    """The configured store: a ``postgresql://`` URL as it is, a SQLite path relative to the config file."""
    if not config.store:
        return None
    return config.store if is_postgres_url(config.store) else config.path(config.store)
