"""The batch files: inputs in, results out, both JSON Lines.

An inputs line is either the graph inputs themselves, ``{"topic": "tea"}``, whose id is a hash
of their canonical JSON, or ``{"id": "row-17", "inputs": {"topic": "tea"}}`` with an id of its
own (a line with exactly the keys ``id`` and ``inputs``). A results line is
``{"id", "status", "inputs", "outputs", "error", "run_id", "cost", "usage", "duration"}``; media
outputs are written by reference (mime, size, sha256: the bytes are in the run store's blobs)
unless media are inlined.

Results are appended and flushed one line per finished item, so a killed batch loses only what
was running; on the next start, items whose id is in the results are skipped. A last line cut off
by the kill is ignored when reading and removed before appending.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nbflow.exceptions import ConfigError
from nbflow.model.record import RunResult, value_to_json

__all__ = ["Item", "ResultsWriter", "item_id", "read_inputs", "read_results", "result_line"]


@dataclass(frozen=True, slots=True)
class Item:
    """One batch item: its id, its graph inputs and the line it came from."""

    id: str
    inputs: dict[str, Any]
    line: int


def item_id(inputs: dict[str, Any]) -> str:
    """The id of an inputs line that has none: a hash of its canonical JSON."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def read_inputs(path: str | Path) -> tuple[list[Item], int]:
    """The items of an inputs file, in order, and how many duplicate lines were dropped.

    A line repeating an earlier one (same id, same inputs) is dropped; an explicit id reused with other
    inputs is an error naming both lines, since one of them would otherwise be silently lost.

    Raises:
        ConfigError: naming the file and line of anything that is not a JSON object, or both lines of a
            reused id.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such inputs file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    items: list[Item] = []
    seen: dict[str, Item] = {}
    dups = 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}: line {n}: not valid JSON: {exc.msg} at column {exc.colno}") from None
        except RecursionError:
            raise ConfigError(f"{p}: line {n}: not valid JSON: nested too deeply") from None
        if not isinstance(obj, dict):
            raise ConfigError(f"{p}: line {n}: expected a JSON object of graph inputs")
        if set(obj) == {"id", "inputs"} and isinstance(obj["inputs"], dict):
            if not isinstance(obj["id"], (str, int)) or isinstance(obj["id"], bool) or obj["id"] == "":
                raise ConfigError(f"{p}: line {n}: field 'id' must be a non-empty string or an integer")
            iid, inputs = str(obj["id"]), obj["inputs"]
        else:
            iid, inputs = item_id(obj), obj
        first = seen.get(iid)
        if first is not None:
            if item_id(first.inputs) != item_id(inputs):
                raise ConfigError(f"{p}: line {n}: id {iid!r} is already used on line {first.line} with other "
                                  "inputs; give each item its own id")
            dups += 1
            continue
        seen[iid] = Item(iid, inputs, n)
        items.append(seen[iid])
    return items, dups


def read_results(path: str | Path) -> dict[str, dict[str, Any]]:
    """Results already written, by item id (a later line for the same id wins); {} when no file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    lines = text.split("\n")
    out: dict[str, dict[str, Any]] = {}
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            if n == len(lines) and not text.endswith("\n"):
                continue  # the line a killed batch was writing: its item runs again
            raise ConfigError(f"{p}: line {n}: not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise ConfigError(f"{p}: line {n}: not a batch result (no 'id')")
        out[obj["id"]] = obj
    return out


def result_line(item: Item, result: RunResult | None, *, error: str | None = None,
                inline_media: bool = False) -> dict[str, Any]:
    """The results line of one item: from its run's record, or from the error that stopped it."""
    if result is None:
        return {"id": item.id, "status": "failed", "inputs": item.inputs, "outputs": {}, "error": error,
                "run_id": None, "cost": 0.0, "usage": {}, "duration": 0.0}
    return {"id": item.id, "status": result.status, "inputs": item.inputs,
            "outputs": value_to_json(result.outputs, inline_media=inline_media),
            "error": result.error, "run_id": result.run_id, "cost": result.cost, "usage": result.usage,
            "duration": round(result.duration or 0.0, 6)}


class ResultsWriter:
    """Appends result lines, each flushed as it is written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._drop_cut_line()
            self._f: TextIO = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot write results: {exc.strerror or exc}") from None

    def _drop_cut_line(self) -> None:
        """Remove a last line cut off by a kill (its item runs again), so the file stays valid JSONL."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, line: dict[str, Any]) -> None:
        self._f.write(json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
