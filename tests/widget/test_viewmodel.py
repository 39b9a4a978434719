"""The canvas view model in plain Python: hit testing, wiring rules, drag, pan, zoom, undo, run status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nbflow import Event, Flow, FlowError, Media, ParamError
from nbflow.model.record import NodeRecord
from nbflow.widget.geometry import View, bezier_points
from nbflow.widget.style import HEADER_H, NODE_W, port_color
from nbflow.widget.undo import History, Throttle
from nbflow.widget.viewmodel import ALL_LAYERS, ViewModel, short_preview

from .builders import product_flow


def port_xy(vm: ViewModel, node: str, port: str, is_input: bool) -> tuple[float, float]:
    p = vm.boxes[node].port(port, is_input)
    assert p is not None, f"{node}.{port}"
    return vm.view.to_screen(p.x, p.y)


def body_xy(vm: ViewModel, node: str) -> tuple[float, float]:
    b = vm.boxes[node]
    return vm.view.to_screen(b.x + b.w / 2, b.y + HEADER_H / 2)


def drag(vm: ViewModel, start: tuple[float, float], end: tuple[float, float], steps: int = 4) -> list:
    frames = [vm.mouse_down(*start)]
    for i in range(1, steps + 1):
        t = i / steps
        frames.append(vm.mouse_move(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t))
    frames.append(vm.mouse_up(*end))
    return frames


@pytest.fixture
def vm() -> ViewModel:
    return ViewModel(product_flow())


def test_importing_the_view_model_does_not_import_jupyter() -> None:
    code = ("import sys, nbflow.widget.viewmodel, nbflow.widget.geometry, nbflow.widget.undo; "
            "bad = [m for m in ('ipywidgets', 'ipycanvas', 'IPython') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- geometry and hit testing -------------------------------------------------------------------


def test_boxes_have_typed_ports_from_type_and_params(vm: ViewModel) -> None:
    b = vm.boxes["prompt"]
    assert (b.x, b.y, b.w) == (270, 40, NODE_W)
    assert list(b.inputs) == ["product"] and list(b.outputs) == ["text"]
    assert b.inputs["product"].type == "text"
    assert vm.boxes["picture"].outputs["images"].type == "list[image]"
    assert port_color("list[image]") == port_color("image") != port_color("text")


def test_ports_exist_while_the_flow_does_not_compile_yet() -> None:
    f = Flow()
    f.add("llm", id="copy")  # required input 'prompt' unwired: the flow does not validate
    f.spec.nodes.append(f.spec.nodes[0].model_copy(update={"id": "ghost", "type": "no.such.type"}))
    with pytest.raises(FlowError):
        f.validate()
    vm = ViewModel(f)
    assert "prompt" in vm.boxes["copy"].inputs
    assert vm.boxes["ghost"].problem == "unknown node type 'no.such.type'"


@pytest.mark.parametrize("zoom,ox,oy", [(1.0, 0, 0), (0.5, 120, -40), (2.0, -300, 10)])
def test_hit_testing_under_pan_and_zoom(vm: ViewModel, zoom: float, ox: float, oy: float) -> None:
    vm.view.zoom, vm.view.ox, vm.view.oy = zoom, ox, oy
    assert vm.hit(*port_xy(vm, "copy", "prompt", True)).kind == "port"
    h = vm.hit(*port_xy(vm, "copy", "text", False))
    assert (h.kind, h.node, h.port, h.is_input) == ("port", "copy", "text", False)
    h = vm.hit(*body_xy(vm, "picture"))
    assert (h.kind, h.node) == ("node", "picture")
    e = next(e for e in vm.edges if e.dst == "copy.prompt")
    mx, my = bezier_points(e.x1, e.y1, e.x2, e.y2)[8]
    assert vm.hit(*vm.view.to_screen(mx, my)).edge == ("prompt.text", "copy.prompt")
    assert vm.hit(*vm.view.to_screen(-500, -500)).kind == "empty"


def test_topmost_node_wins_where_nodes_overlap(vm: ViewModel) -> None:
    vm.flow.move("copy_out", 280, 50)  # on top of 'prompt', added later so drawn later
    assert vm.hit(*vm.view.to_screen(300, 60)).node == "copy_out"


def test_view_zoom_keeps_the_point_under_the_mouse() -> None:
    v = View(800, 600, ox=10, oy=20, zoom=1.0)
    before = v.to_world(300, 200)
    v.zoom_at(1.5, 300, 200)
    assert v.to_world(300, 200) == pytest.approx(before)
    v.zoom_at(1000, 0, 0)
    assert v.zoom == 3.0  # clamped


def test_wheel_zooms_around_the_last_mouse_position(vm: ViewModel) -> None:
    vm.mouse_move(400, 100)
    world = vm.view.to_world(400, 100)
    assert vm.wheel(-100) == frozenset({"grid", "edges", "nodes", "minimap", "overlay"})
    assert vm.view.zoom > 1
    assert vm.view.to_world(400, 100) == pytest.approx(world)
    vm.wheel(300)
    assert vm.view.zoom < 1


def test_fit_puts_every_node_in_view(vm: ViewModel) -> None:
    vm.flow.move("image_out", 3000, 2000)
    vm.fit()
    x0, y0, x1, y1 = vm.view.visible()
    for b in vm.boxes.values():
        assert x0 <= b.x and b.x + b.w <= x1 and y0 <= b.y and b.y + b.h <= y1


# -- wiring rules -------------------------------------------------------------------------------


def test_wiring_rules(vm: ViewModel) -> None:
    vm.flow.disconnect("picture.prompt")
    assert vm.check_wire("image_prompt.text", "picture.prompt") is None
    assert vm.check_wire("product.value", "picture.prompt") is None  # replacing is allowed
    why = vm.check_wire("picture.image", "copy.prompt")
    assert why == "picture.image gives image, but copy.prompt takes text"
    assert "cannot feed itself" in (vm.check_wire("copy.text", "copy.system") or "")
    assert "cycle" in (vm.check_wire("copy.text", "prompt.product") or "")
    assert "already wired" in (vm.check_wire("prompt.text", "copy.prompt") or "")
    assert "no input 'nope'" in (vm.check_wire("prompt.text", "copy.nope") or "")


def test_an_input_holds_one_edge_rewiring_replaces_it(vm: ViewModel) -> None:
    vm.flow.add("input.text", id="other", default="x", x=20, y=400)
    assert vm.wire("other.value", "prompt.product")
    into = [s for s, d in vm.flow.edges if d == "prompt.product"]
    assert into == ["other.value"]
    assert "replaced product.value" in vm.message


def test_an_incompatible_wire_is_refused_with_a_message(vm: ViewModel) -> None:
    before = vm.flow.dumps()
    assert not vm.wire("picture.image", "copy.prompt")
    assert vm.message_level == "error"
    assert vm.message == "cannot wire: picture.image gives image, but copy.prompt takes text"
    assert vm.flow.dumps() == before
    assert not vm.history.can_undo


# -- mouse: drag, pan, wire ---------------------------------------------------------------------


def test_drag_moves_a_node_and_redraws_only_the_overlay_per_step(vm: ViewModel) -> None:
    x0, y0 = vm.flow.position("copy")
    start = body_xy(vm, "copy")
    frames = drag(vm, start, (start[0] + 80, start[1] + 60))
    assert vm.selected == "copy"
    assert frames[1] == ALL_LAYERS  # the first step lifts the node off the lower layers
    assert all(f == {"overlay"} for f in frames[2:-1])
    assert frames[-1] == ALL_LAYERS
    assert vm.flow.position("copy") == (x0 + 80, y0 + 60)
    assert vm.history.labels[0] == ["move node"]
    assert vm.drag is None and not vm.lifted


def test_lifted_node_is_drawn_at_the_pointer(vm: ViewModel) -> None:
    start = body_xy(vm, "copy")
    vm.mouse_down(*start)
    vm.mouse_move(start[0] + 50, start[1] + 5)
    assert vm.lifted == {"copy"}
    (box,) = vm.dragged_boxes()
    assert box.x == vm.boxes["copy"].x + 50
    assert box.inputs["prompt"].x == box.x


def test_a_click_without_movement_selects_but_does_not_move(vm: ViewModel) -> None:
    pos = vm.flow.position("copy")
    v = vm.flow.version
    start = body_xy(vm, "copy")
    vm.mouse_down(*start)
    vm.mouse_move(start[0] + 1, start[1] + 1)  # under the drag threshold
    vm.mouse_up(start[0] + 1, start[1] + 1)
    assert vm.selected == "copy"
    assert vm.flow.position("copy") == pos and vm.flow.version == v


def test_dragging_empty_space_pans(vm: ViewModel) -> None:
    vm.selected = "copy"
    frames = drag(vm, (400, 480), (350, 430))
    assert (vm.view.ox, vm.view.oy) == (-50, -50)
    assert vm.selected is None
    assert frames[2] == {"grid", "edges", "nodes", "minimap", "overlay"}
    assert not vm.history.can_undo  # panning is not an edit


def test_wire_by_dragging_from_output_to_input(vm: ViewModel) -> None:
    vm.flow.disconnect("picture.prompt")
    frames = drag(vm, port_xy(vm, "image_prompt", "text", False), port_xy(vm, "picture", "prompt", True))
    assert ("image_prompt.text", "picture.prompt") in vm.flow.edges
    assert all(f == {"overlay"} for f in frames[1:-1])
    assert vm.message == "wired image_prompt.text -> picture.prompt"


def test_wire_drag_shows_why_a_target_is_refused(vm: ViewModel) -> None:
    vm.mouse_down(*port_xy(vm, "picture", "image", False))
    vm.mouse_move(*port_xy(vm, "copy", "prompt", True))
    assert vm.drag is not None and vm.drag.reason == "picture.image gives image, but copy.prompt takes text"
    vm.mouse_up(*port_xy(vm, "copy", "prompt", True))
    assert ("picture.image", "copy.prompt") not in vm.flow.edges
    assert vm.message_level == "error"


def test_wire_dropped_on_nothing_changes_nothing(vm: ViewModel) -> None:
    before = vm.flow.dumps()
    drag(vm, port_xy(vm, "copy", "text", False), (700, 500))
    assert vm.flow.dumps() == before


def test_mouse_out_ends_a_drag(vm: ViewModel) -> None:
    start = body_xy(vm, "copy")
    vm.mouse_down(*start)
    vm.mouse_move(start[0] + 30, start[1])
    vm.mouse_out()
    assert vm.drag is None and vm.flow.position("copy")[0] == 550


# -- editing and undo ---------------------------------------------------------------------------


def test_delete_node_and_edge_with_the_delete_key(vm: ViewModel) -> None:
    vm.mouse_down(*body_xy(vm, "copy_out"))
    vm.mouse_up(*body_xy(vm, "copy_out"))
    assert vm.key_down("Delete") == ALL_LAYERS
    assert "copy_out" not in vm.flow.nodes
    assert all("copy_out" not in s + d for s, d in vm.flow.edges)
    e = next(e for e in vm.edges if e.dst == "picture.prompt")
    mx, my = bezier_points(e.x1, e.y1, e.x2, e.y2)[8]
    vm.mouse_down(mx, my)
    assert vm.selected_edge == ("image_prompt.text", "picture.prompt")
    vm.key_down("Backspace")
    assert ("image_prompt.text", "picture.prompt") not in vm.flow.edges


def test_undo_and_redo_every_kind_of_edit_exactly(vm: ViewModel) -> None:
    f = vm.flow
    states = [f.dumps()]
    nid = vm.add_node("join")
    states.append(f.dumps())
    assert vm.wire("copy.text", f"{nid}.in1")
    states.append(f.dumps())
    drag(vm, body_xy(vm, nid), (100, 450))
    states.append(f.dumps())
    vm.set_params("picture", size="32x32")
    states.append(f.dumps())
    vm.rename("copy", "blurb")
    states.append(f.dumps())
    vm.selected = "image_out"
    vm.delete_selected()
    states.append(f.dumps())
    assert vm.history.labels[0] == ["add node", "wire", "move node", "edit params", "rename node",
                                    "delete node"]
    for want in reversed(states[:-1]):
        vm.key_down("z", ctrl=True)
        assert f.dumps() == want
    assert vm.undo() == frozenset() and vm.message == "nothing to undo"
    for want in states[1:]:
        vm.key_down("Z", shift=True, ctrl=True)
        assert f.dumps() == want
    vm.undo()
    vm.key_down("y", meta=True)
    assert f.dumps() == states[-1]


def test_a_failed_edit_leaves_the_flow_and_history_untouched(vm: ViewModel) -> None:
    before = vm.flow.dumps()
    with pytest.raises(ParamError):
        vm.set_params("picture", size="big")
    with pytest.raises(FlowError, match="duplicate node id"):
        vm.rename("copy", "prompt")
    with pytest.raises(FlowError, match="not a valid id"):
        vm.rename("copy", "9 lives")
    assert vm.flow.dumps() == before and not vm.history.can_undo


def test_rename_moves_edges_selection_and_status(vm: ViewModel) -> None:
    vm.selected = "copy"
    vm.status["copy"] = "done"
    vm.rename("copy", "blurb")
    assert ("prompt.text", "blurb.prompt") in vm.flow.edges
    assert ("blurb.text", "copy_out.value") in vm.flow.edges
    assert vm.selected == "blurb" and vm.status["blurb"] == "done"


def test_a_cell_edit_clears_the_undo_history(vm: ViewModel) -> None:
    vm.add_node("join")
    assert vm.history.can_undo
    vm.flow.add("join", id="from_cell")
    vm.external_change()
    assert not vm.history.can_undo
    assert "from_cell" in vm.boxes


def test_history_is_bounded() -> None:
    h = History(limit=3)
    f = Flow()
    for i in range(5):
        h.push(f"e{i}", f.spec)
    assert h.labels[0] == ["e2", "e3", "e4"]


def test_throttle_keeps_the_last_skipped_move() -> None:
    now = [0.0]
    t = Throttle(interval=0.02, clock=lambda: now[0])
    assert t(1, 1)
    now[0] = 0.01
    assert not t(2, 2) and t.pending == (2, 2)
    now[0] = 0.025
    assert t(3, 3) and t.pending is None
    assert (t.passed, t.dropped) == (2, 1)


# -- run status and previews --------------------------------------------------------------------


def test_events_drive_node_status(vm: ViewModel) -> None:
    for kind, data, want in [("node_queued", {}, "queued"), ("node_started", {}, "running"),
                             ("retry", {"delay": 0.1}, "running"),
                             ("failed", {"message": "boom"}, "failed")]:
        assert vm.apply_event(Event(kind, "r", "copy", data))
        assert vm.status["copy"] == want
    assert vm.errors["copy"] == "boom" and vm.previews["copy"].text == "boom"
    assert vm.apply_event(Event("partial", "r", "prompt", {"port": "text", "value": "Hel"}))
    assert vm.previews["prompt"].text == "Hel"
    vm.apply_event(Event("node_started", "r", "picture"))
    vm.apply_event(Event("run_finished", "r", None, {"status": "cancelled"}))
    assert vm.status["picture"] == "cancelled"
    assert not vm.apply_event(Event("run_started", "r"))


def test_short_previews_by_type() -> None:
    img = Media("image/png", b"\x89PNG\r\n\x1a\n....")
    assert short_preview("\n  \nfirst line\nsecond").text == "first line second"  # folded for the strip
    assert len(short_preview("x" * 2000).text) == 400
    assert short_preview(img).kind == "image"
    assert short_preview([img, img]).text == "2 images"
    assert short_preview(Media("audio/wav", b"RIFF0000WAVE")).text == "audio: audio/wav, 12 bytes"
    assert short_preview({"b": 1, "a": [1, 2]}).text == '{"a": [1, 2], "b": 1}'
    assert short_preview([1, 2, 3]).text == "[3 items] 1"
    assert short_preview(True).text == "true"


def test_apply_result_takes_status_and_preview(vm: ViewModel) -> None:
    res = vm.flow.run()
    vm.apply_result(res)
    assert vm.status["copy"] == "done"
    assert vm.previews["copy"].text.startswith("[offline]")
    assert vm.previews["picture"].kind == "image"
    rec = NodeRecord("x", "llm", status="failed", error={"message": "quota exceeded"})
    vm.apply_result(type(res)(run_id="r", flow="f", nodes={"x": rec}))
    assert vm.errors["x"] == "quota exceeded"


def test_upstream_is_what_run_selected_runs(vm: ViewModel) -> None:
    assert vm.upstream(["copy"]) == {"copy", "prompt", "product"}
