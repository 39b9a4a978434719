"""nbflow side by side with raw asyncio, LangGraph, pydantic-graph and Haystack on the same workloads.

Run: ``pip install -e '.[bench]'`` then ``python bench/peers.py`` (``--reps 4`` by default). Every engine runs
in a fresh process per repetition, and the repetitions are interleaved (asyncio, nbflow, LangGraph, ...,
then again in a rotated order), so a noisy neighbour on a shared machine hits every engine alike. Each
cell is the median over repetitions of the best of several timings inside one process; the ratio under
each figure is to raw asyncio measured in the same run.

Each engine builds the workloads through its public API, the way its users do:

- raw asyncio: one task per node, awaiting its predecessors' tasks.
- nbflow: ``Flow.add``/``connect`` with a node type whose input ports follow a param (dynamic ports),
  run with ``await flow.arun()``.
- LangGraph: ``StateGraph.add_node``/``add_edge`` (a list of sources for a join), ``await g.ainvoke()``.
- pydantic-graph: ``GraphBuilder`` steps and edges, ``await graph.run()``. Its joins reduce a fork, so
  the layered DAG runs as broadcast -> 20 steps -> join per layer (a barrier per layer: the closest it
  can express; with equal node times the ideal makespan is the same).
- Haystack: ``Pipeline.add_component``/``connect`` on components with ``run_async``,
  ``await pipe.run_async(..., concurrency_limit=250)`` (its default of 4 would serialise the fan-out).

Workloads: a 100-node no-op chain (µs per node); 100 nodes sleeping 50 ms fed by one source (makespan /
50 ms); a 10 x 20 layered DAG, each node waiting for two of the layer before and sleeping 10 ms
(makespan / 100 ms); runs per second of a 3-node chain built once; ``import`` wall time of a fresh process
(interpreter start included, the same for every engine) and its resident memory after the import; the
time to build the 100-node chain and the 200-node layered DAG (after one warm-up build); and, for nbflow,
loading that DAG from its flow-file text (parse, validate, compile).

Fair on a busy machine: the fan-out and the layered DAG also run as raw asyncio inside each engine's own
process, alternating with the engine's runs, so "makespan / raw asyncio's, same process" compares runs
that met the same load; their CPU time per node is printed too (what the engine itself spends, which a
neighbour's load does not inflate). "First run" is a fresh process that imports the engine, builds a
3-node chain and runs it: what ``import`` leaves for first use shows there. With ``--instructions``
(needs valgrind) each engine's import is also counted in instructions, which load does not change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import operator
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

ENGINES = ("asyncio", "nbflow", "langgraph", "pydantic-graph", "haystack")
TITLES = {"asyncio": "raw asyncio", "nbflow": "nbflow", "langgraph": "LangGraph",
          "pydantic-graph": "pydantic-graph", "haystack": "Haystack"}
DISTS = {"langgraph": "langgraph", "pydantic-graph": "pydantic-graph", "haystack": "haystack-ai"}
IMPORTS = {"asyncio": "import asyncio", "nbflow": "import nbflow",
           "langgraph": "from langgraph.graph import StateGraph",
           "pydantic-graph": "from pydantic_graph import GraphBuilder",
           "haystack": "from haystack import Pipeline, component"}

CHAIN, FAN, FAN_SLEEP, DEPTH, WIDTH, LAYER_SLEEP = 100, 100, 0.05, 10, 20, 0.01

#: (key, label, unit, better): the rows of the table, in order.
ROWS = (
    ("chain_us", "µs per node, 100-node no-op chain", "µs", "low"),
    ("fan_ratio", "100 x 50 ms fan-out, makespan / ideal", "x", "low"),
    ("layers_ratio", "10 x 20 layered DAG, makespan / ideal", "x", "low"),
    ("runs_per_s", "3-node runs per second", "/s", "high"),
    ("import_ms", "import in a fresh process", "ms", "low"),
    ("rss_mb", "RSS after import", "MB", "low"),
    ("build_chain_ms", "build a 100-node chain", "ms", "low"),
    ("build_layers_ms", "build the 200-node layered DAG", "ms", "low"),
    ("load_layers_ms", "load that DAG from its JSON file text, validated", "ms", "low"),
    ("fan_vs_asyncio", "fan-out makespan / raw asyncio's, same process", "x", "low"),
    ("layers_vs_asyncio", "layered makespan / raw asyncio's, same process", "x", "low"),
    ("fan_cpu_us", "fan-out CPU time per node", "µs", "low"),
    ("layers_cpu_us", "layered CPU time per node", "µs", "low"),
    ("first_run_ms", "first run: import + build + run a 3-node chain, fresh process", "ms", "low"),
    ("first_rss_mb", "RSS after that first run", "MB", "low"),
    ("import_minstr", "import, million instructions (callgrind; --instructions)", "M", "low"),
)


# -- timing helpers (used inside the child processes) --------------------------------------------


async def best_of(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """The fastest of ``repeat`` awaited calls, each from a collected heap."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t)
    return min(times)


async def paired(engine: Callable[[], Awaitable[Any]], base: Callable[[], Awaitable[Any]],
                 repeat: int) -> tuple[float, float, float]:
    """The engine's fastest run, raw asyncio's fastest run of the same workload alternating with it in this
    process, and the engine's least CPU time for one run (seconds)."""
    walls, bases, cpus = [], [], []
    for _ in range(repeat):
        for fn, into in ((engine, walls), (base, bases)):
            gc.collect()
            c, t = time.process_time(), time.perf_counter()
            await fn()
            into.append(time.perf_counter() - t)
            if into is walls:
                cpus.append(time.process_time() - c)
    return min(walls), min(bases), min(cpus)


def best_build(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: first-use costs (schemas, registries) are not construction
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


async def runs_per_second(run: Callable[[], Awaitable[Any]], batch: int, batches: int = 5) -> float:
    await run()
    best = float("inf")
    for _ in range(batches):
        gc.collect()
        t = time.perf_counter()
        for _ in range(batch):
            await run()
        best = min(best, time.perf_counter() - t)
    return batch / best


class Workloads(ABC):
    """One engine's workloads: the builders return a graph that :meth:`run` runs once."""

    batch = 500  # 3-node runs per timed batch

    @abstractmethod
    def chain(self, n: int) -> Any:
        """``n`` no-op nodes, each fed by the one before."""

    @abstractmethod
    def fan(self, n: int, sleep: float) -> Any:
        """One source feeding ``n`` nodes that each sleep ``sleep`` seconds."""

    @abstractmethod
    def layers(self, depth: int, width: int, sleep: float) -> Any:
        """``depth`` layers of ``width`` sleeping nodes; node w waits for nodes w and w+1 of the layer before."""

    @abstractmethod
    async def run(self, graph: Any) -> Any:
        """Run a built graph to the end."""

    async def measure(self, *, build: bool = True) -> dict[str, float]:
        out: dict[str, float] = {}
        c100 = self.chain(CHAIN)
        out["chain_us"] = await best_of(lambda: self.run(c100), 20) / CHAIN * 1e6
        raw = RawAsyncio()
        fan, raw_fan = self.fan(FAN, FAN_SLEEP), raw.fan(FAN, FAN_SLEEP)
        wall, base, cpu = await paired(lambda: self.run(fan), raw_fan, 5)
        out.update(fan_ratio=wall / FAN_SLEEP, fan_vs_asyncio=wall / base, fan_cpu_us=cpu / (FAN + 1) * 1e6)
        lay, raw_lay = self.layers(DEPTH, WIDTH, LAYER_SLEEP), raw.layers(DEPTH, WIDTH, LAYER_SLEEP)
        wall, base, cpu = await paired(lambda: self.run(lay), raw_lay, 5)
        out.update(layers_ratio=wall / (DEPTH * LAYER_SLEEP), layers_vs_asyncio=wall / base,
                   layers_cpu_us=cpu / (DEPTH * WIDTH) * 1e6)
        c3 = self.chain(3)
        out["runs_per_s"] = await runs_per_second(lambda: self.run(c3), self.batch)
        if build:
            out["build_chain_ms"] = best_build(lambda: self.chain(CHAIN), 20) * 1e3
            out["build_layers_ms"] = best_build(lambda: self.layers(DEPTH, WIDTH, LAYER_SLEEP), 10) * 1e3
        return out


# -- raw asyncio ----------------------------------------------------------------------------------


async def _step(x: int, sleep: float = 0.0) -> int:
    if sleep:
        await asyncio.sleep(sleep)
    return x + 1


class RawAsyncio(Workloads):
    """Hand-written asyncio: the floor every engine is compared with."""

    def chain(self, n: int) -> Any:
        async def go() -> int:
            x = 0
            for _ in range(n):
                x = await asyncio.create_task(_step(x))
            return x
        return go

    def fan(self, n: int, sleep: float) -> Any:
        async def go() -> list[int]:
            src = await asyncio.create_task(_step(0))
            return await asyncio.gather(*(asyncio.create_task(_step(src, sleep)) for _ in range(n)))
        return go

    def layers(self, depth: int, width: int, sleep: float) -> Any:
        async def go() -> Any:
            prev: list[asyncio.Task[int]] = []
            for _ in range(depth):
                cur = []
                for w in range(width):
                    async def node(w: int = w, prev: list[asyncio.Task[int]] = prev) -> int:
                        if prev:
                            await asyncio.gather(prev[w], prev[(w + 1) % width])
                        return await _step(w, sleep)
                    cur.append(asyncio.create_task(node()))
                prev = cur
            return await asyncio.gather(*prev)
        return go

    async def run(self, graph: Any) -> Any:
        return await graph()

    async def measure(self, *, build: bool = True) -> dict[str, float]:
        return await super().measure(build=False)


# -- nbflow ---------------------------------------------------------------------------------------


class NbflowWorkloads(Workloads):
    """nbflow through its public API, with a node type whose input ports follow its ``inputs`` param."""

    def __init__(self) -> None:
        import nbflow
        from nbflow.nodes.registry import Registry

        class NoopParams(nbflow.Params):
            inputs: int = 0
            sleep: float = 0.0

        class Noop(nbflow.NodeType[NoopParams]):
            type = "bench.noop"
            outputs = {"out": nbflow.Port("number")}
            cacheable = False

            def input_ports(self) -> dict[str, nbflow.Port]:
                return {f"in{i}": nbflow.Port("number") for i in range(self.params.inputs)}

            async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
                if self.params.sleep:
                    await asyncio.sleep(self.params.sleep)
                return {"out": sum(inputs.values()) + 1}

        self.nbflow = nbflow
        self.registry = Registry(builtins=(), plugins=False)
        self.registry.register(Noop)

    def chain(self, n: int) -> Any:
        f = self.nbflow.Flow(f"chain{n}", registry=self.registry)
        prev = f.add("bench.noop", id="n0")
        for i in range(1, n):
            cur = f.add("bench.noop", id=f"n{i}", inputs=1)
            f.connect(f"{prev}.out", f"{cur}.in0")
            prev = cur
        return f

    def fan(self, n: int, sleep: float) -> Any:
        f = self.nbflow.Flow(f"fan{n}", registry=self.registry)
        f.add("bench.noop", id="src")
        for i in range(n):
            f.add("bench.noop", id=f"n{i}", inputs=1, sleep=sleep)
            f.connect("src.out", f"n{i}.in0")
        return f

    def layers(self, depth: int, width: int, sleep: float) -> Any:
        f = self.nbflow.Flow("layers", registry=self.registry)
        for d in range(depth):
            for w in range(width):
                nid = f"l{d}_{w}"
                f.add("bench.noop", id=nid, inputs=2 if d else 0, sleep=sleep)
                if d:
                    f.connect(f"l{d - 1}_{w}.out", f"{nid}.in0")
                    f.connect(f"l{d - 1}_{(w + 1) % width}.out", f"{nid}.in1")
        return f

    async def measure(self, *, build: bool = True) -> dict[str, float]:
        out = await super().measure(build=build)
        text = self.layers(DEPTH, WIDTH, LAYER_SLEEP).dumps()
        out["load_layers_ms"] = best_build(lambda: self.nbflow.Flow.loads(text, registry=self.registry), 10) * 1e3
        return out

    async def run(self, graph: Any) -> Any:
        res = await graph.arun()
        if res.status != "succeeded":
            raise SystemExit(f"nbflow run of {graph.name} did not succeed: {res.error}")
        return res


class ChainState(TypedDict):
    x: int


class FanState(TypedDict):
    done: Annotated[list[int], operator.add]


# -- LangGraph ------------------------------------------------------------------------------------


class LangGraphWorkloads(Workloads):
    batch = 200

    def __init__(self) -> None:
        from langgraph.graph import END, START, StateGraph

        self.StateGraph, self.START, self.END = StateGraph, START, END
        self.ChainState, self.FanState = ChainState, FanState

    def chain(self, n: int) -> Any:
        g = self.StateGraph(self.ChainState)

        async def step(state: Any) -> dict[str, int]:
            return {"x": state["x"] + 1}

        for i in range(n):
            g.add_node(f"n{i}", step)
            g.add_edge(self.START if i == 0 else f"n{i - 1}", f"n{i}")
        g.add_edge(f"n{n - 1}", self.END)
        return g.compile(), {"x": 0}

    def _sleeper(self, sleep: float) -> Any:
        async def work(state: Any) -> dict[str, list[int]]:
            await asyncio.sleep(sleep)
            return {"done": [1]}
        return work

    def fan(self, n: int, sleep: float) -> Any:
        g = self.StateGraph(self.FanState)
        g.add_node("src", self._sleeper(0.0))
        g.add_edge(self.START, "src")
        for i in range(n):
            g.add_node(f"n{i}", self._sleeper(sleep))
            g.add_edge("src", f"n{i}")
            g.add_edge(f"n{i}", self.END)
        return g.compile(), {"done": []}

    def layers(self, depth: int, width: int, sleep: float) -> Any:
        g = self.StateGraph(self.FanState)
        for d in range(depth):
            for w in range(width):
                nid = f"l{d}_{w}"
                g.add_node(nid, self._sleeper(sleep))
                if d:
                    g.add_edge([f"l{d - 1}_{w}", f"l{d - 1}_{(w + 1) % width}"], nid)
                else:
                    g.add_edge(self.START, nid)
                if d == depth - 1:
                    g.add_edge(nid, self.END)
        return g.compile(), {"done": []}

    async def run(self, graph: Any) -> Any:
        compiled, state = graph
        return await compiled.ainvoke(state, {"recursion_limit": 10_000})


# -- pydantic-graph -------------------------------------------------------------------------------


class PydanticGraphWorkloads(Workloads):
    batch = 200

    def __init__(self) -> None:
        from pydantic_graph import GraphBuilder, StepContext, reduce_list_append

        self.GraphBuilder, self.StepContext, self.reduce = GraphBuilder, StepContext, reduce_list_append

    def _step(self, g: Any, node_id: str, sleep: float) -> Any:
        async def step(ctx: Any) -> int:
            if sleep:
                await asyncio.sleep(sleep)
            return 1
        return g.step(step, node_id=node_id)

    def chain(self, n: int) -> Any:
        g = self.GraphBuilder(name="chain", input_type=int, output_type=int, auto_instrument=False)
        steps = [self._step(g, f"n{i}", 0.0) for i in range(n)]
        g.add(g.edge_from(g.start_node).to(steps[0]))
        for a, b in itertools.pairwise(steps):
            g.add(g.edge_from(a).to(b))
        g.add(g.edge_from(steps[-1]).to(g.end_node))
        return g.build()

    def fan(self, n: int, sleep: float) -> Any:
        g = self.GraphBuilder(name="fan", input_type=int, output_type=list[int], auto_instrument=False)
        src = self._step(g, "src", 0.0)
        steps = [self._step(g, f"n{i}", sleep) for i in range(n)]
        join = g.join(self.reduce, initial_factory=list, node_id="join")
        g.add(g.edge_from(g.start_node).to(src))
        g.add(g.edge_from(src).to(*steps))
        g.add(g.edge_from(*steps).to(join))
        g.add(g.edge_from(join).to(g.end_node))
        return g.build()

    def layers(self, depth: int, width: int, sleep: float) -> Any:
        g = self.GraphBuilder(name="layers", input_type=int, output_type=list[int], auto_instrument=False)
        prev: Any = g.start_node
        for d in range(depth):
            steps = [self._step(g, f"l{d}_{w}", sleep) for w in range(width)]
            join = g.join(self.reduce, initial_factory=list, node_id=f"join{d}")
            g.add(g.edge_from(prev).to(*steps))
            g.add(g.edge_from(*steps).to(join))
            prev = join
        g.add(g.edge_from(prev).to(g.end_node))
        return g.build()

    async def run(self, graph: Any) -> Any:
        return await graph.run(inputs=0, infer_name=False)


# -- Haystack -------------------------------------------------------------------------------------


class HaystackWorkloads(Workloads):
    batch = 200

    def __init__(self) -> None:
        from haystack import Pipeline, component

        @component
        class Noop:
            def __init__(self, sleep: float = 0.0) -> None:
                self.sleep = sleep

            @component.output_types(out=int)
            def run(self, a: int | None = None, b: int | None = None) -> dict[str, int]:
                if self.sleep:
                    time.sleep(self.sleep)
                return {"out": 1}

            @component.output_types(out=int)
            async def run_async(self, a: int | None = None, b: int | None = None) -> dict[str, int]:
                if self.sleep:
                    await asyncio.sleep(self.sleep)
                return {"out": 1}

        self.Pipeline, self.Noop = Pipeline, Noop

    def chain(self, n: int) -> Any:
        p = self.Pipeline(max_runs_per_component=10_000)
        for i in range(n):
            p.add_component(f"n{i}", self.Noop())
            if i:
                p.connect(f"n{i - 1}.out", f"n{i}.a")
        return p

    def fan(self, n: int, sleep: float) -> Any:
        p = self.Pipeline()
        p.add_component("src", self.Noop())
        for i in range(n):
            p.add_component(f"n{i}", self.Noop(sleep))
            p.connect("src.out", f"n{i}.a")
        return p

    def layers(self, depth: int, width: int, sleep: float) -> Any:
        p = self.Pipeline()
        for d in range(depth):
            for w in range(width):
                nid = f"l{d}_{w}"
                p.add_component(nid, self.Noop(sleep))
                if d:
                    p.connect(f"l{d - 1}_{w}.out", f"{nid}.a")
                    p.connect(f"l{d - 1}_{(w + 1) % width}.out", f"{nid}.b")
        return p

    async def run(self, graph: Any) -> Any:
        return await graph.run_async({}, concurrency_limit=250)


WORKLOADS: dict[str, Callable[[], Workloads]] = {
    "asyncio": RawAsyncio, "nbflow": NbflowWorkloads, "langgraph": LangGraphWorkloads,
    "pydantic-graph": PydanticGraphWorkloads, "haystack": HaystackWorkloads,
}


# -- the parent: fresh processes, interleaved -----------------------------------------------------


def probe_import(engine: str) -> dict[str, float]:
    """Wall time of a fresh ``python -c "<import>"`` and the resident memory it ends with."""
    code = f"{IMPORTS[engine]}\nprint(open('/proc/self/status').read())"
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    rss_kb = next(int(line.split()[1]) for line in out.splitlines() if line.startswith("VmRSS:"))
    return {"import_ms": (time.perf_counter() - t) * 1e3, "rss_mb": rss_kb / 1024}


def probe_first(engine: str) -> dict[str, float]:
    """Wall time of a fresh process that imports the engine, builds a 3-node chain and runs it, and its RSS."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--first", engine], check=True, capture_output=True,
                         text=True).stdout
    return {"first_run_ms": (time.perf_counter() - t) * 1e3, "first_rss_mb": float(out.split()[-1])}


def first_run(engine: str) -> None:
    """The child of :func:`probe_first`: one run of a 3-node chain, then the resident memory in MB."""
    w = WORKLOADS[engine]()
    asyncio.run(w.run(w.chain(3)))
    status = Path("/proc/self/status").read_text()
    print(next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024)


def import_instructions(engine: str) -> float | None:
    """Millions of instructions a fresh ``python -c "<import>"`` executes (callgrind), or None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                        IMPORTS[engine]], capture_output=True, text=True)
    found = [line for line in p.stderr.splitlines() if "Collected :" in line]
    return int(found[-1].rsplit(":", 1)[1]) / 1e6 if p.returncode == 0 and found else None


def run_child(engine: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", engine], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{engine} workloads failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def available(engine: str) -> bool:
    probe = subprocess.run([sys.executable, "-c", IMPORTS[engine]], capture_output=True)
    return engine not in DISTS or probe.returncode == 0


def version(engine: str) -> str:
    from importlib.metadata import version as dist_version

    return dist_version(DISTS.get(engine, engine)) if engine != "asyncio" else platform.python_version()


def compile_nbflow() -> None:
    """Write nbflow's bytecode before timing: pip compiles the peers' modules when it installs them, but an
    editable checkout (after an edit, or under PYTHONDONTWRITEBYTECODE) would compile nbflow's changed modules
    from source in every fresh process, which no installed copy does."""
    import compileall
    from importlib.util import find_spec

    spec = find_spec("nbflow")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


def collect(engines: list[str], reps: int, instructions: bool) -> dict[str, dict[str, list[float]]]:
    figures: dict[str, dict[str, list[float]]] = {e: {} for e in engines}
    for engine in engines if instructions else ():  # deterministic: once is enough
        count = import_instructions(engine)
        if count is not None:
            figures[engine]["import_minstr"] = [count]
    for rep in range(reps):
        order = engines[rep % len(engines):] + engines[:rep % len(engines)]  # rotate: nobody always goes first
        for engine in order:
            res = {**probe_import(engine), **probe_first(engine), **run_child(engine)}
            for k, v in res.items():
                figures[engine].setdefault(k, []).append(v)
            print(f"  rep {rep + 1}/{reps} {engine}: done", file=sys.stderr, flush=True)
    return figures


def _fmt(v: float, key: str) -> str:
    if key.endswith("_vs_asyncio"):
        return f"{v:.3f}"
    if key in ("runs_per_s", "import_minstr") or (key.endswith("_ms") and v >= 10):
        return f"{v:,.0f}"
    return f"{v:.2f}" if key.endswith("_ratio") or v < 10 else f"{v:.1f}"


def table(figures: dict[str, dict[str, list[float]]], engines: list[str]) -> tuple[str, list[str]]:
    """The markdown table (median per cell, ratio to raw asyncio below it) and the target checks."""
    med = {e: {k: statistics.median(v) for k, v in figures[e].items()} for e in engines}
    head = "| workload | " + " | ".join(f"{TITLES[e]} {version(e)}" if e in DISTS else TITLES[e]
                                         for e in engines) + " |"
    lines = [head, "|---" * (len(engines) + 1) + "|"]
    for key, label, unit, _better in ROWS:
        cells = []
        base = med.get("asyncio", {}).get(key)
        for e in engines:
            v = med[e].get(key)
            if v is None:
                cells.append("—")
                continue
            cell = _fmt(v, key)
            if base and e != "asyncio" and not key.endswith("_vs_asyncio"):
                cell += f" ({v / base:.2f}x)"
            cells.append(cell)
        lines.append(f"| {label} ({unit}) | " + " | ".join(cells) + " |")
    return "\n".join(lines), checks(med, engines)


def checks(med: dict[str, dict[str, float]], engines: list[str]) -> list[str]:
    """Issue 19's targets, each with its verdict."""
    nb = med.get("nbflow")
    if not nb:
        return []
    out = []
    peers = [e for e in engines if e in DISTS]
    for key, label, _unit, better in ROWS:
        vals = [med[p][key] for p in peers if key in med[p]]
        if not vals or key not in nb:
            continue
        best = min(vals) if better == "low" else max(vals)
        ok = nb[key] <= best * 1.10 if better == "low" else nb[key] >= best / 1.10
        out.append(f"{'ok    ' if ok else 'MISSED'} {label}: nbflow {_fmt(nb[key], key)}, best peer {_fmt(best, key)}"
                   " (first or within 10%)")
    raw = med.get("asyncio", {})

    def target(ok: bool, text: str) -> None:
        out.append(f"{'ok    ' if ok else 'MISSED'} {text}")

    if "chain_us" in raw:
        target(nb["chain_us"] <= 2 * raw["chain_us"],
               f"per-node overhead {nb['chain_us'] / raw['chain_us']:.2f}x raw asyncio (<= 2x)")
    target(nb["fan_ratio"] <= 1.05, f"fan-out {nb['fan_ratio']:.3f}x ideal (<= 1.05x); "
           f"{nb['fan_vs_asyncio']:.3f}x raw asyncio's makespan in the same process"
           + (f" (raw asyncio itself {raw['fan_ratio']:.3f}x ideal)" if "fan_ratio" in raw else ""))
    target(nb["layers_ratio"] <= 1.10, f"layered {nb['layers_ratio']:.3f}x ideal (<= 1.10x); "
           f"{nb['layers_vs_asyncio']:.3f}x raw asyncio's makespan in the same process"
           + (f" (raw asyncio itself {raw['layers_ratio']:.3f}x ideal)" if "layers_ratio" in raw else ""))
    target(nb["runs_per_s"] >= 15_000, f"{nb['runs_per_s']:,.0f} three-node runs/s (>= 15,000)")
    target(nb["import_ms"] <= 200, f"import nbflow {nb['import_ms']:.0f} ms (<= 200 ms)")
    target(nb["rss_mb"] <= 30, f"RSS after import {nb['rss_mb']:.1f} MB (<= 30 MB)")
    if "pydantic-graph" in med and "build_chain_ms" in med["pydantic-graph"]:
        pg = med["pydantic-graph"]
        for key, ref in (("build_chain_ms", "build_chain_ms"), ("build_layers_ms", "build_layers_ms"),
                         ("load_layers_ms", "build_layers_ms")):
            target(nb[key] <= 2 * pg[ref], f"{key}: {nb[key] / pg[ref]:.2f}x pydantic-graph's {ref} (<= 2x)")
    return out


def machine() -> str:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}; "
            f"load average {load} when the run ended")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=4, help="fresh processes per engine (default 4)")
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ", ".join(ENGINES))
    ap.add_argument("--instructions", action="store_true", help="count each import's instructions (valgrind)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--first", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.first:
        first_run(args.first)
        return
    if args.child:
        print(json.dumps(asyncio.run(WORKLOADS[args.child]().measure())))
        return
    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in wanted if e not in ENGINES]
    if unknown:
        ap.error(f"unknown engine {unknown[0]!r} (engines: {', '.join(ENGINES)})")
    engines = [e for e in wanted if available(e)]
    for e in wanted:
        if e not in engines:
            print(f"{e}: not installed; pip install -e '.[bench]'", file=sys.stderr)
    started = time.strftime("%Y-%m-%d")
    compile_nbflow()
    figures = collect(engines, args.reps, args.instructions)
    text, verdicts = table(figures, engines)
    print(f"Measured {started}, {args.reps} interleaved repetitions (fresh process per engine); "
          f"median cells, (ratio to raw asyncio).\nMachine: {machine()}\n")
    print(text)
    if verdicts:
        print("\nTargets (issue 19):")
        print("\n".join(verdicts))


if __name__ == "__main__":
    main()
