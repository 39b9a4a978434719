"""A command that needs an optional extra says which one, with exit code 2, before it touches anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOW = str(ROOT / "examples" / "product_copy.json")


def nbflow_without(modules: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process where ``modules`` cannot be imported (as if never installed)."""
    blocked = "; ".join(f"sys.modules[{m!r}] = None" for m in modules)
    code = f"import sys; {blocked}; from nbflow.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def test_batch_on_dask_without_the_dask_extra(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps({"product": "a mug"}) + "\n")
    p = nbflow_without(["distributed", "dask"], "batch", FLOW, "in.jsonl", "--out", "out.jsonl",
                       "--dask", "local", "--no-store", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["nbflow: error: --dask needs the dask extra (distributed is not installed): "
                                     "pip install 'nbflow[dask]'"]
    assert not (tmp_path / "out.jsonl").exists()  # no empty results file left behind


@pytest.mark.parametrize(("modules", "args", "extra"), [
    (["starlette", "uvicorn"], ["serve", FLOW], "serve"),
    (["croniter"], ["schedule", FLOW, "--cron", "0 9 * * *"], "schedule"),
    (["mcp"], ["mcp", "serve", FLOW], "mcp"),
    (["mcp"], ["mcp", "tools", "http://127.0.0.1:9/mcp"], "mcp"),
])
def test_every_command_that_needs_an_extra_says_so_with_exit_2(tmp_path: Path, modules: list[str],
                                                                 args: list[str], extra: str) -> None:
    p = nbflow_without(modules, *args, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and f"needs the {extra} extra" in lines[0] and f"nbflow[{extra}]" in lines[0]
    assert "Traceback" not in p.stderr
    assert list(tmp_path.iterdir()) == []
