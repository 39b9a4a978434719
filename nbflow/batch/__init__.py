"""Batch runs: one run per line of a JSONL file, resumable, locally or on a dask cluster.

    nbflow batch flow.json inputs.jsonl --out results.jsonl --concurrency 8
    nbflow batch flow.json inputs.jsonl --out results.jsonl --dask local
"""

from __future__ import annotations

from nbflow.batch.driver import BatchSummary, plan_batch, run_batch
from nbflow.batch.jsonl import Item, ResultsWriter, item_id, read_inputs, read_results, result_line
from nbflow.batch.progress import ProgressBar

__all__ = [
    "BatchSummary",
    "Item",
    "ProgressBar",
    "ResultsWriter",
    "item_id",
    "plan_batch",
    "read_inputs",
    "read_results",
    "result_line",
    "run_batch",
]
