"""Rate-limit benchmark: a batch of LLM nodes against a fake server that enforces R requests/s.

    python bench/ratelimit.py [--rate 40] [--requests 200] [--burst 2]

The fake server answers 429 (with ``Retry-After``) to any request beyond R per second: a token
bucket refilled at R per second holding ``--burst`` requests (default R, one second's worth). The same flow -- one input fanned out to N ``llm`` nodes, all
ready at once -- runs twice in this process:

* baseline: no client-side limit, no retries: how many 429s a naive client gets;
* limited: every node sets ``rpm = 60 * R``; the process-wide limiter spaces the calls.

Printed figures: achieved rate / R, measured on the server between the first and the last request
it accepted (target >= 0.95), and the 429s received (target 0).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nbflow import Flow
from nbflow.providers.ratelimit import reset_limiters
from nbflow.testing import FakeServer, env_for


def batch_flow(n: int, rpm: float | None) -> Flow:
    f = Flow("ratelimit-bench")
    f.add("input.text", id="prompt", default="hello")
    for i in range(n):
        limit = {"rpm": rpm} if rpm else {}
        f.add("llm", id=f"call{i}", provider="openai", model="gpt-4o-mini", stream=False,
              policy={"retry": {"attempts": 1}, **limit})
        f.connect("prompt.value", f"call{i}.prompt")
    return f


def run(server: FakeServer, n: int, rate: float, burst: float, rpm: float | None) -> dict[str, float]:
    server.reset()
    server.rate_limit(rate, burst=burst)
    reset_limiters()
    t0 = time.monotonic()
    res = batch_flow(n, rpm).run(cache=False)
    wall = time.monotonic() - t0
    ok = [r.time for r in server.requests]
    accepted = sorted(ok)[: n - server.rejected] if server.rejected else sorted(ok)
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    achieved = (len(accepted) - 1) / span if span > 0 else float("inf")
    failed = sum(1 for r in res.nodes.values() if r.status == "failed")
    return {"achieved": achieved, "ratio": achieved / rate, "rejected": server.rejected, "failed": failed,
            "wall": wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=40.0, help="R: requests per second the server allows")
    ap.add_argument("--requests", type=int, default=200, help="N: requests in the batch")
    ap.add_argument("--burst", type=float, default=None,
                    help="the server's bucket size in requests (default R: one second's worth)")
    args = ap.parse_args()
    args.burst = args.burst or args.rate
    with FakeServer() as server:
        os.environ.update(env_for(server.url))
        base = run(server, args.requests, args.rate, args.burst, None)
        lim = run(server, args.requests, args.rate, args.burst, args.rate * 60)
    print(f"fake server enforces R = {args.rate:g} requests/s (burst {args.burst:g}); batch of {args.requests}")
    print(f"baseline (no client limit): 429s received = {base['rejected']:.0f}, "
          f"nodes failed = {base['failed']:.0f}, wall {base['wall']:.2f}s")
    print(f"limited (rpm = 60*R):       achieved rate = {lim['achieved']:.2f}/s, "
          f"achieved / R = {lim['ratio']:.3f} (target >= 0.95), 429s received = {lim['rejected']:.0f} "
          f"(target 0), wall {lim['wall']:.2f}s")
    ok = lim["ratio"] >= 0.95 and lim["rejected"] == 0
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
