"""The README's flow-file sample runs as the README says: ``nbflow run flow.json --input product=...``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from nbflow.testing.fakeserver import FakeServer, env_for

ROOT = Path(__file__).resolve().parents[1]


def readme_flow() -> dict:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The flow file"):]
    return json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))


def test_the_readme_flow_sample_runs_and_prints_its_output(tmp_path: Path) -> None:
    flow = readme_flow()
    assert any(n["type"] == "output" for n in flow["nodes"])
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(flow))
    with FakeServer() as server:  # the OpenAI and Anthropic APIs, on 127.0.0.1
        server.script("Linen that works as hard as you do.", prompt="linen apron")
        p = subprocess.run([sys.executable, "-m", "nbflow", "run", str(path), "--input", "product=a linen apron",
                            "--json", "--no-store"], capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, **env_for(server.url)}, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "succeeded"
    assert out["outputs"] == {"copy": "Linen that works as hard as you do."}


def test_the_readme_flow_sample_runs_offline_as_the_readme_says(tmp_path: Path) -> None:
    flow = readme_flow()
    for node in flow["nodes"]:
        if node["type"] == "llm":
            node["params"] = {"provider": "offline"}
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(flow))
    p = subprocess.run([sys.executable, "-m", "nbflow", "run", str(path), "--json", "--no-store"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outputs"]["copy"].startswith("[offline]")
