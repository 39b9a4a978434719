"""Two real ``nbflow serve`` replicas on one PostgreSQL store: a run accepted by one is visible,
streamable and approvable through the other; an Idempotency-Key sent to both at once makes one run;
a run still running at one is streamed live from the other; a replica killed mid-run hands its run
over (``interrupted``, or the other replica's lease on it, is observed) and the other resumes it once its
lease lapses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
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


def _stream(c: httpx.Client, url: str, rid: str) -> list[tuple[str, str]]:
    """The run's SSE events from ``url`` as they arrive: (kind, the run's status there at that moment)."""
    seen: list[tuple[str, str]] = []
    with c.stream("GET", f"{url}/runs/{rid}/events") as s:
        buf = ""
        for chunk in s.iter_text():
            buf += chunk
            while "\n\n" in buf:
                block, buf = buf.split("\n\n", 1)
                for ev in parse_sse(block + "\n\n"):
                    status = (ev["data"].get("data") or {}).get("status") if ev["event"] == "run_finished" else None
                    seen.append((ev["event"], status or c.get(f"{url}/runs/{rid}").json()["status"]))
    return seen


def _holder(store_url: str, rid: str) -> int | None:
    """The pid of the process holding the run's lease (owner ``host:pid:token``), or None."""
    with open_store(store_url) as store:
        lease = store.lease(rid)
    return None if lease is None else int(lease.owner.rsplit(":", 2)[1])


def _watch(store_url: str, rid: str, timeout: float = 60.0) -> list[tuple[str, int | None]]:
    """The run's distinct (status, lease holder pid) states, polled until it ends (or the deadline)."""
    states: list[tuple[str, int | None]] = []
    deadline = time.monotonic() + timeout
    with open_store(store_url) as store:
        while time.monotonic() < deadline:
            lease = store.lease(rid)
            status = store.summary(rid).status
            holder = None if lease is None or status != "running" else int(lease.owner.rsplit(":", 2)[1])
            if not states or states[-1] != (status, holder):
                states.append((status, holder))
            if status not in ("running", "interrupted"):
                return states
            time.sleep(0.02)
    raise AssertionError(f"timed out: {states}")


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

                # Accepted by A, approved through B.
                rid = c.post(f"{url_a}/flows/review/runs", json={"draft": "hello"}).json()["run_id"]
                _wait(lambda: c.get(f"{url_b}/runs/{rid}").json()["status"] == "paused", proc=b)
                decided = c.post(f"{url_b}/runs/{rid}/resume", json={"approve": True})
                assert decided.status_code in (200, 202), decided.text
                assert c.post(f"{url_a}/runs/{rid}/resume", json={"approve": True}).status_code == 409
                _wait(lambda: c.get(f"{url_a}/runs/{rid}").json()["status"] == "succeeded", proc=a)

                # A run still running at A, streamed live from B: events arrive while it runs, then its end.
                fake.fault("slow", delay=3)
                live = c.post(f"{url_a}/flows/slow-copy/runs", json={}).json()["run_id"]
                _wait(lambda: _chat_requests(fake) == 2, proc=a)
                seen = _stream(c, url_b, live)
                assert "running" in {status for _, status in seen[:-1]}, seen  # followed while it ran
                assert seen[-1] == ("run_finished", "succeeded")

                # A dies mid-call; B marks the run interrupted once the lease lapses, then resumes it.
                fake.fault("slow", delay=60)  # A's call: it dies waiting
                fake.fault("slow", delay=3)   # B's resumed call: long enough to see B holding the run
                orphan = c.post(f"{url_a}/flows/slow-copy/runs", json={}).json()["run_id"]
                _wait(lambda: _chat_requests(fake) == 3, proc=a)
                assert c.get(f"{url_b}/runs/{orphan}").json()["status"] == "running"
                assert _holder(pg_url, orphan) == a.pid
                a.kill()
                a.wait(timeout=30)
                states = _watch(pg_url, orphan)
                handed = [s for s in states if s == ("interrupted", None) or s == ("running", b.pid)]
                assert handed, states  # seen between the kill and the end: the run left A for B
                assert states[-1][0] == "succeeded" and ("running", a.pid) not in states[states.index(handed[0]):]
                assert _chat_requests(fake) == 4  # the interrupted call, re-made once by B
        finally:
            if a.poll() is None:
                _stop(a)
            _stop(b)
    with open_store(pg_url) as store:
        assert len(store.list_runs(flow="slow-copy")) == 3
        assert store.list_runs(status=["running", "interrupted"]) == []
