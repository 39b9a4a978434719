"""Content-addressed output cache.

A node's key is a hash of its type, type version, canonical params, and for each input port the key
of the value wired into it. Keys are computed once per node, from its inputs' keys only, so the work
is linear in the size of the graph (never a re-hash of a node's whole ancestry). Editing one node
changes its key and the keys of what depends on it, and nothing else: a re-run recomputes exactly those.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any, Protocol

from nbflow.model.values import Media

__all__ = ["Cache", "MemoryCache", "canonical_json", "combine_key", "value_key"]


def _default(o: Any) -> Any:
    if isinstance(o, Media):
        return {"$media": o.mime, "sha256": o.sha256}
    if isinstance(o, (bytes, bytearray)):
        return {"$bytes": hashlib.sha256(o).hexdigest()}
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept; media by content hash. Never pickle."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _h(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def value_key(value: Any) -> str:
    """Key of a literal value (a graph input)."""
    return _h("v" + canonical_json(value))


def combine_key(node_part: str, inputs: list[tuple[str, str]]) -> str:
    """Key of a node from its own part (type, version, params) and its (port, input key) pairs."""
    return _h(node_part + "|" + ";".join(f"{p}={k}" for p, k in inputs))


class Cache(Protocol):
    """Where node outputs are kept by key."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The outputs kept under ``key``, or None."""

    def put(self, key: str, outputs: dict[str, Any], *, flow: str = "", node: str = "") -> None:
        """Keep ``outputs`` under ``key``; ``flow`` and ``node`` say who made them (for clearing)."""


class MemoryCache:
    """An in-process LRU cache of node outputs."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def get(self, key: str) -> dict[str, Any] | None:
        v = self._data.get(key)
        if v is not None:
            self._data.move_to_end(key)
        return v

    def put(self, key: str, outputs: dict[str, Any], *, flow: str = "", node: str = "") -> None:
        self._data[key] = outputs
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def contains(self, key: str) -> bool:
        return key in self._data

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
