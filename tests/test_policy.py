"""How a node runs lives in ``policy``; what it computes in ``params``. Format 2 and its migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nbflow
from nbflow.model.io import migrate, read_spec
from nbflow.model.spec import FORMAT_VERSION

DATA = Path(__file__).parent / "data"
EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.json"))


def test_version_1_run_settings_move_from_params_to_policy() -> None:
    spec = read_spec(DATA / "v1_run_settings.json")
    assert spec.nbflow == FORMAT_VERSION == 3
    nodes = {n.id: n for n in spec.nodes}
    write = nodes["write"]
    assert write.params == {"provider": "offline", "model": "offline-chat"}
    assert write.policy is not None
    assert write.policy.model_dump(exclude_none=True) == {
        "request_timeout": 30, "rpm": 600, "tpm": 90000, "max_concurrency": 2, "retry": {
            "attempts": 2, "backoff": 1.0, "multiplier": 2.0, "max_backoff": 60.0, "jitter": True}}
    assert nodes["call"].params == {"url": "https://example.com/api"}
    assert nodes["call"].policy is not None and nodes["call"].policy.rpm == 60
    clip = nodes["clip"]
    assert "job_timeout" not in clip.params
    assert clip.policy is not None and clip.policy.timeout == 300  # the smaller of job and attempt bounds


def test_a_node_type_whose_params_say_timeout_keeps_it() -> None:
    data = {"nbflow": 1, "nodes": [{"id": "a", "type": "approval", "params": {"timeout": 60}}]}
    assert migrate(data)["nodes"][0] == {"id": "a", "type": "approval", "params": {"timeout": 60}}


@pytest.mark.parametrize("path", [DATA / "v0_product.json", DATA / "v1_product.json",
                                  DATA / "v1_run_settings.json", DATA / "v2_product_copy.json", *EXAMPLES],
                         ids=lambda p: p.name)
def test_every_older_file_runs_as_its_canonical_current_text(path: Path) -> None:
    old = nbflow.load(path)
    again = nbflow.Flow.loads(old.dumps())
    assert json.loads(old.dumps())["nbflow"] == 3
    given = {k: "a test" for k, i in old.inputs.items() if i["required"] and i["default"] is None}
    # http and video would leave the machine: that file runs up to its output only
    targets = ["out"] if path.name == "v1_run_settings.json" else None
    a, b = old.run(given, targets=targets), again.run(given, targets=targets)
    assert a.status == b.status and a.status in ("succeeded", "paused")
    assert a.outputs == b.outputs


def _counter_flow() -> nbflow.Flow:
    f = nbflow.Flow("keys")
    f.add("input.text", id="topic", default="tea")
    f.add("llm", id="write", provider="offline")
    f.add("output", id="out")
    f.connect("topic.value", "write.prompt")
    f.connect("write.text", "out.value")
    return f


def test_changing_a_rate_limit_or_timeout_keeps_the_cache_a_param_does_not() -> None:
    f = _counter_flow()
    first = f.run()
    assert first.nodes["write"].status == "done"
    f.set_policy("write", rpm=30, tpm=1000, max_concurrency=1, request_timeout=5, deadline=60)
    assert f.run().nodes["write"].status == "cached"
    f.set_params("write", temperature=0.5)
    assert f.run().nodes["write"].status == "done"


def test_node_params_refuse_run_settings() -> None:
    f = nbflow.Flow("x")
    with pytest.raises(nbflow.ParamError, match="rpm"):
        f.add("llm", id="write", rpm=30)


def test_a_map_body_keeps_run_settings_given_the_version_1_way() -> None:
    f = nbflow.Flow("m")
    f.add("input.json", id="items", default=["a", "b"])
    f.add("map", id="each", node={"type": "llm", "params": {"provider": "offline", "rpm": 6000, "timeout": 9}})
    f.add("output", id="out", name="text")
    f.connect("items.value", "each.items")
    f.connect("each.text", "out.value")
    body = f.validate().by_id["each"].impl.ref.plan.by_id["node"]  # type: ignore[attr-defined]
    assert body.spec.params == {"provider": "offline"}
    assert (body.policy.rpm, body.policy.request_timeout) == (6000, 9)
    assert f.run().ok
