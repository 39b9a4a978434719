"""The canvas without a mouse, through the editor's key messages: Tab / Shift+Tab select nodes in
reading order and bring them into view, the arrows move the selection one grid step (Shift: five),
one undo step per press, Shift+L / Shift+M group into a loop / a map; the single keys still work."""

from __future__ import annotations

from itertools import pairwise

from nbflow.widget.editor import Editor
from nbflow.widget.keynav import BIG_STEP, reading_order
from nbflow.widget.style import GRID_SNAP

from .builders import product_flow
from .conftest import key


def positions(ed: Editor) -> dict[str, tuple[float, float]]:
    return {i: (b.x, b.y) for i, b in ed.vm.boxes.items()}


def test_tab_and_shift_tab_walk_the_nodes_in_reading_order_and_wrap() -> None:
    ed = Editor(product_flow(), store=False)
    boxes = ed.vm.boxes
    order = reading_order(boxes)
    assert sorted(order) == sorted(ed.flow.nodes)
    tops = [(boxes[i].y, boxes[i].x) for i in order]
    assert all(a[0] <= b[0] + 14 for a, b in pairwise(tops))  # top to bottom
    seen = []
    for _ in order:
        key(ed.canvas, "Tab")
        seen.append(ed.vm.selected)
    assert seen == order
    assert list(ed.vm.selection) == [order[-1]]  # one node at a time, never a growing selection
    key(ed.canvas, "Tab")
    assert ed.vm.selected == order[0]  # wraps
    key(ed.canvas, "Tab", shift=True)
    assert ed.vm.selected == order[-1]
    key(ed.canvas, "Tab", shift=True)
    assert ed.vm.selected == order[-2]
    assert f"of {len(order)}" in ed.message.value
    assert ed.params.node_id == order[-2]  # the params panel follows the keyboard selection


def test_tab_pans_the_view_to_a_node_out_of_sight() -> None:
    f = product_flow()
    f.move("picture", 3000.0, 2000.0)
    ed = Editor(f, width=700, height=450, store=False)
    v = ed.vm.view
    v.ox, v.oy, v.zoom = 0.0, 0.0, 1.0
    for _ in f.nodes:
        key(ed.canvas, "Tab")
        if ed.vm.selected == "picture":
            break
    assert ed.vm.selected == "picture"
    b = ed.vm.boxes["picture"]
    x0, y0 = v.to_screen(b.x, b.y)
    x1, y1 = v.to_screen(b.x + b.w, b.y + b.h)
    assert 0 <= x0 and x1 <= v.width and 0 <= y0 and y1 <= v.height, (x0, y0, x1, y1)
    assert v.zoom == 1.0  # panned, not zoomed


def test_arrows_move_the_selection_one_grid_step_shift_five_one_undo_step_each() -> None:
    ed = Editor(product_flow(), store=False)
    ed.vm.select(["copy", "picture"])
    start = positions(ed)
    key(ed.canvas, "ArrowRight")
    key(ed.canvas, "ArrowDown", shift=True)
    after = positions(ed)
    for n in ("copy", "picture"):
        assert after[n] == (start[n][0] + GRID_SNAP, start[n][1] + GRID_SNAP * BIG_STEP)
    assert all(after[n] == start[n] for n in start if n not in ("copy", "picture"))
    key(ed.canvas, "z", ctrl=True)
    undone = positions(ed)
    assert undone["copy"] == (start["copy"][0] + GRID_SNAP, start["copy"][1])  # one step per press
    key(ed.canvas, "z", ctrl=True)
    assert positions(ed) == start
    key(ed.canvas, "ArrowLeft")
    key(ed.canvas, "ArrowUp")
    assert positions(ed)["picture"] == (start["picture"][0] - GRID_SNAP, start["picture"][1] - GRID_SNAP)


def test_arrows_with_nothing_selected_pan_the_view_and_leave_the_flow_alone() -> None:
    ed = Editor(product_flow(), store=False)
    before, version = ed.flow.dumps(), ed.flow.version
    v = ed.vm.view
    ox, oy = v.ox, v.oy
    key(ed.canvas, "ArrowRight")
    key(ed.canvas, "ArrowUp")
    assert (v.ox, v.oy) == (ox - GRID_SNAP * v.zoom, oy + GRID_SNAP * v.zoom)
    assert ed.flow.dumps() == before and ed.flow.version == version


def test_tab_then_arrows_then_group_into_a_loop_and_a_map_by_key_each_undoable() -> None:
    f = product_flow()
    before_run = f.run().outputs
    before = f.dumps()
    ed = Editor(f, store=False)
    ed.vm.select(["image_prompt", "picture"])
    key(ed.canvas, "L", shift=True)
    gid = ed.vm.selected
    assert gid is not None and f.node(gid).type == "loop", ed.message.value
    assert "image_prompt" not in f.nodes and "picture" not in f.nodes
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before
    ed.vm.select(["prompt", "copy"])
    key(ed.canvas, "M", shift=True)
    mid = ed.vm.selected
    assert mid is not None and f.node(mid).type == "map", ed.message.value
    assert f.run().outputs == before_run  # the map of one item gives the same results
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before


def test_shift_l_with_nothing_selected_says_so_and_plain_l_still_lays_out() -> None:
    f = product_flow()
    for i, n in enumerate(f.nodes):
        f.move(n, 10.0 * i, 10.0 * i)  # piled up
    ed = Editor(f, store=False)
    ed.vm.select([])
    before = f.dumps()
    key(ed.canvas, "L", shift=True)
    assert f.dumps() == before and "select nodes to group into a loop" in ed.message.value
    key(ed.canvas, "l")
    assert f.dumps() != before and "laid out" in ed.message.value


def test_the_context_menu_names_the_group_keys() -> None:
    ed = Editor(product_flow(), store=False)
    ed.vm.select(["copy"])
    b = ed.vm.boxes["copy"]
    ed.vm.open_menu(*ed.vm.view.to_screen(b.x + b.w / 2, b.y + 10))
    p = ed.vm.popup
    assert p is not None
    hints = {i.command: i.keys for i in p.items}
    assert hints["group:subflow"] == "Ctrl+G" and hints["group:loop"] == "Shift+L" and hints["group:map"] == "Shift+M"
