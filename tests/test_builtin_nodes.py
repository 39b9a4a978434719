"""Built-in node types, run through real flows."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbflow
from nbflow.nodes import Registry
from nbflow.nodes.data_nodes import extract_path, parse_path
from nbflow.nodes.text_nodes import placeholders
from nbflow.providers.offline import png_bytes


def one(node_type: str, inputs: dict, **params):
    """Run a single node fed by json inputs; return its record."""
    flow = nbflow.Flow("one")
    nid = flow.add(node_type, id="n", **params)
    for port, value in inputs.items():
        flow.add("input.json", id=f"in_{port}", default=value)
        flow.connect(f"in_{port}.value", f"n.{port}")
    return flow.run().nodes[nid]


def test_template_placeholders_become_ports():
    assert placeholders("Hi {{ name }}, {{name}} and {{x1}}; {{ not valid }}") == ["name", "x1"]
    flow = nbflow.Flow()
    flow.add("template", id="t", template="{{a}} + {{b}}")
    plan = flow.validate.__self__  # the flow itself; ports come from the plan
    with pytest.raises(nbflow.WiringError, match="required input is not connected"):
        plan.validate()


def test_template_renders_numbers_and_json():
    rec = one("template", {"n": 3, "obj": {"k": "v"}}, template="n={{n}} obj={{obj}}")
    assert rec.outputs == {"text": 'n=3 obj={"k": "v"}'}


def test_join_flattens_lists_and_skips_empty():
    rec = one("join", {"in1": ["a", "b"], "in2": "", "in3": 4}, count=3, separator=", ")
    assert rec.outputs == {"text": "a, b, 4"}


@pytest.mark.parametrize(("path", "segs"), [
    ("$.items[0].name", ["items", 0, "name"]), ("items.0.name", ["items", 0, "name"]), ("$", []),
    ('a["odd key"]', ["a", "odd key"]), ("$.a[-1]", ["a", -1]),
])
def test_parse_path(path, segs):
    assert parse_path(path) == segs


def test_extract_path_errors_name_the_step():
    with pytest.raises(KeyError, match=r"\$.items has no item \[5\]"):
        extract_path({"items": [1]}, ["items", 5])


def test_json_extract_node_and_default():
    data = {"order": {"lines": [{"sku": "A"}, {"sku": "B"}]}}
    assert one("json.extract", {"data": data}, path="$.order.lines[1].sku").outputs == {"value": "B"}
    assert one("json.extract", {"data": data}, path="$.nope", default="none").outputs == {"value": "none"}
    rec = one("json.extract", {"data": data}, path="$.nope")
    assert rec.status == "failed" and rec.error["message"] == "path '$.nope': $ has no key 'nope'"


def test_bad_path_is_a_param_error():
    flow = nbflow.Flow()
    with pytest.raises(nbflow.ParamError, match=r"node 'x' field 'params.path': cannot parse path"):
        flow.add("json.extract", id="x", path="$..[")


def test_json_parse_tolerates_fences():
    rec = one("json.parse", {"text": '```json\n{"a": [1, 2]}\n```'})
    assert rec.outputs == {"value": {"a": [1, 2]}}
    rec = one("json.parse", {"text": "{oops"})
    assert rec.status == "failed" and rec.error["message"].startswith("not valid JSON")


@pytest.mark.parametrize(("to", "value", "expected"), [
    ("number", "3.5", 3.5), ("number", "7", 7), ("number", True, 1), ("text", 2.0, "2"),
    ("boolean", "yes", True), ("boolean", 0, False), ("json", '{"a": 1}', {"a": 1}), ("json", "plain", "plain"),
])
def test_convert(to, value, expected):
    assert one("convert", {"value": value}, to=to).outputs == {"value": expected}


def test_convert_failure_is_clear():
    rec = one("convert", {"value": "seven"}, to="number")
    assert rec.error["message"] == "cannot convert 'seven' to a number"


def test_convert_output_port_type_follows_param():
    flow = nbflow.Flow()
    flow.add("input.text", id="t")
    flow.add("convert", id="c", to="number")
    flow.connect("t.value", "c.value")
    assert flow.validate().by_id["c"].out_ports["value"].type == "number"
    flow.set_params("c", to="boolean")
    assert flow.validate().by_id["c"].out_ports["value"].type == "boolean"


def test_connect_refuses_a_type_mismatch_and_keeps_the_flow_unchanged():
    flow = nbflow.Flow()
    flow.add("input.text", id="t")
    flow.add("image", id="img")
    flow.add("template", id="tpl", template="{{x}}")
    flow.connect("t.value", "img.prompt")
    with pytest.raises(nbflow.WiringError, match="img.image is image but tpl.x takes text"):
        flow.connect("img.image", "tpl.x")
    assert flow.edges == [("t.value", "img.prompt")]


def test_offline_llm_is_deterministic_and_labelled():
    def run(prompt):
        return one("llm", {"prompt": prompt}).outputs["text"]

    a, b = run("Write copy for a blue kettle"), run("Write copy for a blue kettle")
    assert a == b and a.startswith("[offline] ")
    assert "blue kettle" in a
    assert run("Write copy for a red kettle") != a


def test_offline_llm_structured_output_matches_schema():
    schema = {"type": "object", "properties": {"score": {"type": "number", "minimum": 0, "maximum": 10},
                                               "label": {"enum": ["photo", "document"]}},
              "required": ["score", "label"]}
    rec = one("llm", {"prompt": "rate this"}, json_schema=schema)
    import jsonschema

    jsonschema.validate(rec.outputs["json"], schema)


def test_offline_image_is_a_real_png_labelled_offline():
    rec = one("image", {"prompt": "a red bicycle"})
    img = rec.outputs["image"]
    assert img.mime == "image/png" and img.data.startswith(b"\x89PNG")
    assert img.meta["provider"] == "offline"
    assert rec.outputs["images"] == [img]
    assert one("image", {"prompt": "a red bicycle"}).outputs["image"].data == img.data


def test_graph_inputs_of_every_kind(tmp_path: Path):
    png = tmp_path / "in.png"
    png.write_bytes(png_bytes(1, 1, [b"\x00\x00\x00"]))
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    flow = nbflow.Flow("inputs")
    for t in ("text", "number", "boolean", "json", "image", "file"):
        flow.add(f"input.{t}", id=t)
        flow.add("output", id=f"o_{t}")
        flow.connect(f"{t}.value", f"o_{t}.value")
    res = flow.run(text="t", number="4.5", boolean="no", json='{"a": 1}', image=str(png),
                   file=str(tmp_path / "notes.txt"))
    assert res.status == "succeeded", res.error
    o = res.outputs
    assert (o["o_text"], o["o_number"], o["o_boolean"], o["o_json"]) == ("t", 4.5, False, {"a": 1})
    assert o["o_image"].mime == "image/png" and o["o_file"].mime == "text/plain"


def test_image_input_rejects_non_images(tmp_path: Path):
    bad = tmp_path / "fake.png"
    bad.write_text("not an image")
    flow = nbflow.Flow()
    flow.add("input.image", id="photo")
    res = flow.run(photo=str(bad))
    assert res.status == "failed"
    assert res.nodes["photo"].error["message"] == "input 'photo': fake.png is not a PNG, JPEG, WebP or GIF image"


def test_optional_input_without_default_produces_nothing():
    flow = nbflow.Flow()
    flow.add("input.text", id="maybe", required=False)
    flow.add("join", id="j", count=1)
    flow.connect("maybe.value", "j.in1")
    res = flow.run()
    assert res.status == "succeeded"
    assert res.nodes["j"].outputs == {"text": ""}


def test_input_and_output_names():
    flow = nbflow.Flow()
    flow.add("input.text", id="t", name="topic", description="What to write about")
    flow.add("output", id="o", name="answer")
    flow.connect("t.value", "o.value")
    assert flow.inputs == {"topic": {"type": "text", "required": True, "default": None,
                                     "description": "What to write about", "node": "t"}}
    assert flow.outputs == ["answer"]
    assert flow.run(topic="x").outputs == {"answer": "x"}
    flow.add("input.text", id="t2", name="topic")
    with pytest.raises(nbflow.FlowError, match="graph input name 'topic' is also used by node 't'"):
        flow.validate()


def test_connect_refuses_a_cycle_even_in_an_unfinished_flow():
    flow = nbflow.Flow()
    flow.add("template", id="a", template="{{x}} {{unwired}}")
    flow.add("template", id="b", template="{{y}}")
    flow.connect("a.text", "b.y")
    with pytest.raises(nbflow.CycleError, match="cycle: a -> b -> a"):
        flow.connect("b.text", "a.x")
    assert flow.edges == [("a.text", "b.y")]


def test_set_title_is_an_observed_change():
    flow = nbflow.Flow()
    flow.add("llm", id="copy")
    seen = []
    flow.observe(seen.append)
    flow.set_title("copy", "Write the copy")
    assert flow.node("copy").title == "Write the copy"
    assert seen == [{"kind": "title", "node": "copy"}]
    assert '"title": "Write the copy"' in flow.dumps()


def test_make_list_and_list_item():
    assert one("list", {"in1": "a", "in3": {"b": 1}}, count=3).outputs == {"list": ["a", {"b": 1}]}
    assert one("list.item", {"list": [1, 2, 3]}, index=-1).outputs == {"value": 3}
    rec = one("list.item", {"list": [1]}, index=2)
    assert rec.status == "failed" and rec.error["message"] == "index 2 is out of range: the list has 1 item(s)"
    rec = one("list.item", {"list": "abc"})
    assert rec.status == "failed" and rec.error["message"] == "input 'list': expected a list, got str"


def test_builtin_type_table_matches_what_each_module_defines():
    """The registry imports a built-in's module only when one of its types is looked up: the static table of
    type -> module it goes by must list exactly the types each built-in module defines."""
    import importlib

    from nbflow.nodes.registry import BUILTIN_TYPES, node_classes

    defined = {cls.type: mod for mod in set(BUILTIN_TYPES.values())
               for cls in node_classes(importlib.import_module(mod))}
    assert defined == BUILTIN_TYPES
    listed = Registry(plugins=False).types()
    assert {name: cls.__module__ for name, cls in listed.items()} == BUILTIN_TYPES


def test_a_lookup_registers_only_that_types_module_and_user_types_keep_their_place():
    reg = Registry(plugins=False)
    assert "llm" in reg and "templat" not in reg
    assert reg.get("template").__module__ == "nbflow.nodes.text_nodes"
    assert reg.origin("join") == "nbflow" and "llm" not in reg._types  # the AI nodes are not registered yet

    class Shout(nbflow.NodeType):
        type = "llm"

        async def run(self, inputs, ctx):
            return {}

    with pytest.raises(nbflow.NbflowError, match="'llm' is already registered by nbflow"):
        reg.register(Shout)
    reg.register(Shout, replace=True)
    assert reg.get("vision").__module__ == "nbflow.nodes.ai_nodes"  # loading its module keeps the user's llm
    assert reg.get("llm") is Shout and reg.origin("llm") == "user"
    with pytest.raises(nbflow.UnknownNodeTypeError, match="did you mean 'template'"):
        reg.get("tempalte")
