"""Opening loop, map and subflow bodies in place: edit with the same tools, written back at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbflow import Flow
from nbflow.widget import Editor
from nbflow.widget.bodies import open_body
from nbflow.widget.style import HEADER_H

from .conftest import frontend, key


def body() -> dict:
    """A body: text in -> template -> text out."""
    return {"nbflow": 1, "name": "body", "nodes": [
        {"id": "text", "type": "input.text", "params": {"default": "x"}},
        {"id": "shout", "type": "template", "params": {"template": "{{text}}!"}},
        {"id": "out", "type": "output", "params": {"name": "text"}}],
        "edges": [{"from": "text.value", "to": "shout.text"}, {"from": "shout.text", "to": "out.value"}],
        "layout": {"nodes": {"text": {"x": 0, "y": 0}, "shout": {"x": 260, "y": 0}, "out": {"x": 520, "y": 0}}}}


def parent(tmp_path: Path) -> Flow:
    (tmp_path / "sub.json").write_text(json.dumps(body()))
    f = Flow("parent")
    f.source = str(tmp_path / "parent.json")
    f.add("input.text", id="topic", default="hi", x=0, y=0)
    f.add("subflow", id="inner", flow=body(), x=260, y=0)
    f.add("subflow", id="byfile", path="sub.json", x=260, y=240)
    f.add("loop", id="again", flow=body(), max_iterations=2, x=520, y=240)
    f.connect("topic.value", "inner.text")
    return f


def at(ed: Editor, node: str) -> tuple[float, float]:
    b = ed.vm.boxes[node]
    return ed.vm.view.to_screen(b.x + b.w / 2, b.y + HEADER_H / 2)


def test_open_body_gives_the_embedded_and_the_referenced_flow(tmp_path: Path) -> None:
    f = parent(tmp_path)
    b = open_body(f, "inner")
    assert set(b.flow.nodes) == {"text", "shout", "out"} and b.path is None
    b2 = open_body(f, "byfile")
    assert b2.path == tmp_path / "sub.json"


def test_double_click_opens_a_body_edit_and_go_back_undoably(tmp_path: Path) -> None:
    f = parent(tmp_path)
    ed = Editor(f, store=False)
    helper = ed.helper
    assert helper is not None
    x, y = at(ed, "inner")
    frontend(helper, "dblclick", x=x, y=y)
    assert ed.flow is not f and set(ed.flow.nodes) == {"text", "shout", "out"}
    assert [b.description for b in ed.crumb_links] == ["parent ›"] and "inner" in ed.crumbs.value
    assert ed.crumb_bar.layout.display == "flex"
    # edit the body with the same tools: duplicate the input node with the keyboard
    sx, sy = at(ed, "text")
    frontend(ed.canvas, "mouse_down", x=sx, y=sy)
    frontend(ed.canvas, "mouse_up", x=sx, y=sy)
    key(ed.canvas, "d", ctrl=True)
    assert "text_2" in ed.flow.nodes
    # written back into the parent at once: the subflow node gains the new input port
    assert "text_2" in {n["id"] for n in f.node("inner").params["flow"]["nodes"]}
    assert "text_2" in ed.vm.boxes["text_2"].id
    key(ed.canvas, "Escape")  # clears the selection
    key(ed.canvas, "Escape")  # nothing selected: back up
    assert ed.flow is f and ed.vm.selected == "inner"
    assert ed.crumb_bar.layout.display == "none"
    assert ed.vm.history.labels[0][-1] == "edit body of inner"
    key(ed.canvas, "z", ctrl=True)
    assert "text_2" not in {n["id"] for n in f.node("inner").params["flow"]["nodes"]}


def test_a_referenced_body_is_saved_to_its_file(tmp_path: Path) -> None:
    f = parent(tmp_path)
    ed = Editor(f, store=False)
    ed.vm.select(["byfile"])
    key(ed.canvas, "Enter")
    assert ed.flow.source is not None and "byfile (sub.json)" in ed.crumbs.value
    ed.vm.add_node("template", template="more {{x}}")
    ed._body_changed()
    saved = json.loads((tmp_path / "sub.json").read_text())
    assert len(saved["nodes"]) == 4
    ed.up_button.click()
    assert ed.flow is f


def test_a_loop_body_opens_from_the_context_menu(tmp_path: Path) -> None:
    ed = Editor(parent(tmp_path), store=False)
    x, y = at(ed, "again")
    ed.vm.open_menu(x, y)
    assert ed.vm.popup is not None and ed.vm.popup.items[0].label == "Open body"
    key(ed.canvas, "Enter")
    assert set(ed.flow.nodes) == {"text", "shout", "out"}


def test_a_body_the_parent_refuses_keeps_the_editor_inside(tmp_path: Path) -> None:
    f = parent(tmp_path)
    ed = Editor(f, store=False)
    ed.open_body("inner")
    ed.vm.select(["shout"])
    key(ed.canvas, "d", ctrl=True)  # a template with an unwired required input: the parent refuses it
    assert "not saved into the parent yet" in ed.message.value
    assert "required input is not connected" in ed.message.value
    assert not ed.close_body()
    assert "fix the body first" in ed.message.value
    key(ed.canvas, "z", ctrl=True)
    assert ed.close_body()


def test_plain_nodes_have_no_body(tmp_path: Path) -> None:
    ed = Editor(parent(tmp_path), store=False)
    assert not ed.open_body("topic")
    assert "no body to open" in ed.message.value


@pytest.mark.parametrize("node", ["inner", "again"])
def test_run_inside_a_body_runs_the_body(tmp_path: Path, node: str) -> None:
    ed = Editor(parent(tmp_path), store=False)
    ed.open_body(node)
    ed.run()
    assert ed.vm.status.get("out") == "done"


def test_group_a_selection_into_a_subflow_runs_the_same_and_undoes_in_one_step() -> None:
    from .builders import product_flow

    f = product_flow()
    before_run = f.run().outputs
    before = f.dumps()
    ed = Editor(f, store=False)
    ed.vm.select(["prompt", "copy"])
    key(ed.canvas, "g", ctrl=True)
    gid = ed.vm.selected
    assert gid is not None and f.node(gid).type == "subflow"
    assert "prompt" not in f.nodes and "copy" not in f.nodes
    assert ("product.value", f"{gid}.prompt_product") in f.edges
    assert (f"{gid}.copy_text", "copy_out.value") in f.edges
    assert f.run().outputs == before_run
    # the body opens in place, with its inputs and outputs
    ed.open_body(gid)
    assert {"prompt", "copy", "prompt_product", "copy_text_out"} <= set(ed.flow.nodes)
    ed.close_body()
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before


def test_group_into_a_loop_from_the_menu() -> None:
    from .builders import product_flow

    ed = Editor(product_flow(), store=False)
    ed.vm.select(["image_prompt", "picture"])
    ed.vm.open_menu(*at(ed, "picture"))
    p = ed.vm.popup
    assert p is not None
    p.index = [i.command for i in p.items].index("group:loop")
    key(ed.canvas, "Enter")
    gid = ed.vm.selected
    assert gid is not None and ed.flow.node(gid).type == "loop", ed.message.value


def test_loop_iterations_page_with_real_media_previews() -> None:
    import ipywidgets as w

    from nbflow.model.values import Media
    from nbflow.widget.panels import render_value

    png = Media("image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 32)
    pager = render_value([{"image": png, "n": 1}, {"image": png, "n": 2}])
    assert pager.label.value == "item 1 of 2"
    shown = pager.body.children[0]
    assert any(isinstance(c, w.Image) for c in shown.children)  # a picture, not JSON metadata
    pager.next.click()
    assert pager.label.value == "item 2 of 2"


@pytest.mark.parametrize("selected", [["prompt", "copy"], ["image_prompt", "picture"]])
def test_group_into_a_map_runs_the_same_and_undoes_in_one_step(selected: list[str]) -> None:
    from .builders import product_flow

    f = product_flow()
    before_run = f.run().outputs
    before = f.dumps()
    ed = Editor(f, store=False)
    ed.vm.select(selected)
    ed.vm.open_menu(*at(ed, selected[-1]))
    p = ed.vm.popup
    assert p is not None
    p.index = [i.command for i in p.items].index("group:map")
    key(ed.canvas, "Enter")
    gid = ed.vm.selected
    assert gid is not None and f.node(gid).type == "map", ed.message.value
    body = f.node(gid).params["flow"]
    inputs = [n for n in body["nodes"] if n["type"].startswith("input.")]
    # the one wire coming in carries each item: one body input named 'item', of the fed port's type
    assert [(n["id"], n["type"]) for n in inputs] == [("item", "input.text")]
    assert {"from": "item.value", "to": f"{selected[0]}.product"} in body["edges"]
    # outside: product -> one-item list -> map.items; map output (a list) -> list.item -> old target
    wrap = next(a for a, b in f.edges if b == f"{gid}.items").split(".")[0]
    assert f.node(wrap).type == "list" and ("product.value", f"{wrap}.in1") in f.edges
    out = next(b for a, b in f.edges if a.startswith(f"{gid}.")).split(".")[0]
    assert f.node(out).type == "list.item"
    assert f.run().outputs == before_run
    # exported JSON: the map node with its embedded body, no item_input needed
    saved = json.loads(f.dumps())
    node = next(n for n in saved["nodes"] if n["id"] == gid)
    assert node["type"] == "map" and "item_input" not in node["params"]
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before


def test_group_into_a_map_names_the_item_input_when_item_is_taken() -> None:
    from nbflow.widget.geometry import PortCache
    from nbflow.widget.grouping import group_nodes

    f = Flow("x")
    f.add("input.text", id="topic", default="tea")
    f.add("template", id="item", template="about {{t}}")
    f.add("output", id="out")
    f.connect("topic.value", "item.t")
    f.connect("item.text", "out.value")
    before = f.run().outputs
    gid = group_nodes(f, ["item"], PortCache(f.registry), kind="map")
    assert f.node(gid).params["item_input"] == "item_2"
    assert f.run().outputs == before


def test_group_into_a_map_needs_a_wire_coming_in() -> None:
    ed = Editor(Flow("x"), store=False)
    ed.vm.add_node("template", template="fixed")
    ed.vm.select(list(ed.flow.nodes))
    ed.vm.group("map")
    assert "a map needs a wire coming into the selection" in ed.vm.message
    assert ed.vm.message_level == "error" and len(ed.flow.nodes) == 1


def test_the_seed_pattern_drawn_flat_and_grouped_into_a_loop_runs_like_the_template() -> None:
    from nbflow.templates import load_template

    f = Flow("drawn")
    f.add("input.text", id="prompt", default="a ceramic teapot on a wooden table, morning light", x=0, y=0)
    f.add("input.text", id="feedback", default="", required=False, x=0, y=200)
    f.add("template", id="full_prompt", template="{{prompt}}\n{{feedback}}", x=260, y=0)
    f.add("image", id="draw", x=520, y=0)
    f.add("template", id="judge", x=520, y=200,
          template="Score from 0 to 1 how well this image shows: {{prompt}}. Say what to change.")
    schema = {"type": "object", "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1},
                                               "critique": {"type": "string"}}, "required": ["score", "critique"]}
    f.add("vision", id="score_it", json_schema=schema, x=780, y=100)
    f.add("json.extract", id="score_of", path="$.score", x=1040, y=0)
    f.add("json.extract", id="critique_of", path="$.critique", x=1040, y=200)
    for n, y in (("image", 0), ("score", 200), ("critique", 400)):
        f.add("output", id=n, x=1300, y=y)
    for a, b in (("prompt.value", "full_prompt.prompt"), ("feedback.value", "full_prompt.feedback"),
                 ("full_prompt.text", "draw.prompt"), ("full_prompt.text", "judge.prompt"),
                 ("draw.image", "score_it.image"), ("judge.text", "score_it.prompt"),
                 ("score_it.json", "score_of.data"), ("score_it.json", "critique_of.data"),
                 ("draw.image", "image.value"), ("score_of.value", "score.value"),
                 ("critique_of.value", "critique.value")):
        f.connect(a, b)
    ed = Editor(f, store=False)
    ed.vm.select(["full_prompt", "draw", "judge", "score_it", "score_of", "critique_of"])
    ed.vm.group("loop")
    gid = ed.vm.selected
    assert gid is not None and f.node(gid).type == "loop", ed.vm.message
    # regenerate with the critique until the score is good: the loop's params, as in the Params tab
    f.set_params(gid, max_iterations=5, feedback={"critique_of_value": "full_prompt_feedback"},
                 until=[{"path": "$.score_of_value", "op": ">=", "value": 0.8}])
    got = f.run()
    want = load_template("generate-score-regenerate").run()
    assert got.nodes[gid].outputs["count"] == want.nodes["attempts"].outputs["count"] > 1
    assert got.nodes[gid].outputs["converged"] is True
    assert got.outputs["score"] == want.outputs["score"] and got.outputs["image"] == want.outputs["image"]
    # and it opens in place with its inputs and outputs at the edges
    ed.open_body(gid)
    from nbflow.widget.rails import rail_ports

    assert {(r.side, r.name) for r in rail_ports(ed.vm)} >= {
        ("in", "full_prompt_prompt"), ("in", "full_prompt_feedback"), ("out", "draw_image"),
        ("out", "score_of_value"), ("out", "critique_of_value")}
