"""``nbflow stats``: success rate, average and p95 duration and cost per run, per flow and window;
spend today against each budget (per flow and per caller key, from the run store's ledger); with
``--alert-above RATE`` it also checks an alert rule and POSTs (or prints) what fires."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

from nbflow.exceptions import ConfigError
from nbflow.ops.timespec import format_time

__all__ = ["add_parser", "main"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("stats", help="success rate, durations and cost per flow",
                       description="Figures over the run history: runs, success rate (succeeded / (succeeded + "
                       "failed)), average and p95 duration, average and total cost, per flow, over --since or per "
                       "--window; then spend today (UTC) against each budget. Add --alert-above to evaluate an "
                       "alert rule.")
    p.add_argument("--flow", metavar="NAME", help="only this flow")
    p.add_argument("--source", metavar="SOURCE", help="only runs started from here (cli, notebook, server, "
                   "schedule, batch, python...)")
    p.add_argument("--since", default="24h", metavar="WHEN", help="from a duration ago (24h, 7d) or a date "
                   "(default 24h)")
    p.add_argument("--window", metavar="SIZE", help="one row per flow and window of this size (1h, 1d)")
    p.add_argument("--json", action="store_true", help="JSON lines, one row per line")
    alert = p.add_argument_group("alert rule")
    alert.add_argument("--alert-above", type=float, metavar="RATE", help="alert when a flow's error rate over "
                       "--alert-window is above RATE (0.02: below 98%% success)")
    alert.add_argument("--alert-window", default="1h", metavar="SIZE", help="history the rate covers (default 1h)")
    alert.add_argument("--min-runs", type=int, default=5, metavar="N", help="fewer ended runs never alert "
                       "(default 5)")
    alert.add_argument("--webhook", metavar="URL", help="POST each alert here as JSON (default: print it)")
    p.set_defaults(func=main)


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main(args: argparse.Namespace) -> int:
    from nbflow.ops.summary import run_stats, windowed_stats
    from nbflow.ops.timespec import parse_duration, parse_since
    from nbflow.store import open_store

    now = time.time()
    since = parse_since(args.since, now=now)
    with open_store() as store:
        if args.window:
            rows = windowed_stats(store, window=parse_duration(args.window, what="--window"), since=since,
                                  until=now + 1, flow=args.flow, source=args.source)
        else:
            rows = run_stats(store, flow=args.flow, since=since, source=args.source)
        _print(rows, as_json=args.json, windowed=bool(args.window))
        _print_budgets(store, flow=args.flow, as_json=args.json)
        if args.alert_above is not None:
            return _alert(store, args, now)
    return 0


def _print(rows: list[Any], *, as_json: bool, windowed: bool) -> None:
    w = sys.stdout.write
    if as_json:
        for r in rows:
            w(json.dumps(r.to_json()) + "\n")
        return
    if not rows:
        w("no runs ended in this period\n")
        return
    fw = max(len("FLOW"), *(len(r.flow) for r in rows))  # whole names: two flows never look alike
    starts = [format_time(r.since) if windowed else "" for r in rows]
    ww = max(len("WINDOW"), *(len(s) for s in starts))
    head = f"{'WINDOW':<{ww}} " if windowed else ""
    w(f"{head}{'FLOW':<{fw}} {'RUNS':>6} {'OK':>6} {'FAILED':>6} {'INTR':>5} {'SUCCESS':>8} {'AVG S':>8} {'P95 S':>8} "
      f"{'AVG $':>9} {'TOTAL $':>9}\n")
    for r, start in zip(rows, starts, strict=True):
        rate = None if r.success_rate is None else r.success_rate * 100
        w(f"{start:<{ww}} " if windowed else "")
        w(f"{r.flow:<{fw}} {r.runs:>6} {r.succeeded:>6} {r.failed:>6} {r.interrupted:>5} "
          f"{_fmt(rate, '.1f') + '%':>8} {_fmt(r.avg_duration, '.2f'):>8} {_fmt(r.p95_duration, '.2f'):>8} "
          f"{r.avg_cost:>9.4f} {r.total_cost:>9.4f}\n")


def _print_budgets(store: Any, *, flow: str | None, as_json: bool) -> None:
    """Today's ledger rows per flow and caller key (runs' own rows are in their records' cost)."""
    from nbflow.engine.budget import day

    today = day()
    rows = [r for r in store.spend_rows(period=today)
            if (r[0].startswith("flow:") and (flow is None or r[0] == f"flow:{flow}"))
            or (r[0].startswith("key:") and flow is None)]
    w = sys.stdout.write
    if as_json:
        for scope, period, spent, cap in rows:
            kind, _, name = scope.partition(":")
            w(json.dumps({"budget": kind, "name": name, "day": period, "spent": round(spent, 8), "cap": cap,
                          "left": None if cap is None else round(max(0.0, cap - spent), 8)}) + "\n")
        return
    if not rows:
        return
    nw = max(len("BUDGET"), *(len(r[0].replace(":", " ", 1)) for r in rows))
    w(f"\n{'BUDGET':<{nw}} {'DAY (UTC)':<10} {'SPENT $':>9} {'CAP $':>9} {'USED':>7}\n")
    for scope, period, spent, cap in rows:
        used = "-" if not cap else f"{spent / cap * 100:.1f}%"
        w(f"{scope.replace(':', ' ', 1):<{nw}} {period:<10} {spent:>9.4f} {_fmt(cap, '.4f'):>9} {used:>7}\n")


def _alert(store: Any, args: argparse.Namespace, now: float) -> int:
    from nbflow.ops.alerts import AlertManager, AlertRule

    if not 0 <= args.alert_above < 1:
        raise ConfigError(f"--alert-above must be an error rate from 0 to 1 (got {args.alert_above})")
    rule = AlertRule.parse({"name": "cli", "flow": args.flow, "max_error_rate": args.alert_above,
                            "window": args.alert_window, "min_runs": args.min_runs, "webhook": args.webhook},
                           where="alert rule")
    quiet = logging.NullHandler()  # this command prints the alerts itself
    logger = logging.getLogger("nbflow.alerts")
    logger.addHandler(quiet)
    try:
        fired = AlertManager([rule], store).check(now)
    finally:
        logger.removeHandler(quiet)
    for a in fired:
        how = " (sent to the webhook)" if a.delivered else (f" ({a.delivery_error})" if a.delivery_error else "")
        sys.stderr.write(f"ALERT {a.message}{how}\n")
    if not fired:
        sys.stderr.write("no alert: every flow is within the error rate\n")
    return 0
