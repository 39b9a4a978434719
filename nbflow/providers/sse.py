"""Server-sent events, as the WHATWG spec defines them, from an async stream of lines.

OpenAI, Anthropic and Gemini all stream this way; they differ only in what the ``data`` holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

__all__ = ["SSEEvent", "iter_sse"]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its ``event`` type (``message`` when unnamed), ``data`` and ``id``."""

    event: str = "message"
    data: str = ""
    id: str | None = None


async def iter_sse(lines: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    """Yield events from lines (without their line endings); a blank line ends an event."""
    event = ""
    data: list[str] = []
    last_id: str | None = None
    async for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if data:
                yield SSEEvent(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue  # a comment, used as a keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
    if data:  # a stream that ends without the final blank line still delivers its last event
        yield SSEEvent(event or "message", "\n".join(data), last_id)
