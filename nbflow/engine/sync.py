"""The one sync wrapper around the async engine, and the handle of a started run."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from nbflow.engine.execute import Execution
from nbflow.model.record import RunResult

__all__ = ["RunHandle", "run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code.

    In a plain script this is ``asyncio.run``. Inside a running loop (a Jupyter cell) it re-enters
    that loop with nest-asyncio, so ``flow.run()`` works the same in both places.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import nest_asyncio

    nest_asyncio.apply(loop)
    return loop.run_until_complete(coro)


class RunHandle:
    """A run started in the background (``flow.start()``): cancel it, or await its result."""

    def __init__(self, execution: Execution) -> None:
        self.execution = execution
        self.run_id = execution.run_id
        self.task: asyncio.Task[RunResult] = asyncio.ensure_future(execution.run())

    def cancel(self) -> None:
        """Stop the run; running nodes are cancelled and it ends as ``cancelled``."""
        self.execution.cancel()

    def done(self) -> bool:
        return self.task.done()

    @property
    def record(self) -> RunResult:
        """The live record (updated as the run goes)."""
        return self.execution.result

    def __await__(self) -> Any:
        return self.task.__await__()

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} {'done' if self.done() else 'running'}>"
