"""One decision and one resumer per run, across real processes: of two ``nbflow resume`` started
together, exactly one wins and the other exits 2 with one line; provider calls happen once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nbflow
from nbflow.model.record import RunResult
from nbflow.store import SQLiteStore
from nbflow.testing.fakeserver import FakeServer, env_for

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process races are tested on POSIX")

ROUNDS = 20

REVIEW = {"nbflow": 1, "name": "review", "nodes": [
    {"id": "draft", "type": "input.text", "params": {"default": "copy"}},
    {"id": "review", "type": "approval", "params": {"prompt": "Publish?"}},
    {"id": "out", "type": "output"}],
    "edges": [{"from": "draft.value", "to": "review.value"}, {"from": "review.approved", "to": "out.value"}]}

CALLS = {"nbflow": 1, "name": "calls", "nodes": [
    {"id": "topic", "type": "input.text", "params": {"default": "teapots"}},
    {"id": "write", "type": "llm", "params": {"provider": "openai", "model": "gpt-4o-mini"}},
    {"id": "out", "type": "output"}],
    "edges": [{"from": "topic.value", "to": "write.prompt"}, {"from": "write.text", "to": "out.value"}]}


def _env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(NBFLOW_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[2]), **(extra or {}))
    return env


def _together(argvs: list[list[str]], env: dict[str, str]) -> list[tuple[int, str]]:
    """Start every command at once; their exit codes and stderr, in order."""
    procs = [subprocess.Popen([sys.executable, "-m", "nbflow", *a], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for a in argvs]
    out = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        out.append((p.returncode, err))
    return out


def _loser_line(err: str, run_id: str) -> None:
    assert err.count("\n") == 1 and err.startswith(f"nbflow: error: run {run_id!r} "), err
    assert "Traceback" not in err


def test_approve_and_reject_together_exactly_one_wins(tmp_path: Path) -> None:
    home = tmp_path / "home"
    flow = nbflow.Flow.loads(json.dumps(REVIEW))
    with SQLiteStore(home / "runs.db") as store:
        ids = [flow.run(store=store).run_id for _ in range(ROUNDS)]
        assert {store.summary(i).status for i in ids} == {"paused"}
    env = _env(home)
    winners = []
    for run_id in ids:
        (a_code, a_err), (r_code, r_err) = _together([["resume", run_id, "--approve", "-q"],
                                                      ["resume", run_id, "--reject", "-q"]], env)
        assert sorted([a_code, r_code]) == [0, 2], (a_err, r_err)
        _loser_line(r_err if r_code else a_err, run_id)
        winners.append("approve" if a_code == 0 else "reject")
        with SQLiteStore(home / "runs.db") as store:
            [decided] = store.approvals(run_id, pending=False)
            assert decided.decision["approved"] is (a_code == 0)  # the record says what the winner said
            record = store.get(run_id)
            assert record.status == "succeeded"
            assert ("copy" if a_code == 0 else None) == record.outputs.get("out")
            assert store.lease(run_id) is None
    assert len(winners) == ROUNDS


def test_two_crash_resumes_call_the_provider_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    flow = nbflow.Flow.loads(json.dumps(CALLS))
    with SQLiteStore(home / "runs.db") as store:
        ids = [f"crashed-{i:02d}" for i in range(ROUNDS)]
        for run_id in ids:  # a run whose process died before its first node finished
            store.record_start(RunResult(run_id=run_id, flow="calls", inputs={}), flow_text=flow.dumps(),
                               source="cli", pid=0)
    with FakeServer() as server:
        env = _env(home, env_for(server.url))
        for n, run_id in enumerate(ids, 1):
            results = _together([["resume", run_id, "-q"], ["resume", run_id, "-q"]], env)
            codes = sorted(code for code, _ in results)
            assert codes == [0, 2], results
            _loser_line(next(err for code, err in results if code == 2), run_id)
            assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == n
    with SQLiteStore(home / "runs.db") as store:
        for run_id in ids:
            rec = store.get(run_id)
            assert rec.status == "succeeded" and rec.nodes["write"].attempts == 1


def _paused_run(store: SQLiteStore) -> str:
    return nbflow.Flow.loads(json.dumps(REVIEW)).run(store=store).run_id


def test_python_and_http_refuse_a_run_another_process_holds(tmp_path: Path) -> None:
    import asyncio

    from nbflow.server import Auth, create_app

    from ..deploy.helpers import AUTH, TOKEN, client

    store = SQLiteStore(tmp_path / "runs.db")
    run_id = _paused_run(store)
    assert store.claim(run_id, "elsewhere:4242:tok", ttl=60) is not None  # another machine is deciding
    with pytest.raises(nbflow.ClaimError, match=r"is being decided or resumed by process 4242 on elsewhere"):
        nbflow.resume(run_id, approve=True, store=store)
    app = create_app({"review": nbflow.Flow.loads(json.dumps(REVIEW))}, store, Auth(token=TOKEN))

    async def go() -> None:
        async with client(app) as c:
            r = await c.post(f"/runs/{run_id}/resume", json={"approve": False}, headers=AUTH)
            assert r.status_code == 409 and "process 4242 on elsewhere" in r.json()["error"]

    asyncio.run(go())
    assert store.summary(run_id).status == "paused" and store.approvals(run_id)[0].pending
    store.release(run_id, "elsewhere:4242:tok")
    assert nbflow.resume(run_id, approve=True, store=store).status == "succeeded"
    store.close()


def test_a_running_run_keeps_its_lease_by_heartbeat_not_per_node(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from tests import nodes_for_tests as T

    monkeypatch.setenv("NBFLOW_LEASE_TTL", "0.3")
    store = SQLiteStore(tmp_path / "runs.db")
    flow = nbflow.Flow("slow", registry=T.make_registry())
    flow.add("t.echo", id="a", sleep=1.2)
    done: list[RunResult] = []
    runner = threading.Thread(target=lambda: done.append(flow.run(store=store, run_id="slow-1")))
    runner.start()
    deadline = time.monotonic() + 30
    while store.lease("slow-1") is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first = store.lease("slow-1")
    time.sleep(0.8)  # past the 0.3 s lease time: only the heartbeat keeps it
    later = store.lease("slow-1")
    assert later is not None and later.owner == first.owner and later.expires_at > first.expires_at
    assert later.live()
    with pytest.raises(nbflow.ClaimError, match="already running or being resumed in this process"):
        flow.resume("slow-1", store=store)
    runner.join(timeout=30)
    assert done[0].status == "succeeded" and store.lease("slow-1") is None
    store.close()
