"""Fixtures: the SDK-built test server (tests/mcp/toolserver.py) over stdio and over HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp")

HERE = Path(__file__).parent
TOOLSERVER = str(HERE / "toolserver.py")


def start_process(args: list[str], *, env: dict[str, str] | None = None, marker: str,
                  stream: str = "stdout", timeout: float = 20.0) -> tuple[subprocess.Popen[str], str]:
    """Start ``args`` and wait (bounded) for a line containing ``marker``; returns the process and that line."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    assert pipe is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = pipe.readline()
        if not line:  # the process ended before it listened
            break
        if marker in line:
            return proc, line.strip()
    proc.kill()
    out, err = proc.communicate(timeout=5)
    raise RuntimeError(f"{args} did not start: {err[-500:]}")


def stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def start_toolserver(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    proc, line = start_process([sys.executable, TOOLSERVER, "http"], env=env, marker="URL ")
    return proc, line.split(" ", 1)[1]


@pytest.fixture(scope="session")
def http_toolserver() -> Iterator[str]:
    """The URL of a test tool server on 127.0.0.1, shared by the session (do not crash it)."""
    proc, url = start_toolserver()
    yield url
    stop_process(proc)


@pytest.fixture
def stdio_toolserver() -> dict[str, object]:
    """mcp.tool params that start the test tool server over stdio."""
    return {"command": sys.executable, "args": [TOOLSERVER]}
