"""Every notebook, run as Run All runs it, on the newest ipykernel and on ipykernel 6.

Each cell must reply ``ok`` with an execution count, and no output may hold an error, a traceback,
anything on stderr or an asyncio warning. ``queued_run.ipynb`` calls ``flow.run()``,
``nbflow.run()`` and ``await flow.arun()`` with cells queued behind them and updates a progress bar
from the run's events; it runs on every kernel of the matrix that ``scripts/kernels`` builds
(Python 3.10 to 3.13, ipykernel 6 and 7). In CI a missing matrix kernel is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .runall import ROOT, kernel_names, problems, run_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

HERE = Path(__file__).parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: The kernel every notebook also runs on besides the default one: ipykernel 6, same Python.
IPYKERNEL6 = "nbflow-py3.11-ipykernel6"
#: What scripts/kernels builds; in CI each must be there.
MATRIX = ["nbflow-py3.10-ipykernel6", IPYKERNEL6, "nbflow-py3.12-ipykernel7", "nbflow-py3.13-ipykernel7"]


def _matrix() -> list[object]:
    """The matrix kernels, each marked ``kernel_matrix`` (``--skip-matrix`` leaves them out)."""
    names = kernel_names() or (MATRIX if os.environ.get("CI") else [])
    return [pytest.param(n, marks=pytest.mark.kernel_matrix) for n in names]


def _need(kernel: str) -> None:
    if kernel != "python3" and kernel not in kernel_names():
        if os.environ.get("CI"):
            pytest.fail(f"kernel {kernel!r} is missing: scripts/kernels builds it")
        pytest.skip(f"kernel {kernel!r} not built (run scripts/kernels)")


def _workdir(tmp_path: Path) -> Path:
    """A copy of notebooks/ and examples/ side by side, so notebooks write nothing into the repo."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks",
                    ignore=shutil.ignore_patterns("*.json", "out", ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path / "notebooks"


@pytest.mark.parametrize("kernel", ["python3", pytest.param(IPYKERNEL6, marks=pytest.mark.kernel_matrix)])
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_runs_all(notebook: Path, kernel: str, tmp_path: Path) -> None:
    _need(kernel)
    cwd = _workdir(tmp_path)
    cells, _ = run_all(cwd / notebook.name, kernel=kernel, cwd=cwd,
                       env={"NBFLOW_HOME": str(tmp_path / "home")})
    assert problems(cells) == []


@pytest.mark.parametrize("kernel", ["python3", *_matrix()])
def test_cells_queued_behind_a_sync_run_all_run_in_order(kernel: str, tmp_path: Path) -> None:
    _need(kernel)
    cells, comms = run_all(HERE / "queued_run.ipynb", kernel=kernel, cwd=tmp_path,
                           env={"NBFLOW_HOME": str(tmp_path / "home")})
    assert problems(cells) == []
    printed = [c.text().strip() for c in cells]
    assert printed[1] == "cell 2: succeeded go..."
    assert printed[2] == "cell 3: after the run, bar at 3"
    assert printed[3] == "cell 4: succeeded again..."
    assert printed[4] == "cell 5: succeeded awaited..."
    assert printed[5] == "cell 6: the last cell ran"
    counts = [c.execution_count for c in cells]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)  # each ran once, in order
    # the progress bar moved while cell 2 was still running (its nodes take 0.6 s each), not after it
    run_cell = cells[1]
    assert run_cell.replied_at is not None
    updates = [t for t, parent in comms if parent == run_cell.msg_id]
    assert len(updates) >= 3 and updates[0] < run_cell.replied_at - 0.4
