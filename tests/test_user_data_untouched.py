"""The test suite never writes into the user's own nbflow data.

Runs, in a separate pytest process whose HOME is an empty folder (and no NBFLOW_HOME or
XDG_DATA_HOME set), the tests that start other processes which record runs: an MCP server over
stdio that runs flows, the CLI resuming runs, and a Jupyter kernel running a notebook that stores
its runs. Afterwards that HOME holds nothing of nbflow's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_tests_that_start_processes_leave_an_empty_home_empty(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NBFLOW_HOME", "XDG_DATA_HOME")}
    env["HOME"] = str(home)
    selection = ["tests/mcp/test_serve.py", "-k",
                 "stdio or served_flow or resume or 03_control_flow and python3",
                 "tests/control/test_cli_resume.py", "tests/notebooks/test_run_all.py"]
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        *selection], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    assert p.returncode == 0, p.stdout[-3000:]
    assert " passed" in p.stdout.splitlines()[-1]
    left = sorted(str(f.relative_to(home)) for f in home.rglob("*") if "nbflow" in f.name.lower())
    assert left == []
