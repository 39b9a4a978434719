"""Binder's files install nbflow with JupyterLab into a fresh virtual environment that runs the quickstart."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_binder_files_point_at_the_quickstart():
    assert (ROOT / "notebooks" / "01_quickstart.ipynb").is_file()
    reqs = (ROOT / "binder" / "requirements.txt").read_text()
    for name in ("jupyterlab", "ipywidgets", "ipycanvas"):
        assert name in reqs
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK)
    assert "pip install" in post.read_text()
    assert "urlpath=lab/tree/notebooks/01_quickstart.ipynb" in (ROOT / "README.md").read_text()


@pytest.mark.slow
def test_fresh_venv_from_binder_files_runs_the_quickstart_flow(tmp_path: Path):
    env_dir = tmp_path / "binder-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "binder" / "requirements.txt")],
                   check=True, env=clean, timeout=900)
    # Binder runs postBuild from the repository root
    subprocess.run(["bash", str(ROOT / "binder" / "postBuild")], check=True, cwd=ROOT, timeout=900,
                   env={**clean, "PATH": f"{env_dir / 'bin'}{os.pathsep}{clean.get('PATH', '')}"})
    p = subprocess.run([str(env_dir / "bin" / "nbflow"), "run", str(ROOT / "examples" / "product_copy.json"),
                        "--json", "--no-store"], capture_output=True, text=True, cwd=tmp_path, env=clean, timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "succeeded" and out["outputs"]["copy"].startswith("[offline]")
    # and the notebook's kernel side imports: the widget libraries and JupyterLab are there
    p = subprocess.run([str(py), "-c", "import nbflow.widget, jupyterlab, ipycanvas; print('ok')"],
                       capture_output=True, text=True, env=clean, timeout=300)
    assert p.stdout.strip() == "ok", p.stderr
