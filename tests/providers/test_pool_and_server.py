"""Pooled HTTP clients per provider and loop; the fake server's scripting and its command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import httpx

from nbflow.providers.catalog import Providers
from nbflow.providers.http import aclose_clients, pooled_client
from nbflow.providers.provider import ChatRequest, Message
from nbflow.testing import FakeServer

from .helpers import chat_requests, llm_flow


def test_one_client_per_provider_and_base_url_per_loop() -> None:
    async def clients() -> list[httpx.AsyncClient]:
        out = [pooled_client("openai", "https://a/v1"), pooled_client("openai", "https://a/v1/"),
               pooled_client("openai", "https://b/v1"), pooled_client("anthropic", "https://a/v1")]
        await aclose_clients()
        return out

    a = asyncio.run(clients())
    assert a[0] is a[1] and a[0] is not a[2] and a[0] is not a[3]
    b = asyncio.run(clients())
    assert b[0] is not a[0]  # a new loop gets a new client: never reused across closed loops


def test_successive_runs_reuse_nothing_stale(fake_env: Any) -> None:
    f = llm_flow("openai", stream=False)
    for _ in range(3):  # each run is its own asyncio.run: a stale client would fail here
        assert f.run(cache=False).ok
    assert len(chat_requests(fake_env)) == 3


def test_connections_are_pooled_within_a_loop(fake_env: Any) -> None:
    p = Providers().get("openai", node_id="n")

    async def go() -> None:
        for _ in range(3):
            await p.chat(ChatRequest(model="m", messages=[Message("user", "x")]))

    asyncio.run(go())
    assert len(chat_requests(fake_env)) == 3
    assert len({r.peer for r in fake_env.requests}) == 1  # one TCP connection served all three


def test_scripts_match_by_prompt_model_and_header(fake_env: Any) -> None:
    fake_env.script("by model", model="gpt-4o-mini")
    fake_env.script("by prompt", prompt="tea")
    fake_env.script("by header", header=("x-title", "demo"))
    assert llm_flow("openai", "gpt-4o-mini", stream=False).run().outputs["out"] == "by model"
    assert llm_flow("openai", "gpt-4o", stream=False).run(prompt="green tea").outputs["out"] == "by prompt"
    p = Providers().get("openai", node_id="n")

    async def go() -> str:
        r = await p.chat(ChatRequest(model="x", messages=[Message("user", "hi")],
                                     extra={}), on_delta=None)
        return r.text

    assert asyncio.run(go()).startswith("Fake reply")  # no header: no match
    assert [r.path for r in fake_env.requests] == ["/v1/chat/completions"] * 3


def test_fake_server_command_line() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "nbflow.testing.fakeserver", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("fake provider server on http://127.0.0.1:")
        url = line.split()[4].rstrip(";")
        r = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": [
            {"role": "user", "content": "ping"}]})
        assert r.json()["choices"][0]["message"]["content"] == "Fake reply to: ping"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def test_fake_server_enforces_a_rate() -> None:
    now = [100.0]
    with FakeServer(clock=lambda: now[0]) as server:
        server.rate_limit(5, burst=2)
        codes = [httpx.get(f"{server.url}/x").status_code for _ in range(4)]
        assert codes == [200, 200, 429, 429] and server.rejected == 2
        now[0] += 0.2  # one token a fifth of a second
        assert [httpx.get(f"{server.url}/x").status_code for _ in range(2)] == [200, 429]


def test_clients_are_closed_when_asyncio_run_ends() -> None:
    async def make() -> httpx.AsyncClient:
        return pooled_client("openai", "https://closing.example/v1")

    client = asyncio.run(make())
    assert client.is_closed  # closed by the loop's shutdown, not left for the garbage collector
