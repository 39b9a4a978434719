"""Branch routes to one named output; nodes on other routes are skipped; merge takes whichever ran."""

from __future__ import annotations

from typing import Any

import pytest

import nbflow
from nbflow.exceptions import ParamError
from nbflow.model.values import Media
from nbflow.nodes.control_conditions import Condition, normalise_label
from nbflow.providers.offline import png_bytes
from nbflow.store import MemoryStore

from .helpers import CountingProvider, providers_with


def _routed(routes: list[dict[str, Any]], default: str | None = "default") -> nbflow.Flow:
    """input.json 'data' -> branch -> one template per output -> merge -> output 'result'."""
    f = nbflow.Flow("routed")
    f.add("input.json", id="data")
    f.add("branch", id="router", routes=routes, default=default)
    names = [r["name"] for r in routes] + ([default] if default else [])
    f.add("merge", id="join", count=max(2, len(names)))
    for i, name in enumerate(names, 1):
        f.add("template", id=f"on_{name}", template=f"{name}: {{{{v}}}}")
        f.connect(f"router.{name}", f"on_{name}.v")
        f.connect(f"on_{name}.text", f"join.in{i}")
    f.add("output", id="result")
    f.add("output", id="which")
    f.connect("data.value", "router.value")
    f.connect("join.value", "result.value")
    f.connect("router.route", "which.value")
    return f


ROUTES = [{"name": "high", "when": [{"path": "$.score", "op": ">=", "value": 0.8}]},
          {"name": "tagged", "when": [{"path": "$.tags", "op": "contains", "value": "urgent"},
                                      {"path": "$.score", "op": "exists"}], "match": "any"}]


@pytest.mark.parametrize(("data", "route"), [
    ({"score": 0.9}, "high"),
    ({"score": "0.85"}, "high"),            # a number written as text, as models answer
    ({"score": 0.2}, "tagged"),             # any-of: the score exists
    ({"tags": ["urgent"]}, "tagged"),
    ({"tags": ["later"]}, "default"),
])
def test_branch_takes_one_route_and_skips_the_others(data: dict[str, Any], route: str):
    res = _routed(ROUTES).run(data=data)
    assert res.status == "succeeded"
    assert res.outputs["which"] == route
    assert res.outputs["result"].startswith(f"{route}: ")
    others = {"high", "tagged", "default"} - {route}
    for name in others:
        rec = res.nodes[f"on_{name}"]
        assert rec.status == "skipped"
        assert "branch not taken" in (rec.reason or "")
    assert res.nodes["join"].outputs == {"value": res.outputs["result"], "source": res.nodes["join"].outputs["source"]}
    assert not any(r.status == "failed" for r in res.nodes.values())


def test_no_route_and_no_default_fails_with_one_line():
    res = _routed(ROUTES[:1], default=None).run(data={"score": 0.1})
    assert res.status == "failed"
    assert res.error == "node 'router': no route matched (routes: high) and there is no default"
    assert res.nodes["on_high"].status == "skipped"


def test_uncomparable_values_name_the_route():
    res = _routed([{"name": "big", "when": [{"path": "$.size", "op": ">", "value": 3}]}]).run(
        data={"size": {"w": 4}})
    assert res.status == "failed"
    assert res.error == "node 'router': route 'big': $.size: cannot compare dict with int by >"


def test_route_by_label_from_an_llm_classification():
    f = nbflow.Flow("classify")
    f.add("input.text", id="doc")
    f.add("template", id="ask", template="Classify: {{doc}}")
    f.add("llm", id="classify", model="classifier", json_schema={
        "type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]})
    f.add("branch", id="route", label_path="$.label",
          routes=[{"name": "product_photo"}, {"name": "text_document"}], default="unknown")
    f.add("output", id="photo")
    f.add("output", id="text")
    f.connect("doc.value", "ask.doc")
    f.connect("ask.text", "classify.prompt")
    f.connect("doc.value", "route.value")
    f.connect("classify.json", "route.key")
    f.connect("route.product_photo", "photo.value")
    f.connect("route.text_document", "text.value")
    prov = CountingProvider(labels={"photo|jpeg": "Product photo", "report|memo": "text_document"})
    res = f.run(doc="a JPEG photo of red shoes", providers=providers_with(prov))
    assert res.outputs == {"photo": "a JPEG photo of red shoes"}
    assert res.nodes["text"].status == "skipped"
    res = f.run(doc="quarterly report memo", providers=providers_with(prov))
    assert res.outputs == {"text": "quarterly report memo"}
    res = f.run(doc="a haiku", providers=providers_with(prov))  # a label no route has
    assert res.status == "succeeded" and res.outputs == {}
    assert res.nodes["route"].outputs["route"] == "unknown"


@pytest.mark.parametrize(("data", "cond", "expected"), [
    ({"a": 1}, {"path": "$.a", "op": "==", "value": 1}, True),
    ({"a": 1}, {"path": "$.a", "op": "!=", "value": 1}, False),
    ({"a": "2"}, {"path": "$.a", "op": "<", "value": 10}, True),
    ({"a": "Yes"}, {"path": "$.a", "op": "==", "value": "yes", "ignore_case": True}, True),
    ({"a": "x"}, {"path": "$.a", "op": "in", "value": ["x", "y"]}, True),
    ({"a": "z"}, {"path": "$.a", "op": "not_in", "value": ["x", "y"]}, True),
    ({"a": "hello world"}, {"path": "$.a", "op": "contains", "value": "world"}, True),
    ({"a": {"k": 1}}, {"path": "$.a", "op": "contains", "value": "k"}, True),
    ({"a": "hello"}, {"path": "$.a", "op": "startswith", "value": "he"}, True),
    ({"a": "hello"}, {"path": "$.a", "op": "endswith", "value": "lo"}, True),
    ({"a": "order #123"}, {"path": "$.a", "op": "matches", "value": r"#\d+"}, True),
    ({"a": []}, {"path": "$.a", "op": "empty"}, True),
    ({"a": [1]}, {"path": "$.a", "op": "not_empty"}, True),
    ({"a": "no"}, {"path": "$.a", "op": "truthy"}, False),
    ({"a": 0}, {"path": "$.a", "op": "falsy"}, True),
    ({}, {"path": "$.a", "op": "missing"}, True),
    ({}, {"path": "$.a", "op": "==", "value": None}, False),  # a missing path never matches
    ({"items": [{"n": 5}]}, {"path": "$.items[0].n", "op": ">=", "value": 5}, True),
    ({"items": []}, {"path": "$.items[0].n", "op": "exists"}, False),
])
def test_conditions(data: Any, cond: dict[str, Any], expected: bool):
    assert Condition.model_validate(cond).test(data) is expected


def test_conditions_look_into_media():
    img = Media(mime="image/png", data=png_bytes(1, 1, [b"\x00\x00\x00"]), name="p.png")
    assert Condition(path="$.kind", value="image").test(img)
    assert Condition(path="$.photo.mime", op="startswith", value="image/").test({"photo": img})
    assert not Condition(path="$.kind", value="file").test(img)


def test_route_media_by_kind():
    f = nbflow.Flow("kinds")
    f.add("input.file", id="item")
    f.add("branch", id="route", routes=[{"name": "photo", "when": [{"path": "$.kind", "value": "image"}]}],
          default="document")
    f.add("output", id="photo")
    f.add("output", id="document")
    f.connect("item.value", "route.value")
    f.connect("route.photo", "photo.value")
    f.connect("route.document", "document.value")
    img = Media(mime="image/png", data=png_bytes(1, 1, [b"\x00\x00\x00"]))
    assert list(f.run(item=img).outputs) == ["photo"]
    doc = Media.from_bytes(b"%PDF-1.4 hello", name="a.pdf")
    assert list(f.run(item=doc).outputs) == ["document"]


def test_normalise_label():
    assert normalise_label(' "Product photo." ') == "product_photo"
    assert normalise_label("TEXT-DOCUMENT") == "text_document"


@pytest.mark.parametrize(("params", "message"), [
    ({"routes": []}, "params.routes"),
    ({"routes": [{"name": "a"}, {"name": "a"}]}, "route name 'a' is used twice"),
    ({"routes": [{"name": "a"}], "default": "a"}, "route name 'a' is used twice"),
    ({"routes": [{"name": "route"}]}, "'route' is the branch's own output"),
    ({"routes": [{"name": "has space"}]}, "must be a port name"),
    ({"routes": [{"name": "a", "when": [{"op": "about"}]}]}, "params.routes.0.when.0.op"),
    ({"routes": [{"name": "a", "when": [{"path": "$.[", "op": "=="}]}]}, "cannot parse path"),
])
def test_bad_branch_params_name_the_node(params: dict[str, Any], message: str):
    f = nbflow.Flow("bad")
    with pytest.raises(ParamError) as info:
        f.add("branch", id="b", **params)
    assert "node 'b'" in str(info.value) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_merge_with_nothing_arriving_produces_nothing():
    f = nbflow.Flow("m")
    f.add("input.json", id="data")
    f.add("branch", id="b", routes=[{"name": "yes", "when": [{"path": "$.ok", "op": "truthy"}]}], default=None)
    f.add("merge", id="m")
    f.add("output", id="out")
    f.connect("data.value", "b.value")
    f.connect("b.yes", "m.in1")
    f.connect("m.value", "out.value")
    res = f.run(data={"ok": True})
    assert res.outputs == {"out": {"ok": True}}
    assert res.nodes["m"].outputs == {"value": {"ok": True}, "source": "in1"}


def test_resume_after_a_branch_still_reaches_the_merge():
    """A resumed run re-derives the skipped route and lets the merge run (the engine's restore path)."""
    f = nbflow.Flow("branch-then-approve")
    f.add("input.json", id="data")
    f.add("branch", id="b", routes=[{"name": "review", "when": [{"path": "$.risky", "op": "truthy"}]}],
          default="auto")
    f.add("approval", id="ok", prompt="Risky; go on?")
    f.add("template", id="auto_msg", template="auto: {{v}}")
    f.add("merge", id="m")
    f.add("output", id="out")
    f.connect("data.value", "b.value")
    f.connect("b.review", "ok.value")
    f.connect("b.auto", "auto_msg.v")
    f.connect("ok.approved", "m.in1")
    f.connect("auto_msg.text", "m.in2")
    f.connect("m.value", "out.value")
    store = MemoryStore()
    res = f.run(data={"risky": True}, store=store)
    assert res.status == "paused"
    assert res.nodes["auto_msg"].status == "skipped"
    done = nbflow.resume(res.run_id, approve=True, store=store)
    assert done.status == "succeeded"
    assert done.outputs == {"out": {"risky": True}}
    assert done.nodes["m"].status == "done" and done.nodes["auto_msg"].status == "skipped"
