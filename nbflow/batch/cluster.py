"""Spreading a batch over a dask.distributed cluster.

Each task runs the flow (from its canonical JSON, so workers need only nbflow and the node packages
the flow uses, not the file) on a worker and returns the run's record as JSON; the client records
it in its own run store and writes the results line. So the history and the results file are the
same as for a local batch, whichever machines did the work.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from nbflow.batch.jsonl import Item, result_line
from nbflow.batch.refused import record_refused
from nbflow.exceptions import ConfigError, NbflowError
from nbflow.flow import Flow
from nbflow.model.record import RunResult
from nbflow.store.runstore import RunStore

__all__ = ["connect", "run_item", "run_on_dask"]

log = logging.getLogger("nbflow.batch")


@functools.lru_cache(maxsize=8)
def _flow(text: str, source: str | None) -> Flow:
    return Flow.loads(text, source=source)


def run_item(flow_text: str, source: str | None, inputs: dict[str, Any],
             cache: str | None = None) -> dict[str, Any]:
    """Runs on a worker: one item; returns ``{"result": <run JSON>}`` or ``{"error": "<one line>"}``.

    ``cache``: a persistent cache folder the worker can see (``""``: its default), or None.
    """
    try:
        disk: Any = False
        if cache is not None:
            from nbflow.caching import open_cache

            disk = open_cache(cache or None)
        result = _flow(flow_text, source).run(inputs, store=False, cache=disk, source="batch")
    except NbflowError as exc:
        return {"error": str(exc)}
    return {"result": result.to_json(inline_media=True)}


def connect(address: str, *, workers: int = 2) -> tuple[Any, Any]:
    """A dask client (and the LocalCluster it owns, for ``"local"``)."""
    from nbflow.extras import require

    require("--dask", "distributed")
    from distributed import Client, LocalCluster
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    if not address.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
        raise ConfigError(f"--dask {address!r}: expected 'local' or a scheduler address like tcp://host:8786")
    try:
        return Client(address, timeout=30), None
    except OSError as exc:
        raise ConfigError(f"--dask {address!r}: cannot reach the scheduler ({exc})") from None


def run_on_dask(flow: Flow, todo: list[Item], address: str, *, concurrency: int, workers: int,
                store: RunStore | None, inline_media: bool, emit: Callable[[dict[str, Any]], None],
                cache: str | None = None) -> None:
    """Submit the items, ``concurrency`` in flight at a time, and emit each line as it comes back."""
    from distributed import as_completed

    client, cluster = connect(address, workers=workers)
    text, source = flow.dumps(), flow.source
    try:
        pending = iter(todo)
        by_key: dict[str, Item] = {}

        def submit() -> Any:
            item = next(pending, None)
            if item is None:
                return None
            fut = client.submit(run_item, text, source, item.inputs, cache, pure=False,
                                key=f"nbflow-{item.id}-{id(item)}")
            by_key[fut.key] = item
            return fut

        first = [f for f in (submit() for _ in range(min(concurrency, len(todo)))) if f is not None]
        stream = as_completed(first)
        for fut in stream:
            item = by_key.pop(fut.key)
            try:
                out = fut.result()
            except Exception as exc:  # the worker died or the task raised outside nbflow
                out = {"error": f"dask task failed: {type(exc).__name__}: {exc}"}
            fut.release()
            emit(_line(flow, item, out, store, inline_media))
            nxt = submit()
            if nxt is not None:
                stream.add(nxt)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _line(flow: Flow, item: Item, out: dict[str, Any], store: RunStore | None, inline_media: bool) -> dict[str, Any]:
    if "error" in out:
        record_refused(store, flow, item, out["error"])
        return result_line(item, None, error=out["error"])
    result = RunResult.from_json(out["result"])
    if store is not None:
        try:
            store.save(result, flow_text=flow.dumps(), flow_file=flow.source, source="batch")
        except NbflowError as exc:  # the results line below is the batch's own record
            log.warning("run %s of item %s is not in the run store: %s", result.run_id, item.id, exc)
    return result_line(item, result, inline_media=inline_media)
