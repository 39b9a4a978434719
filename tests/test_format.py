"""The flow file format: round trips, determinism, migrations, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import nbflow
from nbflow.cli.info import flow_json_schema
from nbflow.model.io import dumps_spec, loads_spec, migrate, read_spec
from nbflow.model.spec import FORMAT_VERSION

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_load_save_load_save_is_byte_identical(path: Path, tmp_path: Path):
    first = nbflow.load(path)
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    first.save(a)
    nbflow.load(a).save(b)
    assert a.read_bytes() == b.read_bytes()
    # and the committed example is already in canonical form
    assert path.read_bytes() == a.read_bytes()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_against_the_schema(path: Path):
    jsonschema.validate(json.loads(path.read_text()), flow_json_schema())


def test_canonical_text_shape():
    text = nbflow.load(EXAMPLES[0]).dumps()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "nbflow": 3,\n  "name": ')
    keys = list(json.loads(text))
    assert keys[:2] == ["nbflow", "name"]
    assert keys.index("nodes") < keys.index("edges") < keys.index("layout")
    assert "\t" not in text


def test_moving_a_node_changes_only_layout():
    flow = nbflow.load(EXAMPLES[0])
    before = json.loads(flow.dumps())
    first = flow.spec.nodes[0].id
    flow.move(first, 999, 555)
    after = json.loads(flow.dumps())
    assert after["layout"] != before["layout"]
    assert {k: v for k, v in after.items() if k != "layout"} == {k: v for k, v in before.items() if k != "layout"}


def test_params_are_named_and_edges_use_node_dot_port():
    data = json.loads(EXAMPLES[0].read_text())
    for node in data["nodes"]:
        assert isinstance(node.get("params", {}), dict)
    for edge in data["edges"]:
        assert set(edge) == {"from", "to"}
        assert edge["from"].count(".") == 1 and edge["to"].count(".") == 1


def test_unversioned_file_is_migrated(tmp_path: Path):
    spec = read_spec(ROOT / "tests" / "data" / "v0_product.json")
    assert spec.nbflow == FORMAT_VERSION == 3
    assert [n.id for n in spec.nodes] == ["product", "prompt", "copy", "out"]
    assert spec.edges[0].from_ == "product.value" and spec.edges[0].to == "prompt.product"
    assert spec.layout.nodes["prompt"].x == 200
    flow = nbflow.load(ROOT / "tests" / "data" / "v0_product.json")
    res = flow.run()
    assert res.status == "succeeded"
    assert "linen apron" in res.outputs["out"]
    saved = json.loads(flow.dumps())
    assert saved["nbflow"] == 3 and isinstance(saved["nodes"], list)


def test_migrate_leaves_current_version_alone():
    data = {"nbflow": 3, "name": "x", "nodes": [], "edges": []}
    assert migrate(dict(data)) == data


def test_unicode_round_trips(tmp_path: Path):
    flow = nbflow.Flow("ünïcødé-流程")
    flow.add("input.text", id="t", default="日本語のテキスト 🚀")
    flow.add("template", id="tpl", template="«{{t}}» — ✓")
    flow.add("output", id="o")
    flow.connect("t.value", "tpl.t")
    flow.connect("tpl.text", "o.value")
    p = flow.save(tmp_path / "u.json")
    text = p.read_text(encoding="utf-8")
    assert "日本語のテキスト 🚀" in text  # written as UTF-8, not \\u escapes
    again = nbflow.load(p)
    assert again.dumps() == text
    assert again.run().outputs["o"] == "«日本語のテキスト 🚀» — ✓"


def test_dumps_is_deterministic_across_param_order():
    a = loads_spec('{"nbflow":1,"name":"x","nodes":[{"id":"t","type":"template","params":{"template":"a"}}]}')
    b = loads_spec('{"name":"x","nbflow":1,"nodes":[{"type":"template","params":{"template":"a"},"id":"t"}]}')
    assert dumps_spec(a) == dumps_spec(b)


def test_schema_command_output_is_the_schema(capsys):
    from nbflow.cli import main

    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["properties"]["nodes"]["type"] == "array"
    assert "from" in json.dumps(printed)


@pytest.mark.parametrize("x", [1e-17, -0.0, 0.004, 2.345, 1e20])
def test_positions_save_idempotently(x: float):
    flow = nbflow.Flow()
    flow.add("input.text", id="t", default="x", x=x, y=1)
    once = flow.dumps()
    assert nbflow.Flow.loads(once).dumps() == once


def test_positions_must_be_finite():
    flow = nbflow.Flow()
    flow.add("input.text", id="t", default="x")
    with pytest.raises(nbflow.FlowError, match=r"node 't': position \(inf, 0\) must be finite numbers"):
        flow.move("t", float("inf"), 0)
    with pytest.raises(nbflow.FlowError, match=r"node 't': position \(left, 0\) must be finite numbers"):
        flow.move("t", "left", 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda f: f.add("template", id="1st"), "node id '1st' must start with a letter or '_' and use letters, "
                                            "digits, '_', '-'"),
    (lambda f: f.add("template", id=7), "node id must be a string, got 7"),
    (lambda f: f.add("template", id="t2", title=5), "node 't2' field 'title': title must be a string, got 5"),
    (lambda f: f.add("template", id="t2", x=float("nan"), y=0), "node 't2': position (nan, 0) must be finite"),
    (lambda f: f.connect("t", "out.value"), "'t' is not of the form 'node.port'"),
    (lambda f: f.connect("t.text", "out.value.x"), "'out.value.x' is not of the form 'node.port'"),
    (lambda f: f.rename("t", "no spaces"), "node id 'no spaces' must start with a letter"),
    (lambda f: nbflow.Flow(name=3), "flow name must be a string, got 3"),
])
def test_a_flow_built_in_code_is_checked_edit_by_edit(edit, message):
    """Ids, titles, positions and references get the flow file's checks, as one-line FlowErrors (a flow
    built in code skips the file models' validators), and a refused edit changes nothing."""
    flow = nbflow.Flow()
    flow.add("template", id="t", template="{{x}}")
    flow.add("output", id="out")
    before = flow.dumps()
    with pytest.raises(nbflow.FlowError) as err:
        edit(flow)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert flow.dumps() == before


def test_a_flow_built_in_code_equals_the_same_flow_read_from_its_file():
    flow = nbflow.Flow("copy", description="d")
    flow.add("input.text", id="topic", default="tea", x=10, y=20.5)
    flow.add("template", id="t", title="Prompt", template="about {{topic}}", policy={"retry": {"attempts": 2}})
    flow.add("output", id="out")
    flow.connect("topic.value", "t.topic")
    flow.connect("t.text", "out.value")
    flow.rename("out", "result")
    flow.move("t", 300, 40)
    loaded = nbflow.Flow.loads(flow.dumps())
    assert loaded.spec == flow.spec
    assert loaded.spec.model_dump() == flow.spec.model_dump()
    assert loaded.run().outputs == flow.run().outputs == {"result": "about tea"}
