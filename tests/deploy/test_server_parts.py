"""Pieces of the server on their own: event logs and their followers, Prometheus text, auth objects."""

from __future__ import annotations

import asyncio

from nbflow.model.events import Event
from nbflow.server import Auth, Metrics, ServeConfig, build_app, sign
from nbflow.server.streams import MAX_EVENTS, EventLog, EventLogs, sse_frame
from nbflow.store import MemoryStore

from .helpers import NUMBERS, client, load


def test_event_log_followers_heartbeats_and_resume():
    async def go():
        log = EventLog("r1")
        seen = []

        async def follow(start=0):
            async for item in log.follow(start, heartbeat=0.02):
                seen.append(item if item is None else item[1]["kind"])

        task = asyncio.ensure_future(follow())
        log.append(Event("run_started", "r1"))
        await asyncio.sleep(0.05)  # quiet: at least one heartbeat
        log.append(Event("node_started", "r1", "a"))
        log.append(Event("run_finished", "r1", data={"status": "paused"}))
        await asyncio.wait_for(task, 2)
        assert seen[0] == "run_started" and None in seen and seen[-2:] == ["node_started", "run_finished"]
        log.reopen()  # a resume continues the same log
        later = asyncio.ensure_future(follow(3))
        log.append(Event("run_finished", "r1", data={"status": "succeeded"}))
        await asyncio.wait_for(later, 2)
        assert seen[-1] == "run_finished" and len(log.events) == 4

    asyncio.run(go())


def test_partials_are_capped_but_other_events_are_not():
    log = EventLog("r")
    for _ in range(MAX_EVENTS + 10):
        log.append(Event("partial", "r", "a", {"port": "text", "value": "x"}))
    log.append(Event("run_finished", "r", data={"status": "succeeded"}))
    assert len(log.events) == MAX_EVENTS + 1 and log.dropped == 10 and log.done


def test_event_logs_forget_the_oldest_finished_runs():
    logs = EventLogs(keep=2)
    for rid in ("a", "b", "c"):
        logs.open(rid)
    assert logs.get("a") is not None  # nothing finished yet: nothing forgotten
    logs.get("a").close()
    logs.open("d")
    assert logs.get("a") is None and logs.get("b") is not None


def test_sse_frame_is_one_json_line():
    frame = sse_frame(3, "output", {"text": "two\nlines"}).decode()
    assert frame == 'id: 3\nevent: output\ndata: {"text": "two\\nlines"}\n\n'


def test_prometheus_text():
    m = Metrics()
    m.runs_finished.inc(flow='we"ird\\flow', status="failed")
    for v in (0.07, 0.3, 700.0):
        m.run_duration.observe(v, flow="f")
    text = m.render()
    assert 'nbflow_runs_finished_total{flow="we\\"ird\\\\flow",status="failed"} 1' in text
    assert 'nbflow_run_duration_seconds_bucket{flow="f",le="0.1"} 1' in text
    assert 'nbflow_run_duration_seconds_bucket{flow="f",le="0.5"} 2' in text
    assert 'nbflow_run_duration_seconds_bucket{flow="f",le="+Inf"} 3' in text
    assert 'nbflow_run_duration_seconds_sum{flow="f"} 700.37' in text
    assert 'nbflow_run_duration_seconds_count{flow="f"} 3' in text
    assert text.count("# TYPE ") == len(m.families) and text.endswith("\n")


def test_auth_objects_keep_their_secrets():
    both = Auth(token="tok-123456", hmac_secret="key-123456")
    assert repr(both) == "<Auth bearer+hmac>" and "123456" not in repr(both)
    assert both.check({"authorization": "Bearer tok-123456"}, b"") is None
    signed = sign("key-123456", b"{}", path="/flows/f/runs")
    assert both.check(signed, b"{}", path="/flows/f/runs") is None
    assert both.check(signed, b"{}", path="/flows/g/runs") == "bad_signature"
    assert both.check({}, b"") == "missing"
    assert Auth().check({}, b"") is None and not Auth().enabled


def test_public_metrics_option(tmp_path):
    flow = load(tmp_path, NUMBERS)
    app = build_app(ServeConfig(public_metrics=True), flows={"numbers": flow}, store=MemoryStore(),
                    auth=Auth(token="t-123456"))

    async def go():
        async with client(app) as c:
            assert (await c.get("/metrics")).status_code == 200
            assert (await c.get("/flows")).status_code == 401

    asyncio.run(go())
