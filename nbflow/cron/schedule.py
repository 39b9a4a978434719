"""A schedule: a flow, a cron expression in a time zone, inputs, and what to do about overlaps and
runs missed while nothing was running.

Cron expressions have five fields (minute hour day month weekday) or six (a sixth for seconds, as
croniter reads them). Times are computed in the schedule's zone, so ``0 9 * * *`` in
``Europe/Berlin`` fires at 09:00 Berlin time on both sides of a daylight-saving change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nbflow.model.validation import parse_config

__all__ = ["MissedPolicy", "OverlapPolicy", "ScheduleSpec", "fires_between", "next_fire", "prev_fire"]

OverlapPolicy = Literal["skip", "queue", "allow"]
MissedPolicy = Literal["skip", "run_once", "run_all"]


class ScheduleSpec(BaseModel):
    """One schedule.

    ``overlap`` says what happens when a fire time comes while the previous run is still going:
    ``skip`` it (the default), ``queue`` it to start when the previous one ends, or ``allow`` both
    at once. ``missed`` says what happens, on start, to fire times that passed while the scheduler
    was down: ``skip`` them (the default), ``run_once`` (one catch-up run) or ``run_all`` (one run
    per missed time, at most ``max_catchup``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    flow: str = Field(description="A flow file, or (in a serve configuration) the name of a served flow.")
    cron: str = Field(description="Five fields (m h dom mon dow) or six (with seconds last).")
    tz: str = Field(default="UTC", description="IANA time zone the cron expression is read in.")
    name: str | None = Field(default=None, description="Names the schedule in logs, metrics and its state "
                             "file; default: derived from the flow, cron, zone and inputs.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Graph inputs of every run.")
    overlap: OverlapPolicy = "skip"
    missed: MissedPolicy = "skip"
    max_catchup: int = Field(default=24, ge=1, description="Most catch-up runs with missed=run_all.")
    max_queue: int = Field(default=10, ge=1, description="Most fires waiting with overlap=queue; more are "
                           "skipped.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from croniter import croniter

        v = " ".join(v.split())
        if len(v.split()) not in (5, 6) or not croniter.is_valid(v):
            raise ValueError(f"{v!r} is not a cron expression (five fields: minute hour day month weekday)")
        return v

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a known time zone (e.g. UTC or Europe/Berlin)") from None
        return v

    @classmethod
    def parse(cls, obj: Any, *, where: str = "schedule") -> ScheduleSpec:
        """Validate from JSON; ConfigError naming the field."""
        return parse_config(cls, obj, where=where, whole="schedule")

    @property
    def key(self) -> str:
        """The schedule's name, or a stable one derived from what it runs and when."""
        if self.name:
            return self.name
        blob = json.dumps([self.flow, self.cron, self.tz, self.inputs], sort_keys=True, default=str)
        stem = self.flow.rsplit("/", 1)[-1].removesuffix(".json")
        return f"{stem}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def _at(spec: ScheduleSpec, t: float) -> datetime:
    return datetime.fromtimestamp(t, ZoneInfo(spec.tz))


def next_fire(spec: ScheduleSpec, after: float) -> float:
    """The first fire time strictly after ``after`` (seconds since the epoch)."""
    from croniter import croniter

    return float(croniter(spec.cron, _at(spec, after)).get_next(float))


def prev_fire(spec: ScheduleSpec, at_or_before: float) -> float:
    """The last fire time at or before ``at_or_before``."""
    from croniter import croniter

    p = float(croniter(spec.cron, _at(spec, at_or_before)).get_prev(float))
    n = next_fire(spec, p)
    return n if n <= at_or_before else p


def fires_between(spec: ScheduleSpec, after: float, until: float, *, limit: int) -> tuple[list[float], bool]:
    """Fire times in ``(after, until]``, oldest first, at most the ``limit`` newest; and whether older
    ones were left out. Walks backwards, so a long outage of a per-second schedule stays cheap."""
    out: list[float] = []
    t = prev_fire(spec, until)
    while t > after and len(out) < limit:
        out.append(t)
        t = prev_fire(spec, t - 1e-3)
    more = t > after
    out.reverse()
    return out, more
