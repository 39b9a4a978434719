"""Compare variants of a flow on the same cases: what ``nbflow compare`` and :func:`nbflow.compare` do.

A variant is a name and some param changes, ``NAME:NODE.PARAM=VALUE`` on the command line (repeat the
name for more changes) or ``{"mini": {"copy.model": "gpt-4o-mini"}}`` in Python. VALUE is read as JSON
when it is JSON (``0.2``, ``true``, ``{"a": 1}``), else as text; ``@FILE`` reads text from a file. The
flow as it is runs first, as ``base``, unless left out.

In a notebook the returned :class:`~nbflow.evaluate.report.Comparison` shows as a table widget
(``nbflow.widget.comparison``): cases down, variants across, with outputs (images as pictures),
expectation results, cost and latency.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbflow.engine.sync import run_sync
from nbflow.exceptions import FlowError, InputError, UsageError
from nbflow.flow import Flow

from .cases import load_cases
from .report import Comparison, TestReport
from .suite import aevaluate

__all__ = ["BASE", "Variant", "acompare", "compare", "estimate_variants", "parse_variants"]

#: Name of the unchanged flow in a comparison.
BASE = "base"


@dataclass(kw_only=True, slots=True)
class Variant:
    """A named set of param changes: ``(node, param path, value)``."""

    name: str
    changes: list[tuple[str, list[str], Any]] = field(default_factory=list)

    def describe(self) -> str:
        return ", ".join(f"{n}.{'.'.join(p)}={_short(v)}" for n, p, v in self.changes) or "as saved"

    def apply(self, flow: Flow) -> Flow:
        """A copy of ``flow`` with the changes made (each validated now)."""
        out = flow.copy()
        out.source = flow.source
        for node, path, value in self.changes:
            try:
                spec = out.node(node)
            except FlowError:
                raise UsageError(f"variant {self.name!r}: the flow has no node {node!r}") from None
            current = spec.params.get(path[0]) if len(path) > 1 else None
            new = _set_in(current, path[1:], value) if len(path) > 1 else value
            try:
                out.set_params(node, **{path[0]: new})
            except FlowError as exc:
                raise UsageError(f"variant {self.name!r}: {exc}") from None
        out.spec.name = f"{flow.name}[{self.name}]" if self.changes else flow.name
        return out


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _set_in(current: Any, path: list[str], value: Any) -> Any:
    obj = dict(current) if isinstance(current, dict) else {}
    if len(path) == 1:
        obj[path[0]] = value
    else:
        obj[path[0]] = _set_in(obj.get(path[0]), path[1:], value)
    return obj


def _value(text: str) -> Any:
    if text.startswith("@"):
        try:
            return Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {text[1:]!r}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _change(variant: str, target: str, value: Any) -> tuple[str, list[str], Any]:
    parts = target.split(".")
    if len(parts) < 2 or not all(parts):
        raise UsageError(f"variant {variant!r}: {target!r} should be NODE.PARAM")
    return parts[0], parts[1:], value


def parse_variants(specs: list[str] | dict[str, dict[str, Any]] | None) -> list[Variant]:
    """Variants from ``NAME:NODE.PARAM=VALUE`` strings (a repeated name adds changes) or a dict."""
    found: dict[str, Variant] = {}
    if isinstance(specs, dict):
        for name, changes in specs.items():
            if not isinstance(changes, dict):
                raise UsageError(f"variant {name!r}: give its changes as {{'NODE.PARAM': value}}")
            found[name] = Variant(name=name, changes=[_change(name, k, v) for k, v in changes.items()])
        return _named(found)
    for spec in specs or []:
        name, sep, rest = spec.partition(":")
        target, eq, raw = rest.partition("=")
        if not sep or not eq or not name.strip():
            raise UsageError(f"--variant {spec!r}: expected NAME:NODE.PARAM=VALUE")
        v = found.setdefault(name.strip(), Variant(name=name.strip()))
        v.changes.append(_change(v.name, target.strip(), _value(raw)))
    return _named(found)


def _named(found: dict[str, Variant]) -> list[Variant]:
    if BASE in found and found[BASE].changes:
        raise UsageError(f"variant name {BASE!r} is kept for the flow as it is; choose another name")
    return list(found.values())


async def acompare(flow: Flow | str | Path, cases: str | Path | list[Any],
                   variants: list[str] | dict[str, dict[str, Any]] | None = None, *, base: bool = True,
                   concurrency: int = 1, record: str | Path | None = None, replay: str | Path | None = None,
                   record_missing: bool = False) -> Comparison:
    """Async :func:`compare`."""
    from nbflow.providers.cassette import cassette_session

    f = flow if isinstance(flow, Flow) else Flow.load(flow)
    chosen = parse_variants(variants)
    if base and not any(v.name == BASE for v in chosen):
        chosen.insert(0, Variant(name=BASE))
    if not chosen:
        raise UsageError("nothing to compare: give at least one variant (or keep the base flow)")
    flows = {v.name: v.apply(f) for v in chosen}  # every change is checked before anything runs
    case_list = load_cases(cases)
    session = cassette_session(record=record, replay=replay, record_missing=record_missing)
    t0 = time.monotonic()
    reports: dict[str, TestReport] = {}
    try:
        for name, vf in flows.items():
            reports[name] = await aevaluate(vf, case_list, concurrency=concurrency, variant=name,
                                            session=session)
    finally:
        if session is not None:
            session.save()
    return Comparison(flow=f.name, cases=[c.name for c in case_list], reports=reports,
                      changes={v.name: v.describe() for v in chosen}, duration=time.monotonic() - t0)


def compare(flow: Flow | str | Path, cases: str | Path | list[Any],
            variants: list[str] | dict[str, dict[str, Any]] | None = None, *, base: bool = True,
            concurrency: int = 1, record: str | Path | None = None, replay: str | Path | None = None,
            record_missing: bool = False) -> Comparison:
    """Run the same cases through each variant of ``flow`` and put the results side by side.

    Args:
        flow: a flow or a flow file.
        cases: a JSONL file of cases or a list of case objects (expectations are optional here).
        variants: ``{"NAME": {"NODE.PARAM": value}}`` or ``["NAME:NODE.PARAM=VALUE", ...]``.
        base: also run the flow as it is, as variant ``base``.
        concurrency: cases running at once (variants run one after another).
        record, replay, record_missing: one cassette for every variant's calls (see :func:`evaluate`).

    Raises:
        UsageError: a variant names an unknown node or sets a param that does not validate.
        InputError: the cases are malformed.
    """
    if concurrency < 1:
        raise InputError(f"--concurrency must be at least 1 (got {concurrency})")
    return run_sync(acompare(flow, cases, variants, base=base, concurrency=concurrency, record=record,
                             replay=replay, record_missing=record_missing))


def estimate_variants(flow: Flow | str | Path, cases: str | Path | list[Any],
                      variants: list[str] | dict[str, dict[str, Any]] | None = None, *,
                      base: bool = True) -> dict[str, dict[str, Any]]:
    """What each variant would cost over the cases, making no calls (the estimator of ``nbflow run --estimate``).

    Returns:
        variant name -> ``{"changes", "cost", "cases": {case: cost}, "unpriced": [...]}``.
    """
    from nbflow.providers.estimate import estimate_flow

    f = flow if isinstance(flow, Flow) else Flow.load(flow)
    chosen = parse_variants(variants)
    if base and not any(v.name == BASE for v in chosen):
        chosen.insert(0, Variant(name=BASE))
    flows = {v.name: v.apply(f) for v in chosen}
    case_list = load_cases(cases)
    out: dict[str, dict[str, Any]] = {}
    for v in chosen:
        per_case: dict[str, float] = {}
        unpriced: set[str] = set()
        for case in case_list:
            est = estimate_flow(flows[v.name], case.inputs)
            per_case[case.name] = est["cost"]
            unpriced.update(est["unpriced"])
        out[v.name] = {"changes": v.describe(), "cost": round(sum(per_case.values()), 8),
                       "cases": per_case, "unpriced": sorted(unpriced)}
    return out
