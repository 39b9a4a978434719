"""Two ``nbflow serve`` replicas on one PostgreSQL store, 200 concurrent requests each, one replica
killed (kill -9) midway: how many runs are lost, and how many provider calls are duplicated.

Run: ``.venv/bin/python bench/replicas.py [--requests 200] [--delay 0.3]``

It starts a throwaway PostgreSQL server (Debian's ``postgresql`` package), the fake provider server
(every chat call takes ``--delay`` seconds, so runs are in flight when the replica dies) and two
replicas (``--resume-interrupted``, a 2 s lease). Each request has its own ``Idempotency-Key`` and a
topic naming it; half go to each replica. When half of replica A's runs have reached the provider it
is killed; the client, like a load balancer, sends every request A did not answer to replica B with the
same key. Then it waits until no run is ``running`` or ``interrupted`` and prints:

- lost: keys with no succeeded run in the store;
- provider calls, counted at the fake provider server per (run, node): each run has one provider
  node and its topic names its key, so calls per key are calls per (run, node). A call is
  *interrupted* when A made it (it came on one of A's TCP connections, read from ``/proc`` just
  before the kill) and it was still waiting for its answer when A died; the resume re-makes exactly
  those. Every call beyond one per (run, node), less one per interrupted node, is a duplicate.

(A run id is derived from its key, so a count of runs per key could only ever read 0: the store's
primary key makes it so. The provider calls are what a duplicate would cost.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nbflow.server.manager import idempotent_run_id  # noqa: E402
from nbflow.store import open_store  # noqa: E402
from nbflow.testing.fakeserver import FakeServer  # noqa: E402
from nbflow.testing.pgserver import PgServer  # noqa: E402

TOKEN = "bench-token-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def _flow(tmp: Path, base_url: str) -> Path:
    spec = {
        "nbflow": 1, "name": "copy",
        "nodes": [
            {"id": "topic", "type": "input.text"},
            {"id": "prompt", "type": "template", "params": {"template": "One line of copy about {{topic}}."}},
            {"id": "llm", "type": "llm", "params": {"provider": "openai-compatible", "model": "bench-model",
                                                    "base_url": base_url, "api_key_env": "BENCH_FAKE_KEY"}},
            {"id": "copy", "type": "output"},
        ],
        "edges": [{"from": "topic.value", "to": "prompt.topic"}, {"from": "prompt.text", "to": "llm.prompt"},
                  {"from": "llm.text", "to": "copy.value"}],
    }
    p = tmp / "copy.json"
    p.write_text(json.dumps(spec))
    return p


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(flow: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nbflow", "serve", str(flow), "--port", str(port),
                             "--log-level", "error", "--max-runs", "256", "--resume-interrupted"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("a replica did not start")


async def _post(c: httpx.AsyncClient, urls: list[str], key: str, accepted: dict[str, str]) -> None:
    """POST to the first replica; on a transport error (it died) the same key goes to the next one."""
    for url in urls:
        try:
            r = await c.post(f"{url}/flows/copy/runs", json={"topic": key}, headers={**AUTH, "idempotency-key": key})
        except httpx.TransportError:
            continue
        if r.status_code in (200, 202):
            accepted[key] = url
            return
    accepted[key] = "refused"


def _tcp_ports(pid: int) -> set[int]:
    """The local ports of the TCP sockets process ``pid`` has open (Linux ``/proc``)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


async def _load(urls: list[str], n: int, kill: subprocess.Popen[bytes], fake: FakeServer,
                death: dict[str, object]) -> dict[str, str]:
    """Send the load; ``death`` gets the moment A was killed and its TCP ports just before."""
    accepted: dict[str, str] = {}
    limits = httpx.Limits(max_connections=2 * n)
    async with httpx.AsyncClient(timeout=60, limits=limits) as c:
        tasks = []
        for i in range(n):
            tasks.append(_post(c, [urls[0], urls[1]], f"a-{i:04d}", accepted))
            tasks.append(_post(c, [urls[1], urls[0]], f"b-{i:04d}", accepted))

        async def killer() -> None:
            # midway: when half of A's share has reached the provider (so A has runs in flight)
            while sum(1 for r in fake.requests if b"about a-" in r.body) < n // 2:
                await asyncio.sleep(0.01)
            death["ports"] = _tcp_ports(kill.pid)
            kill.kill()
            death["at"] = time.monotonic()

        await asyncio.gather(killer(), *tasks)
    return accepted


def _provider_calls(requests: list, death: dict[str, object], delay: float) -> tuple[Counter[str], set[str]]:
    """Calls per key (= per (run, node)) at the fake provider, and the keys whose call A had in flight
    when it died: made on one of A's connections, and not yet answered (made less than ``delay`` before)."""
    calls: Counter[str] = Counter()
    interrupted: set[str] = set()
    ports = death.get("ports") or set()
    at = float(death.get("at") or 0.0)  # type: ignore[arg-type]
    for req in requests:
        m = re.search(r"about ([ab]-\d{4})\.", req.body.decode(errors="replace"))
        if not m:
            continue
        calls[m.group(1)] += 1
        port = re.search(r"(\d+)\)?$", req.peer)
        if port and int(port.group(1)) in ports and at - delay < req.time <= at:  # type: ignore[operator]
            interrupted.add(m.group(1))
    return calls, interrupted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200, help="concurrent requests per replica")
    ap.add_argument("--delay", type=float, default=0.3, help="seconds each provider call takes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, PgServer.start() as pg, FakeServer() as fake:
        tmp = Path(tmpdir)
        url = pg.create_database("bench")
        fake.fault("slow", delay=args.delay, times=10 * args.requests)
        env = {**os.environ, "NBFLOW_HOME": str(tmp / "home"), "NBFLOW_STORE": url, "NBFLOW_LEASE_TTL": "2",
               "NBFLOW_SERVE_TOKEN": TOKEN, "BENCH_FAKE_KEY": "k", "PYTHONPATH": str(ROOT)}
        flow = _flow(tmp, fake.url + "/v1")
        a, url_a = _serve(flow, env)
        b, url_b = _serve(flow, env)
        try:
            t0 = time.monotonic()
            death: dict[str, object] = {}
            accepted = asyncio.run(_load([url_a, url_b], args.requests, a, fake, death))
            t_accept = time.monotonic() - t0
            a.wait()
            with open_store(url) as store:
                deadline = time.monotonic() + 300
                while store.list_runs(status=["running", "interrupted"], limit=1) and time.monotonic() < deadline:
                    time.sleep(0.5)
                runs = store.list_runs(flow="copy", limit=None)
            t_done = time.monotonic() - t0
        finally:
            if a.poll() is None:
                a.kill()
            b.terminate()
            b.wait(30)
        keys = sorted(accepted)
        ok = {r.id for r in runs if r.status == "succeeded"}
        lost = [k for k in keys if idempotent_run_id("copy", k) not in ok]
        calls, interrupted = _provider_calls(fake.requests, death, args.delay)
        beyond = {k: c - 1 - (k in interrupted) for k, c in calls.items() if c - 1 - (k in interrupted) > 0}
        print(f"replicas: 2; requests: {len(keys)} ({args.requests} per replica, concurrent); "
              f"replica A killed when {args.requests // 2} of its runs had reached the provider")
        print(f"accepted by A: {sum(1 for u in accepted.values() if u == url_a)}, by B: "
              f"{sum(1 for u in accepted.values() if u == url_b)}, refused: "
              f"{sum(1 for u in accepted.values() if u == 'refused')}")
        print(f"runs in the store: {len(runs)}; succeeded: {len(ok)}; other: "
              f"{dict(Counter(r.status for r in runs if r.status != 'succeeded'))}")
        print(f"lost: {len(lost)}; (run, node) pairs called: {len(calls)}, called more than once: "
              f"{sum(1 for c in calls.values() if c > 1)}")
        print(f"provider calls: {sum(calls.values())}; in flight on A when it died (interrupted nodes): "
              f"{len(interrupted)}, of them re-made: {sum(1 for k in interrupted if calls[k] > 1)}; "
              f"duplicated beyond those: {sum(beyond.values())}" + (f" {sorted(beyond)[:10]}" if beyond else ""))
        print(f"all accepted in {t_accept:.1f} s; all finished in {t_done:.1f} s")


if __name__ == "__main__":
    main()
