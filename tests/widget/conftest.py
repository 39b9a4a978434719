"""Fixtures for driving the Editor widget with simulated frontend messages (no kernel, no browser)."""

from __future__ import annotations

from typing import Any

import pytest


class CanvasWire:
    """Records the messages the ipycanvas manager sends (one per frame when drawing is batched)."""

    def __init__(self) -> None:
        self.messages: list[tuple[Any, Any]] = []

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append((data, buffers))

    def clear(self) -> None:
        self.messages.clear()


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> CanvasWire:
    import ipycanvas.canvas

    rec = CanvasWire()
    monkeypatch.setattr(ipycanvas.canvas._CANVAS_MANAGER.comm, "send", rec.send)
    return rec


def frontend(widget: Any, event: str, **content: Any) -> None:
    """Deliver a custom message as the browser would (mouse, key and client-ready events)."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"event": event, **content}}},
                        "buffers": []})


def key(widget: Any, name: str, *, shift: bool = False, ctrl: bool = False, meta: bool = False) -> None:
    frontend(widget, "key_down", key=name, shift_key=shift, ctrl_key=ctrl, meta_key=meta)
