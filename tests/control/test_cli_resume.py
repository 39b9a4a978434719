"""``nbflow run`` records runs; ``nbflow resume`` decides, lists, expires, and fails with one line."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from nbflow.cli import main
from nbflow.store import open_store

FLOW = {"nbflow": 1, "name": "review-json", "nodes": [
    {"id": "data", "type": "input.json", "params": {"default": {"title": "Tea", "price": 12}}},
    {"id": "check", "type": "approval", "params": {"prompt": "Price OK?", "timeout": 3600}},
    {"id": "second", "type": "approval", "params": {"prompt": "Really?", "timeout": 0.01,
                                                    "on_timeout": "approve"}},
    {"id": "out", "type": "output"}],
    "edges": [{"from": "data.value", "to": "check.value"}, {"from": "check.approved", "to": "second.value"},
              {"from": "second.approved", "to": "out.value"}]}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def flow_file(tmp_path: Path) -> str:
    p = tmp_path / "review.json"
    p.write_text(json.dumps(FLOW))
    return str(p)


def test_run_pause_list_decide_with_json_value(capsys, flow_file: str):
    code, out, err = cli(capsys, "run", flow_file)
    assert code == 3
    run_id = err.splitlines()[0].split()[1]
    assert err.splitlines()[0] == f"run {run_id} started"
    with open_store() as store:
        assert store.summary(run_id).source == "cli"
        assert store.summary(run_id).flow_file == flow_file

    code, out, _ = cli(capsys, "resume")
    assert code == 0
    assert out.splitlines()[0].startswith(f"{run_id}  paused      review-json  ")
    assert out.splitlines()[1].startswith("    waiting at check: Price OK? (default reject at ")
    # the deadline has its date and time zone: a day-long approval is not mistaken for today's
    assert re.search(r"\(default reject at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+\)$", out.splitlines()[1])

    code, _, err = cli(capsys, "resume", run_id, "--approve", "--value", "{not json")
    assert code == 2
    assert err == "nbflow: error: --value: the value under review is dict, so give JSON (Expecting property " \
                  "name enclosed in double quotes at column 2)\n"
    code, _, err = cli(capsys, "resume", run_id, "--value", "{}")
    assert (code, err) == (2, "nbflow: error: --value goes with --approve (it replaces the value being approved)\n")

    code, out, err = cli(capsys, "resume", run_id, "--approve", "--value", '{"title": "Tea", "price": 10}',
                         "--by", "sam")
    assert code == 3  # paused again, at the second approval
    assert f"run {run_id} is paused again" in err
    time.sleep(0.02)  # the second approval's timeout passes
    code, out, err = cli(capsys, "resume", "--expired", "-q")
    assert code == 0 and out == f"run {run_id} succeeded\n"
    with open_store() as store:
        res = store.get(run_id)
        assert res.outputs == {"out": {"title": "Tea", "price": 10}}
        assert res.nodes["second"].outputs["decision"]["timeout"] is True
    code, out, _ = cli(capsys, "resume", "--expired")
    assert out == "no approvals have timed out\n"
    code, out, _ = cli(capsys, "resume")
    assert out == "no runs to resume\n"


def test_resume_errors_are_one_line(capsys, flow_file: str):
    code, _, err = cli(capsys, "resume", "nope", "--approve")
    assert (code, err) == (2, "nbflow: error: no run 'nope' in the run store\n")
    code, _, err = cli(capsys, "run", flow_file, "-q")
    run_id = err.split()[1]
    code, _, err = cli(capsys, "resume", run_id, "--reject", "--node", "second")
    assert (code, err) == (2, f"nbflow: error: run {run_id!r}: node 'second' is not waiting for approval; it "
                              "waits at 'check'\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["resume", run_id, "--approve", "--reject"])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    code, out, err = cli(capsys, "resume", run_id, "--reject", "--comment", "too pricey", "--json")
    assert code == 0
    assert json.loads(out)["nodes"]["check"]["status"] == "done"
    code, _, err = cli(capsys, "resume", run_id, "--approve")
    assert (code, err) == (2, f"nbflow: error: run {run_id!r} already succeeded; there is nothing to resume\n")


def test_no_store_runs_are_not_recorded(capsys, flow_file: str):
    code, _, err = cli(capsys, "run", flow_file, "--no-store", "-q")
    assert code == 3
    with open_store() as store:
        assert store.list_runs() == []


def test_an_unusable_store_warns_and_still_runs(capsys, flow_file: str, tmp_path: Path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("NBFLOW_HOME", str(blocker / "home"))  # a path under a file cannot be created
    code, _, err = cli(capsys, "run", flow_file, "-q")
    assert code == 3
    assert err.startswith("nbflow: warning: cannot open run store ")
    assert "the run is not recorded and cannot be resumed" in err
