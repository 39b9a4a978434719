"""Budgets: cost caps per run, per flow per day and per caller key, against the fake provider server
(real HTTP on 127.0.0.1), counting the calls it receives: a capped run makes no call past its cap."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nbflow
from nbflow.cli import main
from nbflow.engine.budget import day, spending
from nbflow.model.spec import BudgetSpec
from nbflow.nodes.nodetype import NodeType, Params, Port
from nbflow.nodes.registry import Registry
from nbflow.providers.estimate import estimate_flow
from nbflow.providers.provider import ChatRequest, Message
from nbflow.store import SQLiteStore
from nbflow.testing.fakeserver import FakeServer, env_for

MODEL = "gpt-4o-mini"
#: $100 per million output tokens, input free: a 1,000-token answer costs $0.10, estimated or recorded.
PRICES = {"models": {"openai": {MODEL: {"input": 0, "output": 100}}}}


def chain(n: int, budget: dict[str, Any] | None = None, *, max_tokens: int = 1000) -> dict[str, Any]:
    """input -> w1 -> w2 ... -> wn -> output, each w an llm node at the fake server."""
    nodes: list[dict[str, Any]] = [{"id": "topic", "type": "input.text", "params": {"default": "tea"}}]
    edges = []
    prev = "topic.value"
    for i in range(1, n + 1):
        nodes.append({"id": f"w{i}", "type": "llm", "params": {"provider": "openai", "model": MODEL,
                                                               "max_tokens": max_tokens, "stream": False}})
        edges.append({"from": prev, "to": f"w{i}.prompt"})
        prev = f"w{i}.text"
    nodes.append({"id": "out", "type": "output"})
    edges.append({"from": prev, "to": "out.value"})
    flow: dict[str, Any] = {"nbflow": 2, "name": "capped", "nodes": nodes, "edges": edges}
    if budget is not None:
        flow["defaults"] = {"budget": budget}
    return flow


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Any:
    (Path(os.environ["NBFLOW_HOME"]) / "prices.json").write_text(json.dumps(PRICES), encoding="utf-8")
    with FakeServer() as srv:
        srv.script(text="ok", usage=(0, 1000))  # every answer: 1,000 output tokens = $0.10
        for k, v in env_for(srv.url).items():
            monkeypatch.setenv(k, v)
        yield srv


def calls(srv: FakeServer) -> int:
    return len([r for r in srv.requests if r.path.endswith("/chat/completions")])


def test_a_run_cap_stops_before_the_call_that_would_pass_it(server: FakeServer) -> None:
    flow = nbflow.Flow.loads(json.dumps(chain(4, {"run": 0.25})))
    res = flow.run()
    assert res.status == "failed"
    assert calls(server) == 2  # $0.10 + $0.10; a third $0.10 would pass $0.25
    assert [res.nodes[f"w{i}"].status for i in (1, 2, 3)] == ["done", "done", "failed"]
    assert "w4" not in res.nodes or res.nodes["w4"].status == "skipped"
    assert res.error == ("node 'w3': budget: a call estimated at $0.1000 would pass the per-run cap of $0.2500 "
                         f"(spent $0.2000 for run {res.run_id!r})")
    assert res.nodes["w3"].error["type"] == "BudgetError" and res.nodes["w3"].attempts == 1  # never retried
    assert res.cost == pytest.approx(0.2)


def test_recorded_cost_past_the_cap_stops_the_next_call(server: FakeServer) -> None:
    # max_tokens 10: each call is estimated at $0.001, but the server answers with 1,000 tokens ($0.10).
    flow = nbflow.Flow.loads(json.dumps(chain(3, {"run": 0.05}, max_tokens=10)))
    res = flow.run()
    assert calls(server) == 1
    assert res.status == "failed"
    assert res.nodes["w2"].error["message"] == ("budget: the per-run cap of $0.0500 was passed by recorded cost "
                                                f"(spent $0.1000 for run {res.run_id!r}); no further provider call")


def test_a_fallback_that_fits_the_budget_still_runs(server: FakeServer) -> None:
    spec = chain(1, {"run": 0.05})
    spec["nodes"][1]["policy"] = {"fallback": ["cheap"]}
    spec["nodes"].append({"id": "cheap", "type": "llm", "params": {"provider": "openai", "model": MODEL,
                                                                   "max_tokens": 100, "stream": False}})
    res = nbflow.Flow.loads(json.dumps(spec)).run()  # w1 is estimated at $0.10, cheap at $0.01
    assert res.status == "succeeded" and res.nodes["w1"].fallback == "cheap"
    assert calls(server) == 1


def test_pause_for_approval_then_approve_or_reject(server: FakeServer, tmp_path: Path) -> None:
    flow = nbflow.Flow.loads(json.dumps(chain(3, {"run": 0.15, "on_exceed": "pause"})))
    with SQLiteStore(tmp_path / "runs.db") as store:
        res = flow.run(store=store)
        assert res.status == "paused" and calls(server) == 1
        [waiting] = store.approvals(res.run_id)
        assert waiting.node_id == "w2"
        assert waiting.reason.startswith("budget: a call estimated at $0.1000 would pass the per-run cap of $0.1500")
        assert waiting.data["budget"]["spent"] == pytest.approx(0.1)
        out = flow.resume(res.run_id, approve=True, store=store)  # w2 may go over; w3 pauses again
        assert calls(server) == 2 and out.status == "paused"
        assert [a.node_id for a in store.approvals(res.run_id)] == ["w3"]
        out = flow.resume(res.run_id, approve=False, store=store)
        assert out.status == "failed" and calls(server) == 2
        assert out.nodes["w3"].error["message"] == "budget: a reviewer rejected the call over the cap"


def test_the_flow_day_cap_spans_runs_through_the_store(server: FakeServer, tmp_path: Path) -> None:
    flow = nbflow.Flow.loads(json.dumps(chain(1, {"flow_day": 0.35})))
    with SQLiteStore(tmp_path / "runs.db") as store:
        statuses = [flow.run(store=store, cache=False).status for _ in range(5)]
        assert statuses == ["succeeded"] * 3 + ["failed"] * 2
        assert calls(server) == 3
        assert store.spent("flow:capped", day()) == pytest.approx(0.3)


def test_server_caps_and_caller_keys(server: FakeServer, tmp_path: Path) -> None:
    flow = nbflow.Flow.loads(json.dumps(chain(1)))  # no budget of its own: the server's applies
    with SQLiteStore(tmp_path / "runs.db") as store:
        with spending(key="bearer:aaaa", budget=BudgetSpec(key_day=0.25)):
            assert [flow.run(store=store, cache=False).status for _ in range(3)] == ["succeeded", "succeeded", "failed"]
        with spending(key="bearer:bbbb", budget=BudgetSpec(key_day=0.25)):
            assert flow.run(store=store, cache=False).status == "succeeded"  # another key has its own budget
        assert calls(server) == 3
        assert store.spent("key:bearer:aaaa", day()) == pytest.approx(0.2)
        assert store.spent("key:bearer:bbbb", day()) == pytest.approx(0.1)


def test_the_lower_of_the_flow_and_server_caps_holds(server: FakeServer) -> None:
    flow = nbflow.Flow.loads(json.dumps(chain(3, {"run": 0.5})))
    with spending(budget=BudgetSpec(run=0.15)):
        res = flow.run()
    assert res.status == "failed" and calls(server) == 1


def test_an_estimate_spends_nothing(server: FakeServer) -> None:
    flow = nbflow.Flow.loads(json.dumps(chain(3, {"run": 0.15})))
    est = estimate_flow(flow)
    assert est["cost"] == pytest.approx(0.3) and calls(server) == 0
    assert flow.run().status == "failed" and calls(server) == 1  # the dry run charged no budget


def test_cli_exit_codes_stop_1_pause_3(server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stop = tmp_path / "stop.json"
    stop.write_text(json.dumps(chain(2, {"run": 0.15})), encoding="utf-8")
    pause = tmp_path / "pause.json"
    pause.write_text(json.dumps(chain(2, {"run": 0.15, "on_exceed": "pause"})), encoding="utf-8")
    assert main(["run", str(stop), "-q"]) == 1
    err = capsys.readouterr().err
    assert "budget: a call estimated at $0.1000 would pass the per-run cap of $0.1500" in err
    assert "Traceback" not in err
    assert main(["run", str(pause), "-q"]) == 3
    assert calls(server) == 2


def test_budget_settings_are_checked_with_clear_errors() -> None:
    with pytest.raises(nbflow.FlowError, match="budget"):
        nbflow.Flow.loads(json.dumps(chain(1, {"run": -1})))
    with pytest.raises(nbflow.FlowError, match="on_exceed"):
        nbflow.Flow.loads(json.dumps(chain(1, {"run": 1, "on_exceed": "ask"})))


def _racing_runs(flow_file: Path, env: dict[str, str], n: int) -> list[int]:
    """``nbflow run`` in ``n`` processes at once; their exit codes."""
    procs = [subprocess.Popen([sys.executable, "-m", "nbflow", "run", str(flow_file), "-q"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    codes = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert "Traceback" not in err, err
        codes.append(p.returncode)
    return codes


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_racing_for_a_flow_day_budget_make_only_the_calls_it_allows(
        server: FakeServer, tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    store_url = str(tmp_path / "runs.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    flow_file = tmp_path / "flow.json"
    flow_file.write_text(json.dumps(chain(1, {"flow_day": 0.35})), encoding="utf-8")  # room for 3 calls
    env = {**os.environ, "NBFLOW_STORE": store_url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    codes = _racing_runs(flow_file, env, 6)
    assert sorted(codes) == [0, 0, 0, 1, 1, 1], codes
    assert calls(server) == 3
    from nbflow.store import open_store

    with open_store(store_url) as store:
        assert store.spent("flow:capped", day()) == pytest.approx(0.3)
        failed = [r for r in store.list_runs() if r.status == "failed"]
        assert len(failed) == 3 and all("per-flow-per-day cap of $0.3500" in (r.error or "") for r in failed)


def test_the_server_counts_spend_per_caller_key(server: FakeServer, tmp_path: Path) -> None:
    from nbflow.server import Auth, create_app
    from tests.deploy.helpers import client

    flow = nbflow.Flow.loads(json.dumps(chain(1)))
    token, secret = "token-0123456789abcdef", "hmac-secret-0123456789"
    store = SQLiteStore(tmp_path / "runs.db")
    app = create_app({"capped": flow}, store, Auth(token=token, hmac_secret=secret),
                     budget=BudgetSpec(key_day=0.25))

    async def go() -> list[str]:
        statuses = []
        async with client(app) as c:
            for i in range(4):
                if i < 3:
                    headers = {"authorization": f"Bearer {token}"}
                    body = b"{}"
                else:
                    from nbflow.server import sign

                    body = b"{}"
                    headers = {**sign(secret, body, path="/flows/capped/runs?wait=true"),
                               "content-type": "application/json"}
                r = await c.post("/flows/capped/runs?wait=true", content=body, headers=headers)
                statuses.append(r.json()["status"])
        return statuses

    try:
        assert asyncio.run(go()) == ["succeeded", "succeeded", "failed", "succeeded"]
        assert calls(server) == 3
        keys = {r[0]: r[2] for r in store.spend_rows(period=day()) if r[0].startswith("key:")}
        assert keys == {f"key:bearer:{hashlib.sha256(token.encode()).hexdigest()[:12]}": pytest.approx(0.2),
                        f"key:hmac:{hashlib.sha256(secret.encode()).hexdigest()[:12]}": pytest.approx(0.1)}
        assert token not in json.dumps(store.spend_rows())
    finally:
        store.close()


def test_stats_show_spend_against_budgets(server: FakeServer, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    flow = nbflow.Flow.loads(json.dumps(chain(1, {"flow_day": 0.35})))
    with SQLiteStore(Path(os.environ["NBFLOW_HOME"]) / "runs.db") as store:
        flow.run(store=store)
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "BUDGET      DAY (UTC)    SPENT $     CAP $    USED\n" in out
    assert f"flow capped {day()}    0.1000    0.3500   28.6%\n" in out
    assert main(["stats", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"budget": "flow", "name": "capped", "day": day(), "spent": 0.1, "cap": 0.35, "left": 0.25} in lines


def test_an_unpriced_call_passes_until_recorded_cost_passed_a_cap() -> None:
    from nbflow.engine.budget import BudgetGuard, Caps
    from nbflow.exceptions import BudgetError
    from nbflow.store import MemoryStore

    store = MemoryStore()
    guard = BudgetGuard(Caps(flow_day=1.0), run_id="r", flow="f", store=store)
    charged = guard.reserve(0.0, node="a")  # an unpriced model is estimated at $0
    guard.settle(charged, 0.0)
    assert store.spent("flow:f", day()) == 0.0
    guard.settle(guard.reserve(0.5, node="a"), 1.5)  # estimated $0.50, recorded $1.50
    with pytest.raises(BudgetError, match=r"per-flow-per-day cap of \$1.0000 was passed by recorded cost "
                                          r"\(spent \$1.5000 for flow 'f' today \(UTC\)\)"):
        guard.reserve(0.0, node="b")


class _AskParams(Params):
    pass


class _AskThenWrite(NodeType[_AskParams]):
    """Pauses for its own approval, then (whatever the decision) makes one priced call."""

    type = "t.ask_then_write"
    inputs = {"prompt": Port("text")}
    outputs = {"text": Port("text")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if ctx.resume is None:
            ctx.pause("write it?")
        resp = await ctx.provider("openai").chat(ChatRequest(model=MODEL, messages=[Message("user", inputs["prompt"])],
                                                             max_tokens=1000))
        ctx.add_usage(provider=resp.provider, model=resp.model, output_tokens=resp.usage.output_tokens)
        return {"text": resp.text}


@pytest.mark.parametrize("approve", [True, False])
def test_a_nodes_own_approval_is_no_budget_decision(server: FakeServer, tmp_path: Path, approve: bool) -> None:
    reg = Registry(plugins=False)
    reg.register(_AskThenWrite)
    spec = {"nbflow": 2, "name": "ask", "defaults": {"budget": {"run": 0.05}},
            "nodes": [{"id": "topic", "type": "input.text", "params": {"default": "tea"}},
                      {"id": "ask", "type": "t.ask_then_write"}],
            "edges": [{"from": "topic.value", "to": "ask.prompt"}]}
    flow = nbflow.Flow.loads(json.dumps(spec), registry=reg)
    with SQLiteStore(tmp_path / "runs.db") as store:
        res = flow.run(store=store)
        assert res.status == "paused" and res.nodes["ask"].reason == "write it?"
        out = flow.resume(res.run_id, approve=approve, store=store)
    # Approving (or rejecting) the node's own question neither lifts the cap nor reads as a budget rejection.
    assert out.status == "failed" and calls(server) == 0
    assert out.nodes["ask"].error["message"].startswith("budget: a call estimated at $0.1000 would pass the per-run cap")
