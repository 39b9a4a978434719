"""Legibility far out (issue 14's own case: 200 nodes fitted, zoom ~0.15): what the renderer draws,
read from the drawing commands on a recording canvas."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nbflow import Flow
from nbflow.widget.draw import Renderer, far_titles
from nbflow.widget.style import MIN_TEXT_PX, detail
from nbflow.widget.viewmodel import ViewModel


class RecordingCanvas:
    """Stands in for an ipycanvas Canvas: keeps every text drawn with the font it was drawn in."""

    def __init__(self) -> None:
        self.font = ""
        self.texts: list[tuple[str, str, float, float]] = []

    def fill_text(self, text: str, x: float, y: float, max_width: float | None = None) -> None:
        self.texts.append((text, self.font, x, y))

    def __getattr__(self, name: str) -> Any:  # every other drawing command draws no text
        return lambda *args, **kwargs: None


def two_hundred() -> Flow:
    """200 nodes on a 25-wide grid, as the issue measured: text inputs feeding chains of templates."""
    f = Flow("two-hundred")
    prev = ""
    for i in range(200):
        x, y = (i % 25) * 240, (i // 25) * 180
        if i % 5 == 0:
            prev = f.add("input.text", id=f"product_{i}", default="x", x=x, y=y) + ".value"
            continue
        nid = f.add("template", id=f"copy_{i}", template="Copy for {{a}}", x=x, y=y)
        f.connect(prev, f"{nid}.a")
        prev = f"{nid}.text"
    return f


def drawn_titles(vm: ViewModel) -> dict[str, float]:
    """Title text -> its on-screen size in pixels, as drawn on the nodes layer."""
    c = RecordingCanvas()
    Renderer(vm, None).draw_nodes(c)  # type: ignore[arg-type]
    out: dict[str, float] = {}
    for text, font, _, _ in c.texts:
        m = re.search(r"([\d.]+)px", font)
        assert m is not None
        out[text] = float(m.group(1)) * vm.view.zoom
    return out


@pytest.mark.parametrize("zoom", [None, 0.15, 0.12])
def test_far_out_every_node_with_room_has_a_legible_title(zoom: float | None) -> None:
    vm = ViewModel(two_hundred(), width=1000, height=620)
    vm.fit()
    if zoom is not None:
        vm.view.zoom = zoom
    assert vm.view.zoom <= 0.2 and detail(vm.view.zoom).far
    titles = drawn_titles(vm)
    seen = [b for b in vm.boxes.values() if b.x + b.w >= vm.view.visible()[0] and b.x <= vm.view.visible()[2]
            and b.y + b.h >= vm.view.visible()[1] and b.y <= vm.view.visible()[3]]
    assert len(seen) == 200 or zoom == 0.15
    with_room = [b for b in seen if int((b.w - 10) * vm.view.zoom / (MIN_TEXT_PX * 0.58)) >= 3]
    assert len(with_room) == len(seen)  # at 0.12 a 200-unit node still has room for 3 characters
    assert len(titles) >= 1 and all(px >= MIN_TEXT_PX - 1e-6 for px in titles.values()), titles
    drawn = {b.id for b, _, _ in far_titles(with_room, detail(vm.view.zoom))}
    assert drawn == {b.id for b in with_room}
    for b in with_room:  # each title is on screen as its start or whole (cut with an ellipsis)
        assert any(t == b.title or (t.endswith("…") and b.title.startswith(t[:-1]) and len(t) >= 3)
                   for t in titles), b.title


def test_far_out_a_node_too_small_for_three_characters_gets_no_title() -> None:
    vm = ViewModel(two_hundred(), width=1000, height=620)
    vm.view.zoom = 0.05  # a 200-unit node is 10 px wide: no room for 3 characters at 11 px
    assert far_titles(list(vm.boxes.values()), detail(0.05)) == []
    assert drawn_titles(vm) == {}


def test_far_titles_prefer_13_px_and_shrink_to_11_px_when_needed() -> None:
    vm = ViewModel(two_hundred(), width=1000, height=620)
    boxes = list(vm.boxes.values())
    sizes = {round(px * 0.3, 3) for _, px, _ in far_titles(boxes, detail(0.3))}
    assert sizes == {MIN_TEXT_PX + 2}  # room enough: 13 px on screen
    sizes = {round(px * 0.15, 3) for _, px, _ in far_titles(boxes, detail(0.15))}
    assert sizes and min(sizes) >= MIN_TEXT_PX
