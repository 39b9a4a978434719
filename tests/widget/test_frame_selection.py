"""Frames in a selection: a selection box takes the frames wholly inside it; moving, deleting and
copying that selection carries the frames (deleting a frame keeps the nodes that are not selected);
dragging a frame's title bar is a move like a node's, lifted into the browser with the DOM helper."""

from __future__ import annotations

import json

import pytest

from nbflow.widget import Editor
from nbflow.widget.frames import FRAME_TITLE_H
from nbflow.widget.liftdrag import sprite_origin
from nbflow.widget.viewmodel import ViewModel

from .builders import product_flow
from .conftest import CanvasWire, frontend
from .test_client_drag import Sent
from .test_editing import drag


@pytest.fixture
def vm() -> ViewModel:
    vm = ViewModel(product_flow(), width=1200, height=700)
    vm.view.zoom, vm.view.ox, vm.view.oy = 1.0, 0.0, 0.0  # screen pixels are world units
    vm.select(["prompt", "copy"])
    vm.add_frame()  # frame_1 around the upper row's middle two nodes
    vm.add_frame(comment=True, at=(300, 600))  # frame_2, a comment below everything
    vm.history.clear()
    return vm


def frame_ids(vm: ViewModel) -> list[str]:
    return [f.id for f in vm.flow.spec.layout.frames]


def box_around(vm: ViewModel, *frames: str) -> None:
    fs = [vm.frame(f) for f in frames]
    assert all(f is not None for f in fs)
    x0, y0 = min(f.x for f in fs) - 10, min(f.y for f in fs) - 10  # type: ignore[union-attr]
    x1, y1 = max(f.x + f.w for f in fs) + 10, max(f.y + f.h for f in fs) + 10  # type: ignore[union-attr]
    drag(vm, (x0, y0), (x1, y1), shift=True)


def test_a_box_selects_the_frames_wholly_inside_it(vm: ViewModel) -> None:
    box_around(vm, "frame_1")
    assert set(vm.selection) == {"prompt", "copy"} and vm.selected_frames == ["frame_1"]
    assert vm.message == "2 nodes and 1 frame selected"
    f = vm.frame("frame_1")
    assert f is not None
    corner = (f.x + f.w + 10, f.y + f.h + 30)  # empty canvas below the frame's right end
    assert vm.hit(*corner).kind == "empty"
    drag(vm, corner, (f.x + f.w - 100, f.y + f.h - 60), shift=True)  # part of frame_1
    assert vm.selected_frames == ["frame_1"]  # a Shift box adds to the selection
    vm.key_down("Escape")
    drag(vm, corner, (f.x + f.w - 100, f.y + f.h - 60), shift=True)
    assert vm.selected_frames == [] and set(vm.selection) == {"copy"}  # a frame not wholly inside
    vm.mouse_down(1150, 650)  # a click on empty canvas lets everything go
    vm.mouse_up(1150, 650)
    assert not vm.selection and vm.selected_frames == []


def test_shift_click_on_a_title_bar_adds_the_frame_and_takes_it_out(vm: ViewModel) -> None:
    vm.select(["picture"])
    f = vm.frame("frame_2")
    assert f is not None
    bar = (f.x + 40, f.y + FRAME_TITLE_H / 2)
    vm.mouse_down(*bar, shift=True)
    vm.mouse_up(*bar)
    assert list(vm.selection) == ["picture"] and vm.selected_frames == ["frame_2"]
    vm.mouse_down(*bar, ctrl=True)
    vm.mouse_up(*bar)
    assert vm.selected_frames == []


def test_moving_a_boxed_selection_carries_its_frames_as_one_undo_step(vm: ViewModel) -> None:
    box_around(vm, "frame_1", "frame_2")  # and the lower row's two middle nodes, between them
    assert vm.selected_frames == ["frame_1", "frame_2"] and len(vm.selection) == 4
    before = vm.flow.dumps()
    f1, f2, copy = vm.frame("frame_1"), vm.frame("frame_2"), vm.flow.position("copy")
    assert f1 is not None and f2 is not None
    start = vm.view.to_screen(vm.boxes["prompt"].x + 30, vm.boxes["prompt"].y + 10)
    vm.mouse_down(*start)
    vm.mouse_move(start[0] + 30, start[1] + 20)
    assert vm.lifted_frames == {"frame_1", "frame_2"} and vm.flow.dumps() == before  # nothing changes yet
    vm.mouse_up(start[0] + 60, start[1] + 40)
    g1, g2 = vm.frame("frame_1"), vm.frame("frame_2")
    assert g1 is not None and g2 is not None
    assert (g1.x, g1.y, g2.x, g2.y) == (f1.x + 60, f1.y + 40, f2.x + 60, f2.y + 40)
    assert vm.flow.position("copy") == (copy[0] + 60, copy[1] + 40)
    assert vm.history.labels[0] == ["move 4 nodes and 2 frames"]
    vm.undo()
    assert vm.flow.dumps() == before


def test_dragging_a_selected_frames_title_bar_moves_the_whole_selection(vm: ViewModel) -> None:
    box_around(vm, "frame_1")
    vm.select(["picture"], add=True)  # a node outside the frame joins the selection (as a Shift-click)
    assert vm.selected_frames == ["frame_1"]
    f1, pic = vm.frame("frame_1"), vm.flow.position("picture")
    assert f1 is not None
    drag(vm, (f1.x + 40, f1.y + 10), (f1.x + 40, f1.y + 110))
    assert vm.flow.position("picture") == (pic[0], pic[1] + 100)
    assert vm.history.labels[0] == ["move 3 nodes and 1 frame"]


def test_the_arrow_keys_move_a_selection_with_its_frames_and_a_frame_alone_with_what_it_holds(
        vm: ViewModel) -> None:
    box_around(vm, "frame_1")
    f, copy = vm.frame("frame_1"), vm.flow.position("copy")
    assert f is not None
    vm.key_down("ArrowRight")
    g = vm.frame("frame_1")
    assert g is not None and (g.x, g.y) == (f.x + 20, f.y) and vm.flow.position("copy") == (copy[0] + 20, copy[1])
    assert vm.history.labels[0] == ["move 2 nodes and 1 frame"]
    vm.select_frame("frame_1")  # a click on its title bar
    vm.key_down("ArrowDown", shift=True)  # five grid steps
    g = vm.frame("frame_1")
    assert g is not None and (g.x, g.y) == (f.x + 20, f.y + 100) and vm.flow.position("copy")[1] == copy[1] + 100
    assert vm.message == "move frame with 2 nodes" and len(vm.history.labels[0]) == 2


def test_deleting_the_selection_deletes_its_frames_and_only_the_selected_nodes(vm: ViewModel) -> None:
    before = vm.flow.dumps()
    box_around(vm, "frame_1")
    vm.selection.pop("copy")  # Ctrl-click takes a node out; the frame and 'prompt' stay selected
    vm.key_down("Delete")
    assert frame_ids(vm) == ["frame_2"] and "prompt" not in vm.flow.nodes and "copy" in vm.flow.nodes
    assert vm.message == "deleted 1 node and 1 frame"
    assert vm.history.labels[0] == ["delete 1 node and 1 frame"]
    vm.undo()
    assert vm.flow.dumps() == before


def test_copying_a_boxed_selection_pastes_its_frames_selected_with_their_nodes(vm: ViewModel) -> None:
    box_around(vm, "frame_1", "frame_2")
    vm.key_down("c", ctrl=True)
    assert vm.message == "copied 4 nodes and 2 frames"
    vm.mouse = (100, 900)
    vm.key_down("v", ctrl=True)
    assert frame_ids(vm) == ["frame_1", "frame_2", "frame_3", "frame_4"]
    assert set(vm.selection) == {"prompt_2", "copy_2", "image_prompt_2", "picture_2"}
    assert vm.selected_frames == ["frame_3", "frame_4"]
    assert vm.history.labels[0] == ["paste"]
    pasted = vm.frame("frame_3")
    assert pasted is not None and all(  # the copies sit inside the pasted frame
        pasted.x < vm.boxes[i].x and vm.boxes[i].x + vm.boxes[i].w < pasted.x + pasted.w for i in ("prompt_2", "copy_2"))


# -- the browser's part: a frame drag is lifted like a node drag ------------------------------------


@pytest.fixture
def ed(monkeypatch: pytest.MonkeyPatch) -> tuple[Editor, Sent]:
    e = Editor(product_flow(), width=1000, height=600)
    e.vm.view.zoom, e.vm.view.ox, e.vm.view.oy = 1.0, 0.0, 0.0
    e.vm.select(["image_prompt", "picture"])
    e.vm.add_frame()
    e.vm.history.clear()
    rec = Sent()
    assert e.helper is not None
    monkeypatch.setattr(e.helper, "send", rec)
    frontend(e.helper, "attached", drag=True)
    return e, rec


def test_a_frame_drag_is_lifted_into_the_browser_and_dropped_as_one_move(ed: tuple[Editor, Sent],
                                                                         wire: CanvasWire) -> None:
    e, sent = ed
    f = e.vm.frame("frame_1")
    assert f is not None
    before, pic = e.flow.dumps(), e.flow.position("picture")
    x, y = f.x + 40, f.y + FRAME_TITLE_H / 2
    frontend(e.canvas, "mouse_down", x=x, y=y)
    wire.clear()
    frontend(e.canvas, "mouse_move", x=x + 10, y=y + 5)
    assert sent.events() == ["lift"] and e.client_lift
    lift = sent.messages[0]
    assert (lift["x0"], lift["y0"], lift["above"]) == (f.x, f.y, True)  # anchored at the frame's corner
    size = (e.sprite.width, e.sprite.height)  # type: ignore[union-attr]
    assert lift["left"] == sprite_origin(e.vm, [], size)[0] < f.x  # the sprite holds the frame, with a margin
    # the wires of the frame's nodes, with the ends that move: product -> image_prompt (its input end),
    # image_prompt -> picture (inside: both), picture -> image_out (its output end)
    assert sorted(w[5] for w in lift["wires"]) == [[False, True], [True, False], [True, True]]
    assert len(wire.messages) == 1  # one frame: the sprite and the layers without the frame
    wire.clear()
    for i in range(5):
        frontend(e.canvas, "mouse_move", x=x + 20 + i, y=y + 10)
    assert wire.messages == []  # the browser moves it; the kernel only follows
    frontend(e.canvas, "mouse_up", x=x + 60, y=y + 40)
    assert sent.events() == ["lift", "drop"] and not e.client_lift
    g = e.vm.frame("frame_1")
    assert g is not None and (g.x, g.y) == (f.x + 60, f.y + 40)
    assert e.flow.position("picture") == (pic[0] + 60, pic[1] + 40)
    assert e.vm.history.labels[0] == ["move frame"] and e.vm.message == "move frame with 2 nodes"
    e.vm.undo()
    assert e.flow.dumps() == before


def test_a_reroute_point_inside_a_dragged_frame_moves_with_it(ed: tuple[Editor, Sent]) -> None:
    e, sent = ed
    f = e.vm.frame("frame_1")
    assert f is not None
    e.vm.select([])
    e.vm.add_point(("image_prompt.text", "picture.prompt"), (f.x + f.w / 2, f.y + f.h - 12))
    x, y = f.x + 40, f.y + FRAME_TITLE_H / 2
    frontend(e.canvas, "mouse_down", x=x, y=y)
    frontend(e.canvas, "mouse_move", x=x + 10, y=y + 5)
    assert [True, True, True] in [w[5] for w in sent.messages[0]["wires"]]  # ends and point move with it
    frontend(e.canvas, "mouse_up", x=x + 30, y=y)
    via = json.loads(e.flow.dumps())["layout"]["wires"][0]["via"][0]
    assert via == {"x": f.x + f.w / 2 + 30, "y": f.y + f.h - 12}


def test_without_the_helper_the_overlay_draws_the_dragged_frame_and_the_edges_layer_leaves_it_out(
        wire: CanvasWire) -> None:
    from .test_frames import _Recorder

    e = Editor(product_flow(), width=1000, height=600)  # no "attached": the kernel draws each step
    e.vm.view.zoom, e.vm.view.ox, e.vm.view.oy = 1.0, 0.0, 0.0
    e.vm.select(["image_prompt", "picture"])
    e.vm.add_frame()
    f = e.vm.frame("frame_1")
    assert f is not None
    x, y = f.x + 40, f.y + FRAME_TITLE_H / 2
    frontend(e.canvas, "mouse_down", x=x, y=y)
    wire.clear()
    frontend(e.canvas, "mouse_move", x=x + 30, y=y + 20)
    assert not e.client_lift and len(wire.messages) == 1  # drawn by the kernel, one frame
    below, above = _Recorder(), _Recorder()
    from nbflow.widget.draw_layout import draw_frames

    draw_frames(below, e.vm)  # type: ignore[arg-type]
    e.renderer._dragged(above, e.vm.dragged_boxes(), e.vm.dragged_frames())  # type: ignore[arg-type]
    assert not any(r == (f.x, f.y, f.w, f.h) for _, r in below.fills)  # lifted off the edges layer
    assert (f.color, (f.x + 30, f.y + 20, f.w, f.h)) in above.fills  # on the overlay, where it is now
    frontend(e.canvas, "mouse_up", x=x + 30, y=y + 20)
    g = e.vm.frame("frame_1")
    assert g is not None and (g.x, g.y) == (f.x + 30, f.y + 20) and e.vm.history.labels[0][-1] == "move frame"
