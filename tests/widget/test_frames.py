"""Frames and reroute points in the view model and the editor: add, move (with what is inside), resize,
rename, write a comment, delete, copy/paste; reroute points added on a wire, dragged, deleted. Every
change is one undo step, lives in the flow file's layout, and changes nothing a run does."""

from __future__ import annotations

import json

import pytest

from nbflow.widget.draw_layout import comment_lines, shade
from nbflow.widget.editor import Editor
from nbflow.widget.frames import FRAME_COLORS, FRAME_TITLE_H
from nbflow.widget.geometry import bezier_points
from nbflow.widget.viewmodel import ViewModel

from .builders import product_flow
from .test_editing import drag


@pytest.fixture
def vm() -> ViewModel:
    return ViewModel(product_flow(), width=1200, height=700)


def layout(vm: ViewModel) -> dict:
    return json.loads(vm.flow.dumps()).get("layout", {})


def title_xy(vm: ViewModel, frame_id: str) -> tuple[float, float]:
    f = vm.frame(frame_id)
    assert f is not None
    return vm.view.to_screen(f.x + 40, f.y + FRAME_TITLE_H / 2)


def wire_xy(vm: ViewModel, dst: str, t: int = 8) -> tuple[float, float]:
    e = next(e for e in vm.edges if e.dst == dst)
    return vm.view.to_screen(*bezier_points(*e.segments()[0])[t])


# -- frames -------------------------------------------------------------------------------------


def test_shift_g_frames_the_selection_and_undo_takes_it_away(vm: ViewModel) -> None:
    vm.select(["prompt", "copy"])
    vm.key_down("G", shift=True)
    frames = layout(vm)["frames"]
    assert [f["id"] for f in frames] == ["frame_1"] and frames[0]["title"] == "Frame"
    f = vm.frame("frame_1")
    assert f is not None and vm.selected_frame == "frame_1" and not vm.selection
    for nid in ("prompt", "copy"):  # the frame is drawn around both, with room for its title
        b = vm.boxes[nid]
        assert f.x < b.x and f.y + FRAME_TITLE_H < b.y and b.x + b.w < f.x + f.w and b.y + b.h < f.y + f.h
    assert vm.message == "added frame frame_1 around 2 nodes"
    vm.key_down("z", ctrl=True)
    assert "frames" not in layout(vm) and vm.selected_frame is None


def test_dragging_the_title_bar_moves_the_frame_and_the_nodes_inside_as_one_undo_step(vm: ViewModel) -> None:
    vm.select(["prompt", "copy"])
    vm.add_frame()
    before = vm.flow.dumps()
    outside = vm.flow.position("picture")
    (px, py), (cx, cy) = vm.flow.position("prompt"), vm.flow.position("copy")
    start = title_xy(vm, "frame_1")
    drag(vm, start, (start[0] + 60, start[1] + 200))
    assert vm.flow.position("prompt") == (px + 60, py + 200) and vm.flow.position("copy") == (cx + 60, cy + 200)
    assert vm.flow.position("picture") == outside
    assert vm.message == "move frame with 2 nodes"
    assert vm.history.labels[0][-1] == "move frame"
    vm.undo()
    assert vm.flow.dumps() == before


def test_the_corner_resizes_and_a_click_selects_without_moving(vm: ViewModel) -> None:
    vm.add_frame(at=(1000, 400))
    f = vm.frame("frame_1")
    assert f is not None and (f.w, f.h) == (320, 220)
    corner = vm.view.to_screen(f.x + f.w - 4, f.y + f.h - 4)
    assert vm.hit(*corner).kind == "resize"
    drag(vm, corner, (corner[0] + 100, corner[1] - 300))
    f = vm.frame("frame_1")
    assert f is not None and (f.w, f.h) == (420, 50)  # never smaller than its minimum
    vm.select([])
    vm.mouse_down(*title_xy(vm, "frame_1"))
    vm.mouse_up(*title_xy(vm, "frame_1"))
    assert vm.selected_frame == "frame_1" and vm.history.labels[0][-1] == "resize frame"


def test_title_text_and_colour_are_undoable_edits(vm: ViewModel) -> None:
    vm.add_frame(comment=True, at=(40, 400))
    vm.set_frame("frame_1", title="Why this prompt")
    vm.set_frame("frame_1", text="Short copy sells.\nKeep it under 40 words.")
    vm.set_frame("frame_1", color="green")
    f = layout(vm)["frames"][0]
    assert (f["title"], f["text"], f["color"]) == ("Why this prompt", "Short copy sells.\nKeep it under 40 words.",
                                                  FRAME_COLORS["green"])
    vm.undo()
    assert layout(vm)["frames"][0]["color"] == FRAME_COLORS["yellow"]
    vm.undo()
    vm.undo()
    assert layout(vm)["frames"][0]["title"] == "Comment"


def test_delete_removes_the_frame_but_not_its_nodes(vm: ViewModel) -> None:
    vm.select(["copy"])
    vm.add_frame()
    vm.key_down("Delete")
    assert "frames" not in layout(vm) and "copy" in vm.flow.nodes
    vm.undo()
    assert [f["id"] for f in layout(vm)["frames"]] == ["frame_1"]


def test_the_menu_of_a_frame_and_double_click_on_its_title(vm: ViewModel) -> None:
    vm.select(["copy", "copy_out"])
    vm.add_frame()
    vm.select([])
    vm.open_menu(*title_xy(vm, "frame_1"))
    assert vm.popup is not None and [i.command for i in vm.popup.items] == [
        "frame:frame_1", "frame_select", "copy", "duplicate", "delete"]
    vm.popup.index = 1
    vm.key_down("Enter")
    assert set(vm.selection) == {"copy", "copy_out"}
    vm.double_click(*title_xy(vm, "frame_1"))
    assert vm.command == "frame:frame_1" and vm.selected_frame == "frame_1"


def test_copy_a_frame_pastes_the_frame_its_nodes_and_their_wires(vm: ViewModel) -> None:
    vm.select(["copy", "copy_out"])
    vm.add_frame()
    vm.key_down("c", ctrl=True)
    assert vm.message == "copied 2 nodes and 1 frame"
    vm.mouse = vm.view.to_screen(100, 600)
    vm.key_down("v", ctrl=True)
    assert {"copy_2", "copy_out_2"} <= set(vm.flow.nodes) and ("copy_2.text", "copy_out_2.value") in vm.flow.edges
    frames = layout(vm)["frames"]
    assert [f["id"] for f in frames] == ["frame_1", "frame_2"]
    new = vm.frame("frame_2")
    assert new is not None
    for nid in ("copy_2", "copy_out_2"):
        b = vm.boxes[nid]
        assert new.x < b.x + b.w / 2 < new.x + new.w and new.y < b.y + b.h / 2 < new.y + new.h
    vm.undo()
    assert [f["id"] for f in layout(vm)["frames"]] == ["frame_1"] and "copy_2" not in vm.flow.nodes


def test_copying_nodes_takes_the_frames_around_only_them(vm: ViewModel) -> None:
    vm.select(["copy"])
    vm.add_frame()
    vm.select(["copy", "picture"])
    vm.duplicate()
    assert [f["id"] for f in layout(vm)["frames"]] == ["frame_1", "frame_2"]
    vm.select(["picture"])
    vm.duplicate()
    assert len(layout(vm)["frames"]) == 2  # no frame holds only 'picture'


def test_comment_text_is_wrapped_and_cut_to_its_frame() -> None:
    lines = comment_lines("one two three four five six seven\n\nlast", 90, 80, 14)
    assert lines[:3] == ["one two", "three four", "five six"] and len(lines) == 4 and lines[3].endswith("…")
    assert comment_lines("a\n\nb", 200, 80, 14) == ["a", "", "b"]  # blank lines kept
    assert comment_lines("a\nb\nc\nd\ne", 200, 40, 14)[-1].endswith("…")
    assert shade("#ffffff", 0.5) == "#808080"


# -- reroute points -----------------------------------------------------------------------------


def test_double_click_a_wire_adds_a_reroute_point_drag_moves_it_delete_removes_it(vm: ViewModel) -> None:
    run_before = vm.flow.run().outputs
    vm.double_click(*wire_xy(vm, "copy.prompt"))
    assert layout(vm)["wires"][0]["from"] == "prompt.text" and len(layout(vm)["wires"][0]["via"]) == 1
    assert vm.selected_point == (("prompt.text", "copy.prompt"), 0)
    p = layout(vm)["wires"][0]["via"][0]
    start = vm.view.to_screen(p["x"], p["y"])
    assert vm.hit(*start).kind == "point"
    drag(vm, start, (start[0] + 10, start[1] + 150))
    assert layout(vm)["wires"][0]["via"] == [{"x": p["x"] + 10, "y": p["y"] + 150}]
    assert vm.history.labels[0][-2:] == ["add reroute point", "move reroute point"]
    # the wire is drawn (and hit) through the point
    e = next(e for e in vm.edges if e.dst == "copy.prompt")
    assert len(e.segments()) == 2 and vm.hit(*wire_xy(vm, "copy.prompt", 14)).edge == ("prompt.text", "copy.prompt")
    assert vm.flow.run().outputs == run_before  # layout only
    vm.key_down("Delete")
    assert "wires" not in layout(vm) and ("prompt.text", "copy.prompt") in vm.flow.edges
    vm.undo()
    vm.undo()
    vm.undo()
    assert "wires" not in layout(vm)


def test_shift_r_and_the_wire_menu_add_points_in_order(vm: ViewModel) -> None:
    vm.mouse_down(*wire_xy(vm, "picture.prompt"))
    vm.mouse_up(*wire_xy(vm, "picture.prompt"))
    assert vm.selected_edge == ("image_prompt.text", "picture.prompt")
    vm.mouse = (5, 5)  # far from the wire: the point goes in the middle of it
    vm.key_down("R", shift=True)
    e = next(e for e in vm.edges if e.dst == "picture.prompt")
    assert len(e.via) == 1 and e.x1 < e.via[0][0] < e.x2
    vm.open_menu(*wire_xy(vm, "picture.prompt", 4))
    assert vm.popup is not None and vm.popup.items[0].command == "point_add"
    vm.key_down("Enter")
    e = next(e for e in vm.edges if e.dst == "picture.prompt")
    assert len(e.via) == 2 and e.via[0][0] < e.via[1][0]  # the new one first: it lies before the other
    vm.select([])
    vm.open_menu(*wire_xy(vm, "picture.prompt", 4))
    vm.popup.index = 1 if vm.popup else 0
    vm.key_down("Enter")
    assert "wires" not in layout(vm)


def test_moving_a_frame_moves_the_reroute_points_inside_it(vm: ViewModel) -> None:
    vm.add_point(("prompt.text", "copy.prompt"), at=(500, 90))
    vm.select(["prompt", "copy"])
    vm.add_frame()
    start = title_xy(vm, "frame_1")
    drag(vm, start, (start[0], start[1] + 100))
    assert layout(vm)["wires"][0]["via"] == [{"x": 500, "y": 190}]


def test_paste_keeps_reroute_points_only_when_both_ends_are_pasted(vm: ViewModel) -> None:
    vm.add_point(("prompt.text", "copy.prompt"), at=(500, 90))
    vm.select(["prompt", "copy"])
    vm.copy()
    vm.paste(at=(100, 900))
    wires = layout(vm)["wires"]
    assert [(w["from"], w["to"]) for w in wires] == [("prompt.text", "copy.prompt"), ("prompt_2.text", "copy_2.prompt")]
    dx = vm.flow.position("prompt_2")[0] - vm.flow.position("prompt")[0]
    assert wires[1]["via"][0]["x"] == 500 + dx
    vm.select(["copy"])
    vm.duplicate()
    assert len(layout(vm)["wires"]) == 2


def test_renaming_a_node_keeps_its_reroute_points(vm: ViewModel) -> None:
    vm.add_point(("prompt.text", "copy.prompt"), at=(500, 90))
    vm.rename("prompt", "ask")
    assert layout(vm)["wires"][0]["from"] == "ask.text"
    assert next(e for e in vm.edges if e.dst == "copy.prompt").via == ((500.0, 90.0),)


# -- the editor ---------------------------------------------------------------------------------


def test_the_editor_shows_a_selected_frame_in_the_params_tab_and_edits_it() -> None:
    ed = Editor(product_flow())
    ed.vm.select(["copy"])
    ed._key_down("G", True, False, False)
    assert ed.frame_panel.layout.display == "" and ed.params.layout.display == "none"
    assert ed.frame_panel.title.value == "Frame" and not ed.delete_button.disabled
    ed.frame_panel.title.value = "The copywriter"
    ed.frame_panel.text.value = "Offline model: no key needed."
    ed.frame_panel.color.value = "purple"
    f = json.loads(ed.flow.dumps())["layout"]["frames"][0]
    assert (f["title"], f["text"], f["color"]) == ("The copywriter", "Offline model: no key needed.", "#e5dbff")
    ed.undo_button.click()
    assert json.loads(ed.flow.dumps())["layout"]["frames"][0]["color"] == FRAME_COLORS["blue"]
    ed._key_down("Escape", False, False, False)
    assert ed.frame_panel.layout.display == "none" and ed.params.layout.display == ""
    ed.renderer.draw()  # frames, comment text and reroute points draw without error
    ed.vm.add_point(("prompt.text", "copy.prompt"))
    ed.redraw()
    ed.frame_panel.delete_button.click()  # nothing selected: says so, deletes nothing
    assert len(json.loads(ed.flow.dumps())["layout"]["frames"]) == 1


def test_a_frame_drag_step_touches_only_what_moves_and_the_release_tells_the_flow_once(vm: ViewModel) -> None:
    vm.select(["prompt", "copy"])
    vm.add_frame()
    changes: list[dict] = []
    vm.flow.observe(changes.append)
    v0, untouched = vm.flow.version, vm.edges[-1]
    start = title_xy(vm, "frame_1")
    vm.mouse_down(*start)
    for k in range(1, 6):
        vm.mouse_move(start[0] + 10 * k, start[1])
    assert vm.flow.version == v0 and changes == []  # no relayout, no copy of the flow per step
    assert vm.lifted == {"prompt", "copy"} and vm.lifted_frames == {"frame_1"}  # lifted as a selection is
    moved = {b.id: b.x for b in vm.dragged_boxes()}
    assert moved["copy"] == vm.flow.position("copy")[0] + 50  # drawn where it is now
    assert [f.x for f in vm.dragged_frames()] == [vm.frame("frame_1").x + 50]  # type: ignore[union-attr]
    assert untouched in vm.edges  # a wire away from the frame is the same object
    vm.mouse_up(start[0] + 50, start[1])
    assert vm.flow.version == v0 + 1 and [c["kind"] for c in changes] == ["layout"]


class _Recorder:
    """A stand-in canvas that records the fill colours set and the rectangles filled."""

    def __init__(self) -> None:
        object.__setattr__(self, "fills", [])
        object.__setattr__(self, "style", None)

    def __setattr__(self, name: str, value: object) -> None:
        if name == "fill_style":
            object.__setattr__(self, "style", value)

    def fill_rect(self, *args: float) -> None:
        self.fills.append((self.style, args))

    def __getattr__(self, name: str) -> object:
        return lambda *a, **k: None


def test_the_minimap_shows_frames_in_their_colours(vm: ViewModel) -> None:
    from nbflow.widget.overlay import draw_minimap

    vm.select(["copy"])
    vm.add_frame()
    vm.set_frame("frame_1", color="red")
    vm.view.zoom = 3.0  # most of the flow out of view: the minimap shows
    assert vm.minimap.shown(vm.boxes)
    c = _Recorder()
    draw_minimap(c, vm)  # type: ignore[arg-type]
    assert any(style == FRAME_COLORS["red"] for style, _ in c.fills)


def test_escape_during_a_frame_drag_puts_everything_back_with_no_undo_step(vm: ViewModel) -> None:
    vm.select(["prompt", "copy"])
    vm.add_frame()
    before, steps = vm.flow.dumps(), vm.history.labels[0]
    start = title_xy(vm, "frame_1")
    vm.mouse_down(*start)
    vm.mouse_move(start[0] + 80, start[1] + 40)
    was = json.loads(before)["layout"]["nodes"]["copy"]
    copy = next(b for b in vm.dragged_boxes() if b.id == "copy")
    assert (copy.x, copy.y) == (was["x"] + 80, was["y"] + 40)
    vm.key_down("Escape")
    assert vm.drag is None and vm.flow.dumps() == before and vm.history.labels[0] == steps
    assert vm.boxes["copy"].x == was["x"]
