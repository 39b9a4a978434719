"""Loop until a condition or a bound, with every iteration kept; map over lists; sub-flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import nbflow
from nbflow.exceptions import ParamError, WiringError
from nbflow.store import MemoryStore

from . import helpers as H


@pytest.fixture(autouse=True)
def _reset() -> None:
    H.reset()


def counter_body(step: float = 1, **add: Any) -> dict[str, Any]:
    """A body flow: n -> n + step, plus an echo of the iteration number."""
    return {"nbflow": 1, "name": "count", "nodes": [
        {"id": "n", "type": "input.number", "params": {"default": 0}},
        {"id": "iteration", "type": "input.number", "params": {"default": 0}},
        {"id": "add", "type": "test.add", "params": {"step": step, **add}},
        {"id": "n_out", "type": "output", "params": {"name": "n"}},
        {"id": "it_out", "type": "output", "params": {"name": "i"}}],
        "edges": [{"from": "n.value", "to": "add.n"}, {"from": "add.n", "to": "n_out.value"},
                  {"from": "iteration.value", "to": "it_out.value"}]}


def loop_flow(**params: Any) -> nbflow.Flow:
    f = nbflow.Flow("looping", registry=H.registry())
    f.add("input.number", id="start", default=0)
    params.setdefault("flow", counter_body())
    f.add("loop", id="loop", **params)
    for out in ("n", "iterations", "count", "converged"):
        f.add("output", id=f"o_{out}", name=out)
        f.connect(f"loop.{out}", f"o_{out}.value")
    f.connect("start.value", "loop.n")
    return f


def test_loop_until_condition_feeds_outputs_back_and_keeps_every_iteration():
    res = loop_flow(max_iterations=10, until=[{"path": "$.n", "op": ">=", "value": 3}]).run()
    assert res.status == "succeeded"
    assert res.outputs["iterations"] == [{"n": 1, "i": 1}, {"n": 2, "i": 2}, {"n": 3, "i": 3}]
    assert res.outputs["n"] == 3 and res.outputs["count"] == 3 and res.outputs["converged"] is True
    assert res.nodes["loop"].outputs["iterations"] == res.outputs["iterations"]  # in the run record
    assert H.CALLS["add"] == 3


def test_loop_stops_at_the_bound():
    res = loop_flow(max_iterations=4, until=[{"path": "$.n", "op": ">=", "value": 100}]).run({"start": 10})  # a graph input named like a run keyword
    assert res.outputs["count"] == 4 and res.outputs["converged"] is False and res.outputs["n"] == 14


def test_loop_can_fail_at_the_bound():
    res = loop_flow(max_iterations=2, until=[{"path": "$.n", "op": ">=", "value": 100}], on_max="fail").run()
    assert res.status == "failed"
    assert res.error == "node 'loop': 'until' ($.n >= 100) did not hold within max_iterations=2"


def test_loop_without_until_runs_the_bound():
    res = loop_flow(max_iterations=5).run()
    assert [it["n"] for it in res.outputs["iterations"]] == [1, 2, 3, 4, 5]


def test_a_failing_iteration_fails_the_loop_naming_it():
    res = loop_flow(max_iterations=5, flow=counter_body(fail_at=3)).run()
    assert res.status == "failed"
    assert res.error == "node 'loop': iteration 3: node 'add': refusing 3"


def test_nested_loops():
    inner = {"nbflow": 1, "name": "inner", "nodes": [
        {"id": "n", "type": "input.number"},
        {"id": "loop", "type": "loop", "params": {"flow": counter_body(), "max_iterations": 3}},
        {"id": "out", "type": "output", "params": {"name": "n"}}],
        "edges": [{"from": "n.value", "to": "loop.n"}, {"from": "loop.n", "to": "out.value"}]}
    res = loop_flow(flow=inner, max_iterations=4, until=[{"path": "$.n", "op": ">=", "value": 6}]).run()
    assert res.status == "succeeded"
    assert [it["n"] for it in res.outputs["iterations"]] == [3, 6]
    assert H.CALLS["add"] == 6


def test_explicit_feedback():
    body = {"nbflow": 1, "name": "b", "nodes": [
        {"id": "seed", "type": "input.number", "params": {"default": 0}},
        {"id": "add", "type": "test.add", "params": {"step": 2}},
        {"id": "out", "type": "output", "params": {"name": "total"}}],
        "edges": [{"from": "seed.value", "to": "add.n"}, {"from": "add.n", "to": "out.value"}]}
    f = nbflow.Flow("fb", registry=H.registry())
    f.add("loop", id="loop", flow=body, max_iterations=3, feedback={"total": "seed"})
    f.add("output", id="o")
    f.connect("loop.total", "o.value")
    assert f.run().outputs == {"o": 6}


@pytest.mark.parametrize(("params", "message"), [
    ({"flow": counter_body()}, "field 'params.max_iterations': Field required"),
    ({"flow": counter_body(), "max_iterations": 0}, "greater than or equal to 1"),
    ({"max_iterations": 2}, "give exactly one of 'path' (a flow file) or 'flow'"),
    ({"flow": counter_body(), "max_iterations": 2, "feedback": {"zz": "n"}}, "feedback: the body has no output 'zz'"),
    ({"flow": {"nbflow": 1, "nodes": [{"id": "x", "type": "nope"}]}, "max_iterations": 2},
     "node 'L': embedded flow: node 'x': unknown node type 'nope'"),
])
def test_bad_loop_params(params: dict[str, Any], message: str):
    f = nbflow.Flow("bad", registry=H.registry())
    with pytest.raises(ParamError) as info:
        f.add("loop", id="L", **params)
    assert "node 'L'" in str(info.value) and message in str(info.value)


# -- map --------------------------------------------------------------------------------------------

def map_flow(**params: Any) -> nbflow.Flow:
    f = nbflow.Flow("mapping", registry=H.registry())
    f.add("input.json", id="items")
    params.setdefault("node", {"type": "test.add", "params": {"step": 10, "sleep": 0.01}})
    f.add("map", id="each", **params)
    f.add("output", id="n")
    f.add("output", id="errors")
    f.connect("items.value", "each.items")
    f.connect("each.n", "n.value")
    f.connect("each.errors", "errors.value")
    return f


def test_map_over_a_node_keeps_order_and_respects_concurrency():
    res = map_flow(concurrency=3).run(items=list(range(12)))
    assert res.status == "succeeded"
    assert res.outputs["n"] == [i + 10 for i in range(12)]
    assert res.outputs["errors"] == []
    assert H.CALLS["node"] == 12
    assert H.PEAK["node"] == 3


def test_map_fail_fast_stops_the_rest():
    res = map_flow(concurrency=1, node={"type": "test.add", "params": {"step": 1, "fail_at": 3}}).run(
        items=[0, 1, 2, 3, 4, 5])
    assert res.status == "failed"
    assert res.error == "node 'each': item 2: node 'node': refusing 3"
    assert H.CALLS["node"] == 3  # items 3.. never started


def test_map_collect_keeps_going_and_lists_errors():
    res = map_flow(on_error="collect", node={"type": "test.add", "params": {"step": 1, "fail_at": 3}}).run(
        items=[0, 2, 1, 2])
    assert res.status == "succeeded"
    assert res.outputs["n"] == [1, None, 2, None]
    assert res.outputs["errors"] == [{"index": 1, "error": "node 'node': refusing 3"},
                                     {"index": 3, "error": "node 'node': refusing 3"}]


def test_map_refuses_rather_than_truncates():
    res = map_flow(max_items=5).run(items=list(range(6)))
    assert res.status == "failed"
    assert res.error == "node 'each': input 'items' has 6 items, over max_items=5; raise max_items to map them all"
    assert H.CALLS["node"] == 0


def test_map_bad_items():
    res = map_flow().run(items={"a": 1})
    assert res.error == "node 'each': input 'items': expected a list, got dict"
    res = map_flow(on_error="collect").run(items=["x"])
    assert res.outputs["errors"] == [{"index": 0, "error": "node 'in_n': input 'n': 'x' is not a number"}]


def test_map_over_a_flow_with_a_shared_input_and_empty_list():
    body = {"nbflow": 1, "name": "greet", "nodes": [
        {"id": "item", "type": "input.text"}, {"id": "greeting", "type": "input.text"},
        {"id": "t", "type": "template", "params": {"template": "{{greeting}}, {{item}}!"}},
        {"id": "out", "type": "output", "params": {"name": "text"}}],
        "edges": [{"from": "item.value", "to": "t.item"}, {"from": "greeting.value", "to": "t.greeting"},
                  {"from": "t.text", "to": "out.value"}]}
    f = nbflow.Flow("greet-all")
    f.add("input.json", id="names")
    f.add("input.text", id="greeting", default="Hello")
    f.add("map", id="each", flow=body)
    f.add("join", id="j", separator=" ")
    f.add("output", id="all")
    f.connect("names.value", "each.items")
    f.connect("greeting.value", "each.greeting")
    f.connect("each.text", "j.in1")
    f.connect("j.text", "all.value")
    assert f.inputs["greeting"]["default"] == "Hello"
    assert f.validate().by_id["each"].out_ports["text"].type == "list[text]"
    assert f.run(names=["Ann", "Bo"]).outputs == {"all": "Hello, Ann! Hello, Bo!"}
    assert f.run(names=[]).outputs == {"all": ""}


def test_map_over_an_llm_node_passes_text_items_unchanged():
    prov = H.CountingProvider()
    f = nbflow.Flow("llm-map")
    f.add("input.json", id="prompts")
    f.add("map", id="each", node={"type": "llm", "params": {"model": "m"}}, concurrency=2)
    f.add("output", id="texts")
    f.connect("prompts.value", "each.items")
    f.connect("each.text", "texts.value")
    res = f.run(prompts=["[1, 2]", "plain words"], providers=H.providers_with(prov))
    assert res.status == "succeeded", res.error
    assert sorted(prov.prompts) == ["[1, 2]", "plain words"]  # text items reach the port as they were
    assert prov.calls["m"] == 2
    assert res.nodes["each"].usage and res.nodes["each"].usage[0]["model"] == "m"  # usage rolls up


@pytest.mark.parametrize(("params", "message"), [
    ({"node": {"type": "test.add"}, "flow": counter_body()}, "give exactly one of 'path', 'flow' or 'node'"),
    ({"node": {"type": "nope"}}, "node 'M': map body 'nope': unknown node type 'nope'"),
    ({"node": {"type": "llm", "params": {"temperature": 9}}}, "map body 'llm' node.params.temperature: Input should"),
    ({"flow": counter_body()}, "name the body input that receives each item with item_input (inputs: n, iteration)"),
    ({"flow": counter_body(), "item_input": "zz"}, "item_input 'zz' is not an input of the body"),
])
def test_bad_map_params(params: dict[str, Any], message: str):
    f = nbflow.Flow("bad", registry=H.registry())
    with pytest.raises(ParamError) as info:
        f.add("map", id="M", **params)
    assert message in str(info.value)


# -- sub-flows --------------------------------------------------------------------------------------

def test_subflow_file_relative_to_the_parent(tmp_path: Path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "shout.json").write_text(json.dumps({
        "nbflow": 1, "name": "shout", "nodes": [
            {"id": "words", "type": "input.text"},
            {"id": "t", "type": "template", "params": {"template": "{{w}}!!"}},
            {"id": "loud", "type": "output"}],
        "edges": [{"from": "words.value", "to": "t.w"}, {"from": "t.text", "to": "loud.value"}]}))
    path = tmp_path / "parent.json"
    path.write_text(json.dumps({"nbflow": 1, "name": "parent", "nodes": [
        {"id": "x", "type": "input.text"}, {"id": "sub", "type": "subflow", "params": {"path": "parts/shout.json"}},
        {"id": "y", "type": "output"}],
        "edges": [{"from": "x.value", "to": "sub.words"}, {"from": "sub.loud", "to": "y.value"}]}))
    loaded = nbflow.load(path)  # the path resolves next to parent.json, not in the working directory
    assert loaded.validate().by_id["sub"].out_ports["loud"].type == "text"
    assert loaded.validate().by_id["sub"].in_ports["words"].required
    assert loaded.run(x="hi").outputs == {"y": "hi!!"}
    # a text output cannot feed a number input: checked at wiring time, through the sub-flow
    with pytest.raises(WiringError, match="type mismatch: sub.loud is text"):
        loaded.add("subflow", id="sub2", flow={"nbflow": 1, "name": "n", "nodes": [
            {"id": "n", "type": "input.number"}, {"id": "o", "type": "output"}],
            "edges": [{"from": "n.value", "to": "o.value"}]})
        loaded.connect("sub.loud", "sub2.n")


def test_a_flow_including_itself_is_refused(tmp_path: Path):
    me = tmp_path / "me.json"
    me.write_text(json.dumps({"nbflow": 1, "name": "me", "nodes": [
        {"id": "again", "type": "subflow", "params": {"path": "me.json"}}], "edges": []}))
    with pytest.raises(ParamError, match="includes itself"):
        nbflow.load(me)


def test_missing_subflow_file_names_the_node(tmp_path: Path):
    f = nbflow.Flow("p")
    with pytest.raises(ParamError) as info:
        f.add("subflow", id="s", path=str(tmp_path / "none.json"))
    assert str(info.value) == f"node 's': sub-flow {str(tmp_path / 'none.json')!r}: no such file"


def test_loop_iterations_with_media_survive_the_store():
    body = {"nbflow": 1, "name": "draw", "nodes": [
        {"id": "prompt", "type": "input.text"}, {"id": "img", "type": "image"},
        {"id": "image", "type": "output"}],
        "edges": [{"from": "prompt.value", "to": "img.prompt"}, {"from": "img.image", "to": "image.value"}]}
    f = nbflow.Flow("draws")
    f.add("input.text", id="p", default="a cat")
    f.add("loop", id="loop", flow=body, max_iterations=2)
    f.add("output", id="all")
    f.connect("p.value", "loop.prompt")
    f.connect("loop.iterations", "all.value")
    store = MemoryStore()
    res = f.run(store=store)
    back = store.get(res.run_id)
    images = [it["image"] for it in back.nodes["loop"].outputs["iterations"]]
    assert len(images) == 2 and all(im.data and im.data.startswith(b"\x89PNG") for im in images)
