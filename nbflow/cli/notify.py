"""``--notify CONFIG.json`` of ``nbflow run``, ``schedule`` and ``resume``: approval notices outside the server.

The file is the server's configuration (its ``notices`` and ``allow_hosts`` are used) or a bare
``notices`` object. The links point at the ``nbflow serve`` named by ``base_url``, which must share
the run store and the link secret, since it is that server that takes the decision. ``nbflow run``
and ``nbflow resume`` wait for the deliveries (their retries included) before they exit; ``nbflow
schedule`` sends them in the background and waits for what is left when it stops.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nbflow.exceptions import ConfigError
from nbflow.model.record import RunResult
from nbflow.store.runstore import RunStore

__all__ = ["add_notify_arg", "load_notifier", "notify_paused", "recorded_route", "schedule_notice"]


def add_notify_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--notify", metavar="CONFIG.json", help="when a run pauses for approval, send the notices "
                   "configured in this file (a serve configuration's \"notices\"), with links to nbflow serve")


def load_notifier(path: str | None, allow_hosts: list[str] | None = None) -> Any:
    """The Notifier of ``path`` (None without one); ConfigError naming the file and field."""
    if not path:
        return None
    from nbflow.ops.notices import NoticeConfig
    from nbflow.ops.notifier import Notifier
    from nbflow.providers.netguard import AllowList

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such configuration file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the configuration must be a JSON object")
    block = data.get("notices", data) if "notices" in data or "flows" in data else data
    if block is None:
        raise ConfigError(f"{p}: it configures no notices")
    config = NoticeConfig.parse(block, where=f"{p}: notices")
    allowed = list(data.get("allow_hosts") or []) + list(allow_hosts or [])
    return Notifier(config, allow=AllowList.parse(allowed, where="allow_hosts"))


def recorded_route(store: RunStore, run_id: str) -> Any:
    """The ``defaults.notify`` of the flow recorded with ``run_id`` (None when it has none)."""
    from nbflow.model.spec import NotifySpec

    text = store.load(run_id).flow_text
    try:
        notify = (json.loads(text or "{}").get("defaults") or {}).get("notify")
        return None if notify is None else NotifySpec.model_validate(notify)
    except (ValueError, AttributeError):  # the run went through this flow: a bad record is not ours to fail on
        return None


def _paused_nodes(result: RunResult) -> set[str]:
    return {rec.id for rec in result.nodes.values() if rec.status == "paused"}


async def notify_paused(notifier: Any, store: RunStore | None, result: RunResult, route: Any = None) -> None:
    """Send (and wait for) the notices of ``result`` when it paused; reports failures on stderr.
    ``route``: the flow's ``defaults.notify``."""
    if result.status != "paused":
        return
    if store is None:
        sys.stderr.write(f"nbflow: warning: run {result.run_id} is not recorded, so no approval notice is sent "
                         "(its links could not work)\n")
        return
    deliveries = []
    for notice in notifier.notices(store, result.run_id, _paused_nodes(result), once=True, route=route):
        deliveries.extend(await notifier.deliver(notice))
    for d in deliveries:
        if not d.ok:
            sys.stderr.write(f"nbflow: warning: the approval notice for node {d.node_id!r} was not sent by "
                             f"{d.channel}: {d.error}\n")


def schedule_notice(notifier: Any, store: RunStore | None, result: RunResult, route: Any = None) -> None:
    """From inside a running loop: send the notices of ``result`` in the background."""
    if result.status == "paused" and store is not None:
        notifier.background(notify_paused(notifier, store, result, route))
