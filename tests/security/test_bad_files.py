"""Bad files: every malformed flow file, of any format version, and JSON that is not a flow, exit 2 with
one line; a batch inputs file that reuses an explicit id with other inputs is refused naming both lines;
unknown providers and models of another provider are refused by `nbflow validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbflow import Flow
from nbflow.cli import main
from nbflow.exceptions import FlowFormatError, ParamError

V1_LLM = {"nbflow": 1, "name": "x", "nodes": [{"id": "c", "type": "llm", "params": {}}], "edges": []}


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    p = tmp_path / "flow.json"
    p.write_text(text, encoding="utf-8")
    code = main(["validate", str(p)])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("doc", [
    {}, [], "a flow", 42, None, True, {"name": "x"}, {"nbflow": 1, "name": "x"}, {"edges": []},
    [{"nodes": []}],
])
def test_json_that_is_not_a_flow_is_refused(tmp_path, capsys, doc):
    code, err = _validate(tmp_path, json.dumps(doc), capsys)
    assert code == 2 and err.count("\n") == 1 and "not a flow" in err, err


@pytest.mark.parametrize("doc", [
    # unversioned pre-release files
    {"nodes": {"a": {"type": "input.text"}}, "edges": {"a": 1}},
    {"nodes": {"a": {"type": "input.text"}}, "edges": 7},
    {"nodes": {"a": {"type": "input.text"}}, "edges": [["a", "value"]]},
    {"nodes": [], "edges": []},
    {"nodes": {"a": "llm"}},
    {"nodes": {"a": {"type": "input.text", "x": "left"}}},
    {"nodes": {"a": {"type": "input.text", "params": [1]}}},
    # version 1
    {"nbflow": 1, "nodes": {"a": {}}},
    {"nbflow": 1, "nodes": [{"id": "a"}]},
    {"nbflow": 1, "nodes": [], "edges": "a.b->c.d"},
    {"nbflow": 1, "nodes": [], "layout": []},
    {"nbflow": "1", "nodes": []},
    {"nbflow": 99, "nodes": []},
    {"nbflow": -1, "nodes": []},
    {"nbflow": 1, "nodes": [{"id": "a", "type": "input.json", "params": {"default": [[[[[[0]]]]]]}}],
     "deep": json.loads("[" * 150 + "]" * 150)},
])
def test_malformed_files_of_every_version_exit_2_with_one_line(tmp_path, capsys, doc):
    code, err = _validate(tmp_path, json.dumps(doc), capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("nbflow: error: "), err
    assert "Traceback" not in err


def test_deep_json_flow_files(tmp_path, capsys):
    for depth in (150, 5_000, 100_000):
        code, err = _validate(tmp_path, '{"nbflow": 1, "nodes": ' + "[" * depth + "]" * depth + "}", capsys)
        assert code == 2 and err.count("\n") == 1, (depth, err)
    with pytest.raises(FlowFormatError, match="nested deeper than 100 levels"):
        Flow.loads(json.dumps({**V1_LLM, "nodes": [{"id": "a", "type": "input.json",
                                                     "params": {"default": json.loads("[" * 120 + "]" * 120)}}]}))


def test_batch_id_reused_with_other_inputs_names_both_lines(tmp_path, capsys):
    flow = tmp_path / "f.json"
    flow.write_text(json.dumps({"nbflow": 1, "name": "f", "nodes": [{"id": "t", "type": "input.text"},
                                                                      {"id": "o", "type": "output"}],
                                "edges": [{"from": "t.value", "to": "o.value"}]}))
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id": "a", "inputs": {"t": "1"}}\n{"id": "b", "inputs": {"t": "2"}}\n'
                      '{"id": "a", "inputs": {"t": "1"}}\n{"id": "a", "inputs": {"t": "other"}}\n')
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(flow), str(inputs), "--out", str(out), "--no-store", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 4: id 'a' is already used on line 1 with other inputs" in err
    assert not out.exists() or out.read_text() == ""
    inputs.write_text('{"id": "a", "inputs": {"t": "1"}}\n{"id": "a", "inputs": {"t": "1"}}\n')
    assert main(["batch", str(flow), str(inputs), "--out", str(out), "--no-store", "-q"]) == 0
    assert "1 duplicate lines dropped" in capsys.readouterr().out


@pytest.mark.parametrize(("params", "message"), [
    ({"provider": "opnai"}, "unknown provider 'opnai' (did you mean 'openai'?)"),
    ({"provider": "antropic", "model": "claude-3-5-haiku-latest"}, "(did you mean 'anthropic'?)"),
    ({"provider": "zzz"}, "unknown provider 'zzz' (known: "),
    ({"provider": "openai"}, "model 'offline-chat' belongs to provider 'offline', not 'openai' (for openai, "
                             "e.g. 'gpt-4o-mini')"),
    ({"provider": "openrouter", "model": "offline-chat"}, "belongs to provider 'offline'"),
    ({"provider": "gemini", "model": "claude-3-5-haiku-latest"}, "belongs to provider 'anthropic', not 'gemini'"),
])
def test_validate_refuses_unknown_providers_and_models_of_another(tmp_path, capsys, params, message):
    doc = {**V1_LLM, "nodes": [{"id": "c", "type": "llm", "params": params}]}
    code, err = _validate(tmp_path, json.dumps(doc), capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert "node 'c'" in err


@pytest.mark.parametrize(("node_type", "params"), [
    ("llm", {"provider": "openrouter", "model": "anthropic/claude-3.5-sonnet"}),
    ("llm", {"provider": "vllm", "model": "gpt-oss-20b"}),
    ("llm", {"provider": "offline", "model": "gpt-4o"}),
    ("llm", {"provider": "openai", "model": "my-fine-tune"}),
    ("speech", {"provider": "elevenlabs", "model": "eleven_turbo_v2_5"}),
    ("video", {}),
])
def test_models_nbflow_does_not_know_or_that_fit_pass(node_type, params):
    Flow("x").add(node_type, **params)  # validated as any load would


def test_set_params_resets_a_model_that_does_not_fit_the_new_provider():
    f = Flow("x")
    f.add("llm", id="c")
    f.add("image", id="i")
    f.add("speech", id="s")
    f.set_params("c", provider="openai")
    assert f.node("c").params == {"provider": "openai", "model": "gpt-4o-mini"}
    f.set_params("c", provider="anthropic")
    assert f.node("c").params["model"] == "claude-3-5-haiku-latest"
    f.set_params("c", provider="ollama")
    assert f.node("c").params["model"] == "llama3.2"
    f.set_params("i", provider="openai")
    assert f.node("i").params["model"] == "gpt-image-1"
    f.set_params("s", provider="elevenlabs")
    assert f.node("s").params["model"] == "eleven_multilingual_v2"
    f.set_params("c", provider="openai", model="gpt-4o")  # a model given with the provider is kept
    assert f.node("c").params["model"] == "gpt-4o"
    with pytest.raises(ParamError, match="belongs to provider 'offline'"):
        f.set_params("c", provider="anthropic", model="offline-chat")
    with pytest.raises(ParamError, match="did you mean 'gemini'"):
        f.set_params("c", provider="gemni")
    assert f.node("c").params == {"provider": "openai", "model": "gpt-4o"}


def test_adding_a_node_for_a_provider_without_a_model_takes_that_providers_default():
    f = Flow("x")
    f.add("llm", id="c", provider="openai")
    assert f.node("c").params == {"provider": "openai", "model": "gpt-4o-mini"}
    f.add("llm", id="d", provider="anthropic", model="claude-3-5-sonnet-latest")  # a model given is kept
    assert f.node("d").params["model"] == "claude-3-5-sonnet-latest"
    with pytest.raises(ParamError, match="belongs to provider 'offline'"):
        f.add("llm", id="e", provider="openai", model="offline-chat")
