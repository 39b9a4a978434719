"""The launcher that runs a flow for a schedule's fire time and records it (``source="schedule"``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbflow.cron.schedule import ScheduleSpec

if TYPE_CHECKING:
    from nbflow.executor import DaskExecutor
    from nbflow.flow import Flow
    from nbflow.model.record import RunResult

__all__ = ["flow_launcher"]


def flow_launcher(flow: Flow, *, store: Any = True, on_result: Callable[[RunResult], Any] | None = None,
                  on_event: Any = None, cache: bool = False,
                  executor: DaskExecutor | None = None) -> Callable[[ScheduleSpec, float], Any]:
    """A :data:`~nbflow.cron.scheduler.Launch` running ``flow`` with the schedule's inputs.

    Args:
        flow: the flow to run.
        store: where runs are recorded (``True``: the default store).
        on_result: called with each run's record when it ends.
        on_event: listeners for every run's events.
        cache: reuse node results across runs (off: each scheduled run calls its providers afresh).
        executor: run on a Dask cluster (recorded in the executor's shared store) instead of here.
    """

    async def launch(spec: ScheduleSpec, at: float) -> RunResult:
        if executor is not None:
            result = await executor.launch(flow, dict(spec.inputs), source="schedule", on_event=on_event)
        else:
            result = await flow.arun(dict(spec.inputs), store=store, source="schedule", cache=cache,
                                     on_event=on_event)
        if on_result is not None:
            on_result(result)
        return result

    return launch
