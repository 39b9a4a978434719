"""The one sync wrapper (``run_sync``) inside a running event loop, as in a Jupyter cell.

ipykernel 7 runs every cell as a task in one shared context; these tests build that situation with
plain asyncio (cells as tasks sharing one ``contextvars.Context``, queued behind each other) and check
that a ``flow.run()`` in one cell leaves the others alone. The real kernels are exercised in
``tests/notebooks`` and the browser tests.
"""

from __future__ import annotations

import _thread
import asyncio
import contextvars
import sys
import threading

import pytest

import nbflow
from nbflow.engine.sync import run_sync
from tests import nodes_for_tests as T

TAG: contextvars.ContextVar[str] = contextvars.ContextVar("TAG", default="unset")


@pytest.fixture(autouse=True)
def _reset() -> None:
    T.reset()


def chain(sleep: float = 0.0) -> nbflow.Flow:
    flow = nbflow.Flow("sync", registry=T.make_registry())
    flow.add("t.echo", id="a", tag="start", sleep=sleep)
    flow.add("t.echo", id="b")
    flow.connect("a.out", "b.x")
    return flow


@pytest.mark.timeout(60)  # with a nested loop (nest-asyncio) the queued cells are dropped and this hangs
def test_cells_queued_behind_a_sync_run_in_one_shared_context_all_run_in_order() -> None:
    ran: list[str] = []

    async def kernel() -> None:
        shared = contextvars.copy_context()  # ipykernel 7: one context for every cell
        loop = asyncio.get_running_loop()

        async def cell(name: str, work: object = None) -> None:
            if work is not None:
                ran.append(f"{name}:{work().nodes['b'].outputs['out']}")  # type: ignore[operator]
            else:
                ran.append(name)

        flow = chain()
        same = {"context": shared} if sys.version_info >= (3, 11) else {}
        tasks = [loop.create_task(cell("cell1"), **same),
                 loop.create_task(cell("cell2", flow.run), **same),
                 loop.create_task(cell("cell3"), **same),
                 loop.create_task(cell("cell4", lambda: nbflow.run(flow)), **same),
                 loop.create_task(cell("cell5"), **same)]
        for t in tasks:  # as the kernel awaits one execute request after the other
            await t

    asyncio.run(kernel())
    assert ran == ["cell1", "cell2:start", "cell3", "cell4:start", "cell5"]


def test_the_run_sees_the_callers_context_variables_and_runs_on_another_thread() -> None:
    seen: dict[str, object] = {}

    async def probe() -> str:
        seen["thread"] = threading.current_thread().name
        return TAG.get()

    async def cell() -> str:
        TAG.set("from the cell")
        return run_sync(probe())

    assert asyncio.run(cell()) == "from the cell"
    assert seen["thread"] == "nbflow-run"
    assert run_sync(probe()) == "unset" and seen["thread"] == threading.current_thread().name  # plain script


def test_errors_reach_the_caller_unchanged() -> None:
    class Boom(Exception):
        pass

    async def fails() -> None:
        raise Boom("inside the run")

    async def cell() -> None:
        run_sync(fails())

    with pytest.raises(Boom, match="inside the run"):
        asyncio.run(cell())


def test_an_interrupt_cancels_the_run_then_propagates() -> None:
    flow = chain(sleep=5.0)
    events: list[str] = []

    async def cell() -> None:
        threading.Timer(0.3, _thread.interrupt_main).start()  # the notebook's Interrupt button
        flow.run(on_event=lambda e: events.append(e.kind))

    loop = asyncio.new_event_loop()  # not asyncio.run: its own SIGINT handler would cancel the cell instead
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(cell())
    finally:
        loop.close()
    assert events[0] == "run_started" and events[-1] == "run_finished"
    assert flow.last_result is None or flow.last_result.status == "cancelled"
    assert T.CALLS["b"] == 0  # the node after the interrupted one never started
