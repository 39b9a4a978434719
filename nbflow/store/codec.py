"""Run values to stored JSON and back, with media bytes moved out into content-addressed blobs.

A media value with bytes is stored as ``{"$media": kind, "mime", "size", "sha256", "blob": sha}``;
its bytes go to the store's blob area once per distinct content, so a 2 MB image that ten runs
produced is kept once and a run record stays small enough to list and diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nbflow.exceptions import StoreError
from nbflow.model.values import Media

__all__ = ["dump_value", "dumps", "load_value", "loads"]

PutBlob = Callable[[bytes], str]
GetBlob = Callable[[str], bytes]


def dump_value(value: Any, put: PutBlob, refs: set[str]) -> Any:
    """A JSON-able form of ``value``; media bytes go through ``put`` and their hashes into ``refs``."""
    if isinstance(value, Media):
        if value.data is None:
            return value.to_json(inline=False)
        sha = put(value.data)
        refs.add(sha)
        out = value.to_json(inline=False)
        out["blob"] = sha
        return out
    if isinstance(value, dict):
        return {str(k): dump_value(v, put, refs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dump_value(v, put, refs) for v in value]
    if isinstance(value, (bytes, bytearray)):
        sha = put(bytes(value))
        refs.add(sha)
        return {"$bytes": sha}
    return value


def load_value(obj: Any, get: GetBlob) -> Any:
    """Inverse of :func:`dump_value`: blob references become media values holding their bytes."""
    if isinstance(obj, dict):
        if "$media" in obj and "mime" in obj:
            if "blob" in obj:
                return Media(mime=obj["mime"], data=get(obj["blob"]), url=obj.get("url"),
                             name=obj.get("name"), meta=dict(obj.get("meta") or {}))
            if "data_base64" in obj or obj.get("url"):
                return Media.from_json(obj)
        if set(obj) == {"$bytes"}:
            return get(obj["$bytes"])
        return {k: load_value(v, get) for k, v in obj.items()}
    if isinstance(obj, list):
        return [load_value(v, get) for v in obj]
    return obj


def _default(o: Any) -> Any:
    # Values that are not JSON (a set, a custom object) are kept as text rather than failing the save:
    # the run already happened, and its record should still be written.
    return repr(o)


def dumps(value: Any, put: PutBlob, refs: set[str]) -> str:
    """Compact JSON text of ``value`` with media moved to blobs."""
    return json.dumps(dump_value(value, put, refs), ensure_ascii=False, separators=(",", ":"),
                      default=_default, allow_nan=True)


def loads(text: str | None, get: GetBlob, *, what: str) -> Any:
    """Parse stored JSON text and restore its media; StoreError naming ``what`` when it is corrupt."""
    if text is None:
        return None
    try:
        return load_value(json.loads(text), get)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{what}: stored JSON is corrupt ({exc.msg})") from None
