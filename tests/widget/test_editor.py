"""The Editor widget driven by simulated frontend events: drawing, editing, panels, cell edits."""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as w
import pytest

import nbflow
from nbflow import Flow
from nbflow.widget import Editor
from nbflow.widget.style import HEADER_H

from .builders import plugin_registry, product_flow
from .conftest import CanvasWire, frontend, key


def screen(ed: Editor, node: str, port: str | None = None, is_input: bool = True) -> tuple[float, float]:
    b = ed.vm.boxes[node]
    if port is None:
        return ed.vm.view.to_screen(b.x + b.w / 2, b.y + HEADER_H / 2)
    p = b.port(port, is_input)
    assert p is not None
    return ed.vm.view.to_screen(p.x, p.y)


def mouse_drag(ed: Editor, start: tuple[float, float], end: tuple[float, float], steps: int = 5) -> None:
    frontend(ed.canvas, "mouse_down", x=start[0], y=start[1])
    for i in range(1, steps + 1):
        t = i / steps
        ed.throttle.reset()  # the simulated moves come faster than any screen; let each through
        frontend(ed.canvas, "mouse_move", x=start[0] + (end[0] - start[0]) * t,
                 y=start[1] + (end[1] - start[1]) * t)
    frontend(ed.canvas, "mouse_up", x=end[0], y=end[1])


def click(ed: Editor, at: tuple[float, float]) -> None:
    frontend(ed.canvas, "mouse_down", x=at[0], y=at[1])
    frontend(ed.canvas, "mouse_up", x=at[0], y=at[1])


def drawn_layers(ed: Editor, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which layers each frame draws."""
    seen: list[str] = []
    for name in ("grid", "edges", "nodes", "overlay"):
        orig = getattr(ed.renderer, f"draw_{name}")

        def spy(c: Any, _orig: Any = orig, _name: str = name) -> None:
            seen.append(_name)
            _orig(c)

        monkeypatch.setattr(ed.renderer, f"draw_{name}", spy)
    return seen


@pytest.fixture
def ed() -> Editor:
    e = Editor(product_flow())
    e.vm.view.ox = e.vm.view.oy = 0.0  # it opened fitted; tests want screen == world
    e.vm.view.zoom = 1.0
    return e


def test_the_editor_opens_with_the_whole_flow_in_view() -> None:
    e = Editor(product_flow(), width=500, height=300)
    x0, y0, x1, y1 = e.vm.view.visible()
    assert all(x0 <= b.x and b.x + b.w <= x1 and y0 <= b.y and b.y + b.h <= y1 for b in e.vm.boxes.values())


def test_editor_from_flow_edit_and_nbflow_editor() -> None:
    f = product_flow()
    a, b = f.edit(width=640, height=400), nbflow.Editor(f)
    assert isinstance(a, Editor) and isinstance(b, Editor)
    assert (a.canvas.width, a.canvas.height) == (640, 400)
    assert (a.canvas.layout.width, a.canvas.layout.height) == ("640px", "400px")  # fixed: no stretching
    assert len(a.canvas._canvases) == 5


def test_a_full_redraw_is_one_message(ed: Editor, wire: CanvasWire) -> None:
    ed.redraw()
    assert len(wire.messages) == 1
    wire.clear()
    frontend(ed.canvas, "client_ready")  # a new view (reload, Voila) gets a fresh frame
    assert len(wire.messages) == 1


def test_drag_redraws_only_the_overlay_per_step(ed: Editor, wire: CanvasWire,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    layers = drawn_layers(ed, monkeypatch)
    x, y = screen(ed, "copy")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    ed.throttle.reset()
    frontend(ed.canvas, "mouse_move", x=x + 10, y=y + 10)  # lifts the node off the lower layers
    layers.clear()
    wire.clear()
    for i in range(1, 6):
        ed.throttle.reset()
        frontend(ed.canvas, "mouse_move", x=x + 10 + 10 * i, y=y + 10)
    assert layers == ["overlay"] * 5
    assert len(wire.messages) == 5
    frontend(ed.canvas, "mouse_up", x=x + 60, y=y + 10)
    assert ed.flow.position("copy") == (580, 50)


def test_mouse_moves_are_throttled_but_the_drop_is_exact(ed: Editor, wire: CanvasWire) -> None:
    x, y = screen(ed, "copy")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    wire.clear()
    for i in range(1, 41):  # 40 moves in far less than 40 frames' time
        frontend(ed.canvas, "mouse_move", x=x + i, y=y)
    assert ed.throttle.dropped > 0
    assert len(wire.messages) < 40
    frontend(ed.canvas, "mouse_up", x=x + 40, y=y)
    assert ed.flow.position("copy") == (560, 40)


def test_moves_without_a_drag_draw_nothing(ed: Editor, wire: CanvasWire) -> None:
    wire.clear()
    for i in range(20):
        frontend(ed.canvas, "mouse_move", x=10 + i, y=500)
    assert wire.messages == []
    assert ed.vm.mouse == (29, 500)


def test_wire_two_nodes_with_the_mouse(ed: Editor) -> None:
    ed.flow.disconnect("picture.prompt")
    mouse_drag(ed, screen(ed, "image_prompt", "text", False), screen(ed, "picture", "prompt"))
    assert ("image_prompt.text", "picture.prompt") in ed.flow.edges
    assert "wired image_prompt.text -&gt; picture.prompt" in ed.message.value


def test_incompatible_wire_is_refused_with_a_visible_message(ed: Editor) -> None:
    before = ed.flow.dumps()
    mouse_drag(ed, screen(ed, "picture", "image", False), screen(ed, "copy", "prompt"))
    assert ed.flow.dumps() == before
    assert "#d93025" in ed.message.value
    assert "picture.image gives image, but copy.prompt takes text" in ed.message.value


def test_palette_lists_every_type_including_plugins_and_searches() -> None:
    reg = plugin_registry()
    ed = Editor(Flow(registry=reg))
    values = [v for _, v in ed.palette.options]
    assert set(values) == set(reg.types())
    assert "test.slow" in values
    ed.search.value = "image gen"
    found = [v for _, v in ed.palette.options]
    assert found[0] == "image" == ed.palette.value
    assert "llm" not in found and "test.slow" not in found
    ed.search.value = "zzz"
    assert ed.palette.options == () and ed.add_button.disabled


def test_add_from_the_palette_selects_the_new_node(ed: Editor) -> None:
    ed.search.value = "join"
    ed.add_button.click()
    nid = ed.vm.selected
    assert nid == "join_1" and ed.flow.node(nid).type == "join"
    assert ed.params.node_id == nid and "separator" in ed.params.fields
    assert not ed.undo_button.disabled


def test_delete_button_key_and_undo_redo(ed: Editor) -> None:
    click(ed, screen(ed, "copy_out"))
    assert not ed.delete_button.disabled
    ed.delete_button.click()
    assert "copy_out" not in ed.flow.nodes
    ed.undo_button.click()
    assert "copy_out" in ed.flow.nodes
    ed.redo_button.click()
    assert "copy_out" not in ed.flow.nodes
    key(ed.canvas, "z", ctrl=True)
    assert "copy_out" in ed.flow.nodes
    key(ed.canvas, "Z", ctrl=True, shift=True)
    assert "copy_out" not in ed.flow.nodes
    click(ed, screen(ed, "picture"))
    key(ed.canvas, "Delete")
    assert "picture" not in ed.flow.nodes
    assert ed.params.node_id is None


def test_zoom_buttons_and_fit(ed: Editor) -> None:
    ed.zoom_in_button.click()
    assert ed.vm.view.zoom == pytest.approx(1.25)
    ed.zoom_out_button.click()
    ed.zoom_out_button.click()
    assert ed.vm.view.zoom == pytest.approx(0.8)
    frontend(ed.canvas, "mouse_wheel", x=0, y=-120)
    assert ed.vm.view.zoom > 0.8
    ed.flow.move("image_out", 2500, 1500)
    ed.fit_button.click()
    x0, _y0, x1, y1 = ed.vm.view.visible()
    assert all(x0 <= b.x and b.x + b.w <= x1 and b.y + b.h <= y1 for b in ed.vm.boxes.values())


# -- params panel -------------------------------------------------------------------------------


def select(ed: Editor, node: str) -> None:
    click(ed, screen(ed, node))
    assert ed.params.node_id == node


def test_params_form_is_generated_from_the_schema(ed: Editor) -> None:
    select(ed, "copy")
    f = ed.params.fields
    assert isinstance(f["system"], w.Textarea)
    assert isinstance(f["provider"], w.Dropdown) and "offline" in f["provider"].options
    assert isinstance(f["model"], w.Combobox) and "offline-chat" in f["model"].options
    assert isinstance(f["api_key_env"], w.Text) and "never the key" in f["api_key_env"].placeholder
    assert isinstance(f["stream"], w.Checkbox)
    temp = f["temperature"]
    assert isinstance(temp, w.HBox)
    num, _use = temp.children
    assert isinstance(num, w.BoundedFloatText) and (num.min, num.max) == (0, 2) and num.disabled
    assert isinstance(f["json_schema"], w.Textarea)
    select(ed, "picture")
    n = ed.params.fields["n"]
    assert isinstance(n, w.BoundedIntText) and (n.min, n.max) == (1, 10)


def test_editing_params_updates_the_flow_and_the_ports(ed: Editor) -> None:
    select(ed, "prompt")
    ed.params.fields["template"].value = "Copy for {{product}} in a {{tone}} tone."
    assert ed.flow.node("prompt").params["template"] == "Copy for {{product}} in a {{tone}} tone."
    assert list(ed.vm.boxes["prompt"].inputs) == ["product", "tone"]
    select(ed, "copy")
    num, use = ed.params.fields["temperature"].children
    use.value = True
    num.value = 0.5
    assert ed.flow.node("copy").params["temperature"] == 0.5
    use.value = False
    assert "temperature" not in ed.flow.node("copy").params


def test_switching_provider_on_the_canvas_resets_a_model_that_does_not_fit(ed: Editor) -> None:
    select(ed, "copy")
    assert ed.flow.node("copy").params.get("model", "offline-chat") == "offline-chat"
    ed.params.fields["provider"].value = "openai"
    assert ed.flow.node("copy").params["model"] == "gpt-4o-mini"  # never offline-chat sent to OpenAI
    assert ed.params.fields["model"].value == "gpt-4o-mini" and ed.params.error.value == ""
    ed.params.fields["model"].value = "gpt-4o"
    ed.params.fields["provider"].value = "openai-compatible"  # any server: a model it may serve is kept
    assert ed.flow.node("copy").params["model"] == "gpt-4o"
    ed.params.fields["provider"].value = "openrouter"  # OpenRouter spells models vendor/model
    assert ed.params.fields["model"].value == "openai/gpt-4o-mini"
    ed.undo_button.click()
    assert ed.flow.node("copy").params["provider"] == "openai-compatible"


def test_enum_params_are_dropdowns() -> None:
    ed = Editor(Flow())
    ed.add_node("convert")
    dd = ed.params.fields["to"]
    assert isinstance(dd, w.Dropdown) and list(dd.options) == ["text", "number", "boolean", "json"]
    dd.value = "number"
    assert ed.flow.node("convert_1").params["to"] == "number"
    assert ed.vm.boxes["convert_1"].outputs["value"].type == "number"


def test_invalid_params_are_refused_with_the_flows_message(ed: Editor) -> None:
    select(ed, "picture")
    before = ed.flow.dumps()
    ed.params.fields["size"].value = "big"
    assert ed.flow.dumps() == before
    assert "field &#x27;params.size&#x27;" in ed.params.error.value
    select(ed, "copy")
    ed.params.fields["api_key_env"].value = "sk-abcdefghijklmnopqrstuvwxyz123456"
    assert "looks like a literal API key" in ed.params.error.value
    assert "api_key_env" not in ed.flow.node("copy").params
    ed.params.fields["api_key_env"].value = "OPENAI_API_KEY"
    assert ed.flow.node("copy").params["api_key_env"] == "OPENAI_API_KEY"
    assert ed.params.error.value == ""
    ed.params.fields["json_schema"].value = "{not json"
    assert "not valid JSON" in ed.params.error.value
    ed.params.fields["json_schema"].value = '{"type": "object", "properties": {"title": {"type": "string"}}}'
    assert "json" in ed.vm.boxes["copy"].outputs


def test_rename_in_the_panel_keeps_the_edges(ed: Editor) -> None:
    select(ed, "copy")
    ed.params.id_text.value = "blurb"
    ed.params.rename_button.click()
    assert ("prompt.text", "blurb.prompt") in ed.flow.edges and "copy" not in ed.flow.nodes
    assert ed.params.node_id == "blurb"
    ed.params.id_text.value = "prompt"
    ed.params.rename_button.click()
    assert "duplicate node id" in ed.params.error.value


# -- the same Flow object -----------------------------------------------------------------------


def test_cell_edits_appear_on_the_canvas_and_canvas_edits_in_the_flow(ed: Editor, wire: CanvasWire) -> None:
    wire.clear()
    ed.flow.add("join", id="from_cell", x=40, y=420)  # as a notebook cell would
    ed.flow.connect("copy.text", "from_cell.in1")
    assert "from_cell" in ed.vm.boxes
    assert any(e.dst == "from_cell.in1" for e in ed.vm.edges)
    assert len(wire.messages) == 2  # no loop here: each change drew at once
    mouse_drag(ed, screen(ed, "from_cell"), (300, 470))
    assert ed.flow.position("from_cell") != (40, 420)


def test_many_cell_edits_are_drawn_once_after_the_cell(wire: CanvasWire) -> None:
    async def main() -> int:
        f = Flow()
        ed = Editor(f)
        wire.clear()
        for i in range(30):
            f.add("join", id=f"j{i}")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(ed.vm.boxes) == 30
        return len(wire.messages)

    assert asyncio.run(main()) == 1


def test_close_stops_following_the_flow(ed: Editor, wire: CanvasWire) -> None:
    ed.close()
    wire.clear()
    ed.flow.add("join")
    assert wire.messages == []


def test_start_from_a_template_replaces_the_canvas_in_one_undo_step(ed: Editor) -> None:
    before = ed.flow.dumps()
    names = [v for _, v in ed.templates.options if v]
    assert "product-copy" in names and "classify-and-route" in names
    ed.templates.value = "classify-and-route"  # what choosing it in the dropdown does
    assert ed.templates.value == ""  # ready for the next choice
    assert ed.flow.name == "classify-and-route"
    assert "route" in ed.flow.nodes and set(ed.vm.boxes) == set(ed.flow.nodes)
    assert "template classify-and-route" in ed.message.value
    ed._apply(ed.vm.undo(), panels=True)
    assert ed.flow.dumps() == before


def test_unknown_template_is_a_message_not_an_exception(ed: Editor) -> None:
    assert ed.start_from_template("nope") is False
    assert "unknown template &#x27;nope&#x27;" in ed.message.value  # html-escaped
