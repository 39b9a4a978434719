"""Canvas frames and reroute points in the flow file (format version 3): layout only, never semantics.

They round-trip byte for byte, follow a renamed node, leave no trace of a deleted wire, are refused
with one clear line when malformed, and change nothing a run does (outputs and cache keys alike).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nbflow
from nbflow.exceptions import FlowFormatError
from nbflow.model.io import loads_spec, read_spec
from nbflow.model.spec import FrameSpec, Position, WireLayout

ROOT = Path(__file__).resolve().parent.parent


def framed() -> nbflow.Flow:
    flow = nbflow.Flow("framed")
    flow.add("input.text", id="topic", default="tea", x=0, y=0)
    flow.add("template", id="prompt", template="About {{topic}}.", x=300, y=0)
    flow.add("output", id="out", x=600, y=0)
    flow.connect("topic.value", "prompt.topic")
    flow.connect("prompt.text", "out.value")
    lay = flow.spec.layout.model_copy(deep=True)
    lay.frames = [FrameSpec(id="frame_1", title="Inputs", x=-20, y=-40, w=260, h=180.5, color="#FFF3BF"),
                  FrameSpec(id="note", title="Why", text="Keep the prompt short.\nOne line.", x=300, y=200,
                            w=240, h=120)]
    lay.wires = [WireLayout.model_validate({"from": "prompt.text", "to": "out.value",
                                            "via": [{"x": 450, "y": 160}, {"x": 520.25, "y": 90}]})]
    flow.set_layout(lay)
    return flow


def test_frames_and_reroutes_are_written_in_layout_and_round_trip(tmp_path: Path) -> None:
    flow = framed()
    text = flow.dumps()
    data = json.loads(text)
    assert data["nbflow"] == 3
    assert data["layout"]["frames"][0] == {"id": "frame_1", "title": "Inputs", "x": -20, "y": -40, "w": 260,
                                           "h": 180.5, "color": "#fff3bf"}
    assert data["layout"]["frames"][1]["text"] == "Keep the prompt short.\nOne line."
    assert data["layout"]["wires"] == [{"from": "prompt.text", "to": "out.value",
                                        "via": [{"x": 450, "y": 160}, {"x": 520.25, "y": 90}]}]
    p = flow.save(tmp_path / "f.json")
    again = nbflow.load(p)
    assert again.dumps() == text  # load + save is byte-identical
    assert [f.id for f in again.spec.layout.frames] == ["frame_1", "note"]


def test_layout_changes_nothing_a_run_does() -> None:
    plain, with_layout = framed(), framed()
    plain.set_layout(plain.spec.layout.model_copy(update={"frames": [], "wires": []}))
    a, b = plain.run(), with_layout.run()
    assert a.outputs == b.outputs == {"out": "About tea."}
    assert {k: r.key for k, r in a.nodes.items()} == {k: r.key for k, r in b.nodes.items()}
    # and the semantic part of the file is the same
    da, db = json.loads(plain.dumps()), json.loads(with_layout.dumps())
    assert {k: v for k, v in da.items() if k != "layout"} == {k: v for k, v in db.items() if k != "layout"}


def test_reroute_points_follow_a_renamed_node_and_go_with_a_deleted_wire() -> None:
    flow = framed()
    flow.rename("prompt", "ask")
    assert json.loads(flow.dumps())["layout"]["wires"][0]["from"] == "ask.text"
    flow.disconnect("out.value")
    assert "wires" not in json.loads(flow.dumps())["layout"]
    flow.remove("ask")
    assert [f["id"] for f in json.loads(flow.dumps())["layout"]["frames"]] == ["frame_1", "note"]


def test_wires_are_written_in_a_fixed_order() -> None:
    flow = framed()
    lay = flow.spec.layout.model_copy(deep=True)
    lay.wires.append(WireLayout.model_validate({"from": "topic.value", "to": "prompt.topic",
                                                "via": [Position(x=100, y=100)]}))
    flow.set_layout(lay)
    first = flow.dumps()
    lay = flow.spec.layout.model_copy(deep=True)
    lay.wires.reverse()
    flow.set_layout(lay)
    assert flow.dumps() == first
    assert [w["to"] for w in json.loads(first)["layout"]["wires"]] == ["out.value", "prompt.topic"]


@pytest.mark.parametrize(("frames", "error"), [
    ([{"id": "a", "x": 0, "y": 0, "w": 10, "h": 10, "color": "red"}], "frame color 'red' must be '#rrggbb'"),
    ([{"id": "a", "x": 0, "y": 0, "w": 0, "h": 10}], "layout.frames[0].w: Input should be greater than 0"),
    ([{"id": "a", "x": 0, "y": 0, "w": 5, "h": 5}, {"id": "a", "x": 0, "y": 0, "w": 5, "h": 5}],
     "duplicate frame id 'a'"),
    ([{"id": "1x", "x": 0, "y": 0, "w": 5, "h": 5}], "frame id '1x' must start with a letter"),
])
def test_malformed_frames_are_refused_with_one_line(frames: list, error: str) -> None:
    text = json.dumps({"nbflow": 3, "nodes": [], "edges": [], "layout": {"frames": frames}})
    with pytest.raises(FlowFormatError, match=error.replace("[", r"\[").replace("]", r"\]")) as exc:
        loads_spec(text, source="f.json")
    assert "\n" not in str(exc.value)


def test_a_reroute_needs_points_and_node_dot_port_ends() -> None:
    bad = {"nbflow": 3, "nodes": [], "edges": [], "layout": {"wires": [{"from": "a", "to": "b.x", "via": []}]}}
    with pytest.raises(FlowFormatError, match="layout.wires"):
        loads_spec(json.dumps(bad))


def test_version_2_files_migrate_to_3_unchanged_apart_from_the_version() -> None:
    v2 = ROOT / "tests" / "data" / "v2_product_copy.json"
    spec = read_spec(v2)
    assert spec.nbflow == 3 and spec.layout.frames == [] and spec.layout.wires == []
    old, new = json.loads(v2.read_text()), json.loads(nbflow.load(v2).dumps())
    assert old.pop("nbflow") == 2 and new.pop("nbflow") == 3
    assert old == new


def test_an_older_format_version_4_is_refused_by_number() -> None:
    with pytest.raises(FlowFormatError, match="format version 4 is newer than this nbflow supports"):
        loads_spec('{"nbflow": 4, "nodes": []}')


def test_running_a_flow_with_frames_headless_imports_no_widget_code(tmp_path: Path) -> None:
    p = framed().save(tmp_path / "framed.json")
    code = ("import sys, nbflow; r = nbflow.load(sys.argv[1]).run(); assert r.status == 'succeeded'; "
            "bad = [m for m in sys.modules if m.startswith(('nbflow.widget', 'ipywidgets', 'ipycanvas'))]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
