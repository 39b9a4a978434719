"""docs/deploy.md's production example stays true to the CLI: every `nbflow` command in its compose
file and its shell block parses with nbflow's own argument parser, every `dask` command with Dask's,
and the replicas, the schedule and the workers all name the one Dask scheduler the compose file runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from nbflow.cli import build_parser
from nbflow.cli.serve import config_from_args
from nbflow.executor import dask_address

ROOT = Path(__file__).resolve().parents[2]


def _section() -> str:
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    start = text.index("## Production")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def _compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    block = re.search(r"```yaml\n(.*?)```", _section(), re.S)
    assert block is not None, "the production section has a compose file"
    return yaml.safe_load(block.group(1))


def _shell_commands() -> list[list[str]]:
    out = []
    for block in re.findall(r"```bash\n(.*?)```", _section(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["nbflow"] or (words[:3] == ["docker", "compose", "run"] and "nbflow" in words):
                out.append(words[words.index("nbflow"):])
    return out


def _nbflow(argv: list[str]) -> Any:
    assert argv[0] == "nbflow"
    return build_parser().parse_args(argv[1:])  # a bad option exits 2: the test fails


def test_the_compose_file_runs_the_services_a_production_setup_needs() -> None:
    services = _compose()["services"]
    commands = {name: shlex.split(svc["command"]) for name, svc in services.items() if "command" in svc}
    assert {"db", "scheduler", "worker", "replica-1", "replica-2", "lb"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] >= 2
    scheduler = commands["scheduler"]
    assert scheduler[:2] == ["dask", "scheduler"]
    port = scheduler[scheduler.index("--port") + 1]
    address = f"tcp://scheduler:{port}"
    assert commands["worker"][:3] == ["dask", "worker", address]
    for name in ("replica-1", "replica-2", "nightly"):
        args = _nbflow(commands[name])
        assert args.command in ("serve", "schedule")
        assert dask_address(args.executor) == address  # the scheduler the workers join
        assert services[name]["environment"]["NBFLOW_STORE"].startswith("postgresql://")
        assert "@" in services[name]["environment"]["NBFLOW_STORE"]
        assert ":" not in services[name]["environment"]["NBFLOW_STORE"].split("//")[1].split("@")[0]  # no password
    config = config_from_args(_nbflow(commands["replica-1"]))
    assert config.executor == "dask://scheduler:8786" and config.host == "0.0.0.0" and config.resume_interrupted


def test_the_dask_commands_parse_with_dasks_own_options() -> None:
    pytest.importorskip("distributed")
    from distributed.cli.dask_scheduler import main as scheduler_cli
    from distributed.cli.dask_worker import main as worker_cli

    commands = {name: shlex.split(svc["command"]) for name, svc in _compose()["services"].items()
                if "command" in svc}
    scheduler = scheduler_cli.make_context("dask scheduler", commands["scheduler"][2:])
    assert int(scheduler.params["port"]) == 8786 and scheduler.params["dashboard"] is False
    worker = worker_cli.make_context("dask worker", commands["worker"][2:])
    assert worker.params["scheduler"] == "tcp://scheduler:8786" and worker.params["nthreads"] == 4


def test_the_shell_commands_parse_with_nbflows_parser() -> None:
    commands = _shell_commands()
    assert commands, "the section shows how to start and use the example"
    for argv in commands:
        assert _nbflow(argv).command
