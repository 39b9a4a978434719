"""The launcher that runs a flow for a schedule's fire time and records it (``source="schedule"``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbflow.cron.schedule import ScheduleSpec

if TYPE_CHECKING:
    from nbflow.flow import Flow
    from nbflow.model.record import RunResult

__all__ = ["flow_launcher"]


def flow_launcher(flow: Flow, *, store: Any = True, on_result: Callable[[RunResult], Any] | None = None,
                  on_event: Any = None, cache: bool = False) -> Callable[[ScheduleSpec, float], Any]:
    """A :data:`~nbflow.cron.scheduler.Launch` running ``flow`` with the schedule's inputs.

    Args:
        flow: the flow to run.
        store: where runs are recorded (``True``: the default store).
        on_result: called with each run's record when it ends.
        on_event: listeners for every run's events.
        cache: reuse node results across runs (off: each scheduled run calls its providers afresh).
    """

    async def launch(spec: ScheduleSpec, at: float) -> RunResult:
        result = await flow.arun(dict(spec.inputs), store=store, source="schedule", cache=cache,
                                 on_event=on_event)
        if on_result is not None:
            on_result(result)
        return result

    return launch
