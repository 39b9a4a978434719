"""Budgets hold across processes: real processes charging one store at once never pass a cap together
(SQLite file and PostgreSQL), like the lease races in tests/control/test_races.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbflow.store import open_store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process races are tested on POSIX")

PROCESSES = 4
TRIES = 15
CAP = 23.0

CHARGER = f"""
import sys, time
from nbflow.store import open_store
where, start = sys.argv[1], float(sys.argv[2])
store = open_store(where)
time.sleep(max(0.0, start - time.time()))  # every process starts charging at the same moment
passed = sum(store.charge(1.0, [("flow:race", "day", {CAP!r}), ("key:k", "day", None)]) is None
             for _ in range({TRIES}))
print(passed)
"""


def _race(where: str) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    start = time.time() + 3.0  # after every interpreter has imported nbflow and opened the store
    procs = [subprocess.Popen([sys.executable, "-c", CHARGER, where, str(start)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        out.append(int(stdout))
    return out


def _check(where: str) -> None:
    passed = _race(where)
    assert sum(passed) == int(CAP), passed  # of 60 tries for 23 dollars, exactly 23 pass
    assert len([n for n in passed if n]) >= 2, passed  # several processes really raced for the budget
    with open_store(where) as store:
        assert store.spent("flow:race", "day") == pytest.approx(CAP)
        assert store.spent("key:k", "day") == pytest.approx(CAP)  # refused charges added nowhere


def test_processes_racing_for_a_budget_on_sqlite(tmp_path: Path) -> None:
    _check(str(tmp_path / "runs.db"))


def test_processes_racing_for_a_budget_on_postgres(pg_url: str) -> None:
    _check(pg_url)
