"""The server-sent events parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from nbflow.providers.sse import SSEEvent, iter_sse


async def _lines(text: str) -> AsyncIterator[str]:
    for line in text.splitlines():
        yield line


def _parse(text: str) -> list[SSEEvent]:
    async def go() -> list[SSEEvent]:
        return [e async for e in iter_sse(_lines(text))]

    return asyncio.run(go())


def test_events_names_data_and_ids() -> None:
    evs = _parse("event: ping\ndata: {}\n\n: keep-alive comment\n\ndata: a\ndata: b\nid: 7\n\n")
    assert evs == [SSEEvent("ping", "{}"), SSEEvent("message", "a\nb", "7")]


def test_crlf_lines_and_missing_final_blank_line() -> None:
    evs = _parse("data: one\r\n\r\ndata:two")
    assert [e.data for e in evs] == ["one", "two"]


def test_blank_events_are_not_dispatched() -> None:
    assert _parse("event: x\n\n\n") == []
