"""Cron schedules for flows: time zones, overlap and missed-run policies, every run recorded.

    nbflow schedule flow.json --cron "0 9 * * *" --tz Europe/Berlin --inputs inputs.json

or declared under ``"schedules"`` in the configuration of ``nbflow serve``.
"""

from __future__ import annotations

from nbflow.clock import Clock, ManualClock, SystemClock
from nbflow.cron.launch import flow_launcher
from nbflow.cron.schedule import MissedPolicy, OverlapPolicy, ScheduleSpec, fires_between, next_fire, prev_fire
from nbflow.cron.scheduler import Fire, Launch, Scheduler
from nbflow.cron.state import MemoryScheduleState, ScheduleState, default_state_dir

__all__ = [
    "Clock",
    "Fire",
    "Launch",
    "ManualClock",
    "MemoryScheduleState",
    "MissedPolicy",
    "OverlapPolicy",
    "ScheduleSpec",
    "ScheduleState",
    "Scheduler",
    "SystemClock",
    "default_state_dir",
    "fires_between",
    "flow_launcher",
    "next_fire",
    "prev_fire",
]
