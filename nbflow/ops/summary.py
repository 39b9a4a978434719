"""Run metrics from the run history: success rate, average and p95 duration, and cost per run.

    from nbflow.ops.summary import run_stats
    for s in run_stats(store, since=time.time() - 86400):
        print(s.flow, f"{s.success_rate:.1%}", s.p95_duration)

Statistics cover runs that ended: ``succeeded`` and ``failed`` count towards the success rate;
``cancelled`` runs (stopped on purpose) and ``interrupted`` runs (their process died) are counted
apart, and ``running`` and ``paused`` runs are left out until they end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from nbflow.store.runstore import RunStore, RunSummary

__all__ = ["RunStats", "percentile", "run_stats", "stats_of", "windowed_stats"]

_ENDED = ("succeeded", "failed", "cancelled", "interrupted")


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(kw_only=True, slots=True)
class RunStats:
    """Figures for one flow (or ``"*"``, every flow) over one time window."""

    flow: str
    """The flow's name, or ``*`` for all flows together."""
    runs: int = 0
    """Runs that ended (succeeded + failed + cancelled + interrupted)."""
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    interrupted: int = 0
    """Runs whose process died while they ran (see ``nbflow resume``)."""
    avg_duration: float | None = None
    """Mean seconds per ended run."""
    p95_duration: float | None = None
    """95th percentile of seconds per ended run (nearest rank)."""
    avg_cost: float = 0.0
    """Mean USD per ended run."""
    total_cost: float = 0.0
    since: float | None = None
    """Start of the window (seconds since the epoch), when there is one."""
    until: float | None = None
    """End of the window, when there is one."""

    @property
    def success_rate(self) -> float | None:
        """succeeded / (succeeded + failed); None before any run ended."""
        decided = self.succeeded + self.failed
        return None if decided == 0 else self.succeeded / decided

    @property
    def error_rate(self) -> float | None:
        """failed / (succeeded + failed)."""
        rate = self.success_rate
        return None if rate is None else 1.0 - rate

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["success_rate"] = None if self.success_rate is None else round(self.success_rate, 6)
        for k in ("avg_duration", "p95_duration"):
            if out[k] is not None:
                out[k] = round(out[k], 6)
        out["avg_cost"] = round(self.avg_cost, 8)
        out["total_cost"] = round(self.total_cost, 8)
        return out


def stats_of(flow: str, runs: Iterable[RunSummary], *, since: float | None = None,
             until: float | None = None) -> RunStats:
    """Figures over ``runs`` (already filtered to the window and flow)."""
    st = RunStats(flow=flow, since=since, until=until)
    durations: list[float] = []
    for r in runs:
        if r.status not in _ENDED:
            continue
        st.runs += 1
        if r.status == "succeeded":
            st.succeeded += 1
        elif r.status == "failed":
            st.failed += 1
        elif r.status == "interrupted":
            st.interrupted += 1
        else:
            st.cancelled += 1
        st.total_cost += r.cost
        if r.duration is not None:
            durations.append(max(0.0, r.duration))
    if durations:
        st.avg_duration = sum(durations) / len(durations)
        st.p95_duration = percentile(durations, 95)
    if st.runs:
        st.avg_cost = st.total_cost / st.runs
    return st


def _fetch(store: RunStore, flow: str | None, since: float | datetime | None,
           until: float | datetime | None, source: str | None) -> list[RunSummary]:
    return store.list_runs(flow=flow, since=since, until=until, source=source, status=list(_ENDED), limit=None)


def run_stats(store: RunStore, *, flow: str | None = None, since: float | None = None,
              until: float | None = None, source: str | None = None,
              total: bool = True) -> list[RunStats]:
    """One :class:`RunStats` per flow (sorted by name) over runs started in ``[since, until)``, plus a
    ``*`` row for all flows together when ``total`` and more than one flow ran."""
    runs = _fetch(store, flow, since, until, source)
    by_flow: dict[str, list[RunSummary]] = {}
    for r in runs:
        by_flow.setdefault(r.flow, []).append(r)
    out = [stats_of(name, rs, since=since, until=until) for name, rs in sorted(by_flow.items())]
    if total and len(out) > 1:
        out.append(stats_of("*", runs, since=since, until=until))
    return out


def windowed_stats(store: RunStore, *, window: float, since: float, until: float,
                   flow: str | None = None, source: str | None = None) -> list[RunStats]:
    """Figures per flow and per consecutive window of ``window`` seconds from ``since`` to ``until``,
    oldest first; windows with no ended run are left out."""
    runs = _fetch(store, flow, since, until, source)
    buckets: dict[tuple[int, str], list[RunSummary]] = {}
    for r in runs:
        buckets.setdefault((int((r.started_at - since) // window), r.flow), []).append(r)
    out = []
    for (k, name), rs in sorted(buckets.items()):
        start = since + k * window
        out.append(stats_of(name, rs, since=start, until=min(until, start + window)))
    return out
