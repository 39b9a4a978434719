"""Run test cases through a flow and check their expectations: what ``nbflow test`` and
:func:`nbflow.evaluate` do.

Each case is one ordinary run (same engine, no cache, not recorded in the run store), ``concurrency``
cases at a time. With a cassette every case's calls (and the judges') are recorded into, or replayed
from, that one file, so a suite recorded once runs offline in CI.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from nbflow.engine.sync import run_sync
from nbflow.exceptions import InputError
from nbflow.flow import Flow
from nbflow.model.record import RunResult, value_to_json
from nbflow.nodes.control_conditions import MISSING, ConditionError, resolve_path
from nbflow.providers.intercept import intercepting

from .cases import Case, Expectation, load_cases, number_in
from .report import CaseResult, Check, TestReport

__all__ = ["aevaluate", "evaluate", "run_view"]



def run_view(result: RunResult, inputs: dict[str, Any]) -> dict[str, Any]:
    """What expectations read: status, outputs, inputs, cost, duration, usage and per-node records."""
    nodes = {nid: {"status": r.status, "outputs": r.outputs or {}, "cost": r.cost,
                   "error": (r.error or {}).get("message"), "attempts": r.attempts}
             for nid, r in result.nodes.items()}
    return {"status": result.status, "outputs": dict(result.outputs), "inputs": inputs, "cost": result.cost,
            "duration": result.duration or 0.0, "usage": result.usage, "nodes": nodes,
            "error": result.error}


def _show(value: Any) -> str:
    if value is MISSING:
        return "nothing (the path is not there)"
    text = repr(value_to_json(value, inline_media=False)) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_condition(exp: Expectation, view: dict[str, Any]) -> Check:
    cond = exp.condition
    assert cond is not None
    try:
        ok = cond.test(view)
    except ConditionError as exc:
        return Check(expectation=exp.describe(), ok=False, detail=f"cannot evaluate: {exc}")
    if ok:
        return Check(expectation=exp.describe(), ok=True)
    return Check(expectation=exp.describe(), ok=False, detail=f"got {_show(resolve_path(view, cond.path))}")


def _check_schema(exp: Expectation, view: dict[str, Any]) -> Check:
    from jsonschema import Draft202012Validator

    got = resolve_path(view, exp.path)
    if got is MISSING:
        return Check(expectation=exp.describe(), ok=False, detail=f"nothing at {exp.path}")
    errors = sorted(Draft202012Validator(exp.schema or {}).iter_errors(value_to_json(got, inline_media=False)),
                    key=lambda e: list(e.absolute_path))
    if not errors:
        return Check(expectation=exp.describe(), ok=True)
    first = errors[0]
    at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
    return Check(expectation=exp.describe(), ok=False, detail=f"at {exp.path}{at}: {first.message}")


class _Judges:
    """Judge flows, loaded once per suite."""

    def __init__(self) -> None:
        self._flows: dict[str, Flow] = {}

    def get(self, exp: Expectation) -> Flow:
        if isinstance(exp.judge, dict):
            import json

            key = json.dumps(exp.judge, sort_keys=True)
            if key not in self._flows:
                self._flows[key] = Flow.loads(key, source="inline judge")
            return self._flows[key]
        path = Path(exp.judge)
        if not path.is_absolute() and exp.base is not None:
            path = exp.base / path
        key = str(path)
        if key not in self._flows:
            if not path.is_file():
                raise InputError(f"judge flow {exp.judge!r}: no such file ({path})")
            self._flows[key] = Flow.load(path)
        return self._flows[key]

    async def check(self, exp: Expectation, view: dict[str, Any]) -> tuple[Check, float]:
        judge = self.get(exp)
        given: dict[str, Any] = {}
        for name in judge.inputs:
            if name in exp.inputs:
                got = resolve_path(view, exp.inputs[name])
                if got is not MISSING:
                    given[name] = got
            elif name in view["outputs"]:
                given[name] = view["outputs"][name]
            elif name in view["inputs"]:
                given[name] = view["inputs"][name]
        res = await judge.arun(given, cache=False, store=False, source="test")
        if not res.ok:
            return Check(expectation=exp.describe(), ok=False, detail=f"the judge failed: {res.error}"), res.cost
        outputs = res.outputs
        raw = outputs.get("score", next(iter(outputs.values()), None) if len(outputs) == 1 else None)
        score = number_in(raw)
        if score is None:
            return Check(expectation=exp.describe(), ok=False,
                         detail=f"the judge gave no score (output 'score' was {_show(raw)})"), res.cost
        ok = score >= exp.threshold
        return Check(expectation=exp.describe(), ok=ok, detail=f"score {score:g}"), res.cost


async def _run_case(flow: Flow, case: Case, judges: _Judges, sem: asyncio.Semaphore) -> CaseResult:
    async with sem:
        t0 = time.monotonic()
        result = await flow.arun(case.inputs, cache=False, store=False, source="test")
        view = run_view(result, case.inputs)
        checks: list[Check] = []
        if not case.checks_status:
            checks.append(Check(expectation="run succeeded", ok=result.ok,
                                detail="" if result.ok else f"run {result.status}: {result.error}"))
        judge_cost = 0.0
        for exp in case.expect:
            if exp.kind == "condition":
                checks.append(_check_condition(exp, view))
            elif exp.kind == "schema":
                checks.append(_check_schema(exp, view))
            else:
                check, cost = await judges.check(exp, view)
                checks.append(check)
                judge_cost += cost
        return CaseResult(name=case.name, passed=all(c.ok for c in checks), checks=checks, run=result,
                          cost=result.cost, judge_cost=judge_cost,
                          duration=result.duration or (time.monotonic() - t0), outputs=dict(result.outputs))


def _check_inputs(flow: Flow, cases: list[Case]) -> None:
    known = flow.inputs
    outputs = set(flow.outputs)
    for case in cases:
        for name in case.inputs:
            if name not in known:
                raise InputError(f"case {case.name!r}: the flow has no input {name!r} "
                                 f"(inputs: {', '.join(known) or 'none'})")
        for name, info in known.items():
            if info["required"] and info["default"] is None and name not in case.inputs:
                raise InputError(f"case {case.name!r}: missing input {name!r} (give it in \"inputs\")")
        for exp in case.expect:
            path = exp.condition.path if exp.condition is not None else exp.path
            parts = path.replace("$", "", 1).lstrip(".").split(".")
            if parts[0] == "outputs" and len(parts) > 1:
                name = parts[1].split("[")[0]
                if name and name not in outputs:
                    raise InputError(f"case {case.name!r}: {exp.describe()}: the flow has no output {name!r} "
                                     f"(outputs: {', '.join(sorted(outputs)) or 'none'})")


async def aevaluate(flow: Flow | str | Path, cases: str | Path | list[Any], *, concurrency: int = 1,
                    record: str | Path | None = None, replay: str | Path | None = None,
                    record_missing: bool = False, variant: str | None = None,
                    session: Any = None) -> TestReport:
    """Async :func:`evaluate`. ``session`` is a cassette session already made (compare shares one)."""
    from nbflow.providers.cassette import cassette_session

    f = flow if isinstance(flow, Flow) else Flow.load(flow)
    case_list = load_cases(cases)
    _check_inputs(f, case_list)
    if concurrency < 1:
        raise InputError(f"--concurrency must be at least 1 (got {concurrency})")
    own = session is None
    if own:
        session = cassette_session(record=record, replay=replay, record_missing=record_missing)
    judges = _Judges()
    sem = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()
    try:  # the case tasks are made inside the block, so they inherit the cassette
        with intercepting(session) if session is not None else nullcontext():
            results = await asyncio.gather(*(_run_case(f, c, judges, sem) for c in case_list))
    finally:
        if own and session is not None:
            session.save()
    return TestReport(flow=f.name, cases=list(results), variant=variant, duration=time.monotonic() - t0)


def evaluate(flow: Flow | str | Path, cases: str | Path | list[Any], *, concurrency: int = 1,
             record: str | Path | None = None, replay: str | Path | None = None,
             record_missing: bool = False) -> TestReport:
    """Run every case through ``flow`` and check its expectations (what ``nbflow test`` does).

    Args:
        flow: a flow or a flow file.
        cases: a JSONL file of cases or a list of case objects (see :mod:`nbflow.evaluate.cases`).
        concurrency: cases running at once.
        record: record every outbound call of every case (and judge) into this cassette.
        replay: answer every outbound call from this cassette, with no network.
        record_missing: with ``replay``, call the network for what the cassette lacks and add it.

    Raises:
        InputError: a case file, case or expectation is malformed, or names an unknown input or output.
    """
    return run_sync(aevaluate(flow, cases, concurrency=concurrency, record=record, replay=replay,
                              record_missing=record_missing))
