"""``nbflow runs``: the run history. ``nbflow runs [--flow F] [--status S] [--since 24h]``,
``nbflow runs show RUN_ID``, ``nbflow runs prune --older-than 30d``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from nbflow.exceptions import ConfigError
from nbflow.ops.timespec import format_time

__all__ = ["add_parser", "main"]

_STATUSES = ("running", "succeeded", "failed", "cancelled", "paused", "interrupted")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--flow", metavar="NAME", help="only runs of this flow")
    p.add_argument("--status", choices=_STATUSES, action="append", help="only runs with this status (repeatable)")
    p.add_argument("--source", metavar="SOURCE", help="only runs started from here (cli, notebook, server, "
                   "schedule, batch, python...)")
    p.add_argument("--since", metavar="WHEN", help="only runs started since: a duration ago (24h, 7d) or a date")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("runs", help="list, show and prune recorded runs",
                       description="The run history in the run store ($NBFLOW_HOME or the user data directory).")
    _filters(p)
    p.add_argument("--limit", "-n", type=int, default=50, metavar="N", help="most runs to list (default 50)")
    p.add_argument("--json", action="store_true", help="JSON lines, one run per line")
    p.set_defaults(func=main, runs_command="list")
    inner = p.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=type(p))
    show = inner.add_parser("show", help="one run with its node records")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--json", action="store_true", help="the whole record as JSON")
    show.set_defaults(func=main)
    prune = inner.add_parser("prune", help="delete old runs (running and paused runs stay unless --status "
                             "names them)")
    prune.add_argument("--older-than", metavar="AGE", help="delete runs started longer ago than this (30d, 12h)")
    prune.add_argument("--keep-last", type=int, metavar="N", help="keep the N newest matching runs in any case")
    prune.add_argument("--flow", metavar="NAME", help="only runs of this flow")
    prune.add_argument("--status", choices=_STATUSES, action="append", help="only runs with this status")
    prune.add_argument("--dry-run", action="store_true", help="say how many would go; delete nothing")
    prune.set_defaults(func=main)


def _when(t: float | None) -> str:
    return format_time(t)


def main(args: argparse.Namespace) -> int:
    from nbflow.store import open_store

    with open_store() as store:
        if args.runs_command == "show":
            return _show(store, args)
        if args.runs_command == "prune":
            return _prune(store, args)
        return _list(store, args)


def _list(store: Any, args: argparse.Namespace) -> int:
    from nbflow.ops.timespec import parse_since

    if args.limit < 1:
        raise ConfigError(f"--limit must be at least 1 (got {args.limit})")
    since = parse_since(args.since) if args.since else None
    runs = store.list_runs(flow=args.flow, status=args.status, source=args.source, since=since, limit=args.limit)
    w = sys.stdout.write
    if args.json:
        for r in runs:
            w(json.dumps({"run_id": r.id, "flow": r.flow, "status": r.status, "source": r.source,
                          "started_at": r.started_at, "ended_at": r.ended_at, "duration": r.duration,
                          "cost": r.cost, "usage": r.usage, "error": r.error}) + "\n")
        return 0
    if not runs:
        w("no runs recorded" + (" match" if any([args.flow, args.status, args.source, args.since]) else "") + "\n")
        return 0
    fw = max(len("FLOW"), *(len(r.flow) for r in runs))  # whole names: two flows never look alike
    started = [_when(r.started_at) for r in runs]
    tw = max(len("STARTED"), *(len(t) for t in started))
    w(f"{'RUN':<24} {'FLOW':<{fw}} {'STATUS':<11} {'SOURCE':<9} {'STARTED':<{tw}} {'SECONDS':>8} {'COST':>9}\n")
    for r, when in zip(runs, started, strict=True):
        dur = f"{r.duration:.2f}" if r.duration is not None else "-"
        w(f"{r.id:<24} {r.flow:<{fw}} {r.status:<11} {r.source:<9} {when:<{tw}} {dur:>8} {r.cost:>9.4f}\n")
        if r.error:
            w(f"    {r.error}\n")
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    from .run import result_json

    stored = store.load(args.run_id)
    res, s = stored.result, stored.summary
    if args.json:
        out = result_json(res)
        out.update(source=s.source, flow_file=s.flow_file, started_at=s.started_at, ended_at=s.ended_at,
                   host=s.host, pid=s.pid, approvals=[{"node_id": a.node_id, "reason": a.reason,
                                                       "decision": a.decision} for a in stored.approvals])
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        return 0
    w = sys.stdout.write
    dur = f"{s.duration:.2f}s" if s.duration is not None else "-"
    w(f"run      {res.run_id}\nflow     {res.flow}" + (f" ({s.flow_file})" if s.flow_file else "") + "\n")
    w(f"status   {res.status}\nsource   {s.source}\nstarted  {_when(s.started_at)}\nended    {_when(s.ended_at)}"
      f"\nduration {dur}\ncost     ${s.cost:.4f}\n")
    if s.usage:
        w("usage    " + ", ".join(f"{k}={v}" for k, v in s.usage.items()) + "\n")
    if res.error:
        w(f"error    {res.error}\n")
    if res.nodes:
        w(f"\n{'NODE':<20} {'TYPE':<14} {'STATUS':<10} {'TRIES':>5} {'SECONDS':>8} {'COST':>9}\n")
        for rec in res.nodes.values():
            d = f"{rec.duration:.2f}" if rec.duration is not None else "-"
            w(f"{rec.id[:20]:<20} {rec.type[:14]:<14} {rec.status:<10} {rec.attempts:>5} {d:>8} {rec.cost:>9.4f}\n")
            if rec.error:
                w(f"    error: {rec.error.get('message', '')}\n")
            elif rec.reason:
                w(f"    {rec.reason}\n")
    for a in stored.pending:
        w(f"\nwaiting for approval at {a.node_id}: {a.reason}\n  nbflow resume {res.run_id} --approve (or --reject)\n")
    return 0


def _prune(store: Any, args: argparse.Namespace) -> int:
    from nbflow.ops.timespec import parse_duration

    if args.older_than is None and args.keep_last is None:
        raise ConfigError("runs prune needs --older-than AGE or --keep-last N (refusing to delete every run)")
    if args.keep_last is not None and args.keep_last < 0:
        raise ConfigError(f"--keep-last must not be negative (got {args.keep_last})")
    before = time.time() - parse_duration(args.older_than, what="--older-than") if args.older_than else None
    if args.dry_run:
        n = _count_prunable(store, before=before, keep_last=args.keep_last, flow=args.flow, status=args.status)
        sys.stdout.write(f"would delete {n} runs\n")
        return 0
    n = store.prune(before=before, keep_last=args.keep_last, flow=args.flow, status=args.status)
    sys.stdout.write(f"deleted {n} runs\n")
    return 0


def _count_prunable(store: Any, *, before: float | None, keep_last: int | None, flow: str | None,
                    status: list[str] | None) -> int:
    from nbflow.store.runstore import LIVE_STATUSES

    runs = store.list_runs(flow=flow, status=status, limit=None)
    n = 0
    for i, r in enumerate(runs):
        if keep_last is not None and i < keep_last:
            continue
        if before is not None and r.started_at >= before:
            continue
        if status is None and r.status in LIVE_STATUSES:
            continue
        n += 1
    return n
