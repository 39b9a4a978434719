"""Run All, as a user presses it, in real JupyterLab 4 and Notebook 7 in headless Chromium.

Every notebook in ``notebooks/`` is opened in JupyterLab and run with Run All; every code cell must
get an execution count, and no output may hold an error, a traceback, stderr text or an asyncio
warning. ``tests/notebooks/queued_run.ipynb`` (``flow.run()`` with cells queued behind it, and a
progress bar fed by the run's events) runs in JupyterLab and in Notebook 7, on the newest ipykernel
and on ipykernel 6; its progress bar must move on the page while the run's cell is still running.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..notebooks.runall import KERNELS_DIR, ROOT, CellRun, kernel_names, problems
from .jupyter import CHROMIUM, PANEL_JS, JupyterServer, chromium, notebook_path, open_notebook, start_jupyter

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
QUEUED = ROOT / "tests" / "notebooks" / "queued_run.ipynb"
IPYKERNEL6 = "nbflow-py3.11-ipykernel6"
OUT = ROOT / "test-output" / "e2e"
WAIT = 60_000

_CELLS_JS = """(path) => { const w = (""" + PANEL_JS + """)(path); const m = w.content.model;
  const cells = [];
  for (let i = 0; i < m.cells.length; i++) {
    const c = m.cells.get(i);
    if (c.type !== 'code') continue;
    cells.push({source: c.sharedModel.getSource(), count: c.executionCount, outputs: c.outputs.toJSON()});
  }
  const bar = document.querySelector('.widget-hprogress .progress-bar');
  return {status: w.sessionContext.session.kernel.status, cells,
          bar: bar ? parseFloat(bar.style.width || '0') : null}; }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/test installs Debian's chromium)")
    tmp = tmp_path_factory.mktemp("jupyter-runall")
    root = tmp / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns("*.json", "out", ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "examples", root / "examples")
    (root / "queued").mkdir()
    extra = os.pathsep.join(p for p in (str(KERNELS_DIR), os.environ.get("JUPYTER_PATH", "")) if p)
    srv = start_jupyter(tmp, root, env={"JUPYTER_PATH": extra})
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(server: JupyterServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path_factory.mktemp("chromium-profile"), 1400, 1000) as ctx:
        yield ctx


def run_all_in_browser(browser: Any, url: str, *, timeout: float = 240.0,
                       watch_bar_of: int | None = None) -> tuple[list[CellRun], list[tuple[int | None, float | None]]]:
    """Open ``url``, press Run All, wait until every code cell has a count and the kernel is idle.

    Returns the cells (outputs as the page holds them) and, with ``watch_bar_of``, samples of that code
    cell's execution count and the progress bar's width (percent) taken every 0.1 s.
    """
    page = open_notebook(browser, url, timeout=WAIT)
    path = notebook_path(url)
    try:
        deadline = time.monotonic() + timeout
        samples: list[tuple[int | None, float | None]] = []
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = page.evaluate(_CELLS_JS, path)
            cells = state["cells"]
            if watch_bar_of is not None:
                samples.append((cells[watch_bar_of]["count"], state["bar"]))
            if state["status"] == "idle" and all(c["count"] is not None for c in cells):
                break
            time.sleep(0.1)
        time.sleep(0.5)  # outputs that arrive just after the last reply
        state = page.evaluate(_CELLS_JS, path)
        name = url.rsplit("/", 1)[-1].replace(".ipynb", "")
        page.screenshot(path=str(OUT / f"runall-{'nb7-' if '/notebooks/' in url else ''}{name}.png"))
        runs = [CellRun(i, c["source"], status="ok" if c["count"] is not None else None,
                        execution_count=c["count"], outputs=c["outputs"]) for i, c in enumerate(state["cells"])]
        return runs, samples
    finally:
        page.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_in_jupyterlab(server: JupyterServer, browser: Any, notebook: Path) -> None:
    cells, _ = run_all_in_browser(browser, f"{server.url}/lab/tree/notebooks/{notebook.name}")
    assert problems(cells) == []


def _queued_copy(server: JupyterServer, kernel: str) -> str:
    nb = json.loads(QUEUED.read_text())
    nb["metadata"]["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    name = f"queued_{kernel.replace('.', '_')}.ipynb"
    (server.root / "queued" / name).write_text(json.dumps(nb))
    return name


@pytest.mark.parametrize("front_end", ["lab/tree", "notebooks"], ids=["jupyterlab", "notebook7"])
@pytest.mark.parametrize("kernel", ["python3", pytest.param(IPYKERNEL6, marks=pytest.mark.kernel_matrix)])
def test_cells_queued_behind_flow_run(server: JupyterServer, browser: Any, front_end: str, kernel: str) -> None:
    if kernel != "python3" and kernel not in kernel_names():
        if os.environ.get("CI"):
            pytest.fail(f"kernel {kernel!r} is missing: scripts/kernels builds it")
        pytest.skip(f"kernel {kernel!r} not built (run scripts/kernels)")
    name = _queued_copy(server, kernel)
    cells, samples = run_all_in_browser(browser, f"{server.url}/{front_end}/queued/{name}", watch_bar_of=1)
    assert problems(cells) == []
    printed = ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout").strip() for c in cells]
    assert printed[1:] == ["cell 2: succeeded go...", "cell 3: after the run, bar at 3",
                           "cell 4: succeeded again...", "cell 5: succeeded awaited...", "cell 6: the last cell ran"]
    counts = [c.execution_count for c in cells]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    # the bar moved on the page while cell 2's run was going, before the cell finished
    assert any(count is None and bar is not None and 0 < bar < 100 for count, bar in samples), samples
