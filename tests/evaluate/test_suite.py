"""Test cases with expectations (conditions, schema checks, judges) and comparisons of variants."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from nbflow import Flow, InputError, UsageError
from nbflow.evaluate import compare, evaluate, load_cases, parse_variants
from nbflow.evaluate.report import junit_xml


def _copy_flow(provider: str = "openai") -> Flow:
    f = Flow("copy")
    f.add("input.text", id="product", default="a teapot")
    f.add("llm", id="copy", provider=provider, model="gpt-4o-mini")
    f.add("output", id="copy_out", name="copy")
    f.connect("product.value", "copy.prompt")
    f.connect("copy.text", "copy_out.value")
    return f


def _judge(path: Path) -> Path:
    j = Flow("judge")
    j.add("input.text", id="copy")
    j.add("template", id="ask", template="Score this copy from 0 to 1: {{copy}}")
    j.add("llm", id="score", provider="openai", model="gpt-4o-mini")
    j.add("output", id="score_out", name="score")
    j.connect("copy.value", "ask.copy")
    j.connect("ask.text", "score.prompt")
    j.connect("score.text", "score_out.value")
    return j.save(path)


CASES = [
    {"name": "teapot", "inputs": {"product": "a ceramic teapot"},
     "expect": [{"path": "$.outputs.copy", "op": "contains", "value": "teapot"},
                {"path": "$.cost", "op": "<", "value": 1}]},
    {"name": "apron", "inputs": {"product": "a linen apron"},
     "expect": [{"path": "$.outputs.copy", "op": "contains", "value": "teapot"}]},
]


def test_cases_pass_and_fail_with_the_failing_expectation_named(fake_env: Any) -> None:
    report = evaluate(_copy_flow(), CASES)
    assert [c.passed for c in report.cases] == [True, False]
    assert report.failed == 1 and not report.ok
    fail = report.cases[1].failure
    assert fail is not None and fail.expectation == "$.outputs.copy contains 'teapot'"
    assert fail.detail == "got 'Fake reply to: a linen apron'"
    assert report.cases[0].cost > 0 and report.cases[0].duration > 0
    table = report.table()
    assert table.splitlines()[0].split() == ["case", "result", "expectation", "cost", "time"]
    assert "apron   FAIL    $.outputs.copy contains 'teapot': got 'Fake reply to: a linen apron'" in table
    assert table.splitlines()[-1].startswith("2 cases: 1 passed, 1 failed; cost $")


def test_schema_checks_and_expected_failures(fake_env: Any) -> None:
    fake_env.script(json={"title": "Teapot", "tags": ["tea"]})
    f = Flow("data")
    f.add("input.text", id="product")
    f.add("llm", id="x", provider="openai", model="gpt-4o-mini",
          json_schema={"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]})
    f.add("output", id="data")
    f.connect("product.value", "x.prompt")
    f.connect("x.json", "data.value")
    cases = [{"name": "ok", "inputs": {"product": "t"},
              "expect": [{"path": "$.outputs.data", "schema": {"type": "object", "required": ["title", "tags"]}}]},
             {"name": "bad", "inputs": {"product": "t"},
              "expect": [{"path": "$.outputs.data", "schema": {"type": "object", "required": ["price"]}}]}]
    report = evaluate(f, cases)
    assert [c.passed for c in report.cases] == [True, False]
    assert report.cases[1].failure.detail == "at $.outputs.data: 'price' is a required property"
    fake_env.fault("status", status=400)
    failing = [{"name": "fails as expected", "inputs": {"product": "t"},
                "expect": [{"path": "$.status", "op": "==", "value": "failed"},
                           {"path": "$.nodes.x.error", "op": "contains", "value": "HTTP 400"}]}]
    assert evaluate(f, failing).ok
    with pytest.raises(InputError, match="case 'no input': missing input 'product'"):
        evaluate(f, [{"name": "no input"}])


def test_judge_flow_scores_with_a_threshold(fake_env: Any, tmp_path: Path) -> None:
    _judge(tmp_path / "judge.json")
    fake_env.script("0.9", prompt="Score this copy from 0 to 1: Handmade")
    fake_env.script("Score: 0.2", prompt="Score this copy from 0 to 1: Cloth")
    fake_env.script("Handmade ceramic.", prompt="a ceramic teapot")
    fake_env.script("Cloth.", prompt="a linen apron")
    lines = [{"name": n, "inputs": {"product": p}, "expect": [{"judge": "judge.json", "threshold": 0.7}]}
             for n, p in (("teapot", "a ceramic teapot"), ("apron", "a linen apron"))]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report = evaluate(_copy_flow(), path)
    assert [(c.passed, c.checks[-1].detail) for c in report.cases] == [(True, "score 0.9"), (False, "score 0.2")]
    assert all(c.judge_cost > 0 for c in report.cases)


def test_replayed_suite_runs_offline_with_concurrency(fake_env: Any, tmp_path: Path, monkeypatch: Any) -> None:
    cassette = tmp_path / "suite.json"
    recorded = evaluate(_copy_flow(), CASES, record=cassette, concurrency=2)
    n = len(fake_env.requests)
    monkeypatch.delenv("OPENAI_API_KEY")
    replayed = evaluate(_copy_flow(), CASES, replay=cassette, concurrency=2)
    assert len(fake_env.requests) == n == 2
    assert [c.to_json()["outputs"] for c in replayed.cases] == [c.to_json()["outputs"] for c in recorded.cases]
    assert [c.passed for c in replayed.cases] == [True, False]
    assert replayed.cost == recorded.cost


def test_junit_report_names_cases_and_failures(fake_env: Any) -> None:
    root = ET.fromstring(junit_xml(evaluate(_copy_flow(), CASES)))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["teapot", "apron"]
    assert cases[0].find("failure") is None
    fail = cases[1].find("failure")
    assert fail is not None and "contains 'teapot'" in fail.get("message", "")


@pytest.mark.parametrize("line,message", [
    ('{"name": "a", "expect": [{"path": "$.outputs.copy", "op": "containz"}]}', r"line 1: expect\[0\]: op: "),
    ('{"name": "a", "inputz": {}}', "line 1: unknown field 'inputz'"),
    ('{"name": "a"', "line 1: not valid JSON"),
    ('{"name": "a", "expect": [{"path": "$.outputs.copy", "schema": {"type": "objekt"}}]}', "invalid JSON Schema"),
    ('{"name": "a", "expect": [{"judge": 3}]}', "'judge' is a flow file path"),
])
def test_malformed_cases_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InputError, match=message):
        load_cases(path)


def test_unknown_inputs_and_outputs_are_refused_before_running(fake_env: Any) -> None:
    with pytest.raises(InputError, match="case 'a': the flow has no input 'prodct'"):
        evaluate(_copy_flow(), [{"name": "a", "inputs": {"prodct": "x"}}])
    with pytest.raises(InputError, match="the flow has no output 'copi'"):
        evaluate(_copy_flow(), [{"name": "a", "expect": [{"path": "$.outputs.copi", "op": "exists"}]}])
    assert fake_env.requests == []


def test_compare_runs_each_variant_side_by_side(fake_env: Any, tmp_path: Path) -> None:
    comp = compare(_copy_flow(), CASES, {"mini": {"copy.model": "gpt-4o"}, "warm": {"copy.temperature": 0.9}})
    assert list(comp.reports) == ["base", "mini", "warm"]
    models = [r.json["model"] for r in fake_env.requests]
    assert models.count("gpt-4o") == 2 and models.count("gpt-4o-mini") == 4
    assert any(r.json.get("temperature") == 0.9 for r in fake_env.requests)
    assert comp.reports["mini"].cost > comp.reports["base"].cost  # priced by the same table as every run
    assert comp.describe("mini") == "copy.model=gpt-4o"
    html = comp.to_html(page=True)
    assert html.startswith("<!doctype html>") and html.count("<tr>") == 4 and "copy.temperature=0.9" in html
    data = comp.to_json()
    assert [v["name"] for v in data["variants"]] == ["base", "mini", "warm"]
    assert data["variants"][0]["cases"][1]["checks"][1]["ok"] is False
    text = comp.table()
    assert "teapot  mini     pass" in text and "apron   warm     FAIL" in text


def test_compare_shows_images_as_pictures(tmp_path: Path) -> None:
    f = Flow("pic")
    f.add("input.text", id="p", default="a teapot")
    f.add("image", id="img")
    f.add("output", id="pic")
    f.connect("p.value", "img.prompt")
    f.connect("img.image", "pic.value")
    comp = compare(f, [{"name": "one"}], {"small": {"img.size": "256x256"}})
    assert comp.to_html().count('<img src="data:image/png;base64,') == 2


def test_variants_parse_and_bad_ones_are_usage_errors(tmp_path: Path) -> None:
    prompt = tmp_path / "p.txt"
    prompt.write_text("Be brief.")
    vs = parse_variants(["fast:copy.model=gpt-4o-mini", "fast:copy.temperature=0.2", f"brief:copy.system=@{prompt}",
                         "deep:copy.extra.top_p=0.5"])
    assert [(v.name, v.changes) for v in vs] == [
        ("fast", [("copy", ["model"], "gpt-4o-mini"), ("copy", ["temperature"], 0.2)]),
        ("brief", [("copy", ["system"], "Be brief.")]), ("deep", [("copy", ["extra", "top_p"], 0.5)])]
    with pytest.raises(UsageError, match="expected NAME:NODE.PARAM=VALUE"):
        parse_variants(["nocolon"])
    with pytest.raises(UsageError, match="variant 'x': the flow has no node 'cpy'"):
        compare(_copy_flow(), CASES, ["x:cpy.model=a"])
    with pytest.raises(UsageError, match="variant 'x': node 'copy'.*temperature"):
        compare(_copy_flow(), CASES, ["x:copy.temperature=hot"])


def test_compare_estimate_prices_each_variant_without_calls(fake_env: Any, capsys: Any, tmp_path: Path) -> None:
    from nbflow.cli import main

    flow = str(_copy_flow().save(tmp_path / "flow.json"))
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(c) + "\n" for c in CASES))
    code = main(["compare", flow, str(cases), "-V", "big:copy.model=gpt-4o", "--estimate"])
    out = capsys.readouterr().out
    assert code == 0 and fake_env.requests == []
    rows = {line.split()[0]: float(line.split()[-1].lstrip("$")) for line in out.splitlines()[1:3]}
    assert rows["big"] > rows["base"] > 0
