"""The approval box of the preview panel: Approve / Reject buttons for a paused run, in the notebook.

When a run pauses at an ``approval`` node, the preview shows what is to be approved, a text area to
edit it (when the node allows editing), a comment field and two buttons. A click resumes the run on
the notebook's event loop with that decision, exactly as ``nbflow resume RUN_ID --approve`` would
headlessly; finished nodes are not run again::

    box = ApprovalBox(flow, result, "review", on_done=editor_finished)   # or flow.last_result
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from nbflow.exceptions import NbflowError
from nbflow.flow import Flow
from nbflow.model.record import RunResult
from nbflow.model.values import Media
from nbflow.resuming import UNSET, pending_approvals

__all__ = ["ApprovalBox"]


class ApprovalBox(w.VBox):
    """Approve or reject one paused node of ``result`` (a run of ``flow``).

    Args:
        flow: the flow that ran.
        result: the paused run's record.
        node_id: the paused node (default: the first one waiting).
        on_done: called with the resumed run's record (it may pause again at a later approval).
        resume_kwargs: passed on to :meth:`nbflow.Flow.aresume` (e.g. ``store=...``, ``on_event=...``).
    """

    def __init__(self, flow: Flow, result: RunResult, node_id: str | None = None, *,
                 on_done: Callable[[RunResult], Any] | None = None, **resume_kwargs: Any) -> None:
        waiting = {a.node_id: a for a in pending_approvals(result)}
        if not waiting:
            raise NbflowError(f"run {result.run_id!r} is not waiting for approval")
        if node_id is None:
            node_id = next(iter(waiting))
        if node_id not in waiting:
            raise NbflowError(f"run {result.run_id!r}: node {node_id!r} is not waiting for approval")
        self.flow, self.result, self.node_id = flow, result, node_id
        self.on_done = on_done
        self.resume_kwargs = resume_kwargs
        self.task: asyncio.Task[RunResult] | None = None
        data = waiting[node_id].data
        self.original = data.get("value")
        self.prompt = w.HTML(f"<b>{_escape(waiting[node_id].reason or 'Approve?')}</b>")
        self.editable = bool(data.get("editable", True)) and not _has_media(self.original)
        self.value = w.Textarea(value=_as_text(self.original), disabled=not self.editable,
                                layout=w.Layout(width="100%", height="8em"))
        self.comment = w.Text(placeholder="comment (optional)", layout=w.Layout(width="100%"))
        self.approve = w.Button(description="Approve", button_style="success", icon="check")
        self.reject = w.Button(description="Reject", button_style="danger", icon="times")
        self.status = w.HTML()
        self.approve.on_click(lambda _: self.decide(True))
        self.reject.on_click(lambda _: self.decide(False))
        body: list[w.Widget] = [self.prompt]
        if _has_media(self.original):
            from nbflow.widget.panels import render_value

            body.append(render_value(self.original))
        else:
            body.append(self.value)
        body += [self.comment, w.HBox([self.approve, self.reject]), self.status]
        super().__init__(body, layout=w.Layout(width="100%"))

    def edited_value(self) -> Any:
        """The value to approve: unchanged, or the text area's content read as the original's type."""
        text = self.value.value
        if not self.editable or text == _as_text(self.original):
            return UNSET
        if isinstance(self.original, str) or self.original is None:
            return text
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise NbflowError(f"the edited value must be JSON ({exc.msg} at line {exc.lineno})") from None

    def decide(self, approve: bool) -> asyncio.Task[RunResult] | None:
        """Resume the run with this decision, in the background; returns the task (None on a bad edit)."""
        try:
            value = self.edited_value() if approve else UNSET
        except NbflowError as exc:
            self.status.value = f"<span style='color:#c0392b'>{_escape(str(exc))}</span>"
            return None
        self.approve.disabled = self.reject.disabled = True
        self.status.value = "resuming…"
        coro = self.flow.aresume(self.result, approve=approve, value=value, node=self.node_id,
                                 comment=self.comment.value or None, **self.resume_kwargs)
        self.task = asyncio.ensure_future(coro)
        self.task.add_done_callback(self._done)
        return self.task

    def _done(self, task: asyncio.Task[RunResult]) -> None:
        if task.cancelled():
            self.status.value = "cancelled"
        elif (exc := task.exception()) is not None:
            self.status.value = f"<span style='color:#c0392b'>{_escape(str(exc))}</span>"
            self.approve.disabled = self.reject.disabled = False
        else:
            res = task.result()
            self.status.value = f"run {res.status}"
            if self.on_done is not None:
                self.on_done(res)


def _has_media(v: Any) -> bool:
    if isinstance(v, Media):
        return True
    if isinstance(v, list):
        return any(_has_media(x) for x in v)
    if isinstance(v, dict):
        return any(_has_media(x) for x in v.values())
    return False


def _as_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    try:
        return json.dumps(v, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(v)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
