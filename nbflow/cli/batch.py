"""``nbflow batch FLOW.json INPUTS.jsonl --out RESULTS.jsonl``: one run per input line, resumable."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from nbflow.cli import add_allow_host_option

__all__ = ["add_parser", "main"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("batch", help="run a flow once per line of a JSONL file",
                       description="Run a flow for every line of a JSONL inputs file, N at a time, appending one "
                       "result line per item to --out. Items already in --out are skipped, so an interrupted "
                       "batch continues where it stopped. A failed item is recorded and the batch goes on.")
    p.add_argument("flow", help="path to the flow JSON file")
    p.add_argument("inputs", help="JSONL file: one object of graph inputs per line (or {\"id\": ..., "
                   "\"inputs\": {...}})")
    p.add_argument("--out", "-o", required=True, metavar="RESULTS.jsonl", help="results file (appended to)")
    p.add_argument("--concurrency", "-c", type=int, default=4, metavar="N", help="items running at once "
                   "(default 4)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on a dask.distributed cluster: 'local' starts a "
                   "LocalCluster, or give the scheduler address tcp://HOST:PORT")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes for --dask local "
                   "(default 2)")
    p.add_argument("--retry-failed", action="store_true", help="run again the items whose result failed")
    p.add_argument("--inline-media", action="store_true", help="write media outputs' bytes into the results "
                   "(base64) instead of a reference to the run store")
    add_allow_host_option(p)
    from nbflow.cli.cache import cache_arg

    cache_arg(p, "items share node outputs; on Dask every worker must see the folder")
    p.add_argument("--no-store", action="store_true", help="do not record the runs in the run store")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from nbflow.batch import run_batch
    from nbflow.flow import Flow

    from .run import mark_interrupted, open_cli_store

    flow = Flow.load(args.flow)
    if args.dask and args.allow_host:  # worker processes read the allow-list from their environment
        from nbflow.providers.netguard import ALLOW_ENV

        os.environ[ALLOW_ENV] = ",".join(filter(None, [os.environ.get(ALLOW_ENV, ""), *args.allow_host]))
    store: Any = False if args.no_store else open_cli_store()
    try:
        mark_interrupted(store or None, quiet=args.quiet)
        summary = run_batch(flow, args.inputs, args.out, concurrency=args.concurrency, dask=args.dask,
                            workers=args.workers, retry_failed=args.retry_failed,
                            store=None if store is False else store, progress=not args.quiet,
                            inline_media=args.inline_media, cache=args.cache)
    finally:
        if store is not False:
            store.close()
    if args.json:
        sys.stdout.write(json.dumps(summary.to_json()) + "\n")
    else:
        dup = f", {summary.duplicates} duplicate lines dropped" if summary.duplicates else ""
        sys.stdout.write(f"{summary.ran} items run ({summary.succeeded} succeeded, {summary.failed} failed), "
                         f"{summary.skipped} already in {args.out}{dup}; {summary.elapsed:.2f}s, "
                         f"cost ${summary.cost:.4f}\n")
        if summary.failed_total:
            sys.stdout.write(f"{summary.failed_total} items have failed results; run again with --retry-failed "
                             "to retry them\n")
    return 1 if summary.failed_total else 0
