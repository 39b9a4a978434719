"""`nbflow serve --executor dask://...`: the server accepts, records and streams; a LocalCluster's
worker processes (on 127.0.0.1) execute. Same results as in-process runs, SSE while a worker runs
the flow, Idempotency-Keys, approvals resumed on the cluster, a killed worker leaving the run
`interrupted` and resumable, schedules on the cluster, and a memory store refused."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

import httpx
import pytest

from nbflow.cli import main
from nbflow.cron import ScheduleSpec, flow_launcher
from nbflow.executor import DaskExecutor
from nbflow.flow import Flow
from nbflow.server import Auth, ServeConfig, ServerThread, build_app, sign
from nbflow.store import SQLiteStore
from nbflow.store.lease import owner_id
from nbflow.store.owners import heartbeat
from nbflow.store.postgres import PostgresStore
from nbflow.testing.fakeserver import FakeServer, env_for

from .helpers import APPROVE, AUTH, NUMBERS, TOKEN, parse_sse, write_flow

pytestmark = pytest.mark.slow

# Built-in nodes only (workers load the flow from its text); the model call goes to the fake server.
SLOW = {
    "nbflow": 1, "name": "slow",
    "nodes": [
        {"id": "topic", "type": "input.text"},
        {"id": "prompt", "type": "template", "params": {"template": "A line about {{topic}}."}},
        {"id": "copy", "type": "llm", "params": {"provider": "openai", "model": "gpt-4o-mini", "stream": False}},
        {"id": "line", "type": "output"},
    ],
    "edges": [{"from": "topic.value", "to": "prompt.topic"}, {"from": "prompt.text", "to": "copy.prompt"},
              {"from": "copy.text", "to": "line.value"}],
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A LocalCluster of two worker processes, spawned with the fake provider's keys and URLs."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    fake = FakeServer().start()
    saved = dict(os.environ)
    os.environ.update(env_for(fake.url))
    os.environ["NBFLOW_LEASE_TTL"] = "3"
    os.environ["NBFLOW_HOME"] = str(tmp_path_factory.mktemp("worker_home"))
    local = LocalCluster(n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1",
                         dashboard_address=None)
    try:
        yield "dask://" + local.scheduler_address.removeprefix("tcp://"), fake
    finally:
        local.close()
        fake.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def served(tmp_path: Any, cluster: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    executor, fake = cluster
    fake.reset()
    for name, value in env_for(fake.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NBFLOW_LEASE_TTL", "3")
    monkeypatch.setenv("NBFLOW_SERVE_TOKEN", TOKEN)
    files = [str(write_flow(tmp_path, spec)) for spec in (NUMBERS, APPROVE, SLOW)]
    store = SQLiteStore(tmp_path / "runs.db")
    app = build_app(ServeConfig.parse({"flows": files, "executor": executor}), store=store)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
        yield c, store, fake
    store.close()


def _wait_for(pred: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def _follow(c: httpx.Client, store: Any, rid: str) -> list[tuple[str, str | None, str]]:
    """The run's SSE events as they arrive: (kind, node id, the run's stored status at that moment)."""
    seen: list[tuple[str, str | None, str]] = []
    with c.stream("GET", f"/runs/{rid}/events") as s:
        buf = ""
        for chunk in s.iter_text():
            buf += chunk
            while "\n\n" in buf:
                block, buf = buf.split("\n\n", 1)
                for ev in parse_sse(block + "\n\n"):
                    seen.append((ev["event"], ev["data"].get("node_id"), store.summary(rid).status))
    return seen


def _worker_pid(store: Any, run_id: str) -> int:
    pid = store.summary(run_id).pid
    assert pid is not None and pid != os.getpid()  # recorded by the worker process that ran it
    return pid


def test_runs_on_workers_give_the_in_process_results(served: Any, tmp_path: Any) -> None:
    c, store, _ = served
    local = Flow.load(write_flow(tmp_path, NUMBERS, "local.json"))
    for inputs in ({"n": "12", "topic": "sails"}, {"n": "3"}, {"n": "nope"}):
        r = c.post("/flows/numbers/runs?wait=true", json=inputs)
        assert r.status_code == 200, r.text
        remote = r.json()
        here = local.run(inputs, store=False, cache=False)
        assert remote["status"] == here.status
        assert remote["outputs"] == json.loads(json.dumps(here.to_json()["outputs"]))
        assert {k: v["status"] for k, v in remote["nodes"].items()} == {k: v.status for k, v in here.nodes.items()}
        _worker_pid(store, remote["run_id"])
    # An Idempotency-Key names one run, executed once, whichever request comes again.
    h = {**AUTH, "idempotency-key": "order-9"}
    first = c.post("/flows/numbers/runs?wait=true", json={"n": "7"}, headers=h)
    again = c.post("/flows/numbers/runs?wait=true", json={"n": "7"}, headers=h)
    assert first.json()["run_id"] == again.json()["run_id"] and again.headers["idempotent-replayed"] == "true"
    assert again.json()["outputs"]["number"] == 7
    assert c.post("/flows/numbers/runs", json={"n": "8"}, headers=h).status_code == 409
    assert len(store.list_runs(flow="numbers")) == 4


def test_sse_streams_the_run_while_a_worker_executes_it(served: Any) -> None:
    c, store, fake = served
    fake.fault("slow", delay=2.0)
    rid = c.post("/flows/slow/runs", json={"topic": "kites"}).json()["run_id"]
    seen = _follow(c, store, rid)
    kinds = [k for k, _, _ in seen]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    # The template's record reached the stream while the model call was still running on the worker.
    assert ("node_finished", "prompt", "running") in seen
    assert c.get(f"/runs/{rid}").json()["outputs"]["line"]
    _worker_pid(store, rid)


def test_a_paused_run_is_approved_through_the_api_and_resumes_on_the_cluster(served: Any) -> None:
    c, store, _ = served
    run = c.post("/flows/review/runs?wait=true", json={"draft": "hello"}).json()
    assert run["status"] == "paused" and run["approvals"][0]["node_id"] == "check"
    r = c.post(f"/runs/{run['run_id']}/resume?wait=true", json={"approve": True, "by": "ana"})
    assert r.status_code == 200 and r.json()["status"] == "succeeded"
    assert r.json()["outputs"]["published"] == "hello"
    _worker_pid(store, run["run_id"])
    again = c.post(f"/runs/{run['run_id']}/resume", json={"approve": False})
    assert again.status_code == 409  # nothing waits any more: the worker's refusal comes back as the API's


def test_a_killed_worker_leaves_the_run_interrupted_and_resumable(served: Any) -> None:
    c, store, fake = served
    fake.fault("slow", delay=60.0)
    rid = c.post("/flows/slow/runs", json={"topic": "storms"}).json()["run_id"]
    lease = _wait_for(lambda: (le := store.lease(rid)) is not None and le.owner != owner_id()
                      and any(n["id"] == "prompt" for n in store.node_states(rid)) and le)
    _wait_for(lambda: fake.requests)  # the model call reached the provider, which holds it
    _wait_for(lambda: not heartbeat.holds(store, rid))  # the replica stopped renewing: the worker holds it
    before = store.get(rid).nodes["prompt"].to_json()
    assert lease.pid is not None and lease.pid != os.getpid()
    os.kill(lease.pid, signal.SIGKILL)  # the worker dies in the middle of the model call
    _wait_for(lambda: c.get(f"/runs/{rid}").json()["status"] == "interrupted")
    assert "interrupted" in store.summary(rid).error
    r = c.post(f"/runs/{rid}/resume?wait=true", json={})
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    assert store.get(rid).nodes["prompt"].to_json() == before  # finished nodes are not run again
    calls = [q for q in fake.requests if q.path.endswith("/chat/completions")]
    assert len(calls) == 2  # the interrupted call and the resumed one: nothing else


def test_two_replicas_on_postgres_share_runs_that_workers_execute(cluster: Any, tmp_path: Any, pg_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicas A and B on one PostgreSQL store, both submitting to the cluster: a signed request
    accepted by A is refused as a replay by B; B streams a run A accepted while a worker executes it;
    a run paused on a worker, accepted through A, is approved through B and finishes on a worker."""
    executor, fake = cluster
    fake.reset()
    for name, value in env_for(fake.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NBFLOW_LEASE_TTL", "3")
    secret = "hmac-secret-for-tests"
    files = [str(write_flow(tmp_path, spec)) for spec in (APPROVE, SLOW)]
    config = ServeConfig.parse({"flows": files, "executor": executor})
    stores = [PostgresStore(pg_url), PostgresStore(pg_url)]
    apps = [build_app(config, store=st, auth=Auth(token=TOKEN, hmac_secret=secret)) for st in stores]
    with ServerThread(apps[0]) as a, ServerThread(apps[1]) as b, \
            httpx.Client(base_url=a.url, headers=AUTH, timeout=60) as ca, \
            httpx.Client(base_url=b.url, headers=AUTH, timeout=60) as cb:
        fake.fault("slow", delay=2.0)
        body = json.dumps({"topic": "tides"}).encode()
        signed = sign(secret, body, path="/flows/slow/runs")
        r = httpx.post(a.url + "/flows/slow/runs", content=body, headers=signed)
        assert r.status_code == 202, r.text
        rid = r.json()["run_id"]
        replay = httpx.post(b.url + "/flows/slow/runs", content=body, headers=signed)
        assert replay.status_code == 401 and "already used" in replay.json()["error"]
        seen = _follow(cb, stores[1], rid)  # B never saw this run: it follows the record
        assert ("node_finished", "prompt", "running") in seen and seen[-1][0] == "run_finished"
        assert cb.get(f"/runs/{rid}").json()["status"] == "succeeded"
        run = ca.post("/flows/review/runs?wait=true", json={"draft": "tide tables"}).json()
        assert run["status"] == "paused"
        done = cb.post(f"/runs/{run['run_id']}/resume?wait=true", json={"approve": True})
        assert done.status_code == 200 and done.json()["outputs"]["published"] == "tide tables"
        for run_id in (rid, run["run_id"]):
            _worker_pid(stores[0], run_id)
    assert len(stores[0].list_runs()) == 2  # the replayed request started nothing
    for st in stores:
        st.close()


def test_a_schedule_launches_its_runs_on_the_cluster(cluster: Any, tmp_path: Any, monkeypatch: Any) -> None:
    executor, _ = cluster
    store = SQLiteStore(tmp_path / "runs.db")
    flow = Flow.load(write_flow(tmp_path, NUMBERS))
    remote = DaskExecutor(executor, store)
    spec = ScheduleSpec.parse({"flow": "numbers", "cron": "* * * * *", "inputs": {"n": "5"}})

    async def once() -> Any:
        try:
            return await flow_launcher(flow, executor=remote)(spec, time.time())
        finally:
            await remote.close()

    result = asyncio.run(once())
    assert result.status == "succeeded" and result.outputs["number"] == 5
    assert store.summary(result.run_id).source == "schedule"
    _worker_pid(store, result.run_id)
    store.close()


def test_executor_needs_a_shared_store_and_a_dask_url(tmp_path: Any, capsys: Any) -> None:
    flow_file = str(write_flow(tmp_path, NUMBERS))
    base = ["serve", flow_file, "--insecure-no-auth", "--check"]
    assert main([*base, "--store", ":memory:", "--executor", "dask://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err.strip()
    assert "in memory" in err and "--store" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert main([*base, "--store", str(tmp_path / "r.db"), "--executor", "tcp://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err.strip()
    assert "dask://HOST:PORT" in err and len(err.splitlines()) == 1
    assert main([*base, "--store", str(tmp_path / "r.db"), "--executor", "dask://127.0.0.1:8786"]) == 0


def test_nbflow_schedule_with_executor_runs_on_the_cluster(cluster: Any, tmp_path: Any, capsys: Any) -> None:
    executor, _ = cluster
    flow_file = str(write_flow(tmp_path, NUMBERS))
    db = str(tmp_path / "runs.db")
    argv = ["schedule", flow_file, "--cron", "* * * * * *", "-i", "n=6", "--max-runs", "1", "--store", db]
    assert main([*argv, "--executor", executor]) == 0
    assert "succeeded" in capsys.readouterr().err
    store = SQLiteStore(db)
    (run,) = store.list_runs(source="schedule")
    assert run.status == "succeeded" and store.get(run.id).outputs["number"] == 6
    _worker_pid(store, run.id)
    store.close()
    assert main([*argv, "--executor", executor, "--no-store"]) == 2
    assert "drop --no-store" in capsys.readouterr().err


def test_a_run_accepted_while_the_scheduler_is_unreachable_is_recorded_failed(tmp_path: Any) -> None:
    import socket

    pytest.importorskip("distributed")

    from nbflow.server import Metrics
    from nbflow.server.manager import RunManager

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = SQLiteStore(tmp_path / "runs.db")
    flow = Flow.load(write_flow(tmp_path, NUMBERS))
    remote = DaskExecutor(f"dask://127.0.0.1:{port}", store, connect_timeout=1.0)
    manager = RunManager({"numbers": flow}, store, Metrics(), executor=remote)

    async def go() -> str:
        rid, _ = await manager.start("numbers", {"n": "2"})
        assert await manager.wait(rid, 60)
        return rid

    rid = asyncio.run(go())
    summary = store.summary(rid)
    assert summary.status == "failed" and "cannot reach the Dask scheduler" in (summary.error or "")
    assert len((summary.error or "").splitlines()) == 1
    assert store.lease(rid) is None and not heartbeat.holds(store, rid)  # nothing left holding the run
    store.close()


def test_the_server_budget_and_caller_key_hold_on_workers(tmp_path: Any, cluster: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    executor, fake = cluster
    fake.reset()
    for name, value in env_for(fake.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NBFLOW_SERVE_TOKEN", TOKEN)
    # gpt-4o-mini at the shipped prices, 1,024 output tokens assumed: each call is estimated above $0.0005.
    config = ServeConfig.parse({"flows": [str(write_flow(tmp_path, SLOW))], "executor": executor,
                                "budget": {"key_day": 0.0005}})
    with SQLiteStore(tmp_path / "runs.db") as store, ServerThread(build_app(config, store=store)) as server, \
            httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
        r = c.post("/flows/slow/runs?wait=true", json={"topic": "kites"})
        body = r.json()
        assert body["status"] == "failed", body
        assert "would pass the per-key-per-day cap of $0.0005 (spent $0.0000 for caller key 'bearer:" in body["error"]
        assert _worker_pid(store, body["run_id"])  # refused on a worker, which knew the caller's key
    assert not [q for q in fake.requests if q.path.endswith("/chat/completions")]


def _task_specs(scheduler: Any) -> Any:
    """A scheduler plugin keeping every task's spec as the scheduler holds it (pickled, and as text)."""
    import pickle

    from distributed.diagnostics.plugin import SchedulerPlugin

    class TaskSpecs(SchedulerPlugin):
        name = "nbflow-task-specs"

        def __init__(self) -> None:
            self.seen: list[bytes] = []

        def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
            ts = scheduler.tasks.get(key)
            if ts is not None and ts.run_spec is not None:
                self.seen.append(pickle.dumps(ts.run_spec) + repr(ts.run_spec).encode())

    return TaskSpecs()


def test_tasks_carry_no_password_and_workers_read_it_from_their_environment(tmp_path: Any,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A store behind a password: the tasks the scheduler holds never contain it (not in the userinfo,
    not as ?password=); the workers, started with PGPASSWORD, open the store and run the flow."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from nbflow.exceptions import StoreError
    from nbflow.testing.pgserver import PgServer, PgUnavailable

    password = "pw" + os.urandom(8).hex()
    try:
        pg = PgServer.start(password=password)
    except PgUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    fake = FakeServer().start()
    monkeypatch.delenv("NBFLOW_STORE", raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    try:
        bare = pg.create_database("pw_runs")
        with pytest.raises(StoreError, match="password"):
            PostgresStore(bare)  # the server really asks for it
        for name, value in {**env_for(fake.url), "PGPASSWORD": password, "NBFLOW_LEASE_TTL": "3",
                            "NBFLOW_HOME": str(tmp_path / "worker_home")}.items():
            monkeypatch.setenv(name, value)  # the workers' environment, the documented way
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                          dashboard_address=None) as local:
            specs = _task_specs(local.scheduler)
            local.scheduler.add_plugin(specs)
            monkeypatch.delenv("PGPASSWORD")  # the server has it only in its URL
            store = PostgresStore(bare.replace("nbflow@", f"nbflow:{password}@") + f"?password={password}")
            executor = "dask://" + local.scheduler_address.removeprefix("tcp://")
            app = build_app(ServeConfig.parse({"flows": [str(write_flow(tmp_path, NUMBERS))], "executor": executor}),
                            store=store, auth=Auth(token=TOKEN))
            with ServerThread(app) as server, httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
                r = c.post("/flows/numbers/runs?wait=true", json={"n": "7", "topic": "keys"})
                assert r.status_code == 200, r.text
                assert r.json()["status"] == "succeeded" and r.json()["outputs"]["number"] == 7
            _worker_pid(store, r.json()["run_id"])
            assert specs.seen and any(b"pw_runs" in spec for spec in specs.seen)  # the URL went, bare
            assert not any(password.encode() in spec for spec in specs.seen)
            store.close()
    finally:
        fake.stop()
        pg.stop()
