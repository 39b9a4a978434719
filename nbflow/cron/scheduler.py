"""The scheduler: fires each schedule's runs at its cron times, applying its overlap and missed-run
policies, and remembers what it handled so a restart knows what it missed.

    sched = Scheduler([(spec, launch)], clock=SystemClock())
    await sched.run()           # until sched.stop()

``launch(spec, fire_time)`` starts one run and returns when it ends (the CLI runs the flow with
``source="schedule"`` into the run store; the server goes through its run manager so the run also
shows in its API, event streams and metrics). Every fire time is accounted for in ``fires``:
``started``, ``queued``, ``skipped`` (overlap), ``missed`` (passed while down and not caught up)
or ``failed`` (the launch raised).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from nbflow.clock import Clock, SystemClock
from nbflow.cron.schedule import ScheduleSpec, fires_between, next_fire
from nbflow.cron.state import ScheduleState

__all__ = ["Fire", "Launch", "Scheduler"]

log = logging.getLogger("nbflow.cron")

#: Starts one run of a schedule for a fire time; returns when the run ends (its result, or anything).
Launch = Callable[[ScheduleSpec, float], Awaitable[Any]]

FireOutcome = Literal["started", "queued", "skipped", "missed", "failed"]


@dataclass(kw_only=True, slots=True)
class Fire:
    """What became of one fire time."""

    schedule: str
    at: float
    """The fire time (seconds since the epoch)."""
    outcome: FireOutcome
    late: bool = False
    """A catch-up run for a time missed while the scheduler was down."""
    result: Any = None
    """What ``launch`` returned (the run's record), once it ended."""
    error: str | None = None


@dataclass(slots=True)
class _Job:
    spec: ScheduleSpec
    launch: Launch
    active: set[asyncio.Task[Any]] = field(default_factory=set)
    tail: asyncio.Task[Any] | None = None
    waiting: int = 0


class Scheduler:
    """Runs schedules until stopped.

    Args:
        jobs: ``(spec, launch)`` pairs.
        clock: time source (a :class:`~nbflow.clock.ManualClock` in tests).
        state: where last fire times are kept (default: files under the nbflow home).
        on_fire: called with each :class:`Fire` as it is decided (metrics, logs).
    """

    def __init__(self, jobs: Iterable[tuple[ScheduleSpec, Launch]], *, clock: Clock | None = None,
                 state: ScheduleState | None = None, on_fire: Callable[[Fire], Any] | None = None) -> None:
        self.jobs = [_Job(spec, launch) for spec, launch in jobs]
        keys = [j.spec.key for j in self.jobs]
        dup = next((k for k in keys if keys.count(k) > 1), None)
        if dup is not None:
            from nbflow.exceptions import ConfigError

            raise ConfigError(f"two schedules are named {dup!r}; give each a distinct name")
        self.clock = clock or SystemClock()
        self.state = state or ScheduleState()
        self.on_fire = on_fire
        self.fires: list[Fire] = []
        self._loops: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every schedule's loop on the running event loop."""
        self._loops = [asyncio.ensure_future(self._loop(job)) for job in self.jobs]

    async def run(self) -> None:
        """Start and wait until :meth:`stop` (or until every loop ended)."""
        self.start()
        await asyncio.gather(*self._loops)

    async def stop(self, *, wait: bool = True) -> None:
        """Stop firing; with ``wait``, let runs already started finish."""
        self._stopped.set()
        for t in self._loops:
            t.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        if wait:
            await self.drain()

    async def drain(self) -> None:
        """Wait for every run started so far (including queued ones) to end."""
        while True:
            tasks = {t for j in self.jobs for t in j.active} | {j.tail for j in self.jobs if j.tail is not None}
            pending = [t for t in tasks if not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    # -- the loop of one schedule -------------------------------------------------------------------

    async def _loop(self, job: _Job) -> None:
        spec = job.spec
        key = spec.key
        now = self.clock.now()
        last = self.state.last_fire(key)
        if last is not None and last < now:
            await self._catch_up(job, last, now)
        cursor = now if last is None else max(now, last)
        while not self._stopped.is_set():
            t = next_fire(spec, cursor)
            await self.clock.sleep_until(t)
            if self._stopped.is_set():
                return
            self._fire(job, t)
            cursor = t

    async def _catch_up(self, job: _Job, last: float, now: float) -> None:
        spec = job.spec
        missed, more = fires_between(spec, last, now, limit=spec.max_catchup)
        if not missed:
            return
        run = {"skip": [], "run_once": missed[-1:], "run_all": missed}[spec.missed]
        for t in missed:
            if t not in run:
                self._note(Fire(schedule=spec.key, at=t, outcome="missed", late=True))
        if more:
            log.warning("schedule %r: more than %d fire times passed while it was down; the older ones are "
                        "not counted", spec.key, spec.max_catchup)
        # Catch-up runs go one after another (unless overlaps are allowed): skipping them for overlapping
        # each other would make run_all run only the first.
        overlap = "allow" if spec.overlap == "allow" else "queue"
        for t in run:
            self._fire(job, t, late=True, overlap=overlap, bounded=False)
        if not run:
            self.state.set_last_fire(spec.key, missed[-1])

    def _fire(self, job: _Job, t: float, *, late: bool = False, overlap: str | None = None,
              bounded: bool = True) -> None:
        spec = job.spec
        overlap = overlap or spec.overlap
        busy = any(not task.done() for task in job.active)
        if busy and overlap == "skip":
            self._note(Fire(schedule=spec.key, at=t, outcome="skipped", late=late))
        elif busy and overlap == "queue":
            if bounded and job.waiting >= spec.max_queue:
                self._note(Fire(schedule=spec.key, at=t, outcome="skipped", late=late))
            else:
                fire = Fire(schedule=spec.key, at=t, outcome="queued", late=late)
                self._note(fire)
                job.waiting += 1
                self._track(job, asyncio.ensure_future(self._after(job, job.tail, fire)))
        else:
            fire = Fire(schedule=spec.key, at=t, outcome="started", late=late)
            self._note(fire)
            self._track(job, asyncio.ensure_future(self._launch(job, fire)))
        self.state.set_last_fire(spec.key, t)

    def _track(self, job: _Job, task: asyncio.Task[Any]) -> None:
        job.active.add(task)
        job.tail = task
        task.add_done_callback(job.active.discard)

    async def _after(self, job: _Job, prev: asyncio.Task[Any] | None, fire: Fire) -> None:
        if prev is not None:
            await asyncio.gather(prev, return_exceptions=True)
        job.waiting -= 1
        fire.outcome = "started"
        await self._launch(job, fire)

    async def _launch(self, job: _Job, fire: Fire) -> None:
        try:
            fire.result = await job.launch(job.spec, fire.at)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one broken run must not stop the schedule
            fire.outcome = "failed"
            fire.error = f"{type(exc).__name__}: {exc}"
            log.error("schedule %r: the run for %s could not start: %s", job.spec.key, fire.at, fire.error)

    def _note(self, fire: Fire) -> None:
        self.fires.append(fire)
        log.info("schedule %r: fire at %s %s%s", fire.schedule, fire.at, fire.outcome,
                 " (catch-up)" if fire.late else "")
        if self.on_fire is not None:
            self.on_fire(fire)
