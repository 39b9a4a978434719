"""Editor essentials in the view model: multi-select, box select, move/delete many, copy/paste/duplicate
(also across two editors), context menus, search-to-add, snap, auto-layout, free placement, tooltips,
minimap, and legibility (level of detail, z-order, status contrast)."""

from __future__ import annotations

import random

import pytest

from nbflow import Flow
from nbflow.widget.arrange import _ring, free_spot, overlaps
from nbflow.widget.draw import preview_lines, split_overlapping
from nbflow.widget.previews import Preview
from nbflow.widget.style import (
    CATEGORY_COLORS,
    HEADER_H,
    MIN_TEXT_PX,
    ROW_H,
    STATUS_RING,
    contrast,
    detail,
)
from nbflow.widget.viewmodel import ALL_LAYERS, ViewModel

from .builders import product_flow


def body_xy(vm: ViewModel, node: str) -> tuple[float, float]:
    b = vm.boxes[node]
    return vm.view.to_screen(b.x + b.w / 2, b.y + HEADER_H / 2)


def drag(vm: ViewModel, start: tuple[float, float], end: tuple[float, float], *, shift: bool = False) -> None:
    vm.mouse_down(*start, shift=shift)
    for i in range(1, 5):
        t = i / 4
        vm.mouse_move(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
    vm.mouse_up(*end)


@pytest.fixture
def vm() -> ViewModel:
    m = ViewModel(product_flow(), width=1200, height=700)
    return m


def rects(vm: ViewModel) -> list[tuple[float, float, float, float]]:
    return [(b.x, b.y, b.w, b.h) for b in vm.boxes.values()]


# -- selection ----------------------------------------------------------------------------------


def test_shift_click_adds_and_removes_nodes(vm: ViewModel) -> None:
    vm.mouse_down(*body_xy(vm, "copy"))
    vm.mouse_up(*body_xy(vm, "copy"))
    vm.mouse_down(*body_xy(vm, "picture"), shift=True)
    vm.mouse_up(*body_xy(vm, "picture"))
    assert list(vm.selection) == ["copy", "picture"] and vm.selected == "picture"
    vm.mouse_down(*body_xy(vm, "copy"), ctrl=True)
    assert list(vm.selection) == ["picture"]


def test_shift_drag_on_empty_space_box_selects(vm: ViewModel) -> None:
    a = vm.view.to_screen(250, 20)
    b = vm.view.to_screen(760, 200)
    drag(vm, a, b, shift=True)
    assert set(vm.selection) == {"prompt", "copy"}
    assert vm.view.ox == 0  # the box did not pan
    assert vm.message == "2 nodes selected"


def test_dragging_one_of_many_selected_moves_all_as_one_undo_step(vm: ViewModel) -> None:
    vm.select(["copy", "picture"])
    p0, q0 = vm.flow.position("copy"), vm.flow.position("picture")
    start = body_xy(vm, "copy")
    vm.mouse_down(*start)
    vm.mouse_move(start[0] + 30, start[1] + 20)
    assert vm.lifted == {"copy", "picture"}
    assert {b.id for b in vm.dragged_boxes()} == {"copy", "picture"}
    vm.mouse_up(start[0] + 40, start[1] + 20)
    assert vm.flow.position("copy") == (p0[0] + 40, p0[1] + 20)
    assert vm.flow.position("picture") == (q0[0] + 40, q0[1] + 20)
    assert vm.history.labels[0] == ["move 2 nodes"]
    vm.undo()
    assert vm.flow.position("picture") == q0


def test_ctrl_a_then_delete_removes_everything_in_one_step(vm: ViewModel) -> None:
    before = vm.flow.dumps()
    vm.key_down("a", ctrl=True)
    assert len(vm.selection) == 7
    assert vm.key_down("Delete") == ALL_LAYERS
    assert vm.flow.nodes == {} and vm.flow.edges == []
    vm.key_down("z", ctrl=True)
    assert vm.flow.dumps() == before


# -- clipboard ----------------------------------------------------------------------------------


def test_copy_paste_keeps_inner_wires_gives_fresh_ids_and_lands_at_the_pointer(vm: ViewModel) -> None:
    vm.select(["prompt", "copy"])
    vm.key_down("c", ctrl=True)
    assert vm.message == "copied 2 nodes"
    vm.mouse_move(100, 600)  # the pointer, where the paste lands
    vm.key_down("v", ctrl=True)
    assert set(vm.selection) == {"prompt_2", "copy_2"}
    assert ("prompt_2.text", "copy_2.prompt") in vm.flow.edges
    assert not any(d == "prompt_2.product" for _, d in vm.flow.edges)  # the outer wire is not copied
    assert vm.flow.node("prompt_2").params == vm.flow.node("prompt").params
    wx, wy = vm.view.to_world(100, 600)
    x, y = vm.flow.position("prompt_2")
    assert abs(x - wx) <= 60 and abs(y - wy) <= 60
    assert vm.history.labels[0][-1] == "paste"
    vm.undo()
    assert "prompt_2" not in vm.flow.nodes


def test_paste_into_a_second_editor(vm: ViewModel) -> None:
    vm.select(["copy"])
    vm.copy()
    other = ViewModel(Flow("other"))
    other.paste(at=(0.0, 0.0))
    assert [n.type for n in other.flow.spec.nodes] == ["llm"]


def test_duplicate_places_copies_where_nothing_overlaps(vm: ViewModel) -> None:
    vm.select(["copy"])
    vm.key_down("d", ctrl=True)
    (dup,) = vm.selection
    assert dup == "copy_2"
    b = vm.boxes[dup]
    assert not any(overlaps((b.x, b.y, b.w, b.h), r) for r in rects(vm) if r != (b.x, b.y, b.w, b.h))


def test_cut_removes_and_paste_brings_back(vm: ViewModel) -> None:
    vm.select(["copy_out"])
    vm.key_down("x", ctrl=True)
    assert "copy_out" not in vm.flow.nodes
    vm.paste(at=(900.0, 40.0))
    assert vm.flow.node("copy_out_2").type == "output"


# -- placement, snap, layout ------------------------------------------------------------------


def test_new_nodes_never_land_on_each_other() -> None:
    vm = ViewModel(Flow("f"))
    for _ in range(12):
        vm.add_node("template", template="x")
    rs = rects(vm)
    assert not any(overlaps(a, b) for i, a in enumerate(rs) for b in rs[i + 1:])


def test_free_spot_is_the_nearest_free_place() -> None:
    taken = [(0.0, 0.0, 200.0, 100.0)]
    assert free_spot(500, 500, 200, 100, taken) == (500, 500)
    x, y = free_spot(10, 10, 200, 100, taken)
    assert not overlaps((x, y, 200, 100), taken[0], 24)


def test_snap_to_grid_on_move_and_add(vm: ViewModel) -> None:
    vm.key_down("g")
    assert vm.snap and vm.message == "snap to grid on"
    start = body_xy(vm, "copy")
    drag(vm, start, (start[0] + 33, start[1] + 7))
    x, y = vm.flow.position("copy")
    assert x % 20 == 0 and y % 20 == 0
    nid = vm.add_node("template", template="t", at=(333.0, 517.0))
    x, y = vm.flow.position(nid)
    assert x % 20 == 0 and y % 20 == 0


def test_auto_layout_puts_every_wire_left_to_right_without_overlaps(vm: ViewModel) -> None:
    for n in vm.flow.spec.nodes:
        vm.flow.move(n.id, 0, 0)  # all on one spot
    vm.history.clear()
    vm.key_down("l")
    pos = {n: vm.flow.position(n) for n in vm.flow.nodes}
    for a, b in vm.flow.edges:
        assert pos[a.split(".")[0]][0] < pos[b.split(".")[0]][0]
    rs = rects(vm)
    assert not any(overlaps(a, b) for i, a in enumerate(rs) for b in rs[i + 1:])
    assert vm.history.labels[0] == ["auto-layout"]


# -- popups -------------------------------------------------------------------------------------


def test_context_menu_on_a_node_on_a_wire_and_on_empty_canvas(vm: ViewModel) -> None:
    vm.open_menu(*body_xy(vm, "copy"))
    assert vm.popup is not None and vm.selected == "copy"
    assert [i.command for i in vm.popup.items][:4] == ["copy", "cut", "duplicate", "delete"]
    vm.key_down("Escape")
    assert vm.popup is None
    vm.open_menu(1100, 650)
    assert vm.popup is not None
    assert [i.command for i in vm.popup.items] == ["search", "paste", "frame_add", "comment_add", "select_all",
                                                   "auto_layout", "toggle_snap", "fit"]
    assert not vm.popup.items[1].enabled or vm.can_paste
    vm.close_popup()
    e = next(e for e in vm.edges if e.dst == "copy.prompt")
    from nbflow.widget.geometry import bezier_points

    mx, my = bezier_points(e.x1, e.y1, e.x2, e.y2)[8]
    vm.open_menu(*vm.view.to_screen(mx, my))
    assert vm.popup is not None and [i.command for i in vm.popup.items] == ["point_add", "straighten", "delete"]
    assert vm.selected_edge == ("prompt.text", "copy.prompt")


def test_menu_items_run_by_click_and_by_keyboard(vm: ViewModel) -> None:
    vm.open_menu(*body_xy(vm, "copy"))
    p = vm.popup
    assert p is not None
    # click "Duplicate node" (the third row)
    vm.mouse_down(p.x + 20, p.y + 4 + 2 * 24 + 12)
    assert "copy_2" in vm.flow.nodes and vm.popup is None
    vm.open_menu(*body_xy(vm, "picture"))
    vm.key_down("ArrowDown")
    vm.key_down("ArrowDown")
    vm.key_down("ArrowDown")  # Delete node
    vm.key_down("Enter")
    assert "picture" not in vm.flow.nodes


def test_menu_run_this_node_asks_the_editor(vm: ViewModel) -> None:
    vm.open_menu(*body_xy(vm, "copy"))
    assert vm.popup is not None
    vm.popup.index = [i.command for i in vm.popup.items].index("run_selected")
    vm.key_down("Enter")
    assert vm.command == "run_selected"


def test_search_to_add_at_the_cursor_by_double_click_and_by_slash(vm: ViewModel) -> None:
    vm.double_click(1000, 600)
    p = vm.popup
    assert p is not None and p.kind == "search"
    for ch in "json parse":
        vm.key_down(ch)
    assert p.items[0].command == "add:json.parse"
    vm.key_down("Backspace")
    vm.key_down("e")
    vm.key_down("Enter")
    nid = vm.selected
    assert nid is not None and vm.flow.node(nid).type == "json.parse"
    wx, wy = vm.view.to_world(1000, 600)
    x, y = vm.flow.position(nid)
    assert abs(x - wx) < 80 and abs(y - wy) < 80
    vm.mouse_move(300, 650)
    vm.key_down("/")
    assert vm.popup is not None and vm.popup.kind == "search"
    vm.key_down("Escape")
    assert vm.popup is None


def test_double_click_on_a_node_does_not_open_search(vm: ViewModel) -> None:
    vm.double_click(*body_xy(vm, "copy"))
    assert vm.popup is None


# -- tooltips and minimap -----------------------------------------------------------------------


def test_tooltip_shows_a_cut_title_and_preview(vm: ViewModel) -> None:
    vm.flow.set_title("copy", "A very long title that cannot possibly fit on the node header")
    vm.previews["copy"] = Preview("text", "word " * 80)
    tip = vm.tooltip_at(*body_xy(vm, "copy"))
    assert tip is not None
    assert tip[0].startswith("A very long title that cannot possibly fit on the node header (copy)")
    assert len(tip) > 2
    vm.mouse_move(*body_xy(vm, "copy"))
    assert vm.tooltip is not None
    p = vm.boxes["copy"].inputs["prompt"]
    assert vm.tooltip_at(*vm.view.to_screen(p.x, p.y)) == ["copy.prompt: text (input)"]


def test_no_tooltip_when_everything_shows(vm: ViewModel) -> None:
    assert vm.tooltip_at(*body_xy(vm, "copy_out")) is None


def test_minimap_shows_when_nodes_are_out_of_view_and_clicking_it_pans() -> None:
    vm = ViewModel(product_flow(), width=780, height=520)
    vm.fit()
    assert not vm.minimap.shown(vm.boxes)
    vm.view.zoom = 2.0
    assert vm.minimap.shown(vm.boxes)
    mx, my, mw, mh = vm.minimap.rect()
    vm.mouse_down(mx + mw - 6, my + mh - 6)
    vm.mouse_up(mx + mw - 6, my + mh - 6)
    assert vm.drag is None and not vm.history.can_undo
    cx, cy = vm.view.to_world(390, 260)
    assert cx > 700  # the view moved to the flow's right-hand end


# -- legibility ---------------------------------------------------------------------------------


@pytest.mark.parametrize("zoom", [0.1, 0.15, 0.25, 0.4, 0.5, 0.6, 0.73, 0.9, 1.0, 1.5, 3.0])
def test_no_text_below_the_minimum_on_screen(zoom: float) -> None:
    d = detail(zoom)
    assert d.title_px * zoom >= MIN_TEXT_PX - 1e-9
    if d.port_labels:
        assert d.label_px * zoom >= MIN_TEXT_PX - 1e-9 and d.label_px <= ROW_H
    if d.previews:
        assert d.preview_px * zoom >= MIN_TEXT_PX - 1e-9
    if d.type_names:
        assert 11 * zoom >= MIN_TEXT_PX


def test_level_of_detail_far_out_hides_small_things() -> None:
    far, near = detail(0.15), detail(0.73)
    assert far.far and not far.port_labels and not far.previews
    assert not near.far and near.port_labels and near.previews  # the quickstart's zoom keeps labels


def test_status_marks_contrast_with_every_header_colour() -> None:
    for name, color in CATEGORY_COLORS.items():
        assert contrast(STATUS_RING, color) >= 3.0, name


def test_overlapping_nodes_are_drawn_whole_in_order(vm: ViewModel) -> None:
    vm.flow.move("copy_out", 280, 50)  # over 'prompt'
    free, stacked = split_overlapping(list(vm.boxes.values()))
    assert [b.id for b in stacked] == ["prompt", "copy_out"]  # flow order: copy_out on top
    assert "copy" in {b.id for b in free}


def test_preview_text_wraps_into_lines() -> None:
    lines = preview_lines("alpha beta gamma delta epsilon zeta eta theta iota kappa", 100, 12, 3)
    assert 1 < len(lines) <= 3


def test_free_spot_matches_checking_every_node() -> None:
    """The row index gives the same spot as testing each candidate against every rectangle."""
    def brute(x: float, y: float, w: float, h: float, taken: list, step: float = 20.0) -> tuple:
        def ok(cx: float, cy: float) -> bool:
            return not any(overlaps((cx, cy, w, h), r, 24.0) for r in taken)
        if ok(x, y):
            return x, y
        ring = 1
        while True:
            for i, j in _ring(ring):
                if ok(x + i * step, y + j * step):
                    return x + i * step, y + j * step
            ring += 1

    rng = random.Random(7)
    for _ in range(60):
        taken = [(rng.uniform(0, 900), rng.uniform(0, 700), rng.uniform(40, 260), rng.uniform(30, 180))
                 for _ in range(rng.randint(0, 40))]
        x, y = rng.uniform(0, 900), rng.uniform(0, 700)
        assert free_spot(x, y, 200, 100, taken, step=20.0) == brute(x, y, 200, 100, taken)
