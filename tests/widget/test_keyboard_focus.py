"""The canvas' keyboard focus apart from its selection (WAI-ARIA listbox pattern), wiring by keyboard,
and when Tab leaves the canvas, through the editor's key messages.

Ctrl+arrows move the focus ring without changing the selection, Space adds or removes the focused
node, Ctrl+Shift+arrows move and add; what acts on the selection then acts on the nodes so chosen. W
starts a wire from the focused node; only type-compatible ports are offered; Enter connects (one undo
step), Escape cancels. Shift+W picks the focused node's wires for Delete. After Escape the DOM helper
lets Tab leave the canvas and says so (``leave``).
"""

from __future__ import annotations

from typing import Any

from nbflow.model.types import can_connect
from nbflow.widget.editor import Editor
from nbflow.widget.keydraw import FOCUS_COLOR, WIRE_COLOR, draw_key_focus
from nbflow.widget.keyfocus import nearest
from nbflow.widget.keynav import reading_order

from .builders import product_flow
from .conftest import frontend, key


def test_ctrl_arrows_move_the_focus_not_the_selection_and_space_builds_a_selection() -> None:
    ed = Editor(product_flow(), store=False)
    vm = ed.vm
    key(ed.canvas, "Tab")
    assert vm.focus == vm.keyboard_focus == "product" and list(vm.selection) == ["product"]
    key(ed.canvas, "ArrowRight", ctrl=True)
    assert vm.keyboard_focus == "prompt" and list(vm.selection) == ["product"]  # the ring moved alone
    assert "focus on prompt, 1 node selected" in ed.message.value
    key(ed.canvas, " ")
    assert list(vm.selection) == ["product", "prompt"] and vm.keyboard_focus == "prompt"
    assert "added prompt to the selection, 2 nodes selected" in ed.message.value
    key(ed.canvas, "ArrowDown", ctrl=True)
    assert vm.keyboard_focus == "image_prompt"
    key(ed.canvas, "ArrowRight", ctrl=True, shift=True)  # move and extend
    assert vm.keyboard_focus == "picture" and list(vm.selection) == ["product", "prompt", "picture"]
    key(ed.canvas, "ArrowLeft", ctrl=True)
    key(ed.canvas, "ArrowUp", ctrl=True)
    key(ed.canvas, " ")
    assert vm.keyboard_focus == "prompt" and list(vm.selection) == ["product", "picture"]
    assert "took prompt out of the selection" in ed.message.value
    key(ed.canvas, "ArrowUp", ctrl=True)
    assert vm.keyboard_focus == "prompt" and "no node above prompt" in ed.message.value
    assert ed.params.node_id == "picture"  # the panel shows the node added last


def test_cmd_arrows_on_a_mac_do_what_ctrl_arrows_do() -> None:
    ed = Editor(product_flow(), store=False)
    vm = ed.vm
    key(ed.canvas, "Tab")
    key(ed.canvas, "ArrowRight", meta=True)
    assert vm.keyboard_focus == "prompt" and list(vm.selection) == ["product"]
    key(ed.canvas, "ArrowRight", meta=True, shift=True)
    assert vm.keyboard_focus == "copy" and list(vm.selection) == ["product", "copy"]


def test_move_copy_group_delete_and_run_act_on_the_keyboard_built_selection() -> None:
    f = product_flow()
    ed = Editor(f, store=False)
    key(ed.canvas, "Tab")  # product
    key(ed.canvas, "ArrowRight", ctrl=True)
    key(ed.canvas, "ArrowRight", ctrl=True)  # copy
    key(ed.canvas, " ")
    assert list(ed.vm.selection) == ["product", "copy"]
    start = {n: f.position(n) for n in f.nodes}
    key(ed.canvas, "ArrowDown")
    assert f.position("product") == (start["product"][0], start["product"][1] + 20)
    assert f.position("copy") == (start["copy"][0], start["copy"][1] + 20)
    assert f.position("prompt") == start["prompt"]
    key(ed.canvas, "z", ctrl=True)
    key(ed.canvas, "c", ctrl=True)
    assert "copied 2 nodes" in ed.message.value
    before = f.dumps()
    key(ed.canvas, "Delete")
    assert "product" not in f.nodes and "copy" not in f.nodes and "prompt" in f.nodes
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before  # one undo step
    ed.vm.select(["product"])
    key(ed.canvas, "ArrowRight", ctrl=True)
    key(ed.canvas, " ")
    key(ed.canvas, "g", ctrl=True)
    gid = ed.vm.selected
    assert gid is not None and f.node(gid).type == "subflow" and "prompt" not in f.nodes
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before
    ed.vm.select(["prompt"])
    key(ed.canvas, "ArrowDown", ctrl=True)
    key(ed.canvas, " ")
    key(ed.canvas, "u")  # run up to the two chosen nodes: they and what they need, nothing after
    assert ed.result is not None and set(ed.result.nodes) == {"product", "prompt", "image_prompt"}


def test_escape_says_tab_now_leaves_and_leaving_restarts_tab_from_the_ends() -> None:
    ed = Editor(product_flow(), store=False)
    vm = ed.vm
    order = reading_order(vm.boxes)
    key(ed.canvas, "Tab")
    key(ed.canvas, "Tab")
    key(ed.canvas, "Escape")
    assert not vm.selection and vm.escaped
    assert "Tab / Shift+Tab now leave the canvas" in ed.message.value
    key(ed.canvas, "f")
    assert not vm.escaped  # any other key: Tab walks the nodes again
    key(ed.canvas, "Tab")
    key(ed.canvas, "Tab")
    key(ed.canvas, "w")
    ed._on_dom({"event": "leave", "back": False})  # the helper let a Tab through: the browser moved on
    assert "Tab left the canvas" in ed.message.value
    assert vm.keyboard_focus is None and vm.key_wire is None and list(vm.selection) == [order[1]]
    key(ed.canvas, "Tab", shift=True)  # back by Shift+Tab: from the end, not from the node selected before
    assert vm.selected == order[-1]


def test_w_wires_an_output_to_a_compatible_input_by_keyboard_in_one_undo_step() -> None:
    f = product_flow()
    f.disconnect("copy.prompt")
    ed = Editor(f, store=False)
    vm = ed.vm
    ed.vm.select(["prompt"])
    before = f.dumps()
    key(ed.canvas, "w")
    kw = vm.key_wire
    assert kw is not None and kw.src == "prompt.text" and "wire from prompt.text" in ed.message.value
    key(ed.canvas, "Enter")
    assert kw.stage == "target" and kw.targets
    src_type = vm.boxes["prompt"].outputs["text"].type
    for nid, ports in kw.targets.items():  # only what the output may feed, and never itself
        assert nid != "prompt"
        assert all(can_connect(src_type, vm.boxes[nid].inputs[p].type) for p in ports)
    assert "product" not in kw.targets  # no inputs
    while kw.target != "copy":
        key(ed.canvas, "Tab")
    assert "wire prompt.text -&gt; node copy" in ed.message.value  # the message line
    key(ed.canvas, "Enter")
    assert kw.stage == "port" and kw.dst == "copy.prompt"
    key(ed.canvas, "Backspace")
    assert kw.stage == "target"
    key(ed.canvas, "Enter")
    key(ed.canvas, "Enter")
    assert vm.key_wire is None and ("prompt.text", "copy.prompt") in f.edges
    assert "wired prompt.text -> copy.prompt" in vm.message
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before
    key(ed.canvas, "w")
    key(ed.canvas, "Enter")
    key(ed.canvas, "Escape")
    assert vm.key_wire is None and "wiring cancelled" in ed.message.value and f.dumps() == before
    assert list(vm.selection) == ["prompt"]  # the first Escape only stops wiring
    key(ed.canvas, "w")
    frontend(ed.canvas, "mouse_down", x=900.0, y=500.0)  # a press ends it too
    assert vm.key_wire is None and f.dumps() == before


def test_an_image_output_is_offered_only_inputs_that_take_an_image() -> None:
    ed = Editor(product_flow(), store=False)
    vm = ed.vm
    vm.select(["picture"])
    key(ed.canvas, "w")
    key(ed.canvas, "Enter")
    kw = vm.key_wire
    assert kw is not None and kw.stage == "target" and kw.targets
    assert all(vm.boxes[n].inputs[p].type in ("image", "any") for n, ps in kw.targets.items() for p in ps)
    before = ed.flow.dumps()
    key(ed.canvas, "x", ctrl=True)  # any other key stops wiring and acts (here: cut the selection)
    assert vm.key_wire is None and "picture" not in ed.flow.nodes
    key(ed.canvas, "z", ctrl=True)
    assert ed.flow.dumps() == before
    vm.select(["copy_out"])
    key(ed.canvas, "w")
    assert vm.key_wire is None and "copy_out has no outputs to wire" in ed.message.value


def test_shift_w_picks_the_focused_nodes_wires_and_delete_removes_one() -> None:
    f = product_flow()
    ed = Editor(f, store=False)
    vm = ed.vm
    vm.select(["prompt"])
    before = f.dumps()
    key(ed.canvas, "W", shift=True)
    assert vm.selected_edge == ("product.value", "prompt.product") and not vm.selection
    assert "(1 of 2): Delete removes it" in ed.message.value
    key(ed.canvas, "W", shift=True)
    assert vm.selected_edge == ("prompt.text", "copy.prompt") and vm.focus == "prompt"
    key(ed.canvas, "Delete")
    assert ("prompt.text", "copy.prompt") not in f.edges and len(f.edges) == 5
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before


class Recorder:
    """A canvas fake that records the strokes drawn and the style each was drawn in."""

    def __init__(self) -> None:
        self.strokes: list[tuple[str, str, tuple[Any, ...]]] = []
        self.stroke_style = ""
        self.dash: list[float] = []

    def set_line_dash(self, dash: list[float]) -> None:
        self.dash = dash

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> None:
            if name.startswith("stroke"):
                self.strokes.append((name, self.stroke_style, args))
        return call


def test_the_focus_ring_and_the_keyboard_wire_are_drawn_apart_from_the_selection() -> None:
    ed = Editor(product_flow(), store=False)
    vm = ed.vm
    key(ed.canvas, "Tab")
    key(ed.canvas, "ArrowRight", ctrl=True)
    c = Recorder()
    draw_key_focus(c, vm)
    rings = [s for s in c.strokes if s[1] == FOCUS_COLOR]
    b = vm.boxes["prompt"]
    assert len(rings) == 1 and rings[0][0] == "stroke_rect"
    x, y, w, h = rings[0][2]
    assert x < b.x - 2 and y < b.y - 2 and w > b.w + 4  # outside the selection outline
    key(ed.canvas, "w")
    key(ed.canvas, "Enter")
    c = Recorder()
    draw_key_focus(c, vm)
    names = [s[0] for s in c.strokes]
    assert names.count("stroke_circle") == 2 and "stroke" in names  # both ports ringed, the wire drawn
    assert any(s[1] == WIRE_COLOR and s[0] == "stroke_rect" for s in c.strokes)  # the candidate node
    kw = vm.key_wire
    assert kw is not None and kw.target is not None
    ed.flow.remove(kw.target)  # a cell removes the candidate while wiring: nothing breaks
    c = Recorder()
    draw_key_focus(c, vm)
    assert [s[0] for s in c.strokes].count("stroke_circle") == 1
    key(ed.canvas, "Enter")
    key(ed.canvas, "Enter")
    assert vm.key_wire is None and "cannot wire" in vm.message
    vm.select(["picture"])  # a click: no ring (the selection outline shows it)
    c = Recorder()
    draw_key_focus(c, vm)
    assert not c.strokes and vm.focus == "picture"


def test_nearest_prefers_the_node_in_line() -> None:
    ed = Editor(product_flow(), store=False)
    boxes = ed.vm.boxes
    assert nearest(boxes, "prompt", 1, 0) == "copy"
    assert nearest(boxes, "prompt", 0, 1) == "image_prompt"
    assert nearest(boxes, "product", -1, 0) is None


def test_the_menu_key_opens_the_menu_of_the_focused_node_or_selected_wire_wherever_the_pointer_is() -> None:
    ed = Editor(product_flow(), store=False)
    vm = ed.vm
    frontend(ed.canvas, "mouse_move", x=3, y=3)  # the pointer rests on empty canvas
    assert vm.hit(3, 3).kind == "empty"
    key(ed.canvas, "Tab")
    key(ed.canvas, "ArrowRight", ctrl=True)
    key(ed.canvas, " ")  # product and prompt selected, the focus on prompt
    key(ed.canvas, "F10", shift=True)
    assert vm.popup is not None and vm.popup.kind == "menu"
    assert [i.label for i in vm.popup.items][:2] == ["Copy 2 nodes", "Cut 2 nodes"]  # the selection's menu
    assert list(vm.selection) == ["product", "prompt"]
    key(ed.canvas, "Escape")
    key(ed.canvas, "Escape")
    key(ed.canvas, "Tab")
    key(ed.canvas, "W", shift=True)  # the focused node's first wire
    assert vm.selected_edge is not None
    vm.set_focus(None)
    key(ed.canvas, "ContextMenu")
    assert vm.popup is not None and any(i.label.startswith("Delete wire") for i in vm.popup.items)
    key(ed.canvas, "Escape")
    key(ed.canvas, "Escape")  # nothing focused or selected: the canvas menu at the pointer
    vm.set_focus(None)
    key(ed.canvas, "ContextMenu")
    assert vm.popup is not None and any(i.label.startswith("Add node") for i in vm.popup.items)
