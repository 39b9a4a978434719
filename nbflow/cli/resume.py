"""``nbflow resume RUN_ID --approve | --reject [--value ...]``: continue a paused or interrupted run.

Without a decision it finishes a run whose process died (re-running only the nodes that had not
finished) or applies timed-out approval defaults; ``--expired`` does that for every run whose approval
timeout has passed (for cron); with no run id it lists the runs that can be resumed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nbflow.exceptions import InputError

from .run import Progress, exit_code, print_result

__all__ = ["add_parser", "main", "parse_value"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("resume", help="resume a paused or interrupted run",
                       description="Resume a run recorded in the run store: decide a pending approval, or "
                       "finish a run whose process was stopped. Finished nodes are not run again.")
    p.add_argument("run_id", nargs="?", metavar="RUN_ID",
                   help="the run to resume (omit to list resumable runs)")
    decide = p.add_mutually_exclusive_group()
    decide.add_argument("--approve", action="store_true", help="approve the pending approval")
    decide.add_argument("--reject", action="store_true", help="reject the pending approval")
    p.add_argument("--value", metavar="VALUE", help="with --approve: the edited value to use instead (text, "
                   "or JSON when the value under review is not text; @FILE reads a file)")
    p.add_argument("--node", metavar="NODE", help="which approval, when several are pending")
    p.add_argument("--comment", metavar="TEXT", help="a note kept with the decision")
    p.add_argument("--by", metavar="NAME", help="who decided (kept with the decision)")
    p.add_argument("--expired", action="store_true",
                   help="apply the default decision to every approval whose timeout has passed")
    p.add_argument("--force", action="store_true",
                   help="resume even if the run looks alive in another process")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--out-dir", metavar="DIR", help="write media outputs to files here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.add_argument("--concurrency", type=int, metavar="N", help="most nodes running at once")
    from nbflow.cli.notify import add_notify_arg

    add_notify_arg(p)
    p.set_defaults(func=main)


def parse_value(raw: str, current: Any) -> Any:
    """A ``--value`` for a value under review: text stays text; anything else is read as JSON."""
    if raw.startswith("@"):
        try:
            raw = Path(raw[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--value: cannot read {raw[1:]!r}: {exc.strerror or exc}") from None
    if isinstance(current, str) or current is None:
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"--value: the value under review is {type(current).__name__}, so give JSON "
                         f"({exc.msg} at column {exc.colno})") from None


def _list(store: Any) -> int:
    from nbflow.ops.timespec import format_time
    from nbflow.resuming import _alive

    runs = [r for r in store.list_runs(status=["paused", "running", "interrupted", "failed", "cancelled"],
                                       limit=50)
            if not (r.status == "running" and _alive(r.pid, r.host))]
    if not runs:
        sys.stdout.write("no runs to resume\n")
        return 0
    for r in runs:
        when = format_time(r.started_at)
        what = {"running": "interrupted"}.get(r.status, r.status)
        sys.stdout.write(f"{r.id}  {what:<11} {r.flow}  {when}\n")
        if r.status == "paused":
            for a in store.approvals(r.id):
                due = ""
                if a.deadline is not None:
                    due = f" (default {a.default} at {format_time(a.deadline)})"
                sys.stdout.write(f"    waiting at {a.node_id}: {a.reason}{due}\n")
    return 0


def _announce(ev: Any) -> None:
    if ev.kind == "run_started":
        sys.stderr.write(f"resuming run {ev.run_id}\n")


def main(args: argparse.Namespace) -> int:
    from nbflow.cli.notify import load_notifier
    from nbflow.store import open_store

    args.notifier = load_notifier(args.notify)
    with open_store() as store:
        return _main(args, store)


def _notify(args: argparse.Namespace, store: Any, result: Any) -> None:
    """With --notify: tell about the approvals a resume paused at (once per pause)."""
    if args.notifier is None or result.status != "paused":
        return
    from nbflow.cli.notify import notify_paused, recorded_route
    from nbflow.engine.sync import run_sync

    run_sync(notify_paused(args.notifier, store, result, recorded_route(store, result.run_id)))


def _main(args: argparse.Namespace, store: Any) -> int:
    from nbflow.engine.sync import run_sync
    from nbflow.resume_runs import aresume, resume_expired
    from nbflow.resuming import UNSET

    if args.expired:
        if args.run_id or args.approve or args.reject or args.value is not None:
            raise InputError("--expired resumes every timed-out run; give it alone")
        results = resume_expired(store, on_event=None if (args.quiet or args.json) else [Progress()],
                                 source=None)
        for res in results:
            sys.stdout.write(f"run {res.run_id} {res.status}\n")
            _notify(args, store, res)
        if not results:
            sys.stdout.write("no approvals have timed out\n")
        return 0
    if not args.run_id:
        return _list(store)
    if args.value is not None and not args.approve:
        raise InputError("--value goes with --approve (it replaces the value being approved)")
    approve = True if args.approve else (False if args.reject else None)
    value = UNSET
    if args.value is not None:
        pending = [a for a in store.approvals(args.run_id) if args.node is None or a.node_id == args.node]
        value = parse_value(args.value, pending[0].data.get("value") if pending else None)
    out_dir = Path(args.out_dir) if args.out_dir else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    listeners: list[Any] = [] if (args.quiet or args.json) else [Progress(), _announce]
    result = run_sync(aresume(args.run_id, approve=approve, value=value, node=args.node, comment=args.comment,
                              by=args.by, store=store, on_event=listeners, cache=False,
                              concurrency=args.concurrency, force=args.force))
    print_result(result, as_json=args.json, out_dir=out_dir)
    _notify(args, store, result)
    if result.status == "paused":
        sys.stderr.write(f"run {result.run_id} is paused again; resume it with: "
                         f"nbflow resume {result.run_id} --approve (or --reject)\n")
    return exit_code(result)
