"""Dragging moved into the browser: the kernel lifts the nodes once (sprite + ``lift`` message), follows
the pointer without drawing, and drops them as one undoable move (``drop``); the DOM helper's part is
checked in the browser test (``tests/e2e/test_canvas_scale_browser.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from nbflow.widget import Editor
from nbflow.widget.liftdrag import lift_area, sprite_origin
from nbflow.widget.style import GRID_SNAP, HEADER_H

from .builders import product_flow
from .conftest import CanvasWire, frontend


class Sent:
    """Records what the editor sends the DOM helper."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, content: dict[str, Any], buffers: Any = None) -> None:
        self.messages.append(content)

    def events(self) -> list[str]:
        return [m["event"] for m in self.messages]


@pytest.fixture
def ed() -> Editor:
    e = Editor(product_flow(), width=1000, height=600)
    e.vm.view.zoom, e.vm.view.ox, e.vm.view.oy = 1.0, 0.0, 0.0  # screen pixels are world units
    return e


@pytest.fixture
def sent(ed: Editor, monkeypatch: pytest.MonkeyPatch) -> Sent:
    rec = Sent()
    assert ed.helper is not None
    monkeypatch.setattr(ed.helper, "send", rec)
    frontend(ed.helper, "attached", drag=True)
    return rec


def grab(ed: Editor, node: str) -> tuple[float, float]:
    b = ed.vm.boxes[node]
    return ed.vm.view.to_screen(b.x + 30, b.y + HEADER_H / 2)


def test_a_drag_is_lifted_once_and_the_kernel_draws_nothing_while_the_browser_moves_it(
        ed: Editor, sent: Sent, wire: CanvasWire) -> None:
    x, y = grab(ed, "prompt")
    x0, y0 = ed.flow.position("prompt")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    wire.clear()
    frontend(ed.canvas, "mouse_move", x=x + 10, y=y + 5)  # past the slop: lifted
    assert sent.events() == ["lift"] and ed.client_lift and ed.renderer.client_drag
    lift = sent.messages[0]
    assert (lift["x0"], lift["y0"], lift["step"]) == (x0, y0, 0.0)
    # the sprite holds the node where it was (not where the first step put it): the helper adds the move
    assert lift["left"] == sprite_origin(ed.vm, [ed.vm.boxes["prompt"]], (2000, 1200))[0] < x0
    # the wires of the lifted node, with the end that moves: product -> prompt and prompt -> copy
    assert sorted((w[1], w[2]) for w in lift["wires"]) == [(False, True), (True, False)]
    assert len(wire.messages) == 1  # one frame: the sprite and the layers without the lifted node
    wire.clear()
    for i in range(5):
        frontend(ed.canvas, "mouse_move", x=x + 20 + i, y=y + 10)
    frontend(ed.helper, "drag", x=x + 40, y=y + 30)  # the helper's few positions a second
    assert wire.messages == []  # the kernel follows the pointer without drawing
    assert ed.vm.drag is not None and (ed.vm.drag.x, ed.vm.drag.y) == (x0 + 40, y0 + 30)
    frontend(ed.canvas, "mouse_up", x=x + 57, y=y + 21)
    assert ed.flow.position("prompt") == (x0 + 57, y0 + 21)  # zoom 1 at the origin: pixels are units
    assert sent.events() == ["lift", "drop"] and not ed.client_lift and not ed.renderer.client_drag
    assert ed.vm.history.labels[0][-1] == "move node"
    ed.vm.undo()
    assert ed.flow.position("prompt") == (x0, y0)


def test_snapping_is_the_same_in_the_browser_and_at_the_drop(ed: Editor, sent: Sent) -> None:
    ed.vm.snap = True
    x, y = grab(ed, "copy")
    x0, y0 = ed.flow.position("copy")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    frontend(ed.canvas, "mouse_move", x=x + 10, y=y + 5)
    assert sent.messages[0]["step"] == GRID_SNAP
    frontend(ed.canvas, "mouse_up", x=x + 33, y=y + 17)
    assert ed.flow.position("copy") == (round((x0 + 33) / GRID_SNAP) * GRID_SNAP,
                                        round((y0 + 17) / GRID_SNAP) * GRID_SNAP)


def test_leaving_the_canvas_drops_where_the_pointer_left(ed: Editor, sent: Sent) -> None:
    x, y = grab(ed, "picture")
    x0, y0 = ed.flow.position("picture")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    frontend(ed.canvas, "mouse_move", x=x + 10, y=y + 5)
    frontend(ed.canvas, "mouse_out", x=x + 70, y=y + 90)  # no move reached the kernel in between
    assert ed.flow.position("picture") == (x0 + 70, y0 + 90)
    assert sent.events() == ["lift", "drop"]


def test_without_the_helper_ready_the_kernel_draws_each_step(ed: Editor, wire: CanvasWire) -> None:
    x, y = grab(ed, "prompt")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    frontend(ed.canvas, "mouse_move", x=x + 10, y=y + 5)
    wire.clear()
    ed.throttle.reset()
    frontend(ed.canvas, "mouse_move", x=x + 30, y=y + 5)
    assert not ed.client_lift and len(wire.messages) == 1  # the overlay, drawn by the kernel


def test_the_sprite_covers_the_lifted_nodes_with_room_for_ports(ed: Editor) -> None:
    boxes = [ed.vm.boxes["prompt"], ed.vm.boxes["copy"]]
    left, top, w, h = sprite_origin(ed.vm, boxes, (2000, 1200))
    assert left < boxes[0].x and top < boxes[0].y
    assert left + w > boxes[1].x + boxes[1].w and top + h > boxes[0].y + boxes[0].h
    # a selection larger than the sprite: the sprite is centred on the pointer
    ed.vm.mouse = (500.0, 300.0)
    assert sprite_origin(ed.vm, boxes, (200, 100)) == (400.0, 250.0, 200, 100)


def test_a_wire_through_a_reroute_point_is_sent_with_its_point(ed: Editor, sent: Sent) -> None:
    ed.vm.add_point(("prompt.text", "copy.prompt"), at=(500.0, 200.0))
    x, y = grab(ed, "prompt")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    frontend(ed.canvas, "mouse_move", x=x + 10, y=y + 5)
    wires = {(w[1], w[2]): w[0] for w in sent.messages[0]["wires"]}
    assert len(wires[(True, False)]) == 3 and wires[(True, False)][1] == [500.0, 200.0]  # output, point, input


def test_the_lift_redraws_only_where_the_lifted_nodes_and_their_wires_were(ed: Editor, sent: Sent,
                                                                          wire: CanvasWire) -> None:
    area = lift_area(ed.vm, [ed.vm.boxes["prompt"]])
    b = ed.vm.boxes["prompt"]
    assert area[0] < b.x and area[1] < b.y and area[3] > b.y + b.h
    for e in ed.vm.edges:  # the wires of the node: from the product's output to the copy's input
        if "prompt" in (e.src_node, e.dst_node):
            assert area[0] <= min(e.x1, e.x2) and area[2] >= max(e.x1, e.x2)
    assert area[2] < ed.vm.boxes["copy_out"].x  # but not the whole flow
    wire.clear()
    ed.redraw()
    full = sum(len(bytes(buf)) for _, bufs in wire.messages for buf in bufs)
    x, y = grab(ed, "prompt")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    wire.clear()
    frontend(ed.canvas, "mouse_move", x=x + 10, y=y + 5)
    lift = sum(len(bytes(buf)) for _, bufs in wire.messages for buf in bufs)
    assert len(wire.messages) == 1 and lift < full
