"""Short previews drawn on a node: a line or a few of text, or an image thumbnail. No Jupyter import."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from nbflow.model.record import NodeRecord
from nbflow.model.values import Media

__all__ = ["Preview", "first_line", "record_preview", "short_preview", "wrap"]


@dataclass(frozen=True, slots=True)
class Preview:
    """The short preview drawn on a node: a line of text, or an image thumbnail."""

    kind: Literal["text", "image"]
    text: str = ""
    media: Media | None = None


def first_line(s: str, limit: int = 200) -> str:
    line = next((ln for ln in s.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def short_preview(value: Any) -> Preview:
    """The on-node preview of a value: first line of text, a thumbnail, or a short summary."""
    if isinstance(value, Media):
        if value.kind == "image":
            return Preview("image", value.name or value.mime, value)
        size = f", {value.size:,} bytes" if value.size is not None else ""
        return Preview("text", f"{value.kind}: {value.mime}{size}")
    if isinstance(value, str):
        # whitespace folded, so a preview strip of a few lines shows the start of the text
        return Preview("text", " ".join(value[:600].split())[:400] or "(empty text)")
    if isinstance(value, list):
        if value and isinstance(value[0], Media) and value[0].kind == "image":
            return Preview("image", f"{len(value)} images", value[0])
        last = value[-1] if value else None
        if isinstance(last, dict):  # loop iterations, map results: the latest one's picture
            img = next((v for v in last.values() if isinstance(v, Media) and v.kind == "image"), None)
            if img is not None:
                return Preview("image", f"{len(value)} items, latest:", img)
        head = short_preview(value[0]).text if value else ""
        return Preview("text", f"[{len(value)} items] {head}".strip())
    if isinstance(value, bool) or value is None:
        return Preview("text", json.dumps(value))
    if isinstance(value, (int, float)):
        return Preview("text", str(value))
    try:
        return Preview("text", first_line(json.dumps(value, ensure_ascii=False, sort_keys=True)))
    except (TypeError, ValueError):
        return Preview("text", type(value).__name__)


def record_preview(rec: NodeRecord) -> Preview | None:
    """The on-node preview of a node's record: its error, else a picture among its outputs (a loop's
    latest iteration's picture rather than its score), else its first output."""
    if rec.status == "failed" and rec.error:
        return Preview("text", first_line(str(rec.error.get("message", "failed"))))
    if rec.status == "skipped" and rec.reason:
        return Preview("text", first_line(rec.reason))
    if not rec.outputs:
        return None
    values = list(rec.outputs.values())
    return short_preview(next((v for v in values if _has_picture(v)), values[0]))


def _has_picture(value: Any) -> bool:
    """Whether :func:`short_preview` shows ``value`` as a picture (checked without building the preview)."""
    if isinstance(value, Media):
        return value.kind == "image"
    if isinstance(value, list) and value:
        if isinstance(value[0], Media):
            return value[0].kind == "image"
        last = value[-1]
        return isinstance(last, dict) and any(isinstance(v, Media) and v.kind == "image" for v in last.values())
    return False


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters (at most ``max_lines``, the last one cut)."""
    words, lines, cur = text.split(), [], ""
    for wd in words:
        while len(wd) > width:
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(wd[:width])
            wd = wd[width:]
        if cur and len(cur) + 1 + len(wd) > width:
            lines.append(cur)
            cur = wd
        else:
            cur = f"{cur} {wd}".strip()
    if cur:
        lines.append(cur)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: width - 1] + "…"]
    return lines
