"""Media values: images, audio, video and files that flow between nodes.

A :class:`Media` carries a MIME type and either its bytes or a URL. Image bytes are checked by their
magic numbers (PNG, JPEG, WebP, GIF), never by a file name, and against a size limit.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbflow.exceptions import MediaError

__all__ = [
    "IMAGE_MIME_TYPES",
    "MAX_MEDIA_BYTES",
    "Media",
    "sniff_mime",
]

#: Default size limit for media read from a path, URL or upload (bytes).
MAX_MEDIA_BYTES = 20 * 1024 * 1024

IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")

_KIND_BY_PREFIX = {"image/": "image", "audio/": "audio", "video/": "video"}


def sniff_mime(data: bytes) -> str | None:
    """The MIME type told by ``data``'s magic number, or None when it is not one nbflow knows."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    return None


def _is_text(mime: str) -> bool:
    return mime.startswith("text/") or mime.split(";")[0].endswith(("/json", "+json", "/xml", "+xml"))


@dataclass(frozen=True, slots=True)
class Media:
    """An image, audio clip, video or file.

    Attributes:
        mime: MIME type, e.g. ``image/png``.
        data: the bytes, when held in memory.
        url: where the bytes live, when not held in memory.
        name: a file name for downloads and previews.
        meta: small JSON-able facts, e.g. ``{"provider": "offline", "width": 256}``.
    """

    mime: str
    data: bytes | None = None
    url: str | None = None
    name: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.data is None and self.url is None:
            raise MediaError("media needs bytes or a URL")

    @property
    def kind(self) -> str:
        """``image``, ``audio``, ``video`` or ``file``."""
        for prefix, kind in _KIND_BY_PREFIX.items():
            if self.mime.startswith(prefix):
                return kind
        return "file"

    @property
    def size(self) -> int | None:
        """Number of bytes held, or None for a URL-only value."""
        return None if self.data is None else len(self.data)

    @property
    def sha256(self) -> str:
        """Content hash of the bytes (or of the URL for URL-only values)."""
        payload = self.data if self.data is not None else (self.url or "").encode()
        return hashlib.sha256(payload).hexdigest()

    def data_url(self) -> str:
        """A ``data:`` URL holding the bytes (or the URL itself for URL-only values)."""
        if self.data is None:
            return self.url or ""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode()}"

    def scrubbed(self) -> Media:
        """This value without resolved secrets in its name, URL, meta or (for text types) bytes.

        Returns ``self`` when there is nothing to scrub (see :func:`nbflow.redaction.scrub`).
        """
        from dataclasses import replace

        from nbflow.redaction import contains_secret, scrub, scrub_text

        changes: dict[str, Any] = {}
        for name in ("name", "url"):
            v = getattr(self, name)
            if v is not None and contains_secret(v):
                changes[name] = scrub_text(v)
        meta = scrub(self.meta)
        if meta is not self.meta:
            changes["meta"] = meta
        if self.data is not None and _is_text(self.mime):
            text = self.data.decode("utf-8", errors="replace")
            if contains_secret(text):
                changes["data"] = scrub_text(text).encode()
        return replace(self, **changes) if changes else self

    def __repr__(self) -> str:
        where = f"{self.size} bytes" if self.data is not None else f"url={self.url!r}"
        return f"Media({self.mime}, {where})"

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, *, mime: str | None = None, name: str | None = None,
                   expect: str | None = None, max_bytes: int = MAX_MEDIA_BYTES,
                   meta: dict[str, Any] | None = None) -> Media:
        """Wrap bytes, checking the type by magic number and the size limit.

        Args:
            expect: ``image``/``audio``/``video`` to insist on that kind; ``file`` or None for any.
        """
        if len(data) > max_bytes:
            raise MediaError(f"{name or 'media'} is {len(data):,} bytes, over the {max_bytes:,}-byte limit")
        sniffed = sniff_mime(data)
        if expect == "image":
            if sniffed not in IMAGE_MIME_TYPES:
                raise MediaError(f"{name or 'data'} is not a PNG, JPEG, WebP or GIF image")
            mime = sniffed
        elif expect in ("audio", "video"):
            if sniffed is None or not sniffed.startswith(expect + "/"):
                if mime is None or not mime.startswith(expect + "/"):
                    raise MediaError(f"{name or 'data'} is not {expect} data nbflow recognises")
            else:
                mime = sniffed
        else:
            mime = sniffed or mime or (_guess_type(name) if name else None) or \
                "application/octet-stream"
        return cls(mime=mime, data=data, name=name, meta=dict(meta or {}))

    @classmethod
    def from_path(cls, path: str | Path, *, expect: str | None = None,
                  max_bytes: int = MAX_MEDIA_BYTES) -> Media:
        """Read a file from disk."""
        p = Path(path).expanduser()
        try:
            size = p.stat().st_size
        except OSError as exc:
            raise MediaError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
        if size > max_bytes:
            raise MediaError(f"{p.name} is {size:,} bytes, over the {max_bytes:,}-byte limit")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise MediaError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
        return cls.from_bytes(data, name=p.name, expect=expect, max_bytes=max_bytes)

    # -- serialisation ------------------------------------------------------------------------

    def to_json(self, *, inline: bool = True) -> dict[str, Any]:
        """A JSON-able dict; bytes as base64 when ``inline``, else only their hash and size."""
        out: dict[str, Any] = {"$media": self.kind, "mime": self.mime}
        if self.name:
            out["name"] = self.name
        if self.url is not None:
            out["url"] = self.url
        if self.data is not None:
            out["size"] = len(self.data)
            out["sha256"] = self.sha256
            if inline:
                out["data_base64"] = base64.b64encode(self.data).decode()
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Media:
        """Inverse of :meth:`to_json` (with ``inline=True``)."""
        data = base64.b64decode(obj["data_base64"]) if "data_base64" in obj else None
        return cls(mime=obj["mime"], data=data, url=obj.get("url"), name=obj.get("name"),
                   meta=dict(obj.get("meta") or {}))


def _guess_type(name: str) -> str | None:
    import mimetypes  # reads the system's type tables on first use: not at import

    return mimetypes.guess_type(name)[0]
