"""`nbflow run | validate | schema | nodes`, exit codes, and one-line errors for every kind of bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbflow.cli import main

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = str(ROOT / "examples" / "product_copy.json")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, obj, name: str = "flow.json") -> str:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return str(p)


def base_flow(**extra):
    flow = {
        "nbflow": 1, "name": "t",
        "nodes": [
            {"id": "topic", "type": "input.text"},
            {"id": "prompt", "type": "template", "params": {"template": "About {{topic}}"}},
            {"id": "copy", "type": "llm"},
            {"id": "out", "type": "output"},
        ],
        "edges": [
            {"from": "topic.value", "to": "prompt.topic"},
            {"from": "prompt.text", "to": "copy.prompt"},
            {"from": "copy.text", "to": "out.value"},
        ],
    }
    flow.update(extra)
    return flow


# -- happy paths ---------------------------------------------------------------------------------

def test_run_prints_outputs_and_progress(capsys):
    code, out, err = run_cli(capsys, "run", PRODUCT, "--input", "product=a wool scarf")
    assert code == 0
    assert out.startswith("copy: [offline] ")
    assert "wool scarf" in out
    assert "photo: <image/png" in out
    assert "ok       copy" in err and "succeeded" in err


def test_run_json_has_the_documented_keys(capsys):
    code, out, _ = run_cli(capsys, "run", PRODUCT, "--json", "-i", "product=tea")
    assert code == 0
    data = json.loads(out)
    assert {"status", "run_id", "outputs", "usage", "cost", "nodes"} <= set(data)
    assert data["status"] == "succeeded"
    assert data["outputs"]["copy"].startswith("[offline]")
    photo = data["outputs"]["photo"]
    assert photo["$media"] == "image" and photo["mime"] == "image/png" and photo["data_base64"]
    assert data["nodes"]["copy"]["status"] == "done"
    assert data["usage"]["input_tokens"] > 0
    assert data["cost"] == 0


def test_run_out_dir_saves_media(capsys, tmp_path: Path):
    code, out, _ = run_cli(capsys, "run", PRODUCT, "--out-dir", str(tmp_path), "-q")
    assert code == 0
    png = tmp_path / "photo.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert f"photo: saved {png}" in out


def test_inputs_file(capsys, tmp_path: Path):
    inputs = write(tmp_path, {"topic": "otters"}, "inputs.json")
    code, out, _ = run_cli(capsys, "run", write(tmp_path, base_flow()), "--inputs", inputs, "-q")
    assert code == 0 and "otters" in out


def test_input_from_file_with_at(capsys, tmp_path: Path):
    (tmp_path / "topic.txt").write_text("badgers", encoding="utf-8")
    code, out, _ = run_cli(capsys, "run", write(tmp_path, base_flow()), "-i", f"topic=@{tmp_path / 'topic.txt'}")
    assert code == 0 and "badgers" in out


def test_failed_run_exits_1(capsys, tmp_path: Path):
    flow = {"nbflow": 1, "name": "f", "nodes": [
        {"id": "data", "type": "input.json", "params": {"default": {"a": 1}}},
        {"id": "pick", "type": "json.extract", "params": {"path": "$.missing"}},
    ], "edges": [{"from": "data.value", "to": "pick.data"}]}
    code, out, err = run_cli(capsys, "run", write(tmp_path, flow), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["status"] == "failed"
    assert data["error"] == "node 'pick': path '$.missing': $ has no key 'missing'"


def test_validate(capsys):
    code, out, _ = run_cli(capsys, "validate", PRODUCT)
    assert code == 0
    assert "valid: 7 nodes, 6 edges; inputs: product (text); outputs: copy, photo" in out


def test_nodes_lists_builtins(capsys):
    code, out, _ = run_cli(capsys, "nodes")
    assert code == 0
    for t in ("input.text", "input.image", "output", "template", "json.extract", "join", "convert", "llm", "image"):
        assert f"  {t} " in out
    code, out, _ = run_cli(capsys, "nodes", "--json")
    cat = {n["type"]: n for n in json.loads(out)}
    assert cat["llm"]["outputs"] == {"text": "text"}
    assert cat["template"]["params"]["properties"]["template"]["type"] == "string"


def test_no_command_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys)
    assert code == 2


# -- bad input: one line, names the place, exit 2 ------------------------------------------------

BAD = {
    "not_json": ("{nope", "flow.json: not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    "wrong_shape_array": ("[1, 2]", "flow.json: not a flow: a flow file is a JSON object, got an array"),
    "wrong_shape_field": ({"nbflow": 1, "nodes": 5}, "flow.json: nodes: Input should be a valid list"),
    "unknown_field": ({"nbflow": 1, "nodez": []}, "flow.json: nodez: Extra inputs are not permitted"),
    "newer_version": ({"nbflow": 99}, "flow.json: field 'nbflow': format version 99 is newer than this nbflow supports (3); upgrade nbflow"),
    "unknown_type": (base_flow(nodes=[{"id": "copy", "type": "llmm"}], edges=[]),
                     "flow.json: node 'copy': unknown node type 'llmm'; did you mean 'llm'?"),
    "duplicate_id": (base_flow(nodes=[{"id": "a", "type": "llm"}, {"id": "a", "type": "output"}], edges=[]),
                     "flow.json: node 'a': duplicate node id"),
    "edge_missing_node": (base_flow(edges=[{"from": "ghost.text", "to": "out.value"}]),
                          "flow.json: node 'ghost': edge ghost.text -> out.value: no node 'ghost'"),
    "edge_missing_port": (base_flow(edges=[{"from": "copy.txt", "to": "out.value"}]),
                          "flow.json: node 'copy' port 'txt': edge copy.txt -> out.value: llm has no output 'txt' (outputs: text)"),
    "type_mismatch": ({"nbflow": 1, "nodes": [{"id": "img", "type": "image"}, {"id": "t", "type": "template",
                       "params": {"template": "{{x}}"}}, {"id": "p", "type": "input.text"}],
                       "edges": [{"from": "p.value", "to": "img.prompt"}, {"from": "img.image", "to": "t.x"}]},
                      "flow.json: node 't' port 'x': type mismatch: img.image is image but t.x takes text"),
    "cycle": ({"nbflow": 1, "nodes": [{"id": "a", "type": "template", "params": {"template": "{{x}}"}},
                                      {"id": "b", "type": "template", "params": {"template": "{{y}}"}}],
               "edges": [{"from": "a.text", "to": "b.y"}, {"from": "b.text", "to": "a.x"}]},
              "flow.json: node 'a': cycle: a -> b -> a (use a loop node for repetition)"),
    "unconnected_required": (base_flow(edges=[{"from": "topic.value", "to": "prompt.topic"}]),
                             "flow.json: node 'copy' port 'prompt': required input is not connected (text)"),
    "param_wrong_type": ({"nbflow": 1, "nodes": [{"id": "img", "type": "image", "params": {"n": "many"}}]},
                         "flow.json: node 'img' field 'params.n': Input should be a valid integer, unable to parse string as an integer"),
    "literal_key": (base_flow(nodes=[{"id": "copy", "type": "llm",
                                      "params": {"system": "use sk-abcdefghijklmnopqrstuvwx1234"}}], edges=[]),
                    "flow.json: node 'copy' field 'params.system': looks like a literal API key; keep keys out of flow files: set an environment variable and name it in api_key_env"),
    "bad_edge_ref": (base_flow(edges=[{"from": "copytext", "to": "out.value"}]),
                     "flow.json: edges[0].from: 'copytext' is not of the form 'node.port'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_flow_gives_one_line_and_exit_2(case, capsys, tmp_path: Path, monkeypatch):
    content, expected = BAD[case]
    monkeypatch.chdir(tmp_path)
    write(tmp_path, content)
    for cmd in ("run", "validate"):
        code, out, err = run_cli(capsys, cmd, "flow.json")
        assert code == 2, err
        assert err == f"nbflow: error: {expected}\n"
        assert "sk-abc" not in err


def test_missing_file(capsys, tmp_path: Path):
    code, _, err = run_cli(capsys, "run", str(tmp_path / "nope.json"))
    assert code == 2
    assert err == f"nbflow: error: {tmp_path / 'nope.json'}: no such file\n"


def test_missing_graph_input(capsys, tmp_path: Path):
    code, _, err = run_cli(capsys, "run", write(tmp_path, base_flow()))
    assert code == 2
    assert err == "nbflow: error: node 'topic': missing graph input 'topic' (give it with --input topic=...)\n"


def test_unknown_graph_input(capsys, tmp_path: Path):
    code, _, err = run_cli(capsys, "run", write(tmp_path, base_flow()), "-i", "topik=x")
    assert code == 2
    assert err == "nbflow: error: field 'topik': unknown graph input 'topik' (inputs: topic)\n"


def test_malformed_input_pair(capsys, tmp_path: Path):
    code, _, err = run_cli(capsys, "run", write(tmp_path, base_flow()), "-i", "topic")
    assert code == 2
    assert err == "nbflow: error: --input 'topic': expected NAME=VALUE\n"


def test_bad_number_input(capsys, tmp_path: Path):
    flow = {"nbflow": 1, "nodes": [{"id": "n", "type": "input.number"}, {"id": "o", "type": "output"}],
            "edges": [{"from": "n.value", "to": "o.value"}]}
    code, out, err = run_cli(capsys, "run", write(tmp_path, flow), "-i", "n=seven")
    assert code == 2
    assert err == "nbflow: error: node 'n': input 'n': 'seven' is not a number\n"
    code, out, err = run_cli(capsys, "run", write(tmp_path, flow), "-i", "n=7", "--json")
    assert json.loads(out)["outputs"] == {"o": 7}


def test_bad_inputs_file(capsys, tmp_path: Path):
    bad = write(tmp_path, "[1]", "inputs.json")
    code, _, err = run_cli(capsys, "run", write(tmp_path, base_flow()), "--inputs", bad)
    assert code == 2
    assert err == f"nbflow: error: {bad}: inputs file must hold a JSON object of name -> value\n"


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2


def test_real_process_no_traceback_and_exit_codes(tmp_path: Path):
    bad = write(tmp_path, "{nope")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "nbflow", "run", bad], capture_output=True, text=True, env=env)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert p.stderr.count("\n") == 1
    p = subprocess.run([sys.executable, "-m", "nbflow", "run", PRODUCT, "--json"], capture_output=True,
                       text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "succeeded"
