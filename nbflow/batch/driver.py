"""Run a flow once per line of a JSONL file: on this machine (asyncio, N at a time) or spread over a
dask.distributed cluster. Same engine, same results, every run recorded with ``source="batch"``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nbflow.batch.jsonl import Item, ResultsWriter, read_inputs, read_results, result_line
from nbflow.batch.progress import ProgressBar
from nbflow.batch.refused import record_refused
from nbflow.exceptions import ConfigError, NbflowError
from nbflow.flow import Flow
from nbflow.store.runstore import RunStore

__all__ = ["BatchSummary", "plan_batch", "record_refused", "run_batch"]

log = logging.getLogger("nbflow.batch")


@dataclass(kw_only=True, slots=True)
class BatchSummary:
    """What a batch did."""

    total: int = 0
    """Items in the inputs file (after dropping duplicate ids)."""
    skipped: int = 0
    """Items already in the results file."""
    duplicates: int = 0
    """Inputs lines dropped for repeating an id."""
    ran: int = 0
    succeeded: int = 0
    failed: int = 0
    failed_total: int = 0
    """Items whose latest result is failed, counting earlier invocations."""
    cost: float = 0.0
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan_batch(inputs: str | Path, out: str | Path, *, retry_failed: bool = False
               ) -> tuple[list[Item], dict[str, dict[str, Any]], BatchSummary]:
    """Items still to run, the results already there, and the summary so far."""
    items, dups = read_inputs(inputs)
    done = read_results(out)
    todo = [it for it in items if it.id not in done or (retry_failed and done[it.id].get("status") != "succeeded")]
    return todo, done, BatchSummary(total=len(items), skipped=len(items) - len(todo), duplicates=dups)


def run_batch(flow: Flow, inputs: str | Path, out: str | Path, *, concurrency: int = 4, dask: str | None = None,
              workers: int = 2, retry_failed: bool = False, store: RunStore | None = None,
              progress: bool = True, inline_media: bool = False,
              on_line: Callable[[dict[str, Any]], Any] | None = None, cache: str | None = None) -> BatchSummary:
    """Run ``flow`` for every item of ``inputs`` not yet in ``out``; append a line per item to ``out``.

    Args:
        concurrency: items running at once.
        dask: ``None`` for this machine, ``"local"`` for a LocalCluster of ``workers`` processes, or a
            scheduler address ``tcp://host:port``.
        retry_failed: also run items whose earlier result failed.
        store: where each run is recorded (``None``: not recorded).
        progress: draw a progress bar on stderr.
        inline_media: put media outputs' bytes in the results (base64) instead of a reference.
        on_line: called with each results line as it is written.
        cache: a persistent cache folder shared by the items (``""``: ``<nbflow home>/cache``;
            ``None``: no cache). On a Dask cluster every worker must see the same folder.
    """
    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1 (got {concurrency})")
    if dask is not None:
        from nbflow.extras import require

        require("--dask", "distributed")  # before the results file is created
    todo, done, summary = plan_batch(inputs, out, retry_failed=retry_failed)
    bar = ProgressBar(len(todo), enabled=progress)
    started = time.monotonic()
    flow.validate()
    with ResultsWriter(out) as writer:
        def emit(line: dict[str, Any]) -> None:
            writer.write(line)
            done[line["id"]] = line
            summary.ran += 1
            ok = line["status"] == "succeeded"
            summary.succeeded += ok
            summary.failed += not ok
            summary.cost += float(line.get("cost") or 0.0)
            bar.update(ok)
            if on_line is not None:
                on_line(line)

        if todo:
            if dask is None:
                from nbflow.caching import open_cache
                from nbflow.engine.sync import run_sync

                disk = open_cache(cache or None) if cache is not None else None
                run_sync(_run_local(flow, todo, concurrency, store, inline_media, emit, disk))
            else:
                from nbflow.batch.cluster import run_on_dask

                run_on_dask(flow, todo, dask, concurrency=concurrency, workers=workers, store=store,
                            inline_media=inline_media, emit=emit, cache=cache)
    summary.elapsed = round(time.monotonic() - started, 6)
    summary.cost = round(summary.cost, 8)
    summary.failed_total = sum(1 for line in done.values() if line.get("status") != "succeeded")
    return summary


async def _run_local(flow: Flow, todo: list[Item], concurrency: int, store: RunStore | None,
                     inline_media: bool, emit: Callable[[dict[str, Any]], None], disk: Any = None) -> None:
    queue: Iterator[Item] = iter(todo)

    async def worker() -> None:
        for item in queue:  # one shared iterator: each item is taken by exactly one worker
            try:
                result = await flow.arun(item.inputs, store=store if store is not None else False,
                                         source="batch", cache=disk if disk is not None else False)
            except NbflowError as exc:  # refused before running: bad inputs, a missing key
                record_refused(store, flow, item, str(exc))
                emit(result_line(item, None, error=str(exc)))
                continue
            emit(result_line(item, result, inline_media=inline_media))

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(todo)))))
