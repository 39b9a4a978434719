"""Schedules: cron in a time zone (across daylight saving), overlap and missed-run policies on a manual
clock, state that survives a restart, every scheduled run recorded, and `nbflow schedule`."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from nbflow.cli import main
from nbflow.cron import (
    ManualClock,
    MemoryScheduleState,
    Scheduler,
    ScheduleSpec,
    ScheduleState,
    fires_between,
    flow_launcher,
    next_fire,
    prev_fire,
)
from nbflow.exceptions import ConfigError
from nbflow.store import MemoryStore

from .helpers import NUMBERS, load, write_flow

UTC = timezone.utc


def ts(*args, tz="UTC") -> float:
    return datetime(*args, tzinfo=ZoneInfo(tz)).timestamp()


def test_cron_follows_the_time_zone_across_daylight_saving():
    spec = ScheduleSpec(flow="f.json", cron="0 9 * * *", tz="Europe/Berlin")
    winter = next_fire(spec, ts(2026, 1, 10, 12))
    summer = next_fire(spec, ts(2026, 7, 10, 12))
    assert datetime.fromtimestamp(winter, UTC).hour == 8  # 09:00 CET
    assert datetime.fromtimestamp(summer, UTC).hour == 7  # 09:00 CEST
    # The night clocks go forward (2026-03-29) the daily run is still at 09:00 local time.
    before = next_fire(spec, ts(2026, 3, 27, 12))
    after = next_fire(spec, before)
    assert after - before == 23 * 3600
    assert datetime.fromtimestamp(after, ZoneInfo("Europe/Berlin")).hour == 9
    assert prev_fire(spec, winter) == winter and prev_fire(spec, winter - 1) == winter - 86400


def test_fires_between_walks_back_from_now():
    spec = ScheduleSpec(flow="f.json", cron="*/10 * * * *")
    start = ts(2026, 1, 1, 0, 0)
    times, more = fires_between(spec, start, start + 3600, limit=100)
    assert len(times) == 6 and times[0] == start + 600 and times[-1] == start + 3600 and not more
    times, more = fires_between(spec, start, start + 86400 * 365, limit=3)  # a year down: cheap all the same
    assert len(times) == 3 and more and times[-1] == start + 86400 * 365


@pytest.mark.parametrize(("field", "value", "text"), [
    ("cron", "0 9 * *", "is not a cron expression"),
    ("cron", "61 * * * *", "is not a cron expression"),
    ("tz", "Europe/Atlantis", "is not a known time zone"),
    ("overlap", "sometimes", "skip"),
    ("missed", "all", "run_once"),
])
def test_invalid_settings_name_the_field(field, value, text):
    obj = {"flow": "f.json", "cron": "0 9 * * *", field: value}
    with pytest.raises(ConfigError) as err:
        ScheduleSpec.parse(obj, where="serve.json")
    assert f"serve.json: field '{field}'" in str(err.value) and text in str(err.value)
    assert "\n" not in str(err.value)


class SlowLaunch:
    """A launch whose runs last until the test releases them."""

    def __init__(self) -> None:
        self.started: list[float] = []
        self.release = asyncio.Event()

    async def __call__(self, spec, at):
        self.started.append(at)
        await self.release.wait()
        return at


def run_sched(spec, launch, clock, state, steps):
    async def go():
        sched = Scheduler([(spec, launch)], clock=clock, state=state)
        sched.start()
        await steps(sched)
        await sched.stop(wait=False)
        return sched

    return asyncio.run(go())


@pytest.mark.parametrize(("overlap", "started", "outcomes"), [
    ("skip", 1, ["started", "skipped", "skipped"]),
    ("queue", 3, ["started", "started", "started"]),
    ("allow", 3, ["started", "started", "started"]),
])
def test_overlap_policies(overlap, started, outcomes):
    clock = ManualClock(ts(2026, 1, 1, 8, 59, 30))
    spec = ScheduleSpec(flow="f.json", cron="* * * * *", overlap=overlap)
    launch = SlowLaunch()
    running_at_once = []

    async def steps(sched):
        for _ in range(3):
            await clock.advance(60)
        running_at_once.append(len(launch.started))
        launch.release.set()
        await sched.drain()

    sched = run_sched(spec, launch, clock, MemoryScheduleState(), steps)
    assert len(launch.started) == started
    assert running_at_once == [{"skip": 1, "queue": 1, "allow": 3}[overlap]]  # queue waits its turn
    assert [f.outcome for f in sched.fires] == outcomes
    assert [f.at for f in sched.fires] == [ts(2026, 1, 1, 9, m) for m in range(3)]


@pytest.mark.parametrize(("missed", "caught_up"), [("skip", 0), ("run_once", 1), ("run_all", 4)])
def test_missed_runs_policies(missed, caught_up):
    down_since = ts(2026, 1, 1, 5, 0)
    clock = ManualClock(ts(2026, 1, 1, 9, 30))
    spec = ScheduleSpec(flow="f.json", cron="0 * * * *", missed=missed, name="hourly")
    state = MemoryScheduleState({"hourly": down_since})
    ran = []

    async def launch(spec, at):
        ran.append(at)

    async def steps(sched):
        await clock.advance(0)
        await sched.drain()
        await clock.advance(1800)  # 10:00: the first regular fire
        await sched.drain()

    sched = run_sched(spec, launch, clock, state, steps)
    missed_times = [ts(2026, 1, 1, h) for h in (6, 7, 8, 9)]
    expected = {"skip": [], "run_once": missed_times[-1:], "run_all": missed_times}[missed]
    assert ran == [*expected, ts(2026, 1, 1, 10)]
    assert sum(f.late for f in sched.fires if f.outcome == "started") == caught_up
    assert sum(f.outcome == "missed" for f in sched.fires) == 4 - caught_up
    assert state.values["hourly"] == ts(2026, 1, 1, 10)


def test_state_file_survives_a_restart(tmp_path):
    state = ScheduleState(tmp_path / "schedules")
    assert state.last_fire("a/b c") is None
    state.set_last_fire("a/b c", 123.5)
    assert ScheduleState(tmp_path / "schedules").last_fire("a/b c") == 123.5
    (tmp_path / "schedules" / "a_b_c.json").write_text("{oops")
    with pytest.raises(ConfigError, match="cannot read its state file"):
        state.last_fire("a/b c")


def test_a_failing_launch_does_not_stop_the_schedule():
    clock = ManualClock(ts(2026, 1, 1, 0, 0, 30))
    spec = ScheduleSpec(flow="f.json", cron="* * * * *")
    calls = []

    async def launch(spec, at):
        calls.append(at)
        if len(calls) == 1:
            raise RuntimeError("boom")

    async def steps(sched):
        await clock.advance(60)
        await clock.advance(60)
        await sched.drain()

    sched = run_sched(spec, launch, clock, MemoryScheduleState(), steps)
    assert [f.outcome for f in sched.fires] == ["failed", "started"]
    assert sched.fires[0].error == "RuntimeError: boom"


def test_scheduled_runs_are_recorded(tmp_path):
    flow = load(tmp_path, NUMBERS)
    store = MemoryStore()
    clock = ManualClock(ts(2026, 1, 1, 8, 59, 59))
    spec = ScheduleSpec(flow="numbers.json", cron="0 9 * * *", inputs={"n": "4"})
    results = []

    async def steps(sched):
        await clock.advance(1)
        await sched.drain()
        await clock.advance(86400)
        await sched.drain()

    run_sched(spec, flow_launcher(flow, store=store, on_result=results.append), clock, MemoryScheduleState(), steps)
    assert [r.outputs["number"] for r in results] == [4, 4]
    assert [r.source for r in store.list_runs()] == ["schedule", "schedule"]


def test_duplicate_schedule_names_are_refused():
    spec = ScheduleSpec(flow="f.json", cron="0 9 * * *", name="daily")

    async def launch(spec, at):
        return None

    with pytest.raises(ConfigError, match="two schedules are named 'daily'"):
        Scheduler([(spec, launch), (spec, launch)], state=MemoryScheduleState())


def test_schedule_cli(tmp_path, capsys):
    flow_file = write_flow(tmp_path, NUMBERS)
    assert main(["schedule", str(flow_file), "--cron", "30 6 * * 1", "--tz", "America/New_York", "--next", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.endswith("T06:30:00-05:00") or line.endswith("T06:30:00-04:00")
                                   for line in lines)
    assert datetime.fromisoformat(lines[0]).weekday() == 0
    assert main(["schedule", str(flow_file), "--cron", "0 9 * * *", "--tz", "Nowhere/City", "--next", "1"]) == 2
    assert "field 'tz'" in capsys.readouterr().err
    # A per-second schedule, stopped after one run: the run is recorded with source "schedule".
    assert main(["schedule", str(flow_file), "--cron", "* * * * * *", "-i", "n=9", "--max-runs", "1",
                 "--tz", "Asia/Tokyo"]) == 0
    err = capsys.readouterr().err
    assert "succeeded" in err
    # every time in the log carries its date and the schedule's zone
    assert re.search(r"succeeded in [0-9.]+s \(started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST\)", err), err
    from nbflow.store import open_store

    with open_store() as store:
        (run,) = store.list_runs(source="schedule")
        assert store.get(run.id).outputs["number"] == 9
