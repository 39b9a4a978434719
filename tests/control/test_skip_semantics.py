"""When a node is skipped: the table in docs/control.md, row by row, and a rejection that must not POST."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nbflow
from nbflow.cli import main
from nbflow.exceptions import FlowError
from nbflow.testing.fakeserver import FakeServer
from tests import nodes_for_tests as T


@pytest.fixture(autouse=True)
def _reset():
    T.reset()
    yield
    T.reset()


def _flow(source: str, *, target: str = "t.echo", port: str = "x", join: bool = False) -> nbflow.Flow:
    """``up`` feeds ``node.<port>``; ``up`` ends in the state named by ``source``."""
    flow = nbflow.Flow("skip-table", registry=T.make_registry())
    flow.add("t.echo", id="src", tag="v")
    if source == "route not taken":
        flow.add("t.pick", id="up", port="a")
        flow.connect("src.out", "up.x")
        out = "up.b"
    elif source == "failed":
        flow.add("t.flaky", id="up", fail_times=9, retryable=False)
        out = "up.out"
    elif source == "skipped":
        flow.add("t.pick", id="cut", port="a")
        flow.add("t.echo", id="up")
        flow.connect("src.out", "cut.x")
        flow.connect("cut.b", "up.x")
        out = "up.out"
    else:
        flow.add("t.echo", id="up")
        out = "up.out"
    if target == "merge":
        flow.add("merge", id="node")
        port = "in1"
        flow.add("t.echo", id="other", tag="o")
        flow.connect("other.out", "node.in2")
    else:
        flow.add(target, id="node", policy={"join": True} if join else None)
    flow.connect(out, f"node.{port}")
    return flow


# (state of the input's source, the node that reads it, its port, join opt-in) -> the node's status
TABLE = [
    ("done", "t.echo", "x", False, "done"),
    ("route not taken", "t.echo", "x", False, "skipped"),   # optional input: still skipped
    ("route not taken", "t.pick", "x", False, "skipped"),   # required input
    ("failed", "t.echo", "x", False, "skipped"),
    ("skipped", "t.echo", "x", False, "skipped"),
    ("route not taken", "merge", "in1", False, "done"),     # a join by design
    ("failed", "merge", "in1", False, "done"),
    ("route not taken", "t.echo", "x", True, "done"),       # per-node opt-in: runs without the input
    ("failed", "t.echo", "x", True, "done"),
    ("skipped", "t.echo", "x", True, "done"),
    ("route not taken", "t.pick", "x", True, "skipped"),    # a join still needs its required inputs
]


@pytest.mark.parametrize(("source", "target", "port", "join", "expected"), TABLE)
def test_skip_table(source: str, target: str, port: str, join: bool, expected: str) -> None:
    res = _flow(source, target=target, port=port, join=join).run()
    assert res.nodes["node"].status == expected, res.nodes["node"].reason
    if expected == "done" and target == "t.echo":
        assert res.nodes["node"].outputs == {"out": "up" if source == "done" else "node"}


def test_skip_reasons_name_the_cause() -> None:
    assert _flow("failed").run().nodes["node"].reason == "upstream node 'up' failed"
    assert _flow("skipped").run().nodes["node"].reason == "upstream node 'up' was skipped"
    assert _flow("route not taken").run().nodes["node"].reason == \
        "input 'x': up.b was not produced (branch not taken or rejected)"


def test_optional_graph_input_not_given_is_just_absent() -> None:
    flow = nbflow.Flow("opt", registry=T.make_registry())
    flow.add("input.text", id="note", required=False)
    flow.add("t.echo", id="node")
    flow.connect("note.value", "node.x")
    res = flow.run()
    assert (res.status, res.nodes["node"].status, res.nodes["node"].outputs) == ("succeeded", "done",
                                                                                {"out": "node"})
    assert flow.run(note="hi").nodes["node"].outputs == {"out": "hi"}


def test_join_is_a_per_node_policy_only() -> None:
    spec = {"nbflow": 1, "name": "j", "defaults": {"join": True}, "nodes": [], "edges": []}
    with pytest.raises(FlowError, match="join is a per-node policy"):
        nbflow.Flow.loads(json.dumps(spec))


def _approval_then_post(url: str) -> dict:
    return {"nbflow": 1, "name": "approve-then-post", "nodes": [
        {"id": "draft", "type": "input.text", "params": {"default": "ship it"}},
        {"id": "review", "type": "approval", "params": {"prompt": "Post this?"}},
        {"id": "post", "type": "http", "params": {"url": url, "body": {"message": "{{text}}"}}},
        {"id": "out", "type": "output"}],
        "edges": [{"from": "draft.value", "to": "review.value"},
                  {"from": "review.approved", "to": "post.text"},     # an optional input
                  {"from": "post.status", "to": "out.value"}]}


@pytest.mark.parametrize(("decision", "posts", "status"), [("--reject", 0, "skipped"), ("--approve", 1, "done")])
def test_a_rejected_approval_never_lets_a_side_effect_run(tmp_path: Path, capsys, decision: str, posts: int,
                                                          status: str) -> None:
    with FakeServer() as server:
        path = tmp_path / "flow.json"
        path.write_text(json.dumps(_approval_then_post(f"{server.url}/hooks/publish")))
        assert main(["run", str(path)]) == 3
        run_id = capsys.readouterr().err.splitlines()[0].split()[1]
        assert main(["resume", run_id, decision]) == 0
        sent = [r for r in server.requests if r.path == "/hooks/publish"]
        assert len(sent) == posts
    record = nbflow.open_store().get(run_id)
    assert record.nodes["post"].status == status
    if posts == 0:
        assert record.nodes["post"].reason == \
            "input 'text': review.approved was not produced (branch not taken or rejected)"
