"""An opened body's inputs and outputs as ports at the canvas edges: drawn there, and wireable."""

from __future__ import annotations

import json
from pathlib import Path

from nbflow import Flow
from nbflow.widget import Editor
from nbflow.widget.rails import NEW_INPUT, NEW_OUTPUT, RailPort, rail_ports
from nbflow.widget.style import HEADER_H, ROW_H

from .conftest import frontend, key
from .test_bodies import body


def two_inputs() -> dict:
    """A body with inputs 'text' (feeding both placeholders) and 'tone' (feeding nothing yet), output 'text'."""
    b = body()
    b["nodes"].append({"id": "tone", "type": "input.text", "params": {"default": "calm"}})
    b["layout"]["nodes"]["tone"] = {"x": 0, "y": 200}
    b["nodes"][1]["params"]["template"] = "{{text}}!{{mood}}"
    b["edges"].append({"from": "text.value", "to": "shout.mood"})
    return b


def parent(tmp_path: Path) -> Flow:
    """A parent flow saved to a file, with an embedded body and one referenced by path, then loaded."""
    (tmp_path / "sub.json").write_text(json.dumps(two_inputs(), indent=2) + "\n")
    f = Flow("parent")
    f.source = str(tmp_path / "parent.json")
    f.add("input.text", id="topic", default="hi", x=0, y=0)
    f.add("subflow", id="inner", flow=two_inputs(), x=260, y=0)
    f.add("subflow", id="byfile", path="sub.json", x=260, y=240)
    f.connect("topic.value", "inner.text")
    f.save(tmp_path / "parent.json")
    return Flow.load(tmp_path / "parent.json")


def rail(ed: Editor, name: str, side: str) -> RailPort:
    return next(r for r in rail_ports(ed.vm) if r.name == name and r.side == side)


def drag(ed: Editor, a: tuple[float, float], b: tuple[float, float]) -> None:
    frontend(ed.canvas, "mouse_down", x=a[0], y=a[1])
    frontend(ed.canvas, "mouse_move", x=(a[0] + b[0]) / 2, y=(a[1] + b[1]) / 2)
    frontend(ed.canvas, "mouse_move", x=b[0], y=b[1])
    frontend(ed.canvas, "mouse_up", x=b[0], y=b[1])


def port_at(ed: Editor, node: str, port: str, is_input: bool) -> tuple[float, float]:
    p = ed.vm.boxes[node].port(port, is_input)
    assert p is not None
    return ed.vm.view.to_screen(p.x, p.y)


def test_an_opened_body_shows_its_inputs_left_and_outputs_right(tmp_path: Path) -> None:
    ed = Editor(parent(tmp_path), store=False)
    assert not ed.vm.rails
    ed.open_body("inner")
    ins = [(r.name, r.type) for r in rail_ports(ed.vm) if r.side == "in"]
    outs = [r.name for r in rail_ports(ed.vm) if r.side == "out"]
    assert ins == [("text", "text"), ("tone", "text"), ("+", "any")] and outs == ["text", "+"]
    assert all(r.x < 20 for r in rail_ports(ed.vm) if r.side == "in")
    assert all(r.x > ed.vm.view.width - 20 for r in rail_ports(ed.vm) if r.side == "out")
    # nodes are fitted clear of the edge ports' names
    left = min(ed.vm.view.to_screen(b.x, b.y)[0] for b in ed.vm.boxes.values())
    assert left >= 100
    # hovering the + says what it does
    plus = rail(ed, "+", "in")
    frontend(ed.canvas, "mouse_move", x=plus.x, y=plus.y)
    assert ed.vm.tooltip_at(plus.x, plus.y) == ["new body input: drag to a node's input"]
    ed.close_body()
    assert not ed.vm.rails


def test_wire_from_a_left_edge_port_feeds_the_parent_node(tmp_path: Path) -> None:
    f = parent(tmp_path)
    ed = Editor(f, store=False)
    ed.open_body("inner")
    tone = rail(ed, "tone", "in")
    drag(ed, (tone.x, tone.y), port_at(ed, "shout", "mood", True))
    assert ("tone.value", "shout.mood") in ed.flow.edges, ed.vm.message
    # written back into the parent node's params at once
    assert {"from": "tone.value", "to": "shout.mood"} in f.node("inner").params["flow"]["edges"]
    assert f.run(topic="tea").nodes["inner"].outputs["text"] == "tea!calm"
    key(ed.canvas, "Escape")
    key(ed.canvas, "Escape")
    assert ed.flow is f
    key(ed.canvas, "z", ctrl=True)
    assert {"from": "tone.value", "to": "shout.mood"} not in f.node("inner").params["flow"]["edges"]


def test_new_body_input_and_output_from_the_plus_ports(tmp_path: Path) -> None:
    f = parent(tmp_path)
    ed = Editor(f, store=False)
    ed.open_body("inner")
    plus_in = rail(ed, "+", "in")
    drag(ed, (plus_in.x, plus_in.y), port_at(ed, "shout", "mood", True))
    assert ("mood.value", "shout.mood") in ed.flow.edges and ed.flow.node("mood").type == "input.text"
    assert "add body input mood" in ed.vm.message
    plus_out = rail(ed, "+", "out")
    drag(ed, port_at(ed, "shout", "text", False), (plus_out.x, plus_out.y))
    assert ed.flow.node("text_2").type == "output", ed.vm.message
    assert [r.name for r in rail_ports(ed.vm) if r.side == "out"] == ["text", "text_2", "+"]
    # the parent's node gains the input and output ports
    parent_vm = ed._bodies[-1][1]
    assert "mood" in parent_vm.boxes["inner"].inputs and "text_2" in parent_vm.boxes["inner"].outputs
    # a wire onto an existing right-edge port feeds that output (replacing what fed it)
    out = rail(ed, "text", "out")
    drag(ed, port_at(ed, "mood", "value", False), (out.x, out.y))
    assert ("mood.value", "out.value") in ed.flow.edges, ed.vm.message
    # undo inside the body, one step each
    key(ed.canvas, "z", ctrl=True)
    key(ed.canvas, "z", ctrl=True)
    key(ed.canvas, "z", ctrl=True)
    assert "mood" not in ed.flow.nodes and "text_2" not in ed.flow.nodes


def test_a_referenced_body_file_is_edited_in_place_deterministically(tmp_path: Path) -> None:
    f = parent(tmp_path)
    parent_before = (tmp_path / "parent.json").read_text()
    ed = Editor(f, store=False)
    ed.open_body("byfile")
    tone = rail(ed, "tone", "in")
    drag(ed, (tone.x, tone.y), port_at(ed, "shout", "mood", True))
    written = (tmp_path / "sub.json").read_text()
    assert {"from": "tone.value", "to": "shout.mood"} in json.loads(written)["edges"]
    assert written == Flow.load(tmp_path / "sub.json").dumps()  # the flow file format, byte for byte
    ed.close_body()
    # the parent keeps its reference; its own file is untouched
    assert f.node("byfile").params == {"path": "sub.json"}
    assert (tmp_path / "parent.json").read_text() == parent_before
    assert f.run(topic="tea").nodes["byfile"].outputs["text"] == "x!calm"


def test_edge_ports_follow_the_canvas_size_not_the_pan(tmp_path: Path) -> None:
    ed = Editor(parent(tmp_path), store=False)
    ed.open_body("inner")
    before = rail_ports(ed.vm)
    ed.vm.view.ox += 300
    assert rail_ports(ed.vm) == before
    assert before[0].y < before[1].y and HEADER_H + ROW_H < 60
    assert {r.node for r in before} >= {NEW_INPUT, NEW_OUTPUT}


def test_a_body_without_a_layout_is_laid_out_when_opened_and_not_written_for_that() -> None:
    from nbflow.templates import load_template

    f = load_template("generate-score-regenerate")
    before = f.dumps()
    ed = Editor(f, store=False)
    ed.open_body("attempts")
    spots = {(b.x, b.y) for b in ed.vm.boxes.values()}
    assert len(spots) == len(ed.vm.boxes) > 5  # no two nodes on the same spot
    ed.close_body()
    assert f.dumps() == before and not ed.vm.history.labels[0]


def test_one_gesture_in_a_body_is_one_undo_step_in_the_parent(tmp_path: Path) -> None:
    f = parent(tmp_path)
    before = f.dumps()
    ed = Editor(f, store=False)
    ed.open_body("inner")
    plus_in = rail(ed, "+", "in")
    # adds a node, takes the old wire off (the body is briefly invalid) and wires the new input
    drag(ed, (plus_in.x, plus_in.y), port_at(ed, "shout", "mood", True))
    assert "mood" in {n["id"] for n in f.node("inner").params["flow"]["nodes"]}
    parent_vm = ed._bodies[-1][1]
    assert parent_vm.history.labels[0] == ["edit body of inner"]
    ed.close_body()
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before
