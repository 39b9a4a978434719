"""Two real ``nbflow serve`` replicas on one PostgreSQL store: a run accepted by one is visible,
streamable and approvable through the other; an Idempotency-Key sent to both at once makes one run;
a replica killed mid-run leaves its run ``interrupted`` and the other resumes it once its lease lapses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from nbflow.store import open_store
from nbflow.testing.fakeserver import FakeServer

from .helpers import APPROVE, AUTH, parse_sse
from .test_orphans import SLOW, _chat_requests, _env, _free_port, _stop, _wait

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses kill -9")


def _serve(flows: list[Path], env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nbflow", "serve", *map(str, flows), "--port", str(port),
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


def test_two_replicas_share_runs_keys_approvals_and_orphans(tmp_path: Path, pg_url: str) -> None:
    slow, review = tmp_path / "slow.json", tmp_path / "review.json"
    slow.write_text(json.dumps(SLOW))
    review.write_text(json.dumps(APPROVE))
    with FakeServer() as fake:
        env = {**_env(tmp_path / "home", fake.url), "NBFLOW_STORE": pg_url, "NBFLOW_LEASE_TTL": "2"}
        a, url_a = _serve([slow, review], env)
        b, url_b = _serve([slow, review], env, "--resume-interrupted")
        try:
            with httpx.Client(headers=AUTH, timeout=30) as c:
                # One Idempotency-Key sent to both replicas at once: one run, one provider call.
                h = {**AUTH, "idempotency-key": "order-77"}
                with ThreadPoolExecutor(8) as pool:
                    posts = list(pool.map(lambda i: c.post(f"{(url_a, url_b)[i % 2]}/flows/slow-copy/runs?wait=true",
                                                           json={}, headers=h), range(8)))
                assert all(p.status_code in (200, 202) for p in posts), [p.text for p in posts]
                assert len({p.json()["run_id"] for p in posts}) == 1
                assert _chat_requests(fake) == 1

                # Accepted by A, approved through B, streamed from both.
                rid = c.post(f"{url_a}/flows/review/runs", json={"draft": "hello"}).json()["run_id"]
                _wait(lambda: c.get(f"{url_b}/runs/{rid}").json()["status"] == "paused", proc=b)
                decided = c.post(f"{url_b}/runs/{rid}/resume", json={"approve": True})
                assert decided.status_code in (200, 202), decided.text
                assert c.post(f"{url_a}/runs/{rid}/resume", json={"approve": True}).status_code == 409
                _wait(lambda: c.get(f"{url_a}/runs/{rid}").json()["status"] == "succeeded", proc=a)
                for url in (url_a, url_b):
                    with c.stream("GET", f"{url}/runs/{rid}/events") as s:
                        events = parse_sse(s.read().decode())
                    assert events[-1]["event"] == "run_finished"
                    assert events[-1]["data"]["data"]["status"] == "succeeded"

                # A dies mid-call; B marks the run interrupted once the lease lapses, then resumes it.
                fake.fault("slow", delay=60)
                orphan = c.post(f"{url_a}/flows/slow-copy/runs", json={}).json()["run_id"]
                _wait(lambda: _chat_requests(fake) == 2, proc=a)
                assert c.get(f"{url_b}/runs/{orphan}").json()["status"] == "running"
                a.kill()
                a.wait(timeout=30)
                _wait(lambda: c.get(f"{url_b}/runs/{orphan}").json()["status"] == "succeeded", proc=b)
                assert _chat_requests(fake) == 3
        finally:
            if a.poll() is None:
                _stop(a)
            _stop(b)
    with open_store(pg_url) as store:
        assert len(store.list_runs(flow="slow-copy")) == 2
        assert store.list_runs(status=["running", "interrupted"]) == []
