"""`nbflow run --record/--replay`, `nbflow test` and `nbflow compare`: output, reports and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from nbflow import Flow
from nbflow.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _flow(tmp_path: Path) -> str:
    f = Flow("copy")
    f.add("input.text", id="product", default="a teapot")
    f.add("llm", id="copy", provider="openai", model="gpt-4o-mini", stream=True)
    f.add("output", id="copy_out", name="copy")
    f.connect("product.value", "copy.prompt")
    f.connect("copy.text", "copy_out.value")
    return str(f.save(tmp_path / "flow.json"))


def _cases(tmp_path: Path, *, fail: bool = False) -> str:
    want = "linen" if fail else "apron"
    lines = [{"name": "teapot", "inputs": {"product": "a ceramic teapot"},
              "expect": [{"path": "$.outputs.copy", "op": "contains", "value": "teapot"}]},
             {"name": "apron", "inputs": {"product": "a wool apron"},
              "expect": [{"path": "$.outputs.copy", "op": "contains", "value": want}]}]
    p = tmp_path / "cases.jsonl"
    p.write_text("# two products\n" + "\n".join(json.dumps(x) for x in lines) + "\n")
    return str(p)


def test_run_records_then_replays_and_a_changed_input_fails_with_one_line(fake_env: Any, tmp_path: Path,
                                                                          capsys: Any, monkeypatch: Any) -> None:
    flow, cas = _flow(tmp_path), str(tmp_path / "c.json")
    code, out, _ = _cli(capsys, "run", flow, "--record", cas, "--quiet")
    assert code == 0 and out == "copy: Fake reply to: a teapot\n"
    n = len(fake_env.requests)
    monkeypatch.delenv("OPENAI_API_KEY")
    code, out, _ = _cli(capsys, "run", flow, "--replay", cas, "--quiet")
    assert code == 0 and out == "copy: Fake reply to: a teapot\n" and len(fake_env.requests) == n
    code, out, err = _cli(capsys, "run", flow, "--replay", cas, "--quiet", "--input", "product=a jug")
    assert code == 1 and len(fake_env.requests) == n
    last = err.strip().splitlines()[-1]
    assert last == ("nbflow: error: node 'copy': cassette c.json has no exchange for POST /v1/chat/completions: "
                    'body differs at $.messages[0].content: recorded "a teapot", sent "a jug"')


def test_run_record_missing_and_usage_errors(fake_env: Any, tmp_path: Path, capsys: Any) -> None:
    flow, cas = _flow(tmp_path), str(tmp_path / "c.json")
    assert _cli(capsys, "run", flow, "--record", cas, "-q")[0] == 0
    n = len(fake_env.requests)
    code, _, _ = _cli(capsys, "run", flow, "--replay", cas, "--record-missing", "-q", "--input", "product=a jug")
    assert code == 0 and len(fake_env.requests) == n + 1
    assert len(json.loads(Path(cas).read_text())["exchanges"]) == 2
    code, _, err = _cli(capsys, "run", flow, "--record-missing")
    assert code == 2 and err == "nbflow: error: --record-missing needs --replay CASSETTE.json (or --record CASSETTE.json)\n"
    code, _, err = _cli(capsys, "run", flow, "--replay", str(tmp_path / "none.json"))
    assert code == 2 and err.endswith("none.json: no such cassette (record one with --record)\n")
    (tmp_path / "bad.json").write_text("[1, 2]")
    code, _, err = _cli(capsys, "run", flow, "--replay", str(tmp_path / "bad.json"))
    assert code == 2 and err.endswith("bad.json: not an nbflow cassette (no 'exchanges')\n")


def test_test_command_table_junit_and_exit_codes(fake_env: Any, tmp_path: Path, capsys: Any,
                                                 monkeypatch: Any) -> None:
    flow, cas, junit = _flow(tmp_path), str(tmp_path / "suite.json"), tmp_path / "out" / "junit.xml"
    code, out, _ = _cli(capsys, "test", flow, _cases(tmp_path), "--record", cas, "--concurrency", "2")
    assert code == 0, out
    assert out.splitlines()[1].startswith("teapot  pass    2/2 checks")
    monkeypatch.delenv("OPENAI_API_KEY")
    n = len(fake_env.requests)
    code, out, _ = _cli(capsys, "test", flow, _cases(tmp_path, fail=True), "--replay", cas, "--junit", str(junit),
                        "--json", str(tmp_path / "r.json"))
    assert code == 1 and len(fake_env.requests) == n
    assert "apron   FAIL    $.outputs.copy contains 'linen': got 'Fake reply to: a wool apron'" in out
    assert out.splitlines()[-1].startswith("2 cases: 1 passed, 1 failed; cost $0.0000")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    assert json.loads((tmp_path / "r.json").read_text())["cases"][1]["passed"] is False
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "x", "expect": [{"path": "$.outputs.copy", "op": "like"}]}\n')
    code, out, err = _cli(capsys, "test", flow, str(bad))
    assert code == 2 and out == "" and err.startswith(f"nbflow: error: {bad} line 1: expect[0]: op: ")
    assert len(err.splitlines()) == 1


def test_compare_command_writes_html_and_json(fake_env: Any, tmp_path: Path, capsys: Any) -> None:
    flow = _flow(tmp_path)
    html, js = tmp_path / "cmp.html", tmp_path / "cmp.json"
    code, out, err = _cli(capsys, "compare", flow, _cases(tmp_path), "--variant", "big:copy.model=gpt-4o",
                          "-V", "big:copy.temperature=0.5", "--html", str(html), "--json", str(js))
    assert code == 0, err
    assert out.splitlines()[0].split() == ["case", "variant", "result", "output", "cost", "time"]
    assert "teapot  big      pass    Fake reply to: a ceramic teapot" in out
    assert "big: 2/2 passed" in out
    assert "copy.model=gpt-4o, copy.temperature=0.5" in html.read_text()
    assert [v["name"] for v in json.loads(js.read_text())["variants"]] == ["base", "big"]
    code, _, err = _cli(capsys, "compare", flow, _cases(tmp_path), "-V", "big:nope")
    assert code == 2 and err == "nbflow: error: --variant 'big:nope': expected NAME:NODE.PARAM=VALUE\n"


def test_pytest_fixture_records_once_then_replays_without_the_server(fake_server: Any, tmp_path: Path) -> None:
    """A user's test suite: the first run records through the fake server, the second replays with none."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["nbflow.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        "import nbflow\n\n"
        "def test_copy(nbflow_cassette):\n"
        "    f = nbflow.Flow('c')\n"
        "    f.add('input.text', id='p', default='a teapot')\n"
        "    f.add('llm', id='copy', provider='openai', model='gpt-4o-mini')\n"
        "    f.add('output', id='out')\n"
        "    f.connect('p.value', 'copy.prompt')\n"
        "    f.connect('copy.text', 'out.value')\n"
        "    res = f.run()\n"
        "    assert res.outputs['out'] == 'Fake reply to: a teapot', res.error\n"
        "    print('MODE', nbflow_cassette.mode, nbflow_cassette.hits)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "NBFLOW_CASSETTES"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the nbflow plugin, loaded by the conftest
    cmd = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_user.py"]
    first = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           env={**env, "OPENAI_BASE_URL": f"{fake_server.url}/v1", "OPENAI_API_KEY": "fake-key"})
    assert first.returncode == 0, first.stdout + first.stderr
    assert "MODE record 0" in first.stdout and len(fake_server.requests) == 1
    assert (tmp_path / "cassettes" / "test_user" / "test_copy.json").is_file()
    second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert second.returncode == 0, second.stdout + second.stderr
    assert "MODE replay 1" in second.stdout and len(fake_server.requests) == 1
