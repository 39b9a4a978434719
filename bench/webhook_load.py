"""Load on the webhook server: 200 concurrent requests, an OpenAI-compatible flow, the fake provider server.

Run: ``.venv/bin/python bench/webhook_load.py [--requests 200] [--max-runs 64]``

Three bursts against ``nbflow serve`` (a separate process, as in production; the fake provider server
and the HTTP client share this one) on 127.0.0.1, each request with its own ``Idempotency-Key``:

1. accept: N concurrent ``POST /flows/{name}/runs`` (202), then wait for every run to end;
2. wait:   N concurrent ``POST ...?wait=true`` (200 with the finished run);
3. replay: the keys of burst 1 sent again, concurrently: every answer must be the first run.

Then it checks that every accepted run is in the SQLite run store exactly once and succeeded, that the
fake provider saw exactly one chat call per run (nothing lost, nothing duplicated), and prints p50/p95
latencies. The baseline is the same N runs started in-process with ``flow.arun`` (no HTTP) on the same
kind of store, measured in the same process: the ratio is what HTTP, auth, JSON and the server add.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

TOKEN = "bench-token-0123456789"


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


def _wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"nbflow serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("nbflow serve did not start")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def line(name: str, lat: list[float], wall: float) -> str:
    return (f"  {name:<8} n={len(lat):>4}  p50 {pct(lat, 50) * 1000:7.1f} ms  p95 {pct(lat, 95) * 1000:7.1f} ms  "
            f"max {max(lat) * 1000:7.1f} ms  wall {wall:6.2f} s  {len(lat) / wall:7.1f} req/s")


class Reply:
    """A parsed HTTP response from :func:`post`."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


async def post(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> Reply:
    """One HTTP/1.1 request on its own connection. A raw asyncio client: at 200 concurrent requests a
    pooled Python client costs more CPU than the server under test, and this process shares the
    machine with it."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
                     f"content-length: {len(body)}\r\nconnection: close\r\n{head}\r\n".encode() + body)
        await writer.drain()
        raw = await reader.read(-1)
    finally:
        writer.close()
    header_blob, _, payload = raw.partition(b"\r\n\r\n")
    lines = header_blob.decode("latin-1").split("\r\n")
    hdrs = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return Reply(int(lines[0].split()[1]), hdrs, payload)


async def burst(url: str, n: int, *, wait: bool, keys: list[str]) -> tuple[list[Reply], list[float], float, int]:
    host, port = url.removeprefix("http://").split(":")
    retries = 0

    async def one(i: int) -> tuple[Reply, float]:
        nonlocal retries
        body = json.dumps({"topic": f"item {keys[i]}"}).encode()
        headers = {"authorization": f"Bearer {TOKEN}", "idempotency-key": keys[i]}
        t = time.perf_counter()
        for attempt in range(5):
            try:
                r = await post(host, int(port), f"/flows/copy/runs{'?wait=true' if wait else ''}", body, headers)
                return r, time.perf_counter() - t
            except (OSError, ValueError, IndexError):
                # A connection reset under load: send again with the same Idempotency-Key, which returns
                # the run if the first attempt was accepted (what a real webhook sender should do).
                retries += 1
                await asyncio.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"request {keys[i]} failed 5 times")

    t0 = time.perf_counter()
    out = await asyncio.gather(*(one(i) for i in range(n)))
    return [r for r, _ in out], [d for _, d in out], time.perf_counter() - t0, retries


async def drive(url: str, n: int, store: Any) -> dict[str, Any]:
    keys_a = [f"a-{i}" for i in range(n)]
    ra, lat_a, wall_a, retry_a = await burst(url, n, wait=False, keys=keys_a)
    assert all(r.status_code == 202 for r in ra), {r.status_code for r in ra}
    ids_a = [r.json()["run_id"] for r in ra]
    t0 = time.perf_counter()
    while any(store.summary(rid).status == "running" for rid in ids_a):
        await asyncio.sleep(0.02)
    drain_a = time.perf_counter() - t0
    keys_b = [f"b-{i}" for i in range(n)]
    rb, lat_b, wall_b, retry_b = await burst(url, n, wait=True, keys=keys_b)
    assert all(r.status_code == 200 for r in rb), {r.status_code for r in rb}
    ids_b = [r.json()["run_id"] for r in rb]
    rc, lat_c, wall_c, retry_c = await burst(url, n, wait=False, keys=keys_a)
    replayed = sum(r.headers.get("idempotent-replayed") == "true" for r in rc)
    same = [r.json()["run_id"] for r in rc] == ids_a
    return {"ids_a": ids_a, "ids_b": ids_b, "lat": (lat_a, lat_b, lat_c), "wall": (wall_a, wall_b, wall_c),
            "drain_a": drain_a, "replayed": replayed, "same": same, "retries": retry_a + retry_b + retry_c}


async def baseline(flow: Any, n: int, store: Any) -> tuple[float, list[float]]:
    async def one(i: int) -> float:
        t = time.perf_counter()
        res = await flow.arun({"topic": f"base {i}"}, store=store, source="python", cache=False)
        assert res.ok, res.error
        return time.perf_counter() - t

    sem = asyncio.Semaphore(64)  # the same cap as the server's max_concurrent_runs default below

    async def capped(i: int) -> float:
        async with sem:
            return await one(i)

    t0 = time.perf_counter()
    lat = await asyncio.gather(*(capped(i) for i in range(n)))
    return time.perf_counter() - t0, list(lat)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--max-runs", type=int, default=64, help="server's max concurrent runs")
    args = ap.parse_args()
    n = args.requests
    tmp = Path(tempfile.mkdtemp(prefix="nbflow-bench-"))
    os.environ["NBFLOW_HOME"] = str(tmp / "home")
    os.environ["BENCH_FAKE_KEY"] = "fake-key"

    from nbflow.flow import Flow
    from nbflow.store import SQLiteStore
    from nbflow.testing.fakeserver import FakeServer

    with FakeServer() as fake:
        flow_file = _flow(tmp, f"{fake.url}/v1")
        base_store = SQLiteStore(tmp / "baseline.db")
        base_wall, base_lat = asyncio.run(baseline(Flow.load(flow_file), n, base_store))
        base_calls = len(fake.requests)
        fake.reset()
        port = _free_port()
        env = {**os.environ, "NBFLOW_SERVE_TOKEN": TOKEN}
        proc = subprocess.Popen([sys.executable, "-m", "nbflow", "serve", str(flow_file), "--port", str(port),
                                 "--max-runs", str(args.max_runs), "--store", str(tmp / "runs.db"),
                                 "--log-level", "warning"], env=env, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, proc)
            store = SQLiteStore(tmp / "runs.db")
            out = asyncio.run(drive(url, n, store))
        finally:
            proc.terminate()
            proc.wait(30)
        chat_calls = [r for r in fake.requests if r.path.endswith("/chat/completions")]

    accepted = out["ids_a"] + out["ids_b"]
    runs = store.list_runs(flow="copy", limit=None)
    problems = []
    if len(set(accepted)) != 2 * n:
        problems.append(f"{2 * n - len(set(accepted))} duplicate run ids among accepted runs")
    recorded = {r.id: r for r in runs}
    lost = [rid for rid in accepted if rid not in recorded]
    if lost:
        problems.append(f"{len(lost)} accepted runs are not in the store")
    if len(runs) != 2 * n:
        problems.append(f"the store holds {len(runs)} runs, expected {2 * n}")
    bad = [r for r in runs if r.status != "succeeded"]
    if bad:
        problems.append(f"{len(bad)} runs did not succeed (first: {bad[0].error})")
    if len(chat_calls) != 2 * n:
        problems.append(f"the provider saw {len(chat_calls)} chat calls, expected {2 * n}")
    if out["replayed"] < n - out["retries"] or not out["same"]:
        problems.append(f"replayed keys: {out['replayed']}/{n} marked, same runs: {out['same']}")

    lat_a, lat_b, lat_c = out["lat"]
    wall_a, wall_b, wall_c = out["wall"]
    print(f"webhook load: {n} concurrent requests per burst, max {args.max_runs} runs executing at once, "
          f"{os.cpu_count()} CPUs")
    print(line("accept", lat_a, wall_a) + f"  (+{out['drain_a']:.2f} s until all {n} ended)")
    print(line("wait", lat_b, wall_b))
    print(line("replay", lat_c, wall_c))
    print(f"  baseline: {n} in-process flow.arun runs, same store kind: wall {base_wall:.2f} s, "
          f"p50 {statistics.median(base_lat) * 1000:.1f} ms, provider calls {base_calls}")
    print(f"  ratio wait-burst wall / in-process wall: {wall_b / base_wall:.2f}x")
    print(f"  recorded: {len(runs)} runs in the store, {len(set(accepted))} distinct accepted ids, "
          f"{len(chat_calls)} provider calls, {out['replayed']} replays answered with the first run, "
          f"{out['retries']} requests re-sent after a connection error")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("OK: every accepted run recorded once, none lost or duplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
