"""The server on a real socket under uvicorn: a run with its SSE stream, a schedule from the serve
configuration, an alert rule POSTing to a local receiver, and `nbflow serve --check`."""

from __future__ import annotations

import json
import time

import httpx

from nbflow.cli import main
from nbflow.server import ServeConfig, ServerThread, build_app
from nbflow.store import SQLiteStore

from .helpers import AUTH, NUMBERS, TOKEN, Receiver, parse_sse, write_flow


def _wait_for(pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_real_socket_run_events_schedule_and_alert(tmp_path, monkeypatch):
    monkeypatch.setenv("NBFLOW_SERVE_TOKEN", TOKEN)
    flow_file = write_flow(tmp_path, NUMBERS)
    with Receiver() as receiver:
        config = ServeConfig.parse({
            "flows": [str(flow_file)],
            "schedules": [{"flow": "numbers", "cron": "* * * * * *", "inputs": {"n": "3"}, "name": "every-second"}],
            "alerts": [{"name": "numbers-errors", "max_error_rate": 0.02, "window": "1h", "min_runs": 3,
                        "interval": 0.2, "webhook": receiver.url}],
        })
        store = SQLiteStore(tmp_path / "runs.db")
        app = build_app(config, store=store)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
            r = c.post("/flows/numbers/runs", json={"n": "12", "topic": "sails"})
            assert r.status_code == 202
            rid = r.json()["run_id"]
            with c.stream("GET", f"/runs/{rid}/events") as s:
                events = parse_sse(s.read().decode())
            assert events[0]["event"] == "run_started" and events[-1]["event"] == "run_finished"
            assert c.get(f"/runs/{rid}").json()["outputs"]["number"] == 12
            # Failing runs put the error rate over 2%: the rule POSTs to the receiver (it may fire after the
            # first failure, since the schedule's runs count towards min_runs too).
            for _ in range(3):
                assert c.post("/flows/numbers/runs?wait=true", json={"n": "nope"}).json()["status"] == "failed"
            _wait_for(lambda: receiver.received)
            alert = receiver.received[0]
            assert alert["rule"] == "numbers-errors" and alert["flow"] == "numbers"
            assert alert["failed"] >= 1 and alert["runs"] >= 3 and alert["error_rate"] > 0.02
            assert "error rate" in alert["message"] and receiver.url not in json.dumps(alert)
            # The every-second schedule fires within a couple of seconds; its runs are recorded.
            _wait_for(lambda: store.list_runs(source="schedule"))
            metrics = c.get("/metrics").text
            assert 'nbflow_schedule_fires_total{schedule="every-second",outcome="started"}' in metrics
            assert 'nbflow_alerts_fired_total{rule="numbers-errors",flow="numbers"} 1' in metrics
        scheduled = store.list_runs(source="schedule")
        assert all(r.flow == "numbers" for r in scheduled)
        _wait_for(lambda: all(r.status != "running" for r in store.list_runs(source="schedule")))
        assert len(receiver.received) == 1  # the cooldown holds it to one alert per window
        store.close()


def test_serve_check_and_config_errors(tmp_path, monkeypatch, capsys):
    flow_file = write_flow(tmp_path, NUMBERS)
    monkeypatch.delenv("NBFLOW_SERVE_TOKEN", raising=False)
    monkeypatch.delenv("NBFLOW_SERVE_HMAC_SECRET", raising=False)
    assert main(["serve", str(flow_file), "--check"]) == 2
    err = capsys.readouterr().err
    assert "no credentials for the server" in err and err.count("\n") == 1
    monkeypatch.setenv("MY_TOKEN", TOKEN)
    assert main(["serve", str(flow_file), "--token-env", "MY_TOKEN", "--check", "--port", "9999"]) == 0
    err = capsys.readouterr().err
    assert "serving 1 flow(s) on http://127.0.0.1:9999 (auth: bearer" in err and "POST /flows/numbers/runs" in err
    assert TOKEN not in err
    assert main(["serve", str(flow_file), "--token-env", "UNSET_TOKEN_VAR", "--check"]) == 2
    assert "secret UNSET_TOKEN_VAR is not set" in capsys.readouterr().err
    cfg = tmp_path / "serve.json"
    cfg.write_text(json.dumps({"flows": ["numbers.json"], "schedules": [{"flow": "numbers", "cron": "0 9 * * *",
                                                                          "tz": "Mars/Olympus"}]}))
    assert main(["serve", "--config", str(cfg), "--insecure-no-auth", "--check"]) == 2
    assert "field 'schedules.0.tz': 'Mars/Olympus' is not a known time zone" in capsys.readouterr().err
    cfg.write_text(json.dumps({"flows": ["numbers.json"], "schedules": [{"flow": "numbers", "cron": "0 9 * * *"}],
                               "alerts": [{"max_error_rate": 0.05, "window": "30m"}]}))
    assert main(["serve", "--config", str(cfg), "--insecure-no-auth", "--check"]) == 0
    assert "schedules: 1; alert rules: 1" in capsys.readouterr().err
    cfg.write_text(json.dumps({"flows": ["numbers.json", "numbers.json"]}))
    assert main(["serve", "--config", str(cfg), "--insecure-no-auth", "--check"]) == 2
    assert "two served flows are named 'numbers'" in capsys.readouterr().err
