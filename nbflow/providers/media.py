"""Small conversions shared by the image and video providers: sizes, aspect ratios, bytes to Media."""

from __future__ import annotations

import math
from typing import Any

from nbflow.model.values import Media, sniff_mime

__all__ = ["as_media", "aspect_ratio", "collect_urls", "parse_size", "sniff_media_mime"]

_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif",
        "image/svg+xml": "svg", "video/mp4": "mp4", "video/webm": "webm", "audio/mpeg": "mp3",
        "audio/wav": "wav", "audio/ogg": "ogg"}


def parse_size(size: str) -> tuple[int, int]:
    """``"1024x768"`` -> (1024, 768)."""
    w, _, h = size.lower().partition("x")
    return int(w), int(h)


def aspect_ratio(ratio: str) -> str:
    """A size or ratio as the ``W:H`` aspect ratio most media APIs take: ``1280:720`` -> ``16:9``.

    ``16:9`` stays ``16:9``; ``1024x1024`` gives ``1:1``; anything else is returned unchanged.
    """
    sep = ":" if ":" in ratio else "x" if "x" in ratio.lower() else None
    if sep is None:
        return ratio
    a, _, b = ratio.lower().partition(sep)
    try:
        w, h = int(a), int(b)
    except ValueError:
        return ratio
    if w <= 0 or h <= 0:
        return ratio
    g = math.gcd(w, h)
    return f"{w // g}:{h // g}"


def sniff_media_mime(raw: bytes, ctype: str = "", default: str = "application/octet-stream") -> str:
    """The MIME type of fetched bytes: magic number, then SVG text, then the server's content type."""
    found = sniff_mime(raw)
    if found:
        return found
    head = raw[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in raw[:2048].lower()):
        return "image/svg+xml"
    return ctype or default


def as_media(raw: bytes, ctype: str, *, default: str, stem: str, meta: dict[str, Any]) -> Media:
    """Bytes a provider produced as a :class:`Media` named ``stem.<ext>`` with ``meta``."""
    mime = sniff_media_mime(raw, ctype, default)
    return Media(mime=mime, data=raw, name=f"{stem}.{_EXT.get(mime, 'bin')}", meta=meta)


def collect_urls(value: Any, *, limit: int = 16) -> list[str]:
    """Every ``http(s)://`` or ``data:`` URL in a model's JSON output, in document order.

    Marketplace models answer in their own shapes: a URL, a list of URLs, ``{"images": [{"url"}]}``,
    ``{"video": {"url"}}``... Strings under other keys that merely mention a URL are not taken.
    """
    out: list[str] = []
    stack: list[Any] = [value]
    while stack and len(out) < limit:
        v = stack.pop()
        if isinstance(v, str):
            if v.startswith(("https://", "http://", "data:")):
                out.append(v)
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, dict):
            if isinstance(v.get("url"), str):
                stack.append(v["url"])
                continue
            stack.extend(reversed([x for x in v.values() if isinstance(x, (dict, list))]))
    return out
