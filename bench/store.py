"""Run-store benchmarks: what recording a run as it goes costs, and resume against a fresh run.

Run: ``.venv/bin/python bench/store.py``. Figures are ratios against the same run without a store,
measured in the same process: a 500-node chain and a 500-node fan-out of no-op nodes (the worst case:
the store writes one row per node and the nodes do nothing), plus a 50-node chain with 5 ms nodes
(closer to real work), and a resume of a 500-node chain paused at its last node.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import nbflow
from nbflow.engine.execute import Pause
from nbflow.nodes.nodetype import NodeType, Params, Port
from nbflow.nodes.registry import Registry
from nbflow.store import MemoryStore, SQLiteStore


class StepParams(Params):
    sleep: float = 0.0
    pause: bool = False


class Step(NodeType[StepParams]):
    type = "bench.step"
    inputs = {"a": Port("any", required=False)}
    outputs = {"out": Port("any")}
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if self.params.sleep:
            await asyncio.sleep(self.params.sleep)
        if self.params.pause and not getattr(ctx, "resume", None):
            raise Pause("go on?")
        return {"out": (inputs.get("a") or 0) + 1}


def _registry() -> Registry:
    reg = Registry(plugins=False)
    reg.register(Step)
    return reg


def chain(n: int, sleep: float = 0.0, pause_last: bool = False) -> nbflow.Flow:
    f = nbflow.Flow(f"chain{n}", registry=_registry())
    f.spec.nodes = []
    for i in range(n):
        f.spec.nodes.append(nbflow.model.spec.NodeSpec(id=f"n{i}", type="bench.step", params={
            "sleep": sleep, "pause": pause_last and i == n - 1}))
    f.spec.edges = [nbflow.model.spec.EdgeSpec.model_validate({"from": f"n{i}.out", "to": f"n{i + 1}.a"})
                    for i in range(n - 1)]
    f._changed("bench")
    return f


def fan(n: int) -> nbflow.Flow:
    f = nbflow.Flow(f"fan{n}", registry=_registry())
    nodes = [nbflow.model.spec.NodeSpec(id="root", type="bench.step")]
    nodes += [nbflow.model.spec.NodeSpec(id=f"n{i}", type="bench.step") for i in range(n)]
    f.spec.nodes = nodes
    f.spec.edges = [nbflow.model.spec.EdgeSpec.model_validate({"from": "root.out", "to": f"n{i}.a"})
                    for i in range(n)]
    f._changed("bench")
    return f


def best(fn: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) if len(times) < 3 else statistics.median(sorted(times)[:3])


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    sqlite = SQLiteStore(tmp / "runs.db")
    memory = MemoryStore()
    print(f"{'workload':<34} {'no store':>10} {'memory':>10} {'sqlite':>10} {'sqlite/none':>12} {'per node':>10}")
    for name, flow, n in [("chain of 500 no-op nodes", chain(500), 500), ("fan-out of 500 no-op nodes", fan(500), 501),
                          ("chain of 50 nodes of 5 ms", chain(50, 0.005), 50)]:
        flow.validate()
        none = best(lambda f=flow: f.run(cache=False, store=False))
        mem = best(lambda f=flow: f.run(cache=False, store=memory))
        sql = best(lambda f=flow: f.run(cache=False, store=sqlite))
        print(f"{name:<34} {none * 1e3:>8.1f}ms {mem * 1e3:>8.1f}ms {sql * 1e3:>8.1f}ms {sql / none:>11.2f}x "
              f"{(sql - none) / n * 1e6:>8.0f}us")
    flow = chain(500, pause_last=True)
    fresh = best(lambda: flow.run(cache=False, store=False), repeat=3)
    paused = [flow.run(cache=False, store=sqlite).run_id for _ in range(3)]
    times = []
    for rid in paused:
        t = time.perf_counter()
        done = nbflow.resume(rid, approve=True, store=sqlite, flow=flow, cache=False)
        times.append(time.perf_counter() - t)
        assert done.status == "succeeded"
    print(f"resume of a 500-node chain paused at its last node: {statistics.median(times) * 1e3:.1f}ms, "
          f"{statistics.median(times) / fresh:.2f}x a fresh run without a store ({fresh * 1e3:.1f}ms)")
    sqlite.close()


if __name__ == "__main__":
    main()
