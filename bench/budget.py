"""What a budget costs per provider call: a 100-node chain of offline LLM calls (priced, so every call
is estimated, charged before and settled after), recorded into a SQLite store, with and without a
budget, in the same process. Reports CPU seconds per call of each and the ratio; the budgeted run
makes two ledger transactions per call.

Run: ``.venv/bin/python bench/budget.py [--pg URL]``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import nbflow
from nbflow.providers.pricing import set_price
from nbflow.store import open_store

N = 100
ROUNDS = 5


def chain(budget: dict[str, Any] | None) -> nbflow.Flow:
    nodes: list[dict[str, Any]] = [{"id": "topic", "type": "input.text", "params": {"default": "tea"}}]
    edges = []
    prev = "topic.value"
    for i in range(N):
        nodes.append({"id": f"w{i}", "type": "llm", "params": {"model": "offline", "max_tokens": 20,
                                                               "stream": False}})
        edges.append({"from": prev, "to": f"w{i}.prompt"})
        prev = f"w{i}.text"
    spec: dict[str, Any] = {"nbflow": 2, "name": "bench-budget", "nodes": nodes, "edges": edges}
    if budget is not None:
        spec["defaults"] = {"budget": budget}
    return nbflow.Flow.loads(json.dumps(spec))


def cpu_per_call(flow: nbflow.Flow, where: str) -> float:
    times = []
    with open_store(where) as store:
        for _ in range(ROUNDS):
            t = time.process_time()
            res = flow.run(store=store, cache=False)
            times.append((time.process_time() - t) / N)
            assert res.status == "succeeded", res.error
            if flow.spec.defaults.budget is not None:  # the calls really were charged
                assert res.cost > 0 and math.isclose(store.spent(f"run:{res.run_id}"), res.cost, rel_tol=1e-6)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", help="also measure over this PostgreSQL URL")
    args = ap.parse_args()
    set_price("offline", "offline", input=1.0, output=1.0)  # priced: every call is charged
    plain, capped = chain(None), chain({"run": 100.0, "flow_day": 1000.0})
    with tempfile.TemporaryDirectory() as tmp:
        places = [("sqlite", str(Path(tmp) / "runs.db"))] + ([("postgres", args.pg)] if args.pg else [])
        for name, where in places:
            base = cpu_per_call(plain, where)
            budgeted = cpu_per_call(capped, where)
            print(f"{name}: {N}-call chain, CPU per call: no budget {base * 1e6:.0f} us, budget "
                  f"{budgeted * 1e6:.0f} us (+{(budgeted - base) * 1e6:.0f} us, x{budgeted / base:.2f})")


if __name__ == "__main__":
    main()
