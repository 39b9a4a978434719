"""The persistent cache is opt-in for the webhook server and the batch runner, and shared with the CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from nbflow.cli import main
from nbflow.server import Auth, create_app
from nbflow.store import MemoryStore

from ..deploy.helpers import AUTH, TOKEN, client
from .helpers import calls, two_calls


def test_server_with_cache_answers_a_repeated_request_without_a_call(fake_env: Any, tmp_path: Path) -> None:
    f = two_calls()
    app = create_app({f.name: f}, MemoryStore(), Auth(token=TOKEN), cache=str(tmp_path / "c"))

    async def go() -> list[Any]:
        async with client(app) as c:
            out = []
            for _ in range(2):
                r = await c.post(f"/flows/{f.name}/runs?wait=true", json={"topic": "kites"}, headers=AUTH)
                out.append(r.json())
            return out

    first, second = asyncio.run(go())
    assert first["status"] == second["status"] == "succeeded"
    assert len(calls(fake_env)) == 2  # the second request was served from the cache
    assert second["nodes"]["draft"]["status"] == "cached" and second["outputs"] == first["outputs"]
    fake_env.reset()
    path = f.save(tmp_path / "f.json")
    assert main(["run", str(path), "--cache", str(tmp_path / "c"), "-i", "topic=kites", "-q",
                 "--no-store"]) == 0
    assert calls(fake_env) == []  # the CLI shares what the server cached


def test_server_without_cache_calls_every_time(fake_env: Any) -> None:
    f = two_calls()
    app = create_app({f.name: f}, MemoryStore(), Auth(token=TOKEN))

    async def go() -> None:
        async with client(app) as c:
            for _ in range(2):
                await c.post(f"/flows/{f.name}/runs?wait=true", json={}, headers=AUTH)

    asyncio.run(go())
    assert len(calls(fake_env)) == 4


def test_batch_with_cache_pays_once_per_item_across_batches(fake_env: Any, tmp_path: Path) -> None:
    path = two_calls().save(tmp_path / "f.json")
    items = tmp_path / "in.jsonl"
    items.write_text('{"topic": "a"}\n{"topic": "b"}\n{"topic": "c"}\n')
    d = str(tmp_path / "c")
    args = ["batch", str(path), str(items), "--cache", d, "--no-store", "-q", "--concurrency", "1"]
    assert main([*args, "--out", str(tmp_path / "r1.jsonl")]) == 0
    assert len(calls(fake_env)) == 6
    fake_env.reset()
    assert main([*args, "--out", str(tmp_path / "r2.jsonl")]) == 0
    assert calls(fake_env) == []
    fake_env.reset()
    assert main(["batch", str(path), str(items), "--no-store", "-q", "--out", str(tmp_path / "r3.jsonl")]) == 0
    assert len(calls(fake_env)) == 6  # without --cache every item pays
