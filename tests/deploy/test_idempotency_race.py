"""A server that loses an Idempotency-Key race to another replica waits for the winner's record
without blocking its event loop, and takes the run over when the winner died before recording it."""

from __future__ import annotations

import asyncio
import time

from nbflow.model.record import RunResult
from nbflow.server import Metrics
from nbflow.server.manager import RunManager, idempotent_run_id
from nbflow.store import SQLiteStore

from .helpers import NUMBERS, load

OTHER = "other-host:4242:cafe0000"  # a replica on another machine: only its lease says whether it lives


def test_the_loser_waits_for_the_winners_record_without_blocking_the_loop(tmp_path):
    flow = load(tmp_path, NUMBERS)
    store = SQLiteStore(tmp_path / "runs.db")
    manager = RunManager({"numbers": flow}, store, Metrics())
    run_id = idempotent_run_id("numbers", "order-1")
    assert store.claim(run_id, OTHER, ttl=30) is not None  # the winner claimed; its row comes later

    async def scenario() -> tuple[tuple[str, bool], int, float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def winner_records() -> None:
            await asyncio.sleep(0.3)  # runs on the same loop: only possible if the loser does not block it
            store.record_start(RunResult(run_id=run_id, flow="numbers", inputs={"n": "4"}), source="server")

        tick = asyncio.ensure_future(ticker())
        rec = asyncio.ensure_future(winner_records())
        t0 = time.monotonic()
        answer = await manager.start("numbers", {"n": "4"}, idempotency_key="order-1")
        waited = time.monotonic() - t0
        tick.cancel()
        await rec
        return answer, ticks, waited

    (rid, replayed), ticks, waited = asyncio.run(scenario())
    assert (rid, replayed) == (run_id, True)
    assert 0.25 <= waited < 3.0  # answered soon after the winner's record appeared, not after a fixed wait
    assert ticks >= 10  # the loop kept running other work while the loser waited
    assert store.lease(run_id).owner == OTHER  # the loser never took the winner's claim
    assert manager.live == {}  # and started nothing itself
    store.close()


def test_the_loser_takes_over_when_the_winner_died_before_recording(tmp_path):
    flow = load(tmp_path, NUMBERS)
    store = SQLiteStore(tmp_path / "runs.db")
    manager = RunManager({"numbers": flow}, store, Metrics())
    run_id = idempotent_run_id("numbers", "order-2")
    assert store.claim(run_id, OTHER, ttl=0.2) is not None  # a claim that lapses: its holder is gone

    async def scenario() -> tuple[str, bool, str]:
        rid, replayed = await manager.start("numbers", {"n": "5"}, idempotency_key="order-2")
        await manager.wait(rid, 30)
        return rid, replayed, manager.describe(rid)["status"]

    rid, replayed, status = asyncio.run(scenario())
    assert (rid, replayed, status) == (run_id, False, "succeeded")
    assert store.get(run_id).outputs["number"] == 5
    store.close()
