"""Runs survive their process: pause in one process and resume in another; SIGKILL mid-run and resume.

These drive the real ``nbflow`` command in subprocesses, with a small plugin package (installed by
putting a module and its dist-info on PYTHONPATH) that counts provider calls and node runs in a file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbflow.store import SQLiteStore

from .helpers import install_plugin, read_calls, subprocess_env

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")


@pytest.fixture
def env_paths(tmp_path: Path) -> tuple[Path, Path, Path]:
    return install_plugin(tmp_path / "site"), tmp_path / "home", tmp_path / "calls.txt"


def _nbflow(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbflow", *args], capture_output=True, text=True, env=env,
                          timeout=120, **kw)


def _write(path: Path, obj: dict) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_pause_in_one_process_resume_in_another(env_paths, tmp_path: Path):
    site, home, calls = env_paths
    flow = _write(tmp_path / "publish.json", {"nbflow": 1, "name": "publish", "nodes": [
        {"id": "topic", "type": "input.text"},
        {"id": "ask", "type": "template", "params": {"template": "Write copy for {{topic}}"}},
        {"id": "draft", "type": "llm", "params": {"provider": "counting", "model": "drafter"}},
        {"id": "review", "type": "approval", "params": {"prompt": "Publish?"}},
        {"id": "final", "type": "template", "params": {"template": "Publish: {{copy}}"}},
        {"id": "publish", "type": "llm", "params": {"provider": "counting", "model": "publisher"}},
        {"id": "published", "type": "output"}, {"id": "approved_copy", "type": "output"}],
        "edges": [{"from": "topic.value", "to": "ask.topic"}, {"from": "ask.text", "to": "draft.prompt"},
                  {"from": "draft.text", "to": "review.value"}, {"from": "review.approved", "to": "final.copy"},
                  {"from": "final.text", "to": "publish.prompt"}, {"from": "publish.text", "to": "published.value"},
                  {"from": "review.approved", "to": "approved_copy.value"}]})
    env = subprocess_env(site, home, calls)
    first = _nbflow(["run", str(flow), "-i", "topic=teapots"], env)
    assert first.returncode == 3, first.stderr
    run_id = first.stderr.splitlines()[0].split()[1]
    assert f"nbflow resume {run_id} --approve" in first.stderr
    assert read_calls(calls) == {"chat:drafter": 1}

    second = _nbflow(["resume", run_id, "--approve", "--value", "Hand-thrown teapots.", "--json"], env)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["status"] == "succeeded" and out["run_id"] == run_id
    assert out["outputs"]["approved_copy"] == "Hand-thrown teapots."
    assert read_calls(calls) == {"chat:drafter": 1, "chat:publisher": 1}  # nothing ran twice


def test_sigkill_mid_run_then_resume_reruns_only_unfinished_nodes(env_paths, tmp_path: Path):
    site, home, calls = env_paths
    flow = _write(tmp_path / "chain.json", {"nbflow": 1, "name": "chain", "nodes": [
        {"id": "topic", "type": "input.text", "params": {"default": "tea"}},
        {"id": "a", "type": "llm", "params": {"provider": "counting", "model": "first"}},
        {"id": "slow", "type": "test.step"},
        {"id": "c", "type": "llm", "params": {"provider": "counting", "model": "last"}},
        {"id": "out", "type": "output"}],
        "edges": [{"from": "topic.value", "to": "a.prompt"}, {"from": "a.text", "to": "slow.text"},
                  {"from": "slow.text", "to": "c.prompt"}, {"from": "c.text", "to": "out.value"}]})
    env = subprocess_env(site, home, calls, NBFLOW_TEST_SLOW="slow")
    proc = subprocess.Popen([sys.executable, "-m", "nbflow", "run", str(flow)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while read_calls(calls)["step:slow"] == 0:  # wait until 'a' is done and 'slow' has started
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached the slow node"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with SQLiteStore(home / "runs.db") as store:
        [run] = store.list_runs(flow="chain")
        assert run.status == "running"  # the process died without finishing the record
        saved = store.get(run.id)
        assert saved.nodes["a"].status == "done" and "slow" not in saved.nodes

    resumed = _nbflow(["resume", run.id], subprocess_env(site, home, calls))
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("out: [offline]")
    assert read_calls(calls) == {"chat:first": 1, "step:slow": 2, "chat:last": 1}
    with SQLiteStore(home / "runs.db") as store:
        assert store.summary(run.id).status == "succeeded"


def test_a_live_run_is_not_resumed_twice(env_paths, tmp_path: Path):
    site, home, calls = env_paths
    flow = _write(tmp_path / "slow.json", {"nbflow": 1, "name": "slow", "nodes": [
        {"id": "t", "type": "input.text", "params": {"default": "x"}}, {"id": "slow", "type": "test.step"},
        {"id": "o", "type": "output"}],
        "edges": [{"from": "t.value", "to": "slow.text"}, {"from": "slow.text", "to": "o.value"}]})
    env = subprocess_env(site, home, calls, NBFLOW_TEST_SLOW="slow")
    proc = subprocess.Popen([sys.executable, "-m", "nbflow", "run", str(flow)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while read_calls(calls)["step:slow"] == 0:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        with SQLiteStore(home / "runs.db") as store:
            [run] = store.list_runs()
        busy = _nbflow(["resume", run.id], subprocess_env(site, home, calls))
        assert busy.returncode == 2
        assert busy.stderr.startswith(f"nbflow: error: run {run.id!r} is running in process {proc.pid} on ")
        assert busy.stderr.endswith("); wait for it to end (or pass --force if that process is gone)\n")
        assert busy.stderr.count("\n") == 1
    finally:
        proc.kill()
        proc.communicate(timeout=30)
