"""Runs whose process died: after kill -9 of a real ``nbflow serve`` or ``nbflow batch``, the next one
to start marks them ``interrupted`` (and resumes them when configured); every listing and the SSE
stream say so. Plus the lease rules behind it, over a store with leases of other machines."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nbflow.model.record import RunResult
from nbflow.store import MemoryStore, SQLiteStore
from nbflow.store.owners import interrupt_orphans
from nbflow.testing.fakeserver import FakeServer, env_for

from .helpers import AUTH, TOKEN, parse_sse

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses kill -9")

SLOW = {"nbflow": 1, "name": "slow-copy", "nodes": [
    {"id": "topic", "type": "input.text", "params": {"default": "teapots"}},
    {"id": "write", "type": "llm", "params": {"provider": "openai", "model": "gpt-4o-mini"}},
    {"id": "out", "type": "output"}],
    "edges": [{"from": "topic.value", "to": "write.prompt"}, {"from": "write.text", "to": "out.value"}]}


def _env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(env_for(url), NBFLOW_HOME=str(home), NBFLOW_SERVE_TOKEN=TOKEN,
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(pred, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert proc is None or proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _serve(flow: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nbflow", "serve", str(flow), "--port", str(port),
                             "--log-level", "warning", *extra], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    _wait(up, proc=proc)
    return proc, url


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def _chat_requests(server: FakeServer) -> int:
    return len([r for r in server.requests if r.path.endswith("/chat/completions")])


def test_kill_9_serve_then_restart_marks_interrupted_everywhere_and_resumes_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    flow = tmp_path / "slow.json"
    flow.write_text(json.dumps(SLOW))
    with FakeServer() as fake:
        env = _env(home, fake.url)
        fake.fault("slow", delay=60)
        proc, url = _serve(flow, env)
        run_id = httpx.post(f"{url}/flows/slow-copy/runs", json={}, headers=AUTH, timeout=30).json()["run_id"]
        _wait(lambda: _chat_requests(fake) == 1, proc=proc)  # mid-call to the provider
        dead_pid = proc.pid
        proc.kill()  # kill -9: no shutdown, no record of the end
        proc.wait(timeout=30)
        with SQLiteStore(home / "runs.db") as store:
            assert store.summary(run_id).status == "running"
            assert store.lease(run_id) is not None  # the dead server's lease, not yet lapsed

        proc, url = _serve(flow, env)
        try:
            with httpx.Client(base_url=url, headers=AUTH, timeout=30) as c:
                described = c.get(f"/runs/{run_id}").json()
                assert described["status"] == "interrupted"
                assert described["error"].startswith(f"interrupted: process {dead_pid} on ")
                listed = {r["run_id"]: r["status"] for r in c.get("/runs").json()["runs"]}
                assert listed[run_id] == "interrupted"
                assert c.get("/runs", params={"status": "interrupted"}).json()["runs"][0]["run_id"] == run_id
                with c.stream("GET", f"/runs/{run_id}/events") as s:
                    events = parse_sse(s.read().decode())
                assert events[-1]["event"] == "run_finished"
                assert events[-1]["data"]["data"]["status"] == "interrupted"
        finally:
            _stop(proc)
        runs = subprocess.run([sys.executable, "-m", "nbflow", "runs", "--status", "interrupted"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert runs.returncode == 0 and run_id in runs.stdout and "interrupted" in runs.stdout
        stats = subprocess.run([sys.executable, "-m", "nbflow", "stats", "--json"], env=env,
                               capture_output=True, text=True, timeout=120)
        assert json.loads(stats.stdout.splitlines()[0])["interrupted"] == 1

        # Configured to resume: the next server finishes it (the provider is quick now).
        proc, url = _serve(flow, env, "--resume-interrupted")
        try:
            with httpx.Client(base_url=url, headers=AUTH, timeout=30) as c:
                _wait(lambda: c.get(f"/runs/{run_id}").json()["status"] == "succeeded", proc=proc)
                assert c.get(f"/runs/{run_id}").json()["outputs"]["out"].startswith("Fake reply to:")
        finally:
            _stop(proc)
        assert _chat_requests(fake) == 2


def test_kill_9_batch_then_the_next_batch_marks_its_run_interrupted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    flow = tmp_path / "slow.json"
    flow.write_text(json.dumps(SLOW))
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id": "one", "inputs": {"topic": "tea"}}\n')
    out = tmp_path / "out.jsonl"
    with FakeServer() as fake:
        env = _env(home, fake.url)
        fake.fault("slow", delay=60)
        argv = [sys.executable, "-m", "nbflow", "batch", str(flow), str(inputs), "--out", str(out), "-q"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait(lambda: _chat_requests(fake) == 1, proc=proc)
        proc.kill()
        proc.wait(timeout=30)
        with SQLiteStore(home / "runs.db") as store:
            [orphan] = store.list_runs()
            assert orphan.status == "running" and orphan.source == "batch"
        again = subprocess.run(argv[:-1], env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert (f"nbflow: run {orphan.id} was interrupted (the process running it stopped); resume it with: "
                f"nbflow resume {orphan.id}\n") in again.stderr
    with SQLiteStore(home / "runs.db") as store:
        assert store.summary(orphan.id).status == "interrupted"
        assert {r.status for r in store.list_runs()} == {"interrupted", "succeeded"}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_only_runs_whose_owner_is_gone_are_interrupted(tmp_path: Path, kind: str) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "runs.db")
    for rid in ("lapsed", "alive", "legacy-old", "legacy-new", "paused"):
        store.record_start(RunResult(run_id=rid, flow="f"), pid=0, host="elsewhere")
    store.claim("lapsed", "elsewhere:7:t", ttl=0.01)   # a lease of another machine that lapsed
    store.claim("alive", "elsewhere:8:t", ttl=60)      # one that is being renewed
    store._save("legacy-old", {"updated_at": time.time() - 120}, [], set())  # no lease, quiet for long
    store._save("paused", {"status": "paused"}, [], set())
    time.sleep(0.05)
    assert sorted(interrupt_orphans(store, ttl=30)) == ["lapsed", "legacy-old"]
    status = {r.id: r.status for r in store.list_runs()}
    assert status == {"lapsed": "interrupted", "legacy-old": "interrupted", "alive": "running",
                      "legacy-new": "running", "paused": "paused"}
    assert store.lease("lapsed") is None and store.lease("alive").owner == "elsewhere:8:t"
    assert interrupt_orphans(store, ttl=30) == []  # once
    store.close()


def test_schedule_marks_and_resumes_its_interrupted_runs_on_start(tmp_path: Path, capsys) -> None:
    from nbflow.cli import main
    from nbflow.flow import Flow
    from nbflow.store import open_store

    from .helpers import NUMBERS, write_flow

    flow_file = write_flow(tmp_path, NUMBERS)
    text = Flow.load(flow_file).dumps()
    with open_store() as store:
        store.record_start(RunResult(run_id="orphan", flow="numbers", inputs={"n": "4"}), flow_text=text,
                           source="schedule", pid=0, host="elsewhere")
        store.claim("orphan", "elsewhere:77:t", ttl=0.01)  # the scheduler that ran it is gone
    time.sleep(0.05)
    assert main(["schedule", str(flow_file), "--cron", "* * * * * *", "-i", "n=9", "--max-runs", "1",
                 "--resume-interrupted"]) == 0
    err = capsys.readouterr().err
    assert ("nbflow: run orphan was interrupted (the process running it stopped); resume it with: "
            "nbflow resume orphan\n") in err
    assert "run orphan resumed: succeeded\n" in err
    with open_store() as store:
        assert store.get("orphan").outputs["number"] == 4
