"""Alert rules over the run history: "more than 2% of runs of a flow failed in the last hour".

    rule = AlertRule(name="copy-errors", max_error_rate=0.02, window=3600, webhook="https://hooks.example/x")
    AlertManager([rule], store).check()      # POSTs one JSON object per flow over the threshold

A rule is evaluated per flow (or for the one flow it names) over the runs that *ended* in the
window, and fires only with at least ``min_runs`` of them, so one failure out of one run does not
page anyone. A fired alert is not repeated for the same rule and flow until ``cooldown`` has passed.
Without a webhook the alert goes to the ``nbflow.alerts`` logger. Delivery failures are logged and
never raise: an alerting problem must not take the server down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nbflow.model.validation import parse_config
from nbflow.ops.summary import RunStats, run_stats
from nbflow.ops.timespec import parse_duration
from nbflow.store.runstore import RunStore

__all__ = ["Alert", "AlertManager", "AlertRule", "evaluate", "post_json"]

log = logging.getLogger("nbflow.alerts")


class AlertRule(BaseModel):
    """When to alert, and where to send it.

    ``window``, ``cooldown`` and ``interval`` take seconds or text like ``15m`` or ``1h``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="error-rate", description="Names the rule in the alert.")
    flow: str | None = Field(default=None, description="Only this flow; default: each flow on its own.")
    max_error_rate: float = Field(default=0.02, ge=0, lt=1, description="Alert when failed / (succeeded + "
                                  "failed) is above this (0.02: below a 98% success rate).")
    window: float = Field(default=3600.0, gt=0, description="Seconds of history the rate covers.")
    min_runs: int = Field(default=5, ge=1, description="Fewer ended runs in the window never alert.")
    webhook: str | None = Field(default=None, description="POST the alert here as JSON; default: log it.")
    cooldown: float | None = Field(default=None, ge=0, description="Seconds before the same alert may "
                                   "fire again (default: the window).")
    interval: float = Field(default=60.0, gt=0, description="How often the server evaluates the rule.")

    @field_validator("window", "cooldown", "interval", mode="before")
    @classmethod
    def _seconds(cls, v: Any) -> Any:
        return v if v is None else parse_duration(v, what="alert rule")

    @field_validator("webhook")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @classmethod
    def parse(cls, obj: Any, *, where: str = "alert rule") -> AlertRule:
        """Validate a rule from JSON; ConfigError naming the field on a bad one."""
        return parse_config(cls, obj, where=where, whole="rule")


@dataclass(kw_only=True, slots=True)
class Alert:
    """One rule over its threshold for one flow."""

    rule: str
    flow: str
    error_rate: float
    threshold: float
    runs: int
    failed: int
    window: float
    at: float = field(default_factory=time.time)
    delivered: bool = False
    """The webhook accepted it (2xx)."""
    delivery_error: str | None = None
    """Why the webhook did not take it, when it did not."""

    @property
    def message(self) -> str:
        return (f"alert {self.rule!r}: flow {self.flow!r} error rate {self.error_rate:.1%} over the last "
                f"{_human(self.window)} ({self.failed} of {self.runs} runs failed) is above "
                f"{self.threshold:.1%}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": "nbflow.alert", "rule": self.rule, "flow": self.flow,
                "error_rate": round(self.error_rate, 6), "success_rate": round(1 - self.error_rate, 6),
                "threshold": self.threshold, "runs": self.runs, "failed": self.failed,
                "window_seconds": self.window, "at": round(self.at, 3), "message": self.message}


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def evaluate(store: RunStore, rule: AlertRule, *, now: float | None = None) -> list[Alert]:
    """The alerts ``rule`` raises now (one per flow over the threshold), without sending them."""
    now = time.time() if now is None else now
    out = []
    for st in run_stats(store, flow=rule.flow, since=now - rule.window, until=now + 1, total=False):
        rate = st.error_rate
        if rate is None or st.succeeded + st.failed < rule.min_runs or rate <= rule.max_error_rate:
            continue
        out.append(_alert(rule, st, rate, now))
    return out


def _alert(rule: AlertRule, st: RunStats, rate: float, now: float) -> Alert:
    return Alert(rule=rule.name, flow=st.flow, error_rate=rate, threshold=rule.max_error_rate,
                 runs=st.succeeded + st.failed, failed=st.failed, window=rule.window, at=now)


def post_json(url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON; returns the HTTP status (raises httpx errors)."""
    import httpx

    resp = httpx.post(url, json=payload, timeout=timeout, headers={"user-agent": "nbflow-alerts"})
    return resp.status_code


class AlertManager:
    """Evaluates rules against a store and delivers what fires, remembering cooldowns.

    Args:
        rules: the rules.
        store: the run history.
        send: ``send(url, payload) -> status``; defaults to an HTTP POST (tests pass a fake).
    """

    def __init__(self, rules: list[AlertRule], store: RunStore, *,
                 send: Callable[[str, dict[str, Any]], int] | None = None) -> None:
        self.rules = list(rules)
        self.store = store
        self.send = send or post_json
        self.fired: list[Alert] = []
        self._last: dict[tuple[str, str], float] = {}

    def check(self, now: float | None = None, *, rules: list[AlertRule] | None = None) -> list[Alert]:
        """Evaluate (all or the given) rules now; deliver and return the alerts that fired."""
        now = time.time() if now is None else now
        fired = []
        for rule in rules if rules is not None else self.rules:
            cooldown = rule.window if rule.cooldown is None else rule.cooldown
            for alert in evaluate(self.store, rule, now=now):
                key = (rule.name, alert.flow)
                last = self._last.get(key)
                if last is not None and now - last < cooldown:
                    continue
                self._last[key] = now
                self.deliver(rule, alert)
                fired.append(alert)
        self.fired.extend(fired)
        return fired

    def deliver(self, rule: AlertRule, alert: Alert) -> None:
        """Send one alert to the rule's webhook, or log it; failures are logged, never raised."""
        if rule.webhook is None:
            log.warning(alert.message)
            return
        try:
            status = self.send(rule.webhook, alert.to_json())
        except Exception as exc:  # a dead receiver must not stop the evaluation of other rules
            alert.delivery_error = f"cannot POST to the webhook: {type(exc).__name__}"
        else:
            if status < 300:
                alert.delivered = True
                log.info("%s (sent to the webhook)", alert.message)
                return
            alert.delivery_error = f"the webhook answered HTTP {status}"
        # The URL itself may hold a token (chat webhooks do), so it is never logged.
        log.error("%s; %s", alert.message, alert.delivery_error)
