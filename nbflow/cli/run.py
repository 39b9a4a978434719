"""``nbflow run FLOW.json``: replay a flow headlessly."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nbflow.cli import add_allow_host_option
from nbflow.exceptions import InputError, UsageError
from nbflow.model.events import Event
from nbflow.model.record import RunResult, result_json, save_media, value_to_json
from nbflow.model.values import Media
from nbflow.store.runstore import RunStore

__all__ = ["add_cassette_args", "add_parser", "cassette_options", "open_cli_store", "parse_inputs", "result_json"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run a flow file", description="Run a flow file headlessly.")
    p.add_argument("flow", help="path to the flow JSON file")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                   help="a graph input (repeatable); VALUE may be @FILE to read text from a file")
    p.add_argument("--inputs", metavar="FILE.json", help="graph inputs as a JSON object")
    p.add_argument("--json", action="store_true", help="print one JSON object: status, run_id, outputs, "
                   "usage, cost, nodes")
    p.add_argument("--out-dir", metavar="DIR", help="write media outputs (images, audio...) to files here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.add_argument("--concurrency", type=int, metavar="N", help="most nodes running at once")
    p.add_argument("--estimate", action="store_true", help="make no provider calls: print the estimated "
                   "tokens and cost per node and in total (with --json as JSON)")
    add_allow_host_option(p)
    from nbflow.cli.cache import cache_arg

    cache_arg(p, "a second identical run makes no provider call")
    p.add_argument("--use-pins", action="store_true", help="pinned nodes give their pinned outputs "
                   "instead of running (pins are in the flow file's \"pins\")")
    p.add_argument("--from", dest="start", action="append", metavar="NODE",
                   help="run NODE and everything downstream of it, taking upstream outputs from the "
                        "cache or pins (repeatable; needs --cache or --use-pins)")
    p.add_argument("--only", action="append", metavar="NODE",
                   help="run only NODE, taking its inputs from the cache or pins (repeatable)")
    p.add_argument("--to", dest="targets", action="append", metavar="NODE",
                   help="run only what NODE needs, NODE included (repeatable)")
    p.add_argument("--no-store", action="store_true", help="do not record the run in the run store "
                   "(then a paused or interrupted run cannot be resumed)")
    add_cassette_args(p)
    from nbflow.cli.notify import add_notify_arg

    add_notify_arg(p)
    p.set_defaults(func=main)


def add_cassette_args(p: Any) -> None:
    """``--record``, ``--replay`` and ``--record-missing``: shared by run, test and compare."""
    p.add_argument("--record", metavar="CASSETTE.json", help="record every outbound provider/HTTP exchange "
                   "of the run into this cassette (keys and auth headers are never written)")
    p.add_argument("--replay", metavar="CASSETTE.json", help="answer every outbound request from this "
                   "cassette, with no network; a request it has no answer for fails its node")
    p.add_argument("--record-missing", action="store_true", help="with --replay (or --record): answer what "
                   "the cassette has and record only what is new into it")


def cassette_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``record`` / ``replay`` / ``record_missing`` keywords of a run, from the parsed arguments."""
    if args.record_missing and not (args.record or args.replay):
        raise UsageError("--record-missing needs --replay CASSETTE.json (or --record CASSETTE.json)")
    if args.record and args.replay:
        raise UsageError("give --record or --replay, not both (--replay C --record-missing records what is new)")
    return {"record": args.record, "replay": args.replay, "record_missing": args.record_missing}


def parse_inputs(pairs: list[str], inputs_file: str | None) -> dict[str, Any]:
    """Merge ``--inputs FILE.json`` and ``--input NAME=VALUE`` (the latter wins)."""
    out: dict[str, Any] = {}
    if inputs_file:
        try:
            data = json.loads(Path(inputs_file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("no such file", source=inputs_file) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", source=inputs_file) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                             source=inputs_file) from None
        if not isinstance(data, dict):
            raise InputError("inputs file must hold a JSON object of name -> value", source=inputs_file)
        out.update(data)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InputError(f"--input {pair!r}: expected NAME=VALUE")
        if value.startswith("@"):
            try:
                value = Path(value[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"--input {name}: cannot read {value[1:]!r}: {exc.strerror or exc}") from None
        out[name] = value
    return out


class Progress:
    """Readable progress lines on stderr."""

    SYMBOLS = {"done": "ok", "cached": "cached", "pinned": "pinned", "failed": "FAILED", "skipped": "skipped",
               "paused": "PAUSED", "cancelled": "cancelled"}

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream

    def __call__(self, ev: Event) -> None:
        stream = self.stream or sys.stderr
        w = stream.write
        if ev.kind == "node_finished" and ev.data.get("status") in ("done",):
            dur = ev.data.get("duration") or 0.0
            w(f"  ok       {ev.node_id} ({dur:.2f}s)\n")
        elif ev.kind == "cached":
            w(f"  cached   {ev.node_id}\n")
        elif ev.kind == "pinned":
            w(f"  pinned   {ev.node_id}\n")
        elif ev.kind == "skipped":
            w(f"  skipped  {ev.node_id}: {ev.data.get('reason', '')}\n")
        elif ev.kind == "retry":
            w(f"  retry    {ev.node_id} in {ev.data.get('delay', 0):.1f}s: {ev.data.get('error', '')}\n")
        elif ev.kind == "fallback":
            w(f"  fallback {ev.node_id} -> {ev.data.get('to')}: {ev.data.get('error', '')}\n")
        elif ev.kind == "failed":
            w(f"  FAILED   {ev.node_id}: {ev.data.get('message', '')}\n")
        elif ev.kind == "paused":
            w(f"  PAUSED   {ev.node_id}: {ev.data.get('reason', '')}\n")
        stream.flush()


def _show(value: Any) -> str:
    if isinstance(value, Media):
        size = f"{value.size:,} bytes" if value.size is not None else value.url
        return f"<{value.mime}, {size}; use --out-dir to save>"
    if isinstance(value, str):
        return value
    return json.dumps(value_to_json(value, inline_media=False), ensure_ascii=False, indent=2)


def print_result(result: RunResult, *, as_json: bool, out_dir: Path | None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result_json(result, out_dir), ensure_ascii=False, indent=2) + "\n")
        return
    if out_dir is not None:
        saved = {k: save_media(v, out_dir, k) for k, v in result.outputs.items()}
    for name, value in result.outputs.items():
        if out_dir is not None and isinstance(saved[name], dict) and "path" in saved[name]:
            sys.stdout.write(f"{name}: saved {saved[name]['path']}\n")
        else:
            text = _show(value)
            sep = "\n" if "\n" in text else " "
            sys.stdout.write(f"{name}:{sep}{text}\n")
    usage = ", ".join(f"{k}={v}" for k, v in result.usage.items())
    tail = f"run {result.run_id} {result.status} in {result.duration or 0:.2f}s"
    if usage:
        tail += f"; usage {usage}; cost ${result.cost:.4f}"
    sys.stderr.write(tail + "\n")
    if result.error:
        sys.stderr.write(f"nbflow: error: {result.error}\n")


def mark_interrupted(store: RunStore | None, *, quiet: bool = False) -> list[str]:
    """On start of a long-lived command: mark runs whose process died ``interrupted``, one line each."""
    if store is None:
        return []
    from nbflow.store.owners import interrupt_orphans

    ids = interrupt_orphans(store)
    for run_id in ids if not quiet else ():
        sys.stderr.write(f"nbflow: run {run_id} was interrupted (the process running it stopped); "
                         f"resume it with: nbflow resume {run_id}\n")
    return ids


def open_cli_store() -> RunStore | None:
    """The default run store, or None (with a warning) when it cannot be opened: the run still runs.

    A command opens its own store and closes it when done, so nothing stays open between commands.
    """
    from nbflow.exceptions import StoreError
    from nbflow.recording import configured_store
    from nbflow.store import open_store

    try:
        return configured_store() or open_store()
    except StoreError as exc:
        sys.stderr.write(f"nbflow: warning: {exc}; the run is not recorded and cannot be resumed\n")
        return None


def _announce(ev: Event) -> None:
    # The id comes first, so a run whose process is killed can still be resumed by id.
    if ev.kind == "run_started":
        sys.stderr.write(f"run {ev.run_id} started\n")


def exit_code(result: RunResult) -> int:
    return {"succeeded": 0, "paused": 3}.get(result.status, 1)


def main(args: argparse.Namespace) -> int:
    from nbflow.cli.cache import open_cli_cache
    from nbflow.cli.notify import load_notifier, notify_paused
    from nbflow.engine.sync import run_sync
    from nbflow.flow import Flow

    flow = Flow.load(args.flow)
    inputs = parse_inputs(args.input, args.inputs)
    cassette = cassette_options(args)
    cache = open_cli_cache(args.cache)
    narrow: dict[str, Any] = {"use_pins": args.use_pins, "start": args.start, "only": args.only,
                              "targets": args.targets}
    if args.estimate:
        if args.record or args.replay:
            raise UsageError("--estimate makes no calls, so there is nothing to --record or --replay")
        from nbflow.providers.estimate import estimate_flow, print_estimate

        plan = flow.preview(inputs, cache=cache if cache is not None else False, **narrow)
        print_estimate(estimate_flow(flow, inputs, plan=plan), as_json=args.json)
        return 0
    out_dir = Path(args.out_dir) if args.out_dir else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    listeners: list[Any] = [] if (args.quiet or args.json) else [Progress()]
    notifier = load_notifier(args.notify, args.allow_host)  # a bad configuration fails before the run
    store = None if args.no_store else open_cli_store()
    if store is not None and listeners:
        listeners.append(_announce)
    try:
        result = flow.run(inputs, on_event=listeners, cache=cache if cache is not None else False,
                          concurrency=args.concurrency, store=store or False, source="cli", **narrow,
                          **cassette)
        if notifier is not None:
            run_sync(notify_paused(notifier, store, result, flow.spec.defaults.notify))
    finally:
        if store is not None:
            store.close()
    print_result(result, as_json=args.json, out_dir=out_dir)
    if result.status == "paused":
        sys.stderr.write(f"run {result.run_id} is paused; resume it with: nbflow resume {result.run_id} "
                         "--approve (or --reject)\n")
    return exit_code(result)
