"""Items the engine refused before running (bad inputs, a missing key): recorded so the history has them."""

from __future__ import annotations

import logging
import time

from nbflow.batch.jsonl import Item
from nbflow.engine.execute import new_run_id
from nbflow.exceptions import NbflowError
from nbflow.flow import Flow
from nbflow.model.record import RunResult
from nbflow.store.runstore import RunStore

__all__ = ["record_refused"]

log = logging.getLogger("nbflow.batch")


def record_refused(store: RunStore | None, flow: Flow, item: Item, error: str) -> None:
    """Record an item the engine refused before running (bad inputs), so the history has it too."""
    if store is None:
        return
    now = time.time()
    result = RunResult(run_id=_refused_id(), flow=flow.name, status="failed", inputs=dict(item.inputs),
                       started_at=now, ended_at=now, error=error)
    try:
        store.save(result, flow_text=flow.dumps(), source="batch")
    except NbflowError as exc:  # the results file still has the item's error
        log.warning("item %s is not in the run store: %s", item.id, exc)


def _refused_id() -> str:
    return new_run_id()
