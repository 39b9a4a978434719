"""Run history from every front end, `nbflow runs` (list, show, prune), stats per flow and window, and
alert rules delivered to a local webhook receiver. Store-backed tests run over memory and SQLite."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nbflow.cli import main
from nbflow.exceptions import ConfigError
from nbflow.model.record import NodeRecord, RunResult
from nbflow.ops import AlertManager, AlertRule, evaluate, parse_duration, parse_since, percentile, run_stats
from nbflow.ops.summary import windowed_stats
from nbflow.store import MemoryStore, RunStore, SQLiteStore, open_store

from .helpers import NUMBERS, Receiver, load, write_flow

NOW = 1_800_000_000.0


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RunStore:
    s: RunStore = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "runs.db")
    yield s
    s.close()


def add(store: RunStore, rid: str, *, flow: str = "copy", status: str = "succeeded", start: float = NOW - 60,
        duration: float = 1.0, cost: float = 0.01, source: str = "server") -> None:
    res = RunResult(run_id=rid, flow=flow, status=status, started_at=start, ended_at=start + duration)
    res.nodes = {"a": NodeRecord("a", "llm", status="failed" if status == "failed" else "done", cost=cost)}
    if status == "failed":
        res.error = "node 'a': boom"
    store.save(res, source=source)


def test_durations_and_points_in_time():
    assert [parse_duration(x) for x in ("90s", "15m", "24h", "7d", "2w", "45", 3)] == \
        [90, 900, 86400, 604800, 1209600, 45, 3]
    assert parse_since("24h", now=NOW) == NOW - 86400
    assert parse_since("2026-01-31T09:00:00+01:00") == 1769846400.0
    for bad in ("soon", "3x", "-1h"):
        with pytest.raises(ConfigError) as err:
            parse_since(bad, what="--since")
        assert str(err.value).startswith("--since: ")
    assert percentile([], 95) is None
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0


def test_stats_per_flow(store):
    for i in range(19):
        add(store, f"ok{i}", duration=1.0 + i, cost=0.02)
    add(store, "bad", status="failed", duration=0.5, cost=0.0)
    add(store, "stop", status="cancelled", duration=2.0)
    add(store, "wait", status="paused")
    add(store, "other", flow="images", duration=4.0, cost=0.5, source="batch")
    add(store, "old", start=NOW - 10 * 86400)
    rows = {s.flow: s for s in run_stats(store, since=NOW - 86400, until=NOW)}
    copy = rows["copy"]
    assert (copy.runs, copy.succeeded, copy.failed, copy.cancelled) == (21, 19, 1, 1)
    assert copy.success_rate == pytest.approx(19 / 20) and copy.error_rate == pytest.approx(0.05)
    assert copy.p95_duration == 18.0  # nearest rank over the 21 ended runs
    assert copy.avg_duration == pytest.approx((sum(1.0 + i for i in range(19)) + 0.5 + 2.0) / 21)
    assert copy.total_cost == pytest.approx(19 * 0.02 + 0.01) and copy.avg_cost == pytest.approx(copy.total_cost / 21)
    assert rows["images"].runs == 1 and rows["*"].runs == 22
    assert [s.flow for s in run_stats(store, since=NOW - 86400, source="batch")] == ["images"]
    assert run_stats(store, since=NOW + 1) == []
    js = rows["copy"].to_json()
    assert js["success_rate"] == 0.95 and js["runs"] == 21


def test_windowed_stats(store):
    add(store, "a", start=NOW - 7200 + 10)
    add(store, "b", start=NOW - 7200 + 20, status="failed")
    add(store, "c", start=NOW - 3600 + 5)
    rows = windowed_stats(store, window=3600, since=NOW - 7200, until=NOW)
    assert [(r.since, r.runs, r.failed) for r in rows] == [(NOW - 7200, 2, 1), (NOW - 3600, 1, 0)]


def test_alert_rule_thresholds_and_cooldown(store):
    rule = AlertRule(name="copy-errors", max_error_rate=0.02, window=3600, min_runs=5)
    for i in range(3):
        add(store, f"f{i}", status="failed")
    assert evaluate(store, rule, now=NOW) == []  # 3 runs: fewer than min_runs
    for i in range(47):
        add(store, f"s{i}")
    (alert,) = evaluate(store, rule, now=NOW)
    assert alert.flow == "copy" and alert.failed == 3 and alert.runs == 50
    assert alert.message == ("alert 'copy-errors': flow 'copy' error rate 6.0% over the last 1h (3 of 50 runs "
                             "failed) is above 2.0%")
    assert evaluate(store, rule.model_copy(update={"max_error_rate": 0.1}), now=NOW) == []
    assert evaluate(store, rule, now=NOW + 7200) == []  # the failures left the window
    sent = []
    mgr = AlertManager([rule], store, send=lambda url, payload: sent.append(payload) or 200)
    assert mgr.check(NOW) and mgr.check(NOW + 60) == []  # no webhook: logged, then held by the cooldown
    assert sent == []
    hooked = rule.model_copy(update={"webhook": "http://127.0.0.1:9/x", "cooldown": 30.0})
    mgr = AlertManager([hooked], store, send=lambda url, payload: sent.append(payload) or 200)
    assert len(mgr.check(NOW)) == 1 and len(mgr.check(NOW + 10)) == 0 and len(mgr.check(NOW + 31)) == 1
    assert len(sent) == 2 and sent[0]["kind"] == "nbflow.alert" and sent[0]["success_rate"] == 0.94


def test_alert_rule_validation():
    with pytest.raises(ConfigError, match="field 'max_error_rate'"):
        AlertRule.parse({"max_error_rate": 1.5})
    with pytest.raises(ConfigError, match="field 'webhook'"):
        AlertRule.parse({"webhook": "ftp://x"})
    with pytest.raises(ConfigError, match="field 'extra'"):
        AlertRule.parse({"extra": 1})
    assert AlertRule.parse({"window": "15m"}).window == 900


def test_alert_delivered_to_a_local_receiver_end_to_end(tmp_path):
    store = SQLiteStore(tmp_path / "runs.db")
    flow = load(tmp_path, NUMBERS)
    for n in ("1", "2", "x", "y", "3"):
        flow.run(n=n, store=store, source="python")
    with Receiver() as ok, Receiver(status=500) as broken:
        rules = [AlertRule(name="to-ok", max_error_rate=0.02, min_runs=5, webhook=ok.url),
                 AlertRule(name="to-broken", max_error_rate=0.02, min_runs=5, webhook=broken.url)]
        fired = AlertManager(rules, store).check()
    assert [a.delivered for a in fired] == [True, False]
    assert fired[1].delivery_error == "the webhook answered HTTP 500"
    (payload,) = ok.received
    assert payload["flow"] == "numbers" and payload["failed"] == 2 and payload["runs"] == 5
    assert payload["error_rate"] == 0.4 and payload["threshold"] == 0.02
    store.close()


def test_every_front_end_records_into_the_default_store(tmp_path, capsys):
    flow_file = write_flow(tmp_path, NUMBERS)
    assert main(["run", str(flow_file), "-i", "n=1", "-q"]) == 0
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"n": "2"}\n{"n": "z"}\n')
    assert main(["batch", str(flow_file), str(inputs), "--out", str(tmp_path / "out.jsonl"), "-q"]) == 1
    load(tmp_path, NUMBERS).run(n="3", store=True)
    capsys.readouterr()
    with open_store() as st:
        sources = sorted(r.source for r in st.list_runs())
    assert sources == ["batch", "batch", "cli", "python"]


def test_runs_cli_list_show_prune(tmp_path, capsys):
    with open_store() as st:
        now = time.time()
        add(st, "r-old", start=now - 40 * 86400, source="cli")
        add(st, "r-fail", status="failed", start=now - 3600, source="schedule")
        add(st, "r-new", flow="images", start=now - 60, duration=2.5, cost=0.125, source="batch")
        add(st, "r-paused", status="paused", start=now - 50 * 86400)
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["RUN", "FLOW", "STATUS", "SOURCE"]
    assert [line.split()[0] for line in out[1:] if not line.startswith("    ")] == ["r-new", "r-fail", "r-old",
                                                                                  "r-paused"]
    assert "    node 'a': boom" in out
    assert main(["runs", "--status", "failed", "--json"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["run_id"] == "r-fail" and row["source"] == "schedule" and row["error"] == "node 'a': boom"
    assert main(["runs", "--flow", "images", "--since", "2h", "--json"]) == 0
    assert [json.loads(x)["run_id"] for x in capsys.readouterr().out.splitlines()] == ["r-new"]
    assert main(["runs", "--since", "yesterday-ish"]) == 2
    assert capsys.readouterr().err.startswith("nbflow: error: --since: 'yesterday-ish' is neither")
    assert main(["runs", "show", "r-new"]) == 0
    shown = capsys.readouterr().out
    assert "flow     images" in shown and "source   batch" in shown and "duration 2.50s" in shown
    assert "cost     $0.1250" in shown and "a                    llm" in shown
    assert main(["runs", "show", "r-new", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run_id"] == "r-new" and doc["source"] == "batch" and doc["cost"] == 0.125
    assert main(["runs", "show", "nope"]) == 2
    assert "no run 'nope' in the run store" in capsys.readouterr().err
    assert main(["runs", "prune"]) == 2
    assert "needs --older-than" in capsys.readouterr().err
    assert main(["runs", "prune", "--older-than", "30d", "--dry-run"]) == 0
    assert capsys.readouterr().out == "would delete 1 runs\n"
    assert main(["runs", "prune", "--older-than", "30d"]) == 0
    assert capsys.readouterr().out == "deleted 1 runs\n"  # the paused run is kept: it can still be resumed
    assert main(["runs", "prune", "--older-than", "1y"]) == 2
    assert "--older-than: '1y' is not a duration" in capsys.readouterr().err
    with open_store() as st:
        assert sorted(r.id for r in st.list_runs()) == ["r-fail", "r-new", "r-paused"]


def test_stats_cli_and_alert(tmp_path, capsys):
    with open_store() as st:
        now = time.time()
        for i in range(9):
            add(st, f"s{i}", start=now - 600 + i, duration=1.0)
        add(st, "f0", status="failed", start=now - 300, duration=3.0)
    assert main(["stats"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["copy", "10", "9", "1", "0", "90.0%", "1.20", "3.00", "0.0100", "0.1000"]
    assert main(["stats", "--json", "--window", "1h", "--since", "2h"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert sum(r["runs"] for r in rows) == 10 and all(r["flow"] == "copy" for r in rows)
    with Receiver() as receiver:
        assert main(["stats", "--alert-above", "0.02", "--webhook", receiver.url]) == 0
        err = capsys.readouterr().err
        assert "ALERT alert 'cli': flow 'copy' error rate 10.0%" in err and "(sent to the webhook)" in err
        assert receiver.received[0]["flow"] == "copy"
    assert main(["stats", "--alert-above", "0.2"]) == 0
    assert "no alert" in capsys.readouterr().err
    assert main(["stats", "--alert-above", "2"]) == 2


def test_long_flow_names_are_never_cut_into_look_alikes(capsys):
    a, b = "quarterly-report-summary-north", "quarterly-report-summary-south"  # alike for 25 characters
    with open_store() as st:
        add(st, "r-a", flow=a, start=time.time() - 60)
        add(st, "r-b", flow=b, start=time.time() - 30)
    assert main(["runs"]) == 0
    listed = capsys.readouterr().out
    assert f" {a} " in listed and f" {b} " in listed
    assert main(["stats"]) == 0
    stats = capsys.readouterr().out
    assert f"{a} " in stats and f"{b} " in stats


def test_times_are_shown_with_their_date_and_zone():
    from datetime import timezone
    from zoneinfo import ZoneInfo

    from nbflow.ops.timespec import format_time

    assert format_time(NOW, timezone.utc) == "2027-01-15 08:00:00 UTC"
    assert format_time(NOW, ZoneInfo("Europe/Berlin")) == "2027-01-15 09:00:00 CET"
    assert format_time(NOW, ZoneInfo("Asia/Kolkata")) == "2027-01-15 13:30:00 IST"
    assert format_time(None) == "-"
