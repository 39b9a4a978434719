"""Run a notebook the way Run All does: every code cell sent to a real kernel at once.

nbval and nbconvert wait for each cell's reply before they send the next, so a kernel that drops or
reorders queued cells looks healthy to them. Run All in JupyterLab sends every ``execute_request``
up front; this does the same over jupyter_client and records, per cell, the reply, the execution
count and every output, plus when each widget update (``comm_msg``) arrived.
"""

from __future__ import annotations

import os
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["KERNELS_DIR", "CellRun", "kernel_names", "problems", "run_all"]

ROOT = Path(__file__).resolve().parents[2]
#: Extra kernels (other Pythons, ipykernel 6) built by ``scripts/kernels``.
KERNELS_DIR = ROOT / ".venv-kernels" / "share" / "jupyter"

#: Words that mean the kernel's event loop was disturbed, wherever they show up.
LOOP_TROUBLE = ("Task was destroyed", "was never awaited", "cannot enter context", "Traceback",
                "Exception in callback")


@dataclass
class CellRun:
    """What one code cell did."""

    index: int
    source: str
    msg_id: str = ""
    status: str | None = None
    execution_count: int | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    replied_at: float | None = None

    def text(self, name: str = "stdout") -> str:
        return "".join(o.get("text", "") for o in self.outputs if o.get("name") == name)


def kernel_names() -> list[str]:
    """The matrix kernels that ``scripts/kernels`` registered (empty when it has not run)."""
    kdir = KERNELS_DIR / "kernels"
    return sorted(p.name for p in kdir.iterdir() if (p / "kernel.json").exists()) if kdir.is_dir() else []


def run_all(path: Path, *, kernel: str = "python3", cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 180.0) -> tuple[list[CellRun], list[tuple[float, str]]]:
    """Send every code cell of ``path`` at once; return each cell's run and the widget-update times.

    Waits until every cell has replied and gone idle, or ``timeout`` seconds (then the cells that
    never replied keep ``status=None``).
    """
    from jupyter_client.manager import KernelManager

    nb = nbformat.read(path, as_version=4)
    cells = [CellRun(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    old_path = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(KERNELS_DIR), old_path) if p)
    try:
        km = KernelManager(kernel_name=kernel)
        km.start_kernel(cwd=str(cwd), env={**os.environ, **(env or {})})
    finally:
        if old_path is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old_path
    kc = km.client()
    kc.start_channels()
    comms: list[tuple[float, str]] = []
    try:
        kc.wait_for_ready(timeout=60)
        for c in cells:
            c.msg_id = kc.execute(c.source, allow_stdin=False)
        by_id = {c.msg_id: c for c in cells}
        idle: set[str] = set()
        deadline = time.monotonic() + timeout
        while (len(idle) < len(by_id) or any(c.status is None for c in cells)) and time.monotonic() < deadline:
            _drain_shell(kc, by_id)
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            cell = by_id.get(msg["parent_header"].get("msg_id", ""))
            kind, content = msg["msg_type"], msg["content"]
            if kind == "comm_msg":
                comms.append((time.monotonic(), msg["parent_header"].get("msg_id", "")))
            if cell is None:
                continue
            if kind == "status" and content["execution_state"] == "idle":
                idle.add(msg["parent_header"]["msg_id"])
            elif kind in ("stream", "error", "execute_result", "display_data"):
                cell.outputs.append({"output_type": kind, **content})
        _drain_shell(kc, by_id)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return cells, comms


def _drain_shell(kc: Any, by_id: dict[str, CellRun]) -> None:
    while True:
        try:
            reply = kc.get_shell_msg(timeout=0.01)
        except queue.Empty:
            return
        cell = by_id.get(reply["parent_header"].get("msg_id", ""))
        if cell is not None:
            cell.status = reply["content"]["status"]
            cell.execution_count = reply["content"].get("execution_count")
            cell.replied_at = time.monotonic()


def problems(cells: list[CellRun]) -> list[str]:
    """Everything a user would call broken: cells that never ran, errors, stderr, loop warnings."""
    out = []
    for c in cells:
        head = f"cell {c.index} ({c.source.splitlines()[0][:40] if c.source else ''!r})"
        if c.status != "ok" or c.execution_count is None:
            out.append(f"{head}: status {c.status}, execution count {c.execution_count}")
        for o in c.outputs:
            if o["output_type"] == "error":
                out.append(f"{head}: {o.get('ename')}: {o.get('evalue')}")
            elif o["output_type"] == "stream" and o.get("name") == "stderr":
                out.append(f"{head}: stderr: {o.get('text', '')[:300]!r}")
            text = o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
            if any(w in text for w in LOOP_TROUBLE):
                out.append(f"{head}: event-loop trouble: {text[:300]!r}")
    return out
