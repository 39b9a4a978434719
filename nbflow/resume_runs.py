"""Resume runs by id from any process: answer a paused approval, finish a failed or interrupted run.

``nbflow.resume(run_id, approve=True)`` loads the flow text saved with the run (unless given a
:class:`~nbflow.flow.Flow`) and continues it; exactly one of several concurrent resumes wins the run's
claim in the store, the others get :class:`~nbflow.exceptions.ClaimError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbflow.engine.sync import run_sync
from nbflow.exceptions import ClaimError
from nbflow.flow import Flow
from nbflow.model.record import RunResult
from nbflow.model.unset import UNSET

if TYPE_CHECKING:
    from nbflow.nodes.registry import Registry
    from nbflow.store.runstore import RunStore

__all__ = ["aresume", "aresume_expired", "resume", "resume_expired"]


async def aresume(run: str | RunResult, *, approve: bool | None = None, value: Any = UNSET,
                  node: str | None = None, comment: str | None = None, by: str | None = None,
                  flow: Flow | None = None, store: RunStore | bool | str | None = None,
                  registry: Registry | None = None, on_event: Any = None, providers: Any = None,
                  cache: Any = True, concurrency: int | None = None, source: str | None = None,
                  force: bool = False) -> RunResult:
    """Resume a paused, failed, cancelled or interrupted run; see :func:`resume`."""
    if flow is None:
        from nbflow.resuming import recorded_flow

        text, file = recorded_flow(run, store=store, force=force)
        flow = Flow.loads(text, source=file, registry=registry)
    return await flow.aresume(run, approve=approve, value=value, node=node, comment=comment, by=by,
                              store=store, on_event=on_event, providers=providers, cache=cache,
                              concurrency=concurrency, source=source, force=force)


def resume(run: str | RunResult, *, approve: bool | None = None, value: Any = UNSET, node: str | None = None,
           comment: str | None = None, by: str | None = None, flow: Flow | None = None,
           store: RunStore | bool | str | None = None, registry: Registry | None = None,
           on_event: Any = None, providers: Any = None, cache: Any = True, concurrency: int | None = None,
           source: str | None = None, force: bool = False) -> RunResult:
    """Resume a run: give a paused approval its decision, or finish a failed or interrupted run.

    Nodes that finished before never run again: their outputs come from the record.

    Args:
        run: a run id (looked up in ``store``, by default the SQLite store) or a run record
            (then ``flow`` is needed).
        approve: True to approve, False to reject the waiting approval; None to only apply timed-out
            defaults (or to finish a run that is not waiting for anyone).
        value: with ``approve=True``, the edited value that goes on instead of the original.
        node: which approval, when several wait.
        comment, by: kept with the decision.
        flow: the flow to run (default: the flow text saved with the run).
        store: where the run is recorded (``True``: the default store).
        force: resume even though another process holds the run (its lease), e.g. one known dead.

    Raises:
        ClaimError: another process is running, deciding or resuming this run right now (exactly
            one of several concurrent resumes wins; the others get this error).

    Returns:
        The run's record after this resume (maybe ``paused`` again at a later approval).
    """
    return run_sync(aresume(run, approve=approve, value=value, node=node, comment=comment, by=by, flow=flow,
                            store=store, registry=registry, on_event=on_event, providers=providers,
                            cache=cache, concurrency=concurrency, source=source, force=force))


async def aresume_expired(store: RunStore | bool | str | None = True, **kwargs: Any) -> list[RunResult]:
    """Apply the default decision of every approval whose timeout has passed; returns the resumed runs."""
    from nbflow.resuming import expired_runs

    st, ids = expired_runs(store)
    out = []
    for run_id in ids:
        try:
            out.append(await aresume(run_id, store=st, **kwargs))
        except ClaimError:
            continue  # another process is applying it right now
    return out


def resume_expired(store: RunStore | bool | str | None = True, **kwargs: Any) -> list[RunResult]:
    """Sync form of :func:`aresume_expired` (run it from cron: ``nbflow resume --expired``)."""
    return run_sync(aresume_expired(store, **kwargs))
