"""Batch runs: results per item, resuming, per-item errors, malformed files, the progress bar, and a
dask LocalCluster of 2 workers giving the same results as the local run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from nbflow.batch import ProgressBar, item_id, read_inputs, read_results, run_batch
from nbflow.cli import main
from nbflow.exceptions import ConfigError
from nbflow.store import MemoryStore, open_store

from .helpers import NUMBERS, load, write_flow


def inputs_file(tmp_path: Path, lines: list, name: str = "in.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return p


def results(path: Path) -> dict[str, dict]:
    """Results by id, without what differs from run to run (run id, duration)."""
    out = {}
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        obj.pop("run_id")
        obj.pop("duration")
        out[obj["id"]] = obj
    return out


def test_batch_runs_each_item_and_records_errors(tmp_path):
    flow = load(tmp_path, NUMBERS)
    inp = inputs_file(tmp_path, [{"n": "1"}, {"n": "2", "topic": "owls"}, {"id": "bad-number", "inputs": {"n": "x"}},
                                 {"id": 7, "inputs": {"wrong": 1}}, {"n": "1"}, ""])
    out = tmp_path / "out.jsonl"
    store = MemoryStore()
    summary = run_batch(flow, inp, out, concurrency=3, store=store, progress=False)
    assert (summary.total, summary.ran, summary.succeeded, summary.failed, summary.duplicates) == (4, 4, 2, 2, 1)
    got = results(out)
    assert got[item_id({"n": "2", "topic": "owls"})]["outputs"]["number"] == 2
    assert "owls" in got[item_id({"n": "2", "topic": "owls"})]["outputs"]["line"]
    assert got["bad-number"]["status"] == "failed" and "cannot convert 'x'" in got["bad-number"]["error"]
    assert got["7"]["status"] == "failed" and "unknown graph input 'wrong'" in got["7"]["error"]
    assert got["bad-number"]["inputs"] == {"n": "x"}
    # Every item is in the run history, the refused one included.
    runs = store.list_runs(limit=None)
    assert len(runs) == 4 and {r.source for r in runs} == {"batch"}
    assert sorted(r.status for r in runs) == ["failed", "failed", "succeeded", "succeeded"]


def test_batch_resumes_and_retries_failed(tmp_path):
    flow = load(tmp_path, NUMBERS)
    inp = inputs_file(tmp_path, [{"n": str(i)} for i in range(6)] + [{"id": "z", "inputs": {"n": "zz"}}])
    out = tmp_path / "out.jsonl"
    # As if an earlier batch was killed after two items, in the middle of writing a third line.
    first = [json.dumps({"id": item_id({"n": str(i)}), "status": "succeeded", "outputs": {"number": i}})
             for i in range(2)]
    out.write_text("\n".join(first) + '\n{"id": "' + item_id({"n": "2"}) + '", "stat')
    assert set(read_results(out)) == {item_id({"n": "0"}), item_id({"n": "1"})}
    summary = run_batch(flow, inp, out, concurrency=2, progress=False)
    assert (summary.skipped, summary.ran, summary.failed, summary.failed_total) == (2, 5, 1, 1)
    assert set(read_results(out)) == {item_id({"n": str(i)}) for i in range(6)} | {"z"}
    assert len([json.loads(line) for line in out.read_text().splitlines()]) == 7  # the cut line is gone
    again = run_batch(flow, inp, out, progress=False)
    assert (again.ran, again.skipped, again.failed_total) == (0, 7, 1)
    retry = run_batch(flow, inp, out, retry_failed=True, progress=False)
    assert (retry.ran, retry.failed, retry.failed_total) == (1, 1, 1)
    assert read_results(out)["z"]["status"] == "failed"


def test_malformed_inputs_name_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"in.jsonl: line 2: not valid JSON"):
        read_inputs(inputs_file(tmp_path, [{"n": "1"}, "{oops"]))
    with pytest.raises(ConfigError, match=r"line 1: expected a JSON object"):
        read_inputs(inputs_file(tmp_path, ["[1, 2]"]))
    with pytest.raises(ConfigError, match=r"line 1: field 'id'"):
        read_inputs(inputs_file(tmp_path, [{"id": True, "inputs": {}}]))
    with pytest.raises(ConfigError, match="no such inputs file"):
        read_inputs(tmp_path / "missing.jsonl")
    bad_results = tmp_path / "r.jsonl"
    bad_results.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(ConfigError, match=r"r.jsonl: line 2: not valid JSON"):
        read_results(bad_results)


def test_progress_bar():
    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    bar = ProgressBar(4, stream=tty, width=8)
    for ok in (True, False, True, True):
        bar.update(ok)
    assert tty.getvalue().endswith("\n") and "[########] 4/4 ok 3 failed 1" in tty.getvalue()
    log = io.StringIO()
    bar = ProgressBar(100, stream=log)
    for _ in range(100):
        bar.update(True)
    assert len(log.getvalue().splitlines()) == 11  # 0%..100% in tenths, not one line per item
    quiet = io.StringIO()
    ProgressBar(3, stream=quiet, enabled=False).update(True)
    assert quiet.getvalue() == ""


def test_batch_cli(tmp_path, capsys):
    flow_file = write_flow(tmp_path, NUMBERS)
    inp = inputs_file(tmp_path, [{"n": "1"}, {"n": "2"}])
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(flow_file), str(inp), "--out", str(out), "-c", "2", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["ran"] == 2 and summary["succeeded"] == 2 and "2/2 ok 2 failed 0" in captured.err
    assert main(["batch", str(flow_file), str(inp), "--out", str(out), "-q"]) == 0
    assert "0 items run (0 succeeded, 0 failed), 2 already in" in capsys.readouterr().out
    bad = inputs_file(tmp_path, [{"n": "q"}], name="bad.jsonl")
    assert main(["batch", str(flow_file), str(bad), "--out", str(out), "-q"]) == 1
    assert "--retry-failed" in capsys.readouterr().out
    broken = inputs_file(tmp_path, ["{"], name="broken.jsonl")
    assert main(["batch", str(flow_file), str(broken), "--out", str(out)]) == 2
    assert "broken.jsonl: line 1: not valid JSON" in capsys.readouterr().err
    assert main(["batch", str(flow_file), str(inp), "--out", str(out), "-c", "0"]) == 2
    assert main(["batch", str(flow_file), str(inp), "--out", str(tmp_path / "o2.jsonl"), "--dask", "nowhere"]) == 2
    assert "expected 'local' or a scheduler address" in capsys.readouterr().err
    with open_store() as st:
        assert len(st.list_runs(source="batch")) == 3


@pytest.mark.slow
def test_dask_local_cluster_matches_the_local_run(tmp_path, capsys):
    flow_file = write_flow(tmp_path, NUMBERS)
    lines = [{"n": str(i), "topic": f"topic {i % 3}"} for i in range(12)] + [{"id": "bad", "inputs": {"n": "?"}}]
    inp = inputs_file(tmp_path, lines)
    local, remote = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    assert main(["batch", str(flow_file), str(inp), "--out", str(local), "-q", "-c", "4"]) == 1
    assert main(["batch", str(flow_file), str(inp), "--out", str(remote), "-q", "-c", "4", "--dask", "local",
                 "--workers", "2"]) == 1
    capsys.readouterr()
    a, b = results(local), results(remote)
    assert len(a) == 13 and a == b
    assert b["bad"]["status"] == "failed" and "cannot convert '?'" in b["bad"]["error"]
    with open_store() as st:
        runs = st.list_runs(source="batch", limit=None)
        assert len(runs) == 26
        # a succeeded item's run (the set also holds the deliberately failing "bad" line's run)
        ok_id = next(x["run_id"] for x in map(json.loads, remote.read_text().splitlines())
                     if x["status"] == "succeeded")
        recorded = st.get(ok_id)  # the worker's record, kept in this machine's store
        assert recorded.status == "succeeded" and recorded.nodes["copy"].status == "done"
