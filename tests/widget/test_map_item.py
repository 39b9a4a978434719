"""Which wire a map iterates: chosen when grouping, changed in the map's Params tab, run headlessly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbflow import Flow
from nbflow.cli import main
from nbflow.exceptions import WiringError
from nbflow.widget import Editor
from nbflow.widget.geometry import PortCache
from nbflow.widget.grouping import group_nodes
from nbflow.widget.mapitem import item_candidates, map_inputs, set_map_item

from .conftest import key


def two_inputs() -> Flow:
    """topic and style both feed one template: which of them should a map iterate?"""
    f = Flow("x")
    f.add("input.text", id="topic", default="tea", x=0, y=0)
    f.add("input.text", id="style", default="bold", x=0, y=160)
    f.add("template", id="tpl", template="{{t}} in {{s}}", x=260, y=0)
    f.add("output", id="out", x=520, y=0)
    f.connect("topic.value", "tpl.t")
    f.connect("style.value", "tpl.s")
    f.connect("tpl.text", "out.value")
    return f


def body_input_feeds(f: Flow, gid: str) -> dict[str, str]:
    """Body input id -> the template port it feeds."""
    body = f.node(gid).params["flow"]
    return {e["from"].split(".")[0]: e["to"] for e in body["edges"] if e["from"].split(".")[0] in
            {n["id"] for n in body["nodes"] if n["type"].startswith("input.")}}


def test_shift_m_asks_which_wire_carries_the_item_and_groups_with_the_choice() -> None:
    f = two_inputs()
    before, before_run = f.dumps(), f.run().outputs
    ed = Editor(f, store=False)
    ed.vm.select(["tpl"])
    key(ed.canvas, "M", shift=True)
    p = ed.vm.popup
    assert p is not None and [i.command for i in p.items] == ["group:map:topic.value", "group:map:style.value"]
    assert "map over which input" in ed.vm.message and f.dumps() == before  # nothing grouped yet
    key(ed.canvas, "ArrowDown")
    key(ed.canvas, "Enter")
    gid = ed.vm.selected
    assert gid is not None and f.node(gid).type == "map", ed.message.value
    assert body_input_feeds(f, gid)["item"] == "tpl.s"  # style is iterated ...
    assert ("topic.value", f"{gid}.tpl_t") in f.edges  # ... topic goes to every item unchanged
    wrap = next(a for a, b in f.edges if b == f"{gid}.items").split(".")[0]
    assert ("style.value", f"{wrap}.in1") in f.edges
    assert f.run().outputs == before_run
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == before


def test_the_default_item_is_the_wire_that_gives_a_list() -> None:
    f = Flow("x")
    f.add("input.text", id="topic", default="tea")
    f.add("list", id="many", count=2)
    f.add("list", id="both", count=2)
    f.connect("topic.value", "both.in1")
    f.connect("many.list", "both.in2")
    assert [ref for ref, _ in item_candidates(f, ["both"], PortCache(f.registry))] == ["many.list", "topic.value"]
    gid = group_nodes(f, ["both"], PortCache(f.registry), kind="map")
    assert body_input_feeds(f, gid)["item"] == "both.in2"


def test_changing_the_item_in_the_panel_swaps_the_wires_and_undoes() -> None:
    f = two_inputs()
    before_run = f.run().outputs
    ed = Editor(f, store=False)
    gid = group_nodes(f, ["tpl"], PortCache(f.registry), kind="map")
    ed.vm.external_change()
    ed.vm.select([gid])
    ed._sync_panels(force=True)
    dd = ed.params.fields["item_input"]
    assert dd.value == "item" and set(dd.options) >= {"item", "tpl_s"}
    grouped = f.dumps()
    dd.value = "tpl_s"  # the panel commits at once
    assert map_inputs(f, gid)[0] == "tpl_s" and f.node(gid).params["item_input"] == "tpl_s"
    wrap = next(a for a, b in f.edges if b == f"{gid}.items").split(".")[0]
    # style now rides in the one-item list; topic goes to every item as the map's 'item' port
    assert ("style.value", f"{wrap}.in1") in f.edges and ("topic.value", f"{gid}.item") in f.edges
    assert "maps over style.value" in ed.message.value
    assert f.run().outputs == before_run
    saved = next(n for n in json.loads(f.dumps())["nodes"] if n["id"] == gid)
    assert saved["params"]["item_input"] == "tpl_s"  # saved in the flow file
    key(ed.canvas, "z", ctrl=True)
    assert f.dumps() == grouped


def real_map() -> Flow:
    """A map over a real list, whose body takes a word (the item) and a suffix (the same for all)."""
    body = {"nbflow": 1, "name": "b", "nodes": [
        {"id": "word", "type": "input.text", "params": {}},
        {"id": "suffix", "type": "input.text", "params": {}},
        {"id": "tpl", "type": "template", "params": {"template": "{{w}}{{s}}"}},
        {"id": "o", "type": "output", "params": {"name": "text"}}],
        "edges": [{"from": "word.value", "to": "tpl.w"}, {"from": "suffix.value", "to": "tpl.s"},
                  {"from": "tpl.text", "to": "o.value"}]}
    f = Flow("m")
    f.add("input.json", id="words", default=["a", "b"])
    f.add("input.json", id="ends", default=["!", "?"])
    f.add("input.text", id="bang", default="!")
    f.add("map", id="m", flow=body, item_input="word")
    f.add("output", id="out")
    f.connect("words.value", "m.items")
    f.connect("ends.value", "m.suffix")
    f.connect("m.text", "out.value")
    return f


def test_choosing_a_list_wire_iterates_it_and_the_old_list_goes_to_every_item() -> None:
    f = real_map()
    assert f.run().outputs["out"] == ['a["!", "?"]', 'b["!", "?"]']
    said = set_map_item(f, "m", "suffix", PortCache(f.registry))
    assert ("ends.value", "m.items") in f.edges and ("words.value", "m.word") in f.edges, said
    assert f.node("m").params["item_input"] == "suffix"
    assert len(f.run().outputs["out"]) == 2


def test_a_wire_that_gives_no_list_cannot_be_iterated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = real_map()
    f.disconnect("m.suffix")
    f.connect("bang.value", "m.suffix")
    before = f.dumps()
    ed = Editor(f, store=False)
    ed.vm.select(["m"])
    ed._sync_panels(force=True)
    ed.params.fields["item_input"].value = "suffix"
    assert "m.items takes a list, but bang.value gives text" in ed.params.error.value
    assert f.dumps() == before and ed.params.fields["item_input"].value == "word"  # shows what the map keeps
    assert not ed.vm.history.can_undo
    # drawing that wire on the canvas is refused too, with the same reason
    assert not ed.vm.wire("bang.value", "m.items")
    assert "m.items takes a list, but bang.value gives text" in ed.vm.message and f.dumps() == before
    f.disconnect("m.items")
    with pytest.raises(WiringError, match="m.items takes a list, but bang.value gives text"):
        f.connect("bang.value", "m.items")  # drawing that wire is refused too
    # the same file written by hand: nbflow run refuses it in one line naming node and port
    bad = json.loads(before)
    bad["edges"] = [e for e in bad["edges"] if e["to"] != "m.items"] + [{"from": "bang.value", "to": "m.items"}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code = main(["run", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "m.items takes a list, but bang.value gives text" in err and "'m'" in err and "'items'" in err


def test_nbflow_run_maps_over_the_chosen_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = real_map()
    set_map_item(f, "m", "suffix", PortCache(f.registry))
    path = tmp_path / "m.json"
    f.save(path)
    assert json.loads(path.read_text())["nodes"][3]["params"]["item_input"] == "suffix"
    code = main(["run", str(path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["outputs"]["out"] == ['["a", "b"]!', '["a", "b"]?']


def test_nbflow_run_names_node_and_port_when_the_items_are_no_list(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    f = real_map()
    f.set_params("words", default="hello")  # json: known to be a list only when it runs
    path = tmp_path / "m.json"
    f.save(path)
    code = main(["run", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1] == "nbflow: error: node 'm': input 'items': expected a list, got str"
