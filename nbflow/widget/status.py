"""Run status on the canvas: per node status, error and short preview, from engine events and records.

A mixin of :class:`~nbflow.widget.viewmodel.ViewModel` (plain Python, no Jupyter import). It also
holds the marks of a run that could not start (``problems``: the node and field at fault, and what
fixes it), so a pre-run failure shows on the canvas like a run failure does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nbflow.model.events import Event
from nbflow.model.record import RunResult
from nbflow.widget.previews import Preview, first_line, record_preview

__all__ = ["Problem", "RunStatus", "diagnose", "independent_of"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a run could not start, pinned on a node: the field at fault and the fix to offer."""

    node: str
    message: str
    field: str | None = None
    fix: str | None = None
    port: str | None = None  # the input at fault (an unwired one), when it is an input

    def label(self) -> str:
        """Where the problem is: ``node.port`` for an input, ``node: field`` for a params field."""
        return f"{self.node}.{self.port}" if self.port else f"{self.node}: {self.field}" if self.field else self.node


class RunStatus:
    """Statuses, errors, previews and pre-run problems per node (mixed into the view model)."""

    status: dict[str, str]
    errors: dict[str, str]
    previews: dict[str, Preview]
    problems: dict[str, Problem]

    def _init_status(self) -> None:
        self.status, self.errors, self.previews, self.problems = {}, {}, {}, {}

    def clear_status(self) -> None:
        """Forget every status, error, preview and problem (an import replaced the flow)."""
        for d in (self.status, self.errors, self.previews, self.problems):
            d.clear()

    def forget_status(self, ids: Iterable[str]) -> None:
        """Forget the statuses of the nodes about to run (and every pre-run problem)."""
        for nid in ids:
            self.status.pop(nid, None)
            self.errors.pop(nid, None)
        self.problems.clear()

    _EVENT_STATUS = {"node_queued": "queued", "node_started": "running", "retry": "running",
                     "cached": "cached", "pinned": "pinned", "skipped": "skipped", "failed": "failed",
                     "paused": "paused"}

    def apply_event(self, ev: Event) -> bool:
        """Update statuses from one engine event; True when the nodes layer should be redrawn."""
        nid = ev.node_id
        if ev.kind == "run_finished":
            if ev.data.get("status") == "cancelled":
                for k, s in self.status.items():
                    if s in ("running", "queued"):
                        self.status[k] = "cancelled"
            return True
        if nid is None:
            return False
        if ev.kind in self._EVENT_STATUS:
            self.status[nid] = self._EVENT_STATUS[ev.kind]
            if ev.kind == "failed":
                self.errors[nid] = str(ev.data.get("message", "failed"))
                self.previews[nid] = Preview("text", first_line(self.errors[nid]))
            elif ev.kind in ("skipped", "paused"):
                self.previews[nid] = Preview("text", first_line(str(ev.data.get("reason", ev.kind))))
            return True
        if ev.kind == "node_finished":
            self.status[nid] = str(ev.data.get("status", "done"))
            return True
        if ev.kind == "partial" and isinstance(ev.data.get("value"), str):
            self.previews[nid] = Preview("text", " ".join(ev.data["value"][-400:].split()))
            return True
        return False

    def apply_result(self, result: RunResult) -> None:
        """Take statuses, errors and short previews from a finished run's record."""
        for nid, rec in result.nodes.items():
            self.status[nid] = rec.status
            if rec.error:
                self.errors[nid] = str(rec.error.get("message", "failed"))
            p = record_preview(rec)
            if p is not None:
                self.previews[nid] = p

    def mark_problem(self, problem: Problem) -> None:
        """Pin a pre-run failure on its node (drawn red, its message as the node's preview)."""
        self.problems[problem.node] = problem


_NODE_RE = re.compile(r"node '([^']+)'")
_SECRET_RE = re.compile(r"secret ([A-Za-z_][A-Za-z0-9_]*) is not set")


def diagnose(exc: BaseException, node_types: dict[str, str]) -> Problem | None:
    """The node, field and fix for an error raised before a run started, or None when it names no node.

    ``node_types`` maps node ids to their types (to tell a graph input from other nodes).
    """
    message = str(exc)
    node = getattr(exc, "node", None)
    if node is None:
        m = _NODE_RE.search(message)
        node = m.group(1) if m else None
    if node is None or node not in node_types:
        return None
    field = getattr(exc, "field", None)
    if isinstance(field, str) and field.startswith("params."):
        field = field[7:]  # the form's field name
    fix = None
    secret = _SECRET_RE.search(message)
    if secret is not None:
        var = secret.group(1)
        field = "api_key_env"
        fix = (f"Set the environment variable {var} (or put {var}=... in a .env file) and run again, "
               f"or name the variable that holds your key in api_key_env.")
    elif node_types[node].startswith("input.") and "missing graph input" in message:
        field = "default"
        fix = (f"Give {node} a value: type it in 'default' (used when a run brings none), or pass "
               f"--input {node}=... when running headlessly.")
    return Problem(node, message.split(": ", 1)[-1] if message.startswith("node '") else message, field, fix,
                   getattr(exc, "port", None))


def independent_of(bad: set[str], edges: list[tuple[str, str]], ids: list[str]) -> list[str]:
    """The nodes that need none of ``bad`` (their run can go ahead), in flow order."""
    succ: dict[str, list[str]] = {}
    for a, b in edges:
        succ.setdefault(a.split(".", 1)[0], []).append(b.split(".", 1)[0])
    blocked, stack = set(bad), list(bad)
    while stack:
        for s in succ.get(stack.pop(), ()):
            if s not in blocked:
                blocked.add(s)
                stack.append(s)
    return [i for i in ids if i not in blocked]
