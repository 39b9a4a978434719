"""Prometheus metrics in the text exposition format (version 0.0.4), with no client library.

Counters, gauges and histograms keyed by label values; :meth:`Metrics.render` writes them for
``GET /metrics``. Everything happens on the server's event loop thread, but a lock keeps a scrape
consistent if a worker thread ever records too.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from typing import Any

from nbflow.model.events import Event

__all__ = ["MetricFamily", "Metrics"]

_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class MetricFamily:
    """One metric name with its type, help and a value (or histogram) per label combination."""

    def __init__(self, name: str, kind: str, help: str, labels: Iterable[str] = (),
                 buckets: tuple[float, ...] = _DURATION_BUCKETS) -> None:
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = tuple(labels)
        self.buckets = buckets
        self.values: dict[tuple[str, ...], float] = {}
        self.hist: dict[tuple[str, ...], list[float]] = {}  # bucket counts, then sum, then count
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(labels.get(n, "")) for n in self.labels)

    def inc(self, amount: float = 1.0, **labels: Any) -> None:
        key = self._key(labels)
        with self._lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def set(self, value: float, **labels: Any) -> None:
        with self._lock:
            self.values[self._key(labels)] = value

    def observe(self, value: float, **labels: Any) -> None:
        key = self._key(labels)
        with self._lock:
            h = self.hist.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, b in enumerate(self.buckets):
                if value <= b:
                    h[i] += 1
            h[-2] += value
            h[-1] += 1

    def get(self, **labels: Any) -> float:
        """A counter's or gauge's current value (0 when never set)."""
        return self.values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            if self.kind == "histogram":
                for key, h in sorted(self.hist.items()):
                    for i, b in enumerate(self.buckets):
                        le = 'le="' + _num(b) + '"'
                        lines.append(f"{self.name}_bucket{_labels(self.labels, key, le)} {_num(h[i])}")
                    inf = 'le="+Inf"'
                    lines.append(f"{self.name}_bucket{_labels(self.labels, key, inf)} {_num(h[-1])}")
                    lines.append(f"{self.name}_sum{_labels(self.labels, key)} {_num(h[-2])}")
                    lines.append(f"{self.name}_count{_labels(self.labels, key)} {_num(h[-1])}")
            else:
                for key, v in sorted(self.values.items()):
                    lines.append(f"{self.name}{_labels(self.labels, key)} {_num(v)}")
        return lines


class Metrics:
    """The server's metrics. Attributes are the families; :meth:`on_event` feeds run events in."""

    def __init__(self) -> None:
        F = MetricFamily
        self.http_requests = F("nbflow_http_requests_total", "counter", "HTTP requests by route, method and "
                               "status.", ("route", "method", "status"))
        self.auth_failures = F("nbflow_auth_failures_total", "counter", "Requests refused for missing or bad "
                               "credentials.", ("reason",))
        self.runs_started = F("nbflow_runs_started_total", "counter", "Runs started, by flow and source.",
                              ("flow", "source"))
        self.runs_finished = F("nbflow_runs_finished_total", "counter", "Runs ended, by flow and status.",
                               ("flow", "status"))
        self.runs_active = F("nbflow_runs_active", "gauge", "Runs accepted and not yet ended, by flow.",
                             ("flow",))
        self.run_duration = F("nbflow_run_duration_seconds", "histogram", "Seconds per run, by flow.",
                              ("flow",))
        self.run_cost = F("nbflow_run_cost_usd_total", "counter", "Provider cost in USD, by flow.", ("flow",))
        self.node_failures = F("nbflow_node_failures_total", "counter", "Node failures after retries, by "
                               "flow and node.", ("flow", "node"))
        self.idempotent_replays = F("nbflow_idempotent_replays_total", "counter", "Requests answered with "
                                    "an earlier run because their Idempotency-Key was seen.", ("flow",))
        self.schedule_fires = F("nbflow_schedule_fires_total", "counter", "Schedule fire times by outcome.",
                                ("schedule", "outcome"))
        self.alerts_fired = F("nbflow_alerts_fired_total", "counter", "Alerts fired, by rule and flow.",
                              ("rule", "flow"))
        self.notices = F("nbflow_notices_total", "counter", "Approval notices by channel and outcome (sent, "
                         "failed after every attempt).", ("channel", "outcome"))
        self.approval_links = F("nbflow_approval_links_total", "counter", "Approval link uses by outcome "
                                "(approved, rejected, used, expired, tampered, malformed).", ("outcome",))

    @property
    def families(self) -> list[MetricFamily]:
        return [v for v in vars(self).values() if isinstance(v, MetricFamily)]

    def on_event(self, flow: str, ev: Event) -> None:
        """Count what a run's event means for the metrics."""
        if ev.kind == "run_finished":
            status = str(ev.data.get("status", ""))
            self.runs_finished.inc(flow=flow, status=status)
            duration = ev.data.get("duration")
            if isinstance(duration, (int, float)):
                self.run_duration.observe(float(duration), flow=flow)
            cost = ev.data.get("cost")
            if isinstance(cost, (int, float)) and cost:
                self.run_cost.inc(float(cost), flow=flow)
        elif ev.kind == "failed" and ev.node_id is not None:
            self.node_failures.inc(flow=flow, node=ev.node_id)

    def render(self) -> str:
        """The exposition text."""
        lines: list[str] = []
        for fam in self.families:
            lines.extend(fam.render())
        return "\n".join(lines) + "\n"
