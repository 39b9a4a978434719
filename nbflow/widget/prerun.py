"""How the editor reports a run that could not start: the message line over the canvas, and every
problem found before the run (each node and port or field at fault, with its fix).

The message line keeps one line's height (so the canvas never jumps when a message appears or wraps):
a long message ends in an ellipsis and shows in full as its tooltip; a pre-run failure lists each
problem in full, one line each, in the Params tab.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nbflow.engine.plan import compile_flow
from nbflow.exceptions import InputError, NbflowError
from nbflow.flow import Flow
from nbflow.widget.status import Problem, diagnose, independent_of

if TYPE_CHECKING:
    import ipywidgets as w

    from nbflow.engine.sync import RunHandle
    from nbflow.widget.panels import ParamsPanel
    from nbflow.widget.viewmodel import ViewModel

__all__ = ["PreRunReport", "cannot_run_text", "find_problems", "message_html"]


def message_html(text: str, color: str) -> str:
    """The message line: one line, cut with an ellipsis when too long, the full text as its tooltip."""
    full = html.escape(text)
    return (f"<span class='nbflow-message' title='{full}' style='color:{color};display:block;"
            f"white-space:nowrap;overflow:hidden;text-overflow:ellipsis;line-height:22px'>{full}</span>")


def find_problems(flow: Flow, exc: NbflowError) -> list[Problem]:
    """Every problem that stops a run of ``flow`` (``exc`` is the one the run met first), one per node and
    port or field: unwired required inputs, graph inputs without a value, and what each node checks
    before a run (its API key, its named secrets), so the user can fix them all in one pass."""
    types = {n.id: n.type for n in flow.spec.nodes}
    found: list[Problem] = []
    first = diagnose(exc, types)
    if first is not None:
        found.append(first)
    try:  # the structure alone (an unwired input is reported below, for every node, not just the first)
        plan = compile_flow(flow.spec, flow.registry, complete=False)
    except NbflowError:
        return found  # a broken structure (a cycle, a type mismatch): the first problem is all we know
    standby = {fid for pn in plan.nodes for fid in pn.policy.fallback}
    for pn in plan.nodes:
        if pn.id in standby:
            continue
        bound = {b.port for b in pn.bindings}
        for port, p in pn.in_ports.items():
            if p.required and port not in bound:
                found.append(Problem(pn.id, f"required input is not connected ({p.type})", port=port,
                                     fix=f"Wire an output into {pn.id}.{port}."))
        if pn.role == "input" and getattr(pn.impl, "required", False) and pn.id not in flow.spec.pins:
            name = getattr(pn.impl, "input_name", pn.id)
            found.append(_diagnosed(InputError(f"missing graph input {name!r}", node=pn.id), types))
        for i in (pn.idx, *pn.fallbacks):
            hook = getattr(plan.nodes[i].impl, "preflight", None)
            try:
                if hook is not None:
                    hook(flow.providers)
            except NbflowError as err:
                found.append(_diagnosed(err, types, plan.nodes[i].id))
    return _unique(found)


def _diagnosed(exc: NbflowError, types: dict[str, str], node: str | None = None) -> Problem:
    p = diagnose(exc, types)
    return p if p is not None else Problem(node or "?", str(exc))


def _unique(found: list[Problem]) -> list[Problem]:
    """One problem per node and port or field, in order found (the one the run met comes first); a
    later finding of the same problem lends its fix when the first had none."""
    out: dict[tuple[str, str | None], Problem] = {}
    for p in found:
        key = (p.node, p.port or p.field)
        if key not in out:
            out[key] = p
        elif out[key].fix is None and p.fix is not None:
            out[key] = replace(out[key], fix=p.fix)
    return list(out.values())


def cannot_run_text(problems: list[Problem], ready: list[str]) -> str:
    """The message line for a run that could not start (each problem in full is in the Params tab)."""
    if len(problems) == 1:
        p = problems[0]
        where = f"{p.node}.{p.port}: " if p.port else f"{p.node}: "
        can = (f"; {len(ready)} node{'s' if len(ready) != 1 else ''} do not need {p.node} and can run"
               if ready else "; every node needs it")
        return f"cannot run: {where}{p.message}{can}"
    labels = ", ".join(p.label() for p in problems)
    can = (f"; {len(ready)} node{'s' if len(ready) != 1 else ''} can still run" if ready
           else "; every node needs one of them")
    return f"cannot run: {len(problems)} problems ({labels}){can}"


class PreRunReport:
    """Editor mixin: report a run that could not start, and run the nodes no problem blocks."""

    if TYPE_CHECKING:
        flow: Flow
        vm: ViewModel
        params: ParamsPanel
        tabs: w.Tab

        def _say(self, text: str, level: str = "info") -> None: ...
        def _sync_panels(self, *, force: bool = False) -> None: ...
        def _sync_buttons(self) -> None: ...
        def redraw(self, layers: Any = ...) -> None: ...
        def run(self, targets: list[str] | None = None, *, part: Flow | None = None) -> RunHandle | None: ...

    def _cannot_start(self, exc: NbflowError) -> None:
        """A run that could not start: mark every node at fault, list each problem (node and port or
        field, with its fix) in the Params tab, and say which nodes need none of them (and can run now)."""
        problems = find_problems(self.flow, exc)
        if not problems:
            self._say(f"cannot run: {exc}", "error")
            return
        for p in problems:
            if p.node not in self.vm.problems:  # the canvas shows the first problem of each node
                self.vm.mark_problem(p)
        ready = independent_of({p.node for p in problems}, self.flow.edges, [n.id for n in self.flow.spec.nodes])
        self.vm.select([problems[0].node])
        self.params.problems = problems
        self.params.ready = ready
        self.tabs.selected_index = 0
        self._sync_panels(force=True)
        self._sync_buttons()
        self._say(cannot_run_text(problems, ready), "error")
        self.redraw()

    def run_ready(self) -> RunHandle | None:
        """Run the nodes that need no node at fault (after a run could not start)."""
        ready = [i for i in self.params.ready if i in self.flow.nodes]
        if not ready:
            self._say("no node can run without the ones at fault", "error")
            return None
        try:
            self.flow.validate()
        except NbflowError:  # the flow does not compile (an unwired input): run a copy without what is blocked
            part = self.flow.copy()
            for nid in [n.id for n in part.spec.nodes if n.id not in ready]:
                part.remove(nid)
            return self.run(ready, part=part)
        return self.run(ready)
