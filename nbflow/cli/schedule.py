"""``nbflow schedule FLOW.json --cron "0 9 * * *" --tz Europe/Berlin``: run a flow on a schedule, in the
foreground, recording every run (``source="schedule"``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from nbflow.exceptions import ConfigError
from nbflow.ops.timespec import format_time

__all__ = ["add_parser", "main"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("schedule", help="run a flow on a cron schedule",
                       description="Run a flow at the times of a cron expression, in the foreground, until "
                       "stopped. Every run is recorded in the run store; fire times missed while this command "
                       "was not running are handled by --missed on the next start.")
    p.add_argument("flow", help="path to the flow JSON file")
    p.add_argument("--cron", required=True, metavar="EXPR", help="five fields: minute hour day month weekday "
                   "(a sixth for seconds)")
    p.add_argument("--tz", default="UTC", metavar="ZONE", help="time zone of the cron times (default UTC)")
    p.add_argument("--inputs", metavar="FILE.json", help="graph inputs of every run, as a JSON object")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE", help="a graph input")
    p.add_argument("--overlap", choices=("skip", "queue", "allow"), default="skip",
                   help="when a run is still going at the next time: skip (default), queue or allow")
    p.add_argument("--missed", choices=("skip", "run_once", "run_all"), default="skip",
                   help="times missed while not running: skip (default), run_once, or run_all")
    p.add_argument("--name", help="schedule name (keys its state; default: from flow, cron, zone, inputs)")
    p.add_argument("--next", type=int, metavar="N", help="print the next N fire times and exit")
    p.add_argument("--max-runs", type=int, metavar="N", help="stop after N runs")
    p.add_argument("--no-store", action="store_true", help="do not record the runs")
    p.add_argument("--executor", metavar="dask://HOST:PORT", help="execute the runs on this Dask cluster "
                   "(workers open the same store: NBFLOW_STORE or --store; default: in this process)")
    p.add_argument("--resume-interrupted", action="store_true", help="on start, resume this flow's runs whose "
                   "process died (they are marked interrupted either way)")
    p.add_argument("--quiet", "-q", action="store_true", help="no line per run")
    from nbflow.cli.notify import add_notify_arg

    add_notify_arg(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from nbflow.extras import require

    require("nbflow schedule", "croniter")
    from nbflow.cron import ScheduleSpec, next_fire
    from nbflow.flow import Flow

    from .run import mark_interrupted, open_cli_store, parse_inputs

    flow = Flow.load(args.flow)
    inputs = parse_inputs(args.input, args.inputs)
    spec = ScheduleSpec.parse({"flow": str(args.flow), "cron": args.cron, "tz": args.tz, "inputs": inputs,
                               "overlap": args.overlap, "missed": args.missed, "name": args.name},
                              where="nbflow schedule")
    if args.next is not None:
        t, zone = time.time(), ZoneInfo(spec.tz)
        from datetime import datetime

        for _ in range(max(args.next, 0)):
            t = next_fire(spec, t)
            sys.stdout.write(datetime.fromtimestamp(t, zone).isoformat() + "\n")
        return 0
    if args.max_runs is not None and args.max_runs < 1:
        raise ConfigError(f"--max-runs must be at least 1 (got {args.max_runs})")
    from nbflow.cli.notify import load_notifier

    args.notifier = load_notifier(args.notify)
    if args.executor and args.no_store:
        raise ConfigError("--executor: runs on a Dask cluster are recorded in the shared store; drop --no-store")
    store: Any = False if args.no_store else open_cli_store()
    try:
        interrupted = mark_interrupted(store or None, quiet=args.quiet)
        if args.resume_interrupted and interrupted:
            _resume_interrupted(store, flow, interrupted, quiet=args.quiet)
        return asyncio.run(_serve(flow, spec, store, args))
    finally:
        if store is not False:
            store.close()


def _resume_interrupted(store: Any, flow: Any, run_ids: list[str], *, quiet: bool) -> None:
    from nbflow.exceptions import NbflowError
    from nbflow.resume_runs import resume

    for run_id in run_ids:
        if store.summary(run_id).flow != flow.name:
            continue
        try:
            result = resume(run_id, store=store, cache=False)
        except NbflowError as exc:
            sys.stderr.write(f"nbflow: run {run_id} was not resumed: {exc}\n")
            continue
        if not quiet:
            sys.stderr.write(f"run {run_id} resumed: {result.status}\n")


async def _serve(flow: Any, spec: Any, store: Any, args: argparse.Namespace) -> int:
    from nbflow.cli.notify import schedule_notice
    from nbflow.cron import Scheduler, flow_launcher

    done = asyncio.Event()
    count = 0
    failed = 0

    def on_result(result: Any) -> None:
        nonlocal count, failed
        count += 1
        failed += result.status == "failed"
        if not args.quiet:
            started = format_time(result.started_at, ZoneInfo(spec.tz))
            sys.stderr.write(f"run {result.run_id} {result.status} in {result.duration or 0:.2f}s "
                             f"(started {started})\n")
        if args.notifier is not None:
            schedule_notice(args.notifier, store or None, result, flow.spec.defaults.notify)
        if args.max_runs is not None and count >= args.max_runs:
            done.set()

    def on_fire(fire: Any) -> None:
        if not args.quiet and fire.outcome != "started":
            when = format_time(fire.at, ZoneInfo(spec.tz))  # in the schedule's own zone
            sys.stderr.write(f"schedule {fire.schedule}: fire time {when} {fire.outcome}\n")

    executor = None
    if args.executor:
        from nbflow.executor import DaskExecutor

        executor = DaskExecutor(args.executor, store)
    launch = flow_launcher(flow, store=store, on_result=on_result, executor=executor)
    sched = Scheduler([(spec, launch)], on_fire=on_fire)
    if not args.quiet:
        sys.stderr.write(f"schedule {spec.key}: {spec.cron} ({spec.tz}), overlap {spec.overlap}, missed "
                         f"{spec.missed}; Ctrl-C stops\n")
    sched.start()
    try:
        await done.wait()
    finally:
        await sched.stop(wait=True)
        if args.notifier is not None:
            await args.notifier.drain(60.0)
        if executor is not None:
            await executor.close()
    return 1 if failed else 0
