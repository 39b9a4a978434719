"""Iterating on the canvas editor (a mixin of :class:`~nbflow.widget.Editor`): pin / unpin a node's
output, run from here / only this / up to here, and the cost of the next run in the toolbar.

Canvas runs use the persistent disk cache by default (``Editor(cache=...)``) and the flow's pins.
A run from here (or only this) takes what it needs from upstream out of the cache or the pins; when
an output is in neither, it does not start: the node lacking it is marked and the message says which
output is missing. The cost label prices the next run before it starts (the estimator's dry run,
minus the nodes the cache or a pin will serve): Run all when no node is selected, Run from here for
the selected nodes otherwise. It follows edits, selection changes and runs, a moment after them.
"""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from nbflow.caching import canvas_cache
from nbflow.exceptions import NbflowError
from nbflow.providers.estimate import aestimate_flow, estimate_flow
from nbflow.widget.iterating import KEYS, cost_text, missing_upstream, narrow_estimate
from nbflow.widget.status import Problem

if TYPE_CHECKING:
    from nbflow.engine.cache import Cache
    from nbflow.engine.sync import RunHandle
    from nbflow.flow import Flow
    from nbflow.widget.viewmodel import Layer, ViewModel

__all__ = ["COST_DELAY", "IterateActions"]

#: Seconds after the last edit, selection change or run before the cost label is worked out again.
COST_DELAY = 0.3

_NODES: frozenset[Layer] = frozenset(("nodes",))
#: Flow changes that leave what a run computes (and costs) as it was.
_LAYOUT_ONLY = frozenset(("move", "layout", "title"))


def _button(description: str, icon: str, tooltip: str) -> w.Button:
    return w.Button(description=description, icon=icon, tooltip=tooltip, layout=w.Layout(width="auto"))


class IterateActions:
    """Pin, run from here / only this, and the next run's cost (mixed into the editor)."""

    if TYPE_CHECKING:
        flow: Flow
        root: Flow
        _cache_choice: Any
        vm: ViewModel
        handle: RunHandle | None
        message: w.HTML
        _pending: dict[str, asyncio.Handle]

        def _say(self, text: str, level: str = "info") -> None: ...
        def _apply(self, layers: frozenset[Layer], *, panels: bool = False) -> None: ...
        def _later(self, key: str, delay: float, fn: Any) -> None: ...
        def redraw(self, layers: frozenset[Layer] | set[Layer] = ...) -> None: ...
        def run(self, targets: list[str] | None = None, *, start: list[str] | None = None,
                only: list[str] | None = None) -> RunHandle | None: ...
        def run_selected(self) -> RunHandle | None: ...

    @property
    def cache(self) -> Cache:
        """What this editor's runs, previews and cache-referenced pins use: by default the persistent
        disk cache (``<nbflow home>/cache`` or the one ``nbflow.use_cache()`` set), worked out at each
        use; see ``Editor(cache=...)``."""
        return canvas_cache(self._cache_choice, self.root.cache)  # the top flow's, in an opened body too

    def _build_iterate(self) -> w.HBox:
        """The toolbar row of this mixin; follows the flow's edits and runs for the cost label."""
        self.run_from_button = _button("Run from here", "forward", "run the selected node and everything after "
                                       "it; upstream outputs come from the cache or pins (H)")
        self.run_only_button = _button("Run only this", "dot-circle-o", "run just the selected nodes; their "
                                       "inputs come from the cache or pins (O)")
        self.pin_button = _button("Pin", "thumb-tack", "pin the selected node's last output: runs on the canvas "
                                  "give it instead of running the node; saved in the flow file (P)")
        self.pin_media = w.Dropdown(options=[("media inline", "inline"), ("media by cache reference", "cache")],
                                    value="inline", layout=w.Layout(width="190px"),
                                    tooltip="how a pin keeps images, audio and video: in the flow file (inline) "
                                    "or by reference to the canvas's disk cache")
        self.cost = w.HTML(layout=w.Layout(margin="0 0 0 8px"))
        self.cost_text = ""  # the label's text: what the next run will cost
        self.cost.add_class("nbflow-cost")
        self.run_from_button.on_click(lambda _: self.run_from_here())
        self.run_only_button.on_click(lambda _: self.run_only())
        self.pin_button.on_click(lambda _: self.toggle_pin())
        self._cost_for: tuple[Any, ...] | None = None
        self._semantic = 0  # changes to what a run computes (not layout), for the cost label
        self._dry: tuple[tuple[int, int], dict[str, Any]] | None = None  # the whole flow's estimate, by state
        self._dry_task: tuple[tuple[int, int], asyncio.Future[Any]] | None = None
        stop_edits = self.flow.observe(self._on_iterate_change)
        stop_runs = self.flow.observe_runs(lambda _: self._cost_soon())
        self._stop_iterate = [stop_edits, stop_runs]
        return w.HBox([self.run_from_button, self.run_only_button, self.pin_button, self.pin_media, self.cost],
                      layout=w.Layout(flex_flow="row wrap", align_items="center"))

    # -- buttons, keys and menu commands ------------------------------------------------------------

    def _sync_iterate(self) -> None:
        """Enable the buttons for the selection; reprice the next run when the selection changed."""
        running = self.handle is not None and not self.handle.done()
        sel = list(self.vm.selection)
        for b in (self.run_from_button, self.run_only_button):
            b.disabled = running or not sel
        self.pin_button.disabled = not sel
        pinned = bool(sel) and all(nid in self.flow.spec.pins for nid in sel)
        self.pin_button.description = "Unpin" if pinned else "Pin"
        if self._cost_key() != self._cost_for:
            self._cost_soon()

    def iterate_command(self, command: str) -> bool:
        """Do an editor command of this mixin (from the context menu or a key); False if not ours."""
        actions = {"run_from": self.run_from_here, "run_only": self.run_only, "run_selected": self.run_selected,
                   "toggle_pin": self.toggle_pin}
        if command not in actions:
            return False
        actions[command]()
        return True

    def _iterate_key(self, key: str, mod: bool) -> bool:
        """H, O, U and P (no modifier, no popup open, not wiring): run from here, only this, up to here, pin."""
        vm = self.vm
        if mod or vm.popup is not None or vm.key_wire is not None or key.lower() not in KEYS or len(key) != 1:
            return False
        return self.iterate_command(KEYS[key.lower()])

    # -- pins -----------------------------------------------------------------------------------------

    def toggle_pin(self) -> bool:
        """Pin the selected nodes' last outputs (as the media choice says), or unpin them when every one
        is pinned; one undo step, all or nothing. Returns whether the pins changed."""
        ids = list(self.vm.selection)
        if not ids:
            self._say("select a node to pin its output", "error")
            return False
        pins = self.flow.spec.pins
        if all(nid in pins for nid in ids):
            def unpin_all() -> None:
                for nid in ids:
                    self.flow.unpin(nid)

            self.vm.edit("unpin output", unpin_all)
            self._say(f"{', '.join(ids)}: unpinned")
        else:
            media, todo, at = self.pin_media.value, [nid for nid in ids if nid not in pins], [""]

            def pin_all() -> None:
                for nid in todo:
                    at[0] = nid
                    self.flow.pin(nid, media=media, cache=self.cache)

            try:
                self.vm.edit("pin output", pin_all)
            except NbflowError as exc:
                self._say(f"cannot pin {at[0]}: {exc}", "error")
                return False
            how = " (media by cache reference)" if media == "cache" else ""
            one = len(todo) == 1
            self._say(f"{', '.join(todo)}: pinned {'its last output' if one else 'their last outputs'}{how}; "
                      f"runs on the canvas use {'it' if one else 'them'}")
        self._apply(_NODES)
        return True

    # -- narrowed runs --------------------------------------------------------------------------------

    def run_from_here(self) -> RunHandle | None:
        """Run the selected nodes and everything downstream of them; upstream outputs come from the
        cache or pins (the first one missing is marked and named, and nothing runs)."""
        return self._run_narrowed("start")

    def run_only(self) -> RunHandle | None:
        """Run just the selected nodes, their inputs taken from the cache or pins."""
        return self._run_narrowed("only")

    def _run_narrowed(self, how: str) -> RunHandle | None:
        ids = list(self.vm.selection)
        if not ids:
            self._say("select a node first", "error")
            return None
        if self.handle is not None and not self.handle.done():
            self._say("a run is already going: stop it first", "error")
            return None
        try:
            states = self.flow.preview(use_pins=True, cache=self.cache, **{how: ids})
            missing = missing_upstream(self.flow, states)
        except NbflowError:
            missing = None  # an invalid flow: the run says what is wrong with it, and marks it
        if missing is not None:
            node, text = missing
            self.vm.problems.clear()
            self.vm.mark_problem(Problem(node, "no cached or pinned output: run up to here (U) or pin it (P)"))
            what = "from" if how == "start" else "only"
            self._say(f"cannot run {what} {', '.join(ids)}: {text}", "error")
            self.redraw(_NODES)
            return None
        handle = self.run(**{how: ids})
        if handle is not None:
            verb = "from" if how == "start" else "only"
            self._say(f"running {verb} {', '.join(ids)}; upstream outputs from the cache or pins…")
        return handle

    def _begin_run(self, targets: list[str] | None, start: list[str] | None, only: list[str] | None) -> None:
        """Forget the statuses of the nodes about to run (a narrowed run keeps the others')."""
        if not (start or only):
            self.vm.begin_run(targets)
            return
        try:
            states = self.flow.preview(use_pins=True, cache=self.cache, targets=targets, start=start, only=only)
        except NbflowError:
            states = {}
        self.vm.forget_status([n for n, s in states.items() if s != "idle"])

    # -- the next run's cost --------------------------------------------------------------------------

    def _on_iterate_change(self, change: dict[str, Any]) -> None:
        if change.get("kind") not in _LAYOUT_ONLY:  # moving nodes does not change what a run costs
            self._semantic += 1
            self._cost_soon()

    def _cost_key(self) -> tuple[Any, ...]:
        flow = self._cost_flow()
        return (id(flow), self._semantic, tuple(self.vm.selection), id(flow.last_result))

    def _cost_flow(self) -> Flow:
        """The flow the label prices: inside an opened body, the flow it belongs to (a body alone lacks its
        inputs: its estimate would only say that a graph input is missing)."""
        bodies = getattr(self, "_bodies", None)
        return bodies[0][1].flow if bodies else self.flow

    def _cost_soon(self) -> None:
        self._later("cost", COST_DELAY, self.update_cost)

    def _cost_plan(self) -> tuple[str, dict[str, Any]]:
        """What the label prices: Run all, or Run from here for the selection."""
        if self._cost_flow() is not self.flow:
            top = self._cost_flow().name  # the outermost flow: Run all there runs this body too
            return f"Run all of the top-level flow {top}", {}
        ids = list(self.vm.selection)
        if ids:
            return f"Run from {', '.join(ids[:3])}{'…' if len(ids) > 3 else ''}", {"start": ids}
        return "Run all", {}

    def update_cost(self) -> asyncio.Future[Any] | None:
        """Work out what the next run will cost and show it. The estimator's dry run of the whole flow is
        made once per edit (at once in a plain script, else as a task on the kernel's loop); a selection
        change or a run only narrows it to what the cache and pins leave. An estimate a later change made
        stale is not shown. On a loop it returns a future: ``await editor.update_cost()`` in a cell
        waits for the label."""
        task = self._update_cost()
        if task is None:
            try:
                task = asyncio.get_running_loop().create_future()
            except RuntimeError:
                return None
            task.set_result(None)
        return task

    def _update_cost(self) -> asyncio.Future[Any] | None:
        pending = self._pending.pop("cost", None)  # worked out now: no need to do it again shortly
        if pending is not None:
            pending.cancel()
        self._cost_for = key = self._cost_key()
        what, narrow = self._cost_plan()
        flow = self._cost_flow()
        try:
            states = flow.preview(use_pins=True, cache=self.cache, **narrow)
            missing = missing_upstream(flow, states)
        except NbflowError as exc:
            self._show_cost(f"{what}: cannot estimate: {exc}", error=True)
            return None
        if missing is not None:
            self._show_cost(f"{what}: needs the output of {missing[0]} (neither cached nor pinned)", error=True)
            return None
        state = (id(flow), self._semantic)
        if self._dry is not None and self._dry[0] == state:
            self._show_cost(cost_text(what, narrow_estimate(self._dry[1], states)))
            return None

        def show(full: dict[str, Any]) -> None:
            self._dry = (state, full)
            self._show_cost(cost_text(what, narrow_estimate(full, states)))

        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a plain script: work it out now
            try:
                show(estimate_flow(flow))
            except NbflowError as exc:
                self._show_cost(f"{what}: cannot estimate: {exc}", error=True)
            return None
        going = self._dry_task
        if going is not None and going[0] == state and not going[1].done():
            task = going[1]  # the same dry run is under way: narrow its answer when it comes
        else:
            task = asyncio.ensure_future(aestimate_flow(flow))
            self._dry_task = (state, task)

        def done(t: asyncio.Future[Any]) -> None:
            if t.cancelled() or key != self._cost_for:
                return
            exc = t.exception()
            if exc is not None:
                self._show_cost(f"{what}: cannot estimate: {exc}", error=True)
            else:
                show(t.result())

        task.add_done_callback(done)
        return task

    def _show_cost(self, text: str, *, error: bool = False) -> None:
        self.cost_text = text
        color = "#d93025" if error else "#3c4043"
        self.cost.value = (f"<span class='nbflow-cost-text' style='color:{color}' title='estimated before the "
                           f"run (no calls made): the cache and pins serve the rest'>{html.escape(text)}</span>")

    def close(self) -> None:
        """Stop following the flow (for the cost label), then close like the editor does."""
        for stop in getattr(self, "_stop_iterate", ()):
            stop()
        going = getattr(self, "_dry_task", None)
        if going is not None and not going[1].done():
            going[1].cancel()
        super().close()  # type: ignore[misc]

