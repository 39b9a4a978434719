"""The one sync wrapper around the async engine, and the handle of a started run."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from nbflow.engine.execute import Execution
from nbflow.model.record import RunResult

__all__ = ["RunHandle", "run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code.

    In a plain script this is ``asyncio.run``. When the calling thread already runs an event loop (a
    Jupyter cell: the kernel's loop), the coroutine runs on a fresh loop in a worker thread while the
    caller waits. The kernel's loop is never re-entered, so the cells queued behind this one run in
    order (ipykernel 7 runs every cell as a task in one shared context; a nested loop would pick up
    and drop the next cell's step). Context variables are copied into the worker; an interrupt
    (Ctrl+C, or the notebook's Interrupt) cancels the run and then propagates.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    return _run_in_worker(coro)


def _run_in_worker(coro: Coroutine[Any, Any, T]) -> T:
    box: dict[str, Any] = {}
    started, done = threading.Event(), threading.Event()

    async def main() -> T:
        box["loop"], box["task"] = asyncio.get_running_loop(), asyncio.current_task()
        started.set()
        return await coro

    def work() -> None:
        try:
            box["result"] = asyncio.run(main())
        except BaseException as exc:  # handed to the waiting caller, which raises it
            box["error"] = exc
        finally:
            started.set()
            done.set()

    threading.Thread(target=contextvars.copy_context().run, args=(work,), name="nbflow-run", daemon=True).start()
    try:
        while not done.wait(0.1):  # short waits: an interrupt is seen however it arrives
            pass
    except KeyboardInterrupt:
        started.wait()
        _cancel(box.get("loop"), box.get("task"))
        done.wait()
        raise
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


def _cancel(loop: asyncio.AbstractEventLoop | None, task: asyncio.Task[Any] | None) -> None:
    if loop is None or task is None:
        return
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the run is over anyway
        loop.call_soon_threadsafe(task.cancel)


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
