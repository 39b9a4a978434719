"""Templates: listed, written, validated and run offline; examples that are templates stay identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nbflow
from nbflow.cli import main
from nbflow.templates import list_templates, load_template

ROOT = Path(__file__).resolve().parent.parent
NAMES = [t.name for t in list_templates()]
EXPECTED = {"product-copy", "classify-and-route", "generate-score-regenerate", "approval-before-publish",
            "batch-image-generation", "summarize-document", "extract-structured-data", "translate", "caption-image",
            "story-picture-voice"}


def test_the_expected_templates_ship():
    assert EXPECTED <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_template_is_canonical_and_runs_offline(name: str, tmp_path: Path, monkeypatch):
    flow = load_template(name)
    text = next(t.text for t in list_templates() if t.name == name)
    assert flow.dumps() == text  # stored in canonical form
    res = flow.run()
    assert res.status in ("succeeded", "paused"), res.error
    if res.status == "paused":
        assert any(r.status == "paused" for r in res.nodes.values())
    else:
        assert res.outputs


def test_templates_cli_lists_and_writes(capsys, tmp_path: Path):
    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("approval-before-publish")
    assert main(["templates", "--json"]) == 0
    assert {t["name"] for t in json.loads(capsys.readouterr().out)} == set(NAMES)
    target = tmp_path / "mine.json"
    assert main(["new", "product-copy", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}; run it with: nbflow run {target}\n"
    assert main(["run", str(target), "--json", "--no-store"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "succeeded"


def test_new_never_overwrites_without_force(capsys, tmp_path: Path):
    target = tmp_path / "mine.json"
    target.write_text("my precious work")
    assert main(["new", "translate", str(target)]) == 2
    assert capsys.readouterr().err == (f"nbflow: error: {target}: already exists; choose another name or pass "
                                       "--force to replace it\n")
    assert target.read_text() == "my precious work"
    assert main(["new", "translate", str(target), "--force"]) == 0
    assert json.loads(target.read_text())["name"] == "translate"


def test_unknown_template_suggests(capsys, tmp_path: Path):
    assert main(["new", "tranlate", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err == "nbflow: error: unknown template 'tranlate'; did you mean 'translate'?\n"


@pytest.mark.parametrize(("example", "template"), [
    ("product_copy", "product-copy"), ("classify_and_route", "classify-and-route"),
    ("generate_score_regenerate", "generate-score-regenerate"), ("approval_before_publish", "approval-before-publish"),
    ("story_picture_voice", "story-picture-voice"),
])
def test_examples_and_templates_do_not_drift(example: str, template: str):
    ex = json.loads((ROOT / "examples" / f"{example}.json").read_text())
    tp = json.loads(next(t.text for t in list_templates() if t.name == template))
    assert ex["name"] == tp["name"] == template  # the same workflow goes by one name
    for doc in (ex, tp):
        doc.pop("description", None)
    assert ex == tp


def test_template_flow_is_a_normal_flow():
    flow = load_template("translate")
    assert isinstance(flow, nbflow.Flow)
    assert flow.inputs["language"]["default"] == "French"
    assert flow.run(text="Bonjour", language="German").outputs["translation"] == "[offline] (German) Bonjour"
