"""The webhook server's HTTP API, in process (httpx over ASGI): runs, inputs, auth, limits, idempotency,
events, approvals, metrics."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from nbflow.server import Auth, create_app, idempotent_run_id, sign
from nbflow.store import MemoryStore, SQLiteStore

from .helpers import APPROVE, AUTH, MEDIA, NUMBERS, TOKEN, Gate, client, gated_flow, load, parse_sse


def app_for(tmp_path, *specs, store=None, auth=None, **kw):
    flows = {}
    for spec in specs or (NUMBERS,):
        f = load(tmp_path, spec) if isinstance(spec, dict) else spec
        flows[f.name] = f
    store = store if store is not None else MemoryStore()
    return create_app(flows, store, auth or Auth(token=TOKEN), **kw), store


def test_flows_lists_input_schemas(tmp_path):
    app, _ = app_for(tmp_path, NUMBERS, APPROVE)

    async def go():
        async with client(app) as c:
            r = await c.get("/flows", headers=AUTH)
            assert r.status_code == 200
            flows = {f["name"]: f for f in r.json()["flows"]}
            assert sorted(flows) == ["numbers", "review"]
            schema = flows["numbers"]["inputs"]
            assert schema["properties"]["n"] == {"type": "string", "x-nbflow-type": "text",
                                                 "description": "a number, as text"}
            assert schema["properties"]["topic"]["default"] == "tea"
            assert schema["required"] == ["n"] and schema["additionalProperties"] is False
            assert flows["numbers"]["outputs"] == ["number", "line"]
            assert (await c.get("/flows/review", headers=AUTH)).json()["inputs"]["required"] == ["draft"]
            missing = await c.get("/flows/nope", headers=AUTH)
            assert missing.status_code == 404 and missing.json()["field"] == "name"

    asyncio.run(go())


def test_start_then_poll_and_wait(tmp_path):
    app, store = app_for(tmp_path)

    async def go():
        async with client(app) as c:
            r = await c.post("/flows/numbers/runs", json={"n": "41.5", "topic": "kites"}, headers=AUTH)
            assert r.status_code == 202
            body = r.json()
            rid = body["run_id"]
            assert body["status"] in ("queued", "running") and r.headers["location"] == f"/runs/{rid}"
            assert rid in store and store.summary(rid).source == "server"  # recorded before the answer
            for _ in range(200):
                got = (await c.get(f"/runs/{rid}", headers=AUTH)).json()
                if got["status"] == "succeeded":
                    break
                await asyncio.sleep(0.01)
            assert got["outputs"]["number"] == 41.5 and "kites" in got["outputs"]["line"]
            assert got["nodes"]["num"]["status"] == "done"
            waited = await c.post("/flows/numbers/runs?wait=true", json={"n": "2"}, headers=AUTH)
            assert waited.status_code == 200 and waited.json()["status"] == "succeeded"
            assert waited.json()["outputs"]["number"] == 2
            failed = await c.post("/flows/numbers/runs?wait=1", json={"n": "abc"}, headers=AUTH)
            assert failed.status_code == 200 and failed.json()["status"] == "failed"
            assert "cannot convert 'abc'" in failed.json()["error"]
        assert {r.status for r in store.list_runs()} == {"succeeded", "failed"}
        assert len(store.list_runs(source="server")) == 3

    asyncio.run(go())


@pytest.mark.parametrize(("body", "status", "field", "text"), [
    ({"x": "1"}, 422, "x", "unknown input (this flow takes: n, topic)"),
    ({"topic": "t"}, 422, "n", "required input is missing"),
    ({"n": ["a"]}, 422, "n", "expected text"),
    ([1, 2], 422, None, "must be a JSON object"),
    ("{not json", 400, None, "not valid JSON"),
])
def test_invalid_inputs_name_the_field(tmp_path, body, status, field, text):
    app, store = app_for(tmp_path)

    async def go():
        async with client(app) as c:
            content = body if isinstance(body, str) else json.dumps(body)
            r = await c.post("/flows/numbers/runs", content=content, headers=AUTH)
            assert r.status_code == status
            assert r.json().get("field") == field
            assert text in r.json()["error"] and "\n" not in r.json()["error"]
        assert store.list_runs() == []  # refused requests start nothing

    asyncio.run(go())


def test_media_inputs_must_be_urls_not_server_paths(tmp_path):
    app, _ = app_for(tmp_path, MEDIA)

    async def go():
        async with client(app) as c:
            r = await c.post("/flows/picture/runs", json={"photo": "/etc/hostname"}, headers=AUTH)
            assert r.status_code == 422 and r.json()["field"] == "photo"
            assert "http(s) URL or a data: URI" in r.json()["error"]
            png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
            ok = await c.post("/flows/picture/runs?wait=true", json={"photo": png}, headers=AUTH)
            assert ok.json()["status"] == "succeeded"
            assert ok.json()["outputs"]["out"]["mime"] == "image/png"

    asyncio.run(go())


def test_bearer_auth(tmp_path):
    app, store = app_for(tmp_path)

    async def go():
        async with client(app) as c:
            assert (await c.get("/healthz")).status_code == 200  # liveness needs no credentials
            for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"},
                            {"authorization": f"Bearer {TOKEN}x"}):
                r = await c.post("/flows/numbers/runs", json={"n": "1"}, headers=headers)
                assert r.status_code == 401, headers
                assert r.headers["www-authenticate"].startswith("Bearer")
                assert TOKEN not in r.text
            for path in ("/flows", "/runs", "/metrics", "/runs/x"):
                assert (await c.get(path)).status_code == 401
            assert (await c.post("/flows/numbers/runs", json={"n": "1"}, headers=AUTH)).status_code == 202
            text = (await c.get("/metrics", headers=AUTH)).text
            assert 'nbflow_auth_failures_total{reason="missing"} 5' in text
            assert 'nbflow_auth_failures_total{reason="bad_token"} 3' in text
        assert len(store.list_runs()) == 1

    asyncio.run(go())


RUNS = "/flows/numbers/runs"


def test_hmac_signatures_with_replay_window(tmp_path):
    now = [1_800_000_000.0]
    secret = "hmac-secret-for-tests"
    app, store = app_for(tmp_path, auth=Auth(hmac_secret=secret, window=300, clock=lambda: now[0]))

    async def go():
        async with client(app) as c:
            body = json.dumps({"n": "7"}).encode()
            ok = sign(secret, body, path=RUNS, timestamp=now[0] - 10)
            r = await c.post(RUNS, content=body, headers=ok)
            assert r.status_code == 202
            again = await c.post(RUNS, content=body, headers=ok)
            assert again.status_code == 401 and "already used" in again.json()["error"]
            other = json.dumps({"n": "8"}).encode()
            tampered = await c.post(RUNS, content=other, headers=ok)  # body changed
            assert tampered.status_code == 401
            old = await c.post(RUNS, content=other, headers=sign(secret, other, path=RUNS, timestamp=now[0] - 301))
            assert old.status_code == 401 and "outside the allowed window" in old.json()["error"]
            wrong = await c.post(RUNS, content=other, headers=sign("not-the-secret", other, path=RUNS,
                                                                      timestamp=now[0]))
            assert wrong.status_code == 401
            get = sign(secret, b"", method="GET", path="/flows", timestamp=now[0])
            assert (await c.get("/flows", headers=get)).status_code == 200
            assert (await c.get("/flows", headers=get)).status_code == 200  # reads may repeat
            assert (await c.get("/flows", headers={"authorization": f"Bearer {TOKEN}"})).status_code == 401
        assert len(store.list_runs()) == 1

    asyncio.run(go())


def test_hmac_binds_method_path_and_delivery(tmp_path):
    now = [time.time()]
    secret = "hmac-secret-for-tests"
    app, store = app_for(tmp_path, auth=Auth(hmac_secret=secret, clock=lambda: now[0]))

    async def go():
        async with client(app) as c:
            body = json.dumps({"n": "1"}).encode()
            # A signature taken from a GET does not start a run with a POST (same empty body, same second).
            from_get = sign(secret, b"", method="GET", path=RUNS, timestamp=now[0])
            assert (await c.post(RUNS, content=b"", headers=from_get)).status_code == 401
            # One for another path (or query string) is refused too.
            elsewhere = sign(secret, body, path="/flows/other/runs", timestamp=now[0])
            assert (await c.post(RUNS, content=body, headers=elsewhere)).status_code == 401
            query = sign(secret, body, path=f"{RUNS}?wait=true", timestamp=now[0])
            assert (await c.post(RUNS, content=body, headers=query)).status_code == 401
            assert (await c.post(f"{RUNS}?wait=true", content=body, headers=query)).status_code == 200
            # Two deliveries with the same body in the same second: distinct delivery ids, both run.
            first = sign(secret, body, path=RUNS, timestamp=now[0], delivery="d-1")
            second = sign(secret, body, path=RUNS, timestamp=now[0], delivery="d-2")
            assert (await c.post(RUNS, content=body, headers=first)).status_code == 202
            assert (await c.post(RUNS, content=body, headers=second)).status_code == 202
            # The delivery id is signed: changing it breaks the signature.
            moved = {**first, "x-nbflow-delivery": "d-3"}
            assert (await c.post(RUNS, content=body, headers=moved)).status_code == 401
            # The old scheme (timestamp + body only) is refused.
            import hashlib
            import hmac as hmac_mod

            ts = str(int(now[0]))
            legacy = hmac_mod.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            r = await c.post(RUNS, content=body, headers={"x-nbflow-timestamp": ts,
                                                          "x-nbflow-signature": f"sha256={legacy}"})
            assert r.status_code == 401
        assert len(store.list_runs()) == 3

    asyncio.run(go())


def test_a_signed_post_replayed_after_a_restart_is_refused(tmp_path):
    secret = "hmac-secret-for-tests"
    store = SQLiteStore(tmp_path / "runs.db")
    body = json.dumps({"n": "5"}).encode()
    signed = sign(secret, body, path=RUNS)

    async def post() -> int:
        app, _ = app_for(tmp_path, store=store, auth=Auth(hmac_secret=secret))
        async with client(app) as c:
            return (await c.post(RUNS, content=body, headers=signed)).status_code

    assert asyncio.run(post()) == 202
    store.close()
    store = SQLiteStore(tmp_path / "runs.db")  # a new server process: new app, new Auth, the same store
    assert asyncio.run(post()) == 401
    assert len(store.list_runs()) == 1
    store.close()


def test_body_size_limit(tmp_path):
    app, store = app_for(tmp_path, max_body=200)

    async def go():
        async with client(app) as c:
            r = await c.post("/flows/numbers/runs", json={"n": "1", "topic": "x" * 300}, headers=AUTH)
            assert r.status_code == 413 and "200-byte limit" in r.json()["error"]

            async def chunks():  # no content-length: the limit holds while reading
                for _ in range(10):
                    yield b" " * 50

            r = await c.post("/flows/numbers/runs", content=chunks(), headers=AUTH)
            assert r.status_code == 413
        assert store.list_runs() == []

    asyncio.run(go())


def test_idempotency_key_returns_the_first_run(tmp_path):
    store = SQLiteStore(tmp_path / "runs.db")
    app, _ = app_for(tmp_path, store=store)

    async def go():
        async with client(app) as c:
            h = {**AUTH, "idempotency-key": "order-1234"}
            first = await c.post("/flows/numbers/runs", json={"n": "5"}, headers=h)
            rid = first.json()["run_id"]
            assert rid == idempotent_run_id("numbers", "order-1234")
            burst = await asyncio.gather(*[c.post("/flows/numbers/runs", json={"n": "5"}, headers=h)
                                           for _ in range(10)])
            assert {r.json()["run_id"] for r in burst} == {rid}
            assert all(r.headers["idempotent-replayed"] == "true" for r in burst)
            done = await c.post("/flows/numbers/runs?wait=true", json={"n": "5"}, headers=h)
            assert done.json()["status"] == "succeeded" and done.json()["run_id"] == rid
            clash = await c.post("/flows/numbers/runs", json={"n": "6"}, headers=h)
            assert clash.status_code == 409 and clash.json()["field"] == "Idempotency-Key"
            bad = await c.post("/flows/numbers/runs", json={"n": "6"}, headers={**AUTH, "idempotency-key": "a b"})
            assert bad.status_code == 422
            metrics = (await c.get("/metrics", headers=AUTH)).text
            assert 'nbflow_idempotent_replays_total{flow="numbers"} 11' in metrics
        assert [r.id for r in store.list_runs()] == [rid]

    asyncio.run(go())
    # A restarted server (a new app on the same store) still knows the key.
    app2, _ = app_for(tmp_path, store=store)

    async def again():
        async with client(app2) as c:
            r = await c.post("/flows/numbers/runs", json={"n": "5"}, headers={**AUTH, "idempotency-key": "order-1234"})
            assert r.status_code == 202 and r.json()["status"] == "succeeded"
            assert r.headers["idempotent-replayed"] == "true"

    asyncio.run(again())
    assert len(store.list_runs()) == 1
    store.close()


def test_events_stream_as_sse(tmp_path):
    Gate.gate.clear()
    app, store = app_for(tmp_path, gated_flow())

    async def go():
        async with client(app) as c:
            rid = (await c.post("/flows/gated/runs", json={"x": "hi"}, headers=AUTH)).json()["run_id"]

            async def read():
                async with c.stream("GET", f"/runs/{rid}/events", headers=AUTH) as s:
                    assert s.headers["content-type"].startswith("text/event-stream")
                    return (await s.aread()).decode()

            reader = asyncio.ensure_future(read())
            await asyncio.sleep(0.05)
            assert not reader.done()  # the stream stays open while the run waits at the gate
            Gate.gate.set()
            events = parse_sse(await asyncio.wait_for(reader, 10))
            kinds = [e["event"] for e in events]
            assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
            assert [int(e["id"]) for e in events] == list(range(len(events)))
            assert events[-1]["data"]["data"]["status"] == "succeeded"
            assert any(e["event"] == "node_finished" and e["data"]["node_id"] == "g" for e in events)
            async with c.stream("GET", f"/runs/{rid}/events", headers={**AUTH, "last-event-id": "2"}) as s:
                later = parse_sse((await s.aread()).decode())
            assert [e["id"] for e in later] == [e["id"] for e in events[3:]]
            missing = await c.get("/runs/nope/events", headers=AUTH)
            assert missing.status_code == 404
        # A run this process never saw is told from its record.
        app2, _ = app_for(tmp_path, gated_flow(), store=store)
        async with client(app2) as c:
            async with c.stream("GET", f"/runs/{rid}/events", headers=AUTH) as s:
                replay = parse_sse((await s.aread()).decode())
            assert replay[-1]["event"] == "run_finished" and replay[-1]["data"]["data"]["status"] == "succeeded"

    asyncio.run(go())


def test_approval_resume_over_http(tmp_path):
    app, store = app_for(tmp_path, APPROVE)

    async def go():
        async with client(app) as c:
            r = await c.post("/flows/review/runs?wait=true", json={"draft": "hello"}, headers=AUTH)
            body = r.json()
            rid = body["run_id"]
            assert body["status"] == "paused"
            assert body["approvals"] == [{"node_id": "check", "reason": "Publish this?", "deadline": None,
                                          "default": None, "value": "hello"}]
            nothing = await c.post(f"/runs/{rid}/resume", json={}, headers=AUTH)
            assert nothing.status_code == 409 and "waiting for approval" in nothing.json()["error"]
            bad = await c.post(f"/runs/{rid}/resume", json={"approve": "yes"}, headers=AUTH)
            assert bad.status_code == 422 and bad.json()["field"] == "approve"
            r = await c.post(f"/runs/{rid}/resume?wait=true", json={"approve": True, "value": "hello, edited",
                                                                      "by": "ana"}, headers=AUTH)
            assert r.status_code == 200
            assert r.json()["status"] == "succeeded" and r.json()["outputs"] == {"published": "hello, edited"}
            twice = await c.post(f"/runs/{rid}/resume", json={"approve": True}, headers=AUTH)
            assert twice.status_code == 409 and "already succeeded" in twice.json()["error"]
            unknown = await c.post("/runs/nope/resume", json={"approve": True}, headers=AUTH)
            assert unknown.status_code == 404
            async with c.stream("GET", f"/runs/{rid}/events", headers=AUTH) as s:
                kinds = [e["event"] for e in parse_sse((await s.aread()).decode())]
            assert kinds.count("run_started") == 2 and "paused" in kinds and kinds[-1] == "run_finished"
        assert store.get(rid).status == "succeeded"
        assert store.load(rid).approvals[0].decision["by"] == "ana"

    asyncio.run(go())


def test_a_refused_run_is_still_recorded(tmp_path, monkeypatch):
    # A key that is missing surfaces in the engine's preflight, after the request was accepted.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = json.loads(json.dumps(NUMBERS))
    spec["nodes"][4]["params"] = {"provider": "openai", "model": "gpt-4o-mini"}
    app, store = app_for(tmp_path, spec)

    async def go():
        async with client(app) as c:
            r = await c.post("/flows/numbers/runs?wait=true", json={"n": "1"}, headers=AUTH)
            assert r.json()["status"] == "failed" and "OPENAI_API_KEY" in r.json()["error"]

    asyncio.run(go())
    (run,) = store.list_runs()
    assert run.status == "failed" and "OPENAI_API_KEY" in run.error


def test_runs_listing_and_metrics(tmp_path):
    app, store = app_for(tmp_path)

    async def go():
        async with client(app) as c:
            for n in ("1", "2", "x"):
                await c.post("/flows/numbers/runs?wait=true", json={"n": n}, headers=AUTH)
            runs = (await c.get("/runs?status=failed", headers=AUTH)).json()["runs"]
            assert len(runs) == 1 and runs[0]["status"] == "failed" and runs[0]["source"] == "server"
            assert (await c.get("/runs?limit=x", headers=AUTH)).status_code == 422
            text = (await c.get("/metrics", headers=AUTH)).text
            assert "# TYPE nbflow_run_duration_seconds histogram" in text
            assert 'nbflow_runs_finished_total{flow="numbers",status="succeeded"} 2' in text
            assert 'nbflow_runs_finished_total{flow="numbers",status="failed"} 1' in text
            assert 'nbflow_runs_started_total{flow="numbers",source="server"} 3' in text
            assert 'nbflow_runs_active{flow="numbers"} 0' in text
            assert 'nbflow_node_failures_total{flow="numbers",node="num"} 1' in text
            assert 'nbflow_run_duration_seconds_count{flow="numbers"} 3' in text
            assert 'nbflow_http_requests_total{route="/flows/{name}/runs",method="POST",status="200"} 3' in text
            health = (await c.get("/healthz")).json()
            assert health["status"] == "ok" and health["flows"] == 1 and health["runs_active"] == 0

    asyncio.run(go())


def test_concurrency_limit_queues_runs(tmp_path):
    Gate.gate.clear()
    Gate.entered = 0
    app, store = app_for(tmp_path, gated_flow(), max_concurrent_runs=2)

    async def go():
        async with client(app) as c:
            ids = [(await c.post("/flows/gated/runs", json={"x": str(i)}, headers=AUTH)).json()["run_id"]
                   for i in range(5)]
            await asyncio.sleep(0.1)
            assert Gate.entered == 2
            statuses = [(await c.get(f"/runs/{rid}", headers=AUTH)).json()["status"] for rid in ids]
            assert statuses.count("queued") == 3
            Gate.gate.set()
            deadline = time.monotonic() + 10
            while any(store.summary(rid).status != "succeeded" for rid in ids):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)

    asyncio.run(go())
