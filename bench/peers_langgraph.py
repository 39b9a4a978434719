"""The engine benchmark's workloads on LangGraph, for a side-by-side table (``bench/engine.py --peers``).

Needs the optional ``bench`` extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph


class ChainState(TypedDict):
    x: int


class FanState(TypedDict):
    done: Annotated[list[int], operator.add]


def _chain(n: int) -> Any:
    g = StateGraph(ChainState)

    async def step(state: ChainState) -> dict[str, int]:
        return {"x": state["x"] + 1}

    for i in range(n):
        g.add_node(f"n{i}", step)
        g.add_edge(START if i == 0 else f"n{i - 1}", f"n{i}")
    g.add_edge(f"n{n - 1}", END)
    return g.compile()


def _fan(n: int, sleep: float) -> Any:
    g = StateGraph(FanState)

    for i in range(n):
        async def work(state: FanState, i: int = i) -> dict[str, list[int]]:
            await asyncio.sleep(sleep)
            return {"done": [i]}

        g.add_node(f"n{i}", work)
        g.add_edge(START, f"n{i}")
        g.add_edge(f"n{i}", END)
    return g.compile()


async def _best(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        best = min(best, time.perf_counter() - t)
    return best


async def _main() -> dict[str, float]:
    out: dict[str, float] = {}
    chain100 = _chain(100)
    t = await _best(lambda: chain100.ainvoke({"x": 0}, {"recursion_limit": 1000}), 10)
    out["langgraph_a_chain_us_per_node"] = t / 100 * 1e6
    fan100 = _fan(100, 0.05)
    t = await _best(lambda: fan100.ainvoke({"done": []}), 3)
    out["langgraph_b_makespan_over_50ms"] = t / 0.05
    chain3 = _chain(3)
    n = 1000
    t0 = time.perf_counter()
    for _ in range(n):
        await chain3.ainvoke({"x": 0})
    out["langgraph_d_runs_per_s"] = n / (time.perf_counter() - t0)
    return out


def run_langgraph() -> dict[str, float]:
    """Run the workloads on LangGraph and return its figures."""
    return asyncio.run(_main())
