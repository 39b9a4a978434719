"""The canvas uses the persistent disk cache by default: a new kernel re-running a flow on the canvas
makes no provider call and badges its nodes "cache". Requests are counted at the in-repo fake server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbflow
from nbflow import DiskCache
from nbflow.engine.cache import MemoryCache
from nbflow.testing.pytest_plugin import _fake_server_session, fake_env, fake_server
from nbflow.widget import Editor

from ..iterate.helpers import calls, two_calls

__all__ = ["_fake_server_session", "fake_env", "fake_server"]

ROOT = Path(__file__).resolve().parents[2]

#: A new kernel: a fresh process that opens an editor on the flow, runs it, and says where each node's
#: output came from (its status) and which badges the canvas draws.
KERNEL = """
import json
from nbflow.widget import Editor
from nbflow.widget.marks import tags
from tests.iterate.helpers import two_calls
ed = Editor(two_calls())
ed.run()
badges = sorted({text for *_, text, _ in tags(list(ed.vm.boxes.values()), {}, ed.vm.status, 1.0)})
print(json.dumps({"status": ed.vm.status, "badges": badges, "ok": ed.result is not None and ed.result.ok}))
"""


def _new_kernel() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", KERNEL], cwd=ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_new_kernel_running_the_same_flow_on_the_canvas_makes_no_call(fake_env: Any) -> None:
    first = _new_kernel()
    assert first["ok"] and len(calls(fake_env)) == 2
    assert first["status"]["draft"] == "done" and "fresh" in first["badges"] and "cache" not in first["badges"]
    fake_env.reset()
    again = _new_kernel()  # same NBFLOW_HOME, nothing shared in memory
    assert again["ok"] and calls(fake_env) == []
    assert (again["status"]["draft"], again["status"]["polish"]) == ("cached", "cached")
    assert "cache" in again["badges"]
    assert (Path(os.environ["NBFLOW_HOME"]) / "cache" / "index.db").is_file()


def test_two_editors_share_the_default_disk_cache_and_false_turns_it_off(fake_env: Any) -> None:
    Editor(two_calls()).run()
    assert len(calls(fake_env)) == 2
    fake_env.reset()
    ed = Editor(two_calls())  # a new flow object: an empty in-memory cache of its own
    ed.run()
    assert calls(fake_env) == [] and ed.vm.status["polish"] == "cached"
    off = Editor(two_calls(), cache=False)
    assert isinstance(off.cache, MemoryCache)
    off.run()
    assert len(calls(fake_env)) == 2 and off.vm.status["polish"] == "done"


def test_a_chosen_folder_flow_cache_and_use_cache_are_respected(fake_env: Any, tmp_path: Path) -> None:
    ed = Editor(two_calls(), cache=tmp_path / "mine")
    ed.run()
    assert isinstance(ed.cache, DiskCache) and ed.cache.path.resolve() == (tmp_path / "mine").resolve()
    assert ed.cache.info().entries >= 2
    flow = two_calls()
    flow.cache = own = DiskCache(tmp_path / "own")
    assert Editor(flow).cache is own
    try:
        chosen = nbflow.use_cache(tmp_path / "process")
        assert Editor(two_calls()).cache is chosen
    finally:
        nbflow.use_cache(False)
