"""``Editor``: the canvas editor widget (toolbar, palette, canvas, params and preview panels).

It wires browser events to the :class:`~nbflow.widget.viewmodel.ViewModel` and redraws the layers
each handler names. Runs are tasks on the kernel's event loop (``flow.start``), so the notebook stays
responsive; engine events update node status, and redraws during a run are coalesced to at most
one frame per ``RUN_FRAME`` seconds.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets as w
from ipycanvas import MultiCanvas

from nbflow.engine.sync import RunHandle
from nbflow.exceptions import FlowError, NbflowError, SecretError
from nbflow.flow import Flow
from nbflow.model.events import Event
from nbflow.model.record import NodeRecord, RunResult
from nbflow.providers.profiles import active_env
from nbflow.templates import list_templates
from nbflow.widget.bodies import Body
from nbflow.widget.dom import make_helper
from nbflow.widget.draw import Renderer
from nbflow.widget.editor_bodies import BodyNavigation
from nbflow.widget.editor_files import FileActions
from nbflow.widget.editor_input import CanvasInput
from nbflow.widget.editor_iterate import IterateActions
from nbflow.widget.frame_panel import FramePanel
from nbflow.widget.inputorder import InputOrder
from nbflow.widget.liftdrag import ClientDrag
from nbflow.widget.mapitem import set_param
from nbflow.widget.panels import ParamsPanel, PreviewPanel
from nbflow.widget.popups import rank_types
from nbflow.widget.prerun import PreRunReport, message_html
from nbflow.widget.style import PORT_COLORS
from nbflow.widget.undo import Throttle
from nbflow.widget.viewmodel import ALL_LAYERS, Layer, ViewModel

__all__ = ["Editor"]

#: Shortest time between two frames drawn because of run events.
RUN_FRAME = 0.05
#: The side panel's width, and the narrowest the canvas gets to keep the panel beside it.
SIDE_W = 320
MIN_CANVAS_W = 480


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _button(description: str, icon: str, tooltip: str, width: str = "auto") -> w.Button:
    return w.Button(description=description, icon=icon, tooltip=tooltip, layout=w.Layout(width=width))


class Editor(CanvasInput, IterateActions, PreRunReport, BodyNavigation, FileActions, ClientDrag, w.VBox):
    """A canvas editor on a :class:`~nbflow.Flow`: ``nbflow.Editor(flow)`` or ``flow.edit()``.

    The editor and the Python API edit the same object: ``flow.add(...)`` in a cell appears on the
    canvas, and what is drawn on the canvas is in ``flow``.

    Args:
        flow: the flow to edit.
        width, height: canvas size in pixels (fixed, so a surrounding box cannot stretch it).
        path: the file Export writes and Import reads; defaults to the flow's source or ``<name>.json``.
        store: where canvas runs are recorded (run history, resumable approvals): True for the default
            SQLite store, a path or a RunStore, False for nowhere.
        cache: what canvas runs reuse: True (default) the persistent disk cache (``<nbflow home>/cache``,
            the one ``nbflow.use_cache()`` set, or ``flow.cache`` if you set it), so a new kernel pays
            nothing again; a folder or a DiskCache; False for the flow's in-memory cache only.
    """

    def __init__(self, flow: Flow, *, width: int = 780, height: int = 520, path: str | None = None,
                 store: Any = True, cache: Any = True) -> None:
        """Build the canvas, toolbar and panels and wire their callbacks.

        Long (over 60 lines) because it is a flat list of widget constructions and ``on_click`` wirings
        with no logic between them; split, each part would be a one-caller helper that hides the layout.
        """
        self.flow = flow
        self.store = store
        self._cache_choice = cache  # see IterateActions.cache
        self.vm = ViewModel(flow, width=width, height=height)
        self._width = width
        self.canvas = MultiCanvas(5, width=width, height=height,
                                  layout=w.Layout(width=f"{width}px", height=f"{height}px",
                                                  min_width=f"{width}px", flex="0 0 auto"))
        self.renderer = Renderer(self.vm, self.canvas)
        self.throttle = Throttle()
        self.handle: RunHandle | None = None
        self.result: RunResult | None = None
        self.approval: Any = None  # the Approve / Reject box shown for a paused node, if any
        self._pending: dict[str, asyncio.Handle] = {}
        self._home = _running_loop()  # the kernel's loop: where widget work happens
        # the DOM helper's numbered events, in order (inputorder.py); once they come, ipycanvas' own
        # copies of the same events are ignored
        self._order = InputOrder(self._dom_event, lambda delay, fn: self._later("input-gap", delay, fn))
        self._helper_input = False
        self.root = flow
        self._bodies: list[tuple[Body, ViewModel, Any]] = []
        self._unsaved: str | None = None  # opened bodies: (body, parent's vm, unobserve)
        self.helper = make_helper(self._on_dom)
        self._init_client_drag(width, height)

        self.search = w.Text(placeholder="search node types…", layout=w.Layout(width="170px"))
        self.palette = w.Dropdown(layout=w.Layout(width="260px"), tooltip="node types (plugins included)")
        self.add_button = _button("Add", "plus", "add the chosen node type in the middle of the view")
        self.run_button = _button("Run all", "play", "run the whole flow")
        self.run_selected_button = _button("Run up to here", "step-forward",
                                           "run the selected node and what it needs (U)")
        self.stop_button = _button("Stop", "stop", "stop the run")
        self.undo_button = _button("", "undo", "undo (Ctrl+Z)", "40px")
        self.redo_button = _button("", "repeat", "redo (Ctrl+Shift+Z)", "40px")
        self.delete_button = _button("", "trash", "delete the selected node or edge (Delete)", "40px")
        self.zoom_out_button = _button("", "search-minus", "zoom out", "40px")
        self.zoom_in_button = _button("", "search-plus", "zoom in", "40px")
        self.fit_button = _button("Fit", "expand", "fit the flow in view (F)")
        self.layout_button = _button("Layout", "sitemap", "auto-layout: arrange the flow left to right (L)")
        self.snap_button = w.ToggleButton(value=False, description="Snap", icon="th",
                                          tooltip="snap moved and added nodes to the grid (G)",
                                          layout=w.Layout(width="auto"))
        default_path = path or flow.source or f"{flow.name}.json"
        self.path = w.Text(value=default_path, description="file", style={"description_width": "30px"},
                           layout=w.Layout(width="230px"))
        self.export_button = _button("Export", "download", "write the flow JSON to the file, and offer it "
                                     "as a download")
        self.import_button = _button("Import", "folder-open", "read the flow JSON from the file")
        self.upload = w.FileUpload(accept=".json", multiple=False, description="Upload",
                                   layout=w.Layout(width="auto"))
        self.templates = w.Dropdown(options=[("start from a template…", "")] + [
            (t.name, t.name) for t in list_templates()], layout=w.Layout(width="210px"),
            tooltip="replace the canvas with a ready-made flow (undo brings yours back)")
        self.download = w.HTML()
        # a fixed height, so the first message does not push the canvas down
        self.message = w.HTML(layout=w.Layout(height="22px", overflow="hidden"))
        self.env_label = w.HTML(_profile_html())
        self.crumbs = w.HTML()
        self.crumb_links: list[w.Button] = []  # the enclosing flows, each a link back (editor_bodies.py)
        self.up_button = _button("Up", "level-up", "back to the enclosing flow (Escape with nothing selected)")
        self.up_button.on_click(lambda _: self.close_body())
        self.crumb_bar = w.HBox([self.up_button, self.crumbs], layout=w.Layout(display="none",
                                                                                align_items="center"))
        self.params = ParamsPanel(flow, on_param=self._on_param, on_rename=self._on_rename,
                                  on_run_ready=lambda: self.run_ready())
        self.preview = PreviewPanel()
        for panel in (self.params, self.preview):
            panel.layout.flex = "0 0 auto"
        # Params and Output side by side as tabs: the output is one click away, never below the form
        def pane(*panels: w.Widget) -> w.VBox:
            return w.VBox(panels, layout=w.Layout(overflow="auto", max_height=f"{height - 40}px"))

        self.frame_panel = FramePanel(self.vm, lambda layers: self._apply(layers, panels=True), self.params)
        self.tabs = w.Tab(children=[pane(self.frame_panel, self.params), pane(self.preview)],
                          layout=w.Layout(width="100%"))
        self.tabs.set_title(0, "Params")
        self.tabs.set_title(1, "Output")
        self.tabs.add_class("nbflow-tabs")
        side = w.VBox([self.tabs], layout=w.Layout(width=f"{SIDE_W}px", min_width=f"{SIDE_W}px",
                                                    flex=f"1 1 {SIDE_W}px", max_width="420px",
                                                    max_height=f"{height}px",
                                                    overflow="hidden", padding="0 0 0 8px"))
        legend = " ".join(f"<span style='white-space:nowrap'><span style='color:{c}'>●</span> {t}</span>"
                          for t, c in PORT_COLORS.items())
        tools = w.HBox([self.search, self.palette, self.add_button, self.run_button,
                        self.run_selected_button, self.stop_button, self.env_label],
                       layout=w.Layout(flex_flow="row wrap", align_items="center"))
        tools2 = w.HBox([self.undo_button, self.redo_button, self.delete_button, self.zoom_out_button,
                         self.zoom_in_button, self.fit_button, self.layout_button, self.snap_button, self.path,
                         self.export_button, self.import_button, self.upload, self.templates, self.download],
                        layout=w.Layout(flex_flow="row wrap", align_items="center"))
        # the panel wraps under the canvas when the notebook is too narrow for both side by side
        body = w.HBox([self.canvas, side], layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        extra = [self.helper] if self.helper is not None else []
        super().__init__([tools, tools2, self._build_iterate(), self.crumb_bar, self.message, body,
                          w.HTML(f"<small>ports: {legend}; hollow = list or optional input; right-click or "
                                 "double-click the canvas for more</small>"), *extra])
        self.add_class("nbflow-editor")
        self.canvas.add_class("nbflow-canvas")

        self._fill_palette()
        self.search.observe(lambda _: self._fill_palette(), names="value")
        self.add_button.on_click(lambda _: self.add_node())
        self.run_button.on_click(lambda _: self.run())
        self.run_selected_button.on_click(lambda _: self.run_selected())
        self.stop_button.on_click(lambda _: self.stop())
        self.undo_button.on_click(lambda _: self._apply(self.vm.undo(), panels=True))
        self.redo_button.on_click(lambda _: self._apply(self.vm.redo(), panels=True))
        self.delete_button.on_click(lambda _: self._apply(self.vm.delete_selected(), panels=True))
        self.zoom_in_button.on_click(lambda _: self._apply(self.vm.zoom(1.25)))
        self.zoom_out_button.on_click(lambda _: self._apply(self.vm.zoom(0.8)))
        self.fit_button.on_click(lambda _: self._apply(self.vm.fit()))
        self.layout_button.on_click(lambda _: self._apply(self.vm.auto_layout(), panels=True))
        self.snap_button.observe(self._on_snap, names="value")
        self.export_button.on_click(lambda _: self.export())
        self.import_button.on_click(lambda _: self.import_path())
        self.upload.observe(self._on_upload, names="value")
        self.templates.observe(self._on_template, names="value")

        c = self.canvas
        c.on_mouse_down(self._unless_helper(self._mouse_down))
        c.on_mouse_move(self._unless_helper(self._mouse_move))
        c.on_mouse_up(self._unless_helper(self._mouse_up))
        c.on_mouse_out(self._unless_helper(self._mouse_out))
        c.on_mouse_wheel(self._unless_helper(self._wheel))
        c.on_key_down(self._unless_helper(self._key_down))
        # The canvas keeps no pixels of its own: a new view (reload, Voila) gets a fresh frame.
        c.on_client_ready(self.redraw)
        stop_changes = flow.observe(self._on_flow_change)
        stop_runs = flow.observe_runs(self._on_flow_run)

        def unobserve() -> None:
            stop_changes()
            stop_runs()

        self._unobserve = unobserve
        if flow.spec.nodes:
            self.vm.fit()
        self.redraw()
        self._sync_buttons()

    # -- drawing ----------------------------------------------------------------------------------

    def redraw(self, layers: frozenset[Layer] | set[Layer] = ALL_LAYERS) -> None:
        """Redraw ``layers`` (all by default) as one frame."""
        self.renderer.draw(layers)

    def _apply(self, layers: frozenset[Layer], *, panels: bool = False) -> None:
        """After a view-model action: draw, show its message, refresh panels and buttons, and run the
        editor-level command a menu asked for."""
        self.flush_body()
        self.redraw(layers)
        self.end_lift()
        self._show_message()
        if panels:
            self._sync_panels(force=True)
        if self.snap_button.value != self.vm.snap:
            self.snap_button.value = self.vm.snap
        self._sync_buttons()
        command, self.vm.command = self.vm.command, None
        if command is None or self.iterate_command(command):  # run from here / only / up to here, pin
            return
        if command == "up":
            self.close_body()
        elif command.startswith("open:"):
            self.open_body(command[5:])
        elif command.startswith("frame:"):
            self.tabs.selected_index = 0  # the selected frame's title and text, in the Params tab

    def _on_snap(self, change: dict[str, Any]) -> None:
        if bool(change["new"]) != self.vm.snap:
            self._apply(self.vm.toggle_snap())

    def _show_message(self) -> None:
        color = "#d93025" if self.vm.message_level == "error" else "#3c4043"
        text = self.vm.message
        if self._unsaved:  # an opened body the parent does not take yet: say so until it does
            text, color = f"{text} · {self._unsaved}" if text else self._unsaved, "#d93025"
        self.message.value = message_html(text, color)

    def _say(self, text: str, level: str = "info") -> None:
        self.vm.say(text, "error" if level == "error" else "info")
        self._show_message()

    def _sync_buttons(self) -> None:
        self.env_label.value = _profile_html()  # the profile can change between runs (NBFLOW_ENV)
        running = self.handle is not None and not self.handle.done()
        self.run_button.disabled = running
        self.run_selected_button.disabled = running or not self.vm.selection
        self.stop_button.disabled = not running
        self.undo_button.disabled = not self.vm.history.can_undo
        self.redo_button.disabled = not self.vm.history.can_redo
        vm = self.vm
        self.delete_button.disabled = all(v is None for v in (vm.selected, vm.selected_edge, vm.selected_frame,
                                                               vm.selected_point, vm.selected_frames or None))
        self._sync_iterate()

    def _sync_panels(self, *, force: bool = False) -> None:
        sel = self.vm.selected
        if force or sel != self.params.node_id:
            self.params.show(sel)
        self.frame_panel.show()
        rec = self.record(sel) if sel else None
        self.preview.show(sel, rec, status=self.vm.status.get(sel or ""))
        if sel is not None and rec is not None and rec.status == "paused":
            self._offer_approval(sel)

    def _offer_approval(self, node_id: str) -> None:
        """A node paused for approval: put Approve / Reject (which resume the run) in the preview."""
        res = next((r for r in (self.result, self.flow.last_result)
                    if r is not None and r.status == "paused" and node_id in r.nodes), None)
        if res is None:
            return
        from nbflow.widget.approval import ApprovalBox

        try:
            box = ApprovalBox(self.flow, res, node_id, on_done=self._finished, on_event=self._on_event)
        except NbflowError:
            return  # paused for another reason than an approval
        self.approval = box
        self.preview.body.children = [*self.preview.body.children, box]

    def record(self, node_id: str) -> NodeRecord | None:
        """The node's record from the editor's last run (or the flow's last run from a cell)."""
        for res in (self.result, self.flow.last_result):
            if res is not None and node_id in res.nodes:
                return res.nodes[node_id]
        return None

    # -- palette ----------------------------------------------------------------------------------

    def _fill_palette(self) -> None:
        opts = rank_types(self.flow.registry, self.search.value)
        self.palette.options = opts
        if opts:
            self.palette.value = opts[0][1]  # the best match
        self.add_button.disabled = not opts

    def add_node(self, node_type: str | None = None, **params: Any) -> str | None:
        """Add a node of ``node_type`` (default: the palette's choice) in the view, where it overlaps
        nothing; returns its id."""
        t = node_type or self.palette.value
        if not t:
            self._say("no node type matches the search", "error")
            return None
        try:
            nid = self.vm.add_node(t, **params)
        except NbflowError as exc:
            self._say(f"cannot add {t}: {exc}", "error")
            return None
        self._apply(ALL_LAYERS, panels=True)
        return nid

    # -- size ----------------------------------------------------------------------------------------

    def fit_width(self, available: int) -> None:
        """Narrow the canvas (never below ``MIN_CANVAS_W``, never above the width asked for) so the side
        panel fits beside it in an editor ``available`` pixels wide; text keeps its size (no scaling)."""
        if available <= 0:
            return
        want = max(MIN_CANVAS_W, min(self._width, available - SIDE_W - 12))
        if want == self.canvas.width:
            return
        self.canvas.width = want
        self.canvas.layout.width = self.canvas.layout.min_width = f"{want}px"
        self.vm.view.width = want
        self.redraw()

    # -- flow changes -----------------------------------------------------------------------------

    def _on_flow_change(self, change: dict[str, Any]) -> None:
        if self.vm.editing or any(vm.editing for _, vm, _ in self._bodies):
            return  # the canvas made this change and redraws itself
        self.vm.external_change()
        # A cell may change the flow many times in a row: draw once, after it.
        self._later("external", 0.0, self._external_redraw)

    def _on_flow_run(self, result: RunResult) -> None:
        """A run of this flow ended (a cell's ``flow.run()``, a resume, or ours): show it once."""
        def show() -> None:
            if result is not self.result:  # our own runs were shown by _finished already
                self._finished(result)

        self._later("flow-run", 0.0, show)

    def _external_redraw(self) -> None:
        self.redraw()
        self._sync_panels(force=True)
        self._sync_buttons()

    def _later(self, key: str, delay: float, fn: Any) -> None:
        """Run ``fn`` soon on the kernel's loop (coalescing repeats); right now when there is no loop.

        A sync ``flow.run()`` in a cell runs on a worker thread (see ``run_sync``); what it reports is
        handed over to the kernel's loop, so the canvas is only ever touched from there.
        """
        loop = _running_loop()
        home = self._home
        if home is not None and loop is not home and not home.is_closed():
            home.call_soon_threadsafe(self._later, key, delay, fn)
            return
        if loop is None:
            fn()
            return
        if key in self._pending:
            return

        def fire() -> None:
            self._pending.pop(key, None)
            fn()

        self._pending[key] = loop.call_later(delay, fire) if delay else loop.call_soon(fire)

    def _on_param(self, node_id: str, name: str, value: Any) -> None:
        said = set_param(self.vm, node_id, name, value)  # a map's item_input also rewires the map
        if any(p.node == node_id for p in self.params.problems):  # the user acted on it: the next run
            self.params.problems = [p for p in self.params.problems if p.node != node_id]  # tells again
            self.params.problem_box.children = []
        self._say(said or f"{node_id}: set {name}")
        if name in ("provider", "item_input"):  # the model may have followed the provider; a map's ports
            self._apply(ALL_LAYERS, panels=True)
            return
        self.redraw()
        self._sync_buttons()

    def _on_rename(self, old: str, new: str) -> None:
        self.vm.rename(old, new)
        self._apply(ALL_LAYERS, panels=True)

    # -- running ----------------------------------------------------------------------------------

    def run(self, targets: list[str] | None = None, *, start: list[str] | None = None,
            only: list[str] | None = None, part: Flow | None = None) -> RunHandle | None:
        """Start a run of the flow (or of ``targets`` and what they need, or from ``start`` on, or
        ``only`` some nodes) on the kernel's loop, with the editor's cache and the flow's pins. ``part``:
        a copy of the flow to run instead (without nodes at fault that stop the whole flow compiling)."""
        runner = part or self.flow
        if self.handle is not None and not self.handle.done():
            self._say("a run is already going: stop it first", "error")
            return None
        try:
            runner.validate()
        except FlowError as exc:
            self._cannot_start(exc)
            return None
        self._begin_run(targets, start, only)
        self.params.problem = None
        narrow: dict[str, Any] = {"targets": targets, "start": start, "only": only, "use_pins": True,
                                  "cache": self.cache}
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a plain script: no loop to run in the background on
            self._say("running…")
            try:
                # the flow's run observers (_on_flow_run) show the result
                done = runner.run(on_event=self._on_event, store=self.store, source="notebook", **narrow)
                if part is not None:  # a copy: the editor's flow observers do not see its run
                    self._finished(done)
            except (FlowError, SecretError) as exc:
                self._cannot_start(exc)
            except NbflowError as exc:
                self._say(f"run failed: {exc}", "error")
            return None
        self.handle = runner.start(on_event=self._on_event, store=self.store, source="notebook", **narrow)
        self.handle.task.add_done_callback(self._run_done)
        self._say("running…" if not targets else f"running {', '.join(targets)} and what it needs…")
        self._sync_buttons()
        self.redraw(frozenset(("nodes",)))
        return self.handle

    def run_selected(self) -> RunHandle | None:
        """Run the selected nodes and the nodes they depend on (up to here)."""
        if not self.vm.selection:
            self._say("select a node to run", "error")
            return None
        return self.run(list(self.vm.selection))

    def stop(self) -> None:
        """Stop the current run."""
        if self.handle is not None and not self.handle.done():
            self.handle.cancel()
            self._say("stopping…")

    def _on_event(self, ev: Event) -> None:
        if self.vm.apply_event(ev):
            self._later("run-frame", RUN_FRAME, lambda: self.redraw(frozenset(("nodes",))))

    def _run_done(self, task: asyncio.Task[RunResult]) -> None:
        if task.cancelled():
            self._say("run cancelled", "error")
        elif isinstance(task.exception(), (FlowError, SecretError)):
            self._cannot_start(task.exception())  # type: ignore[arg-type]
        elif task.exception() is not None:
            exc = task.exception()
            self._say(f"run failed: {exc}" if isinstance(exc, NbflowError) else
                      f"run failed: {type(exc).__name__}: {exc}", "error")
        else:
            self._finished(task.result())
        self._sync_buttons()
        self.redraw(frozenset(("nodes",)))

    def _finished(self, result: RunResult) -> None:
        self.result = result
        self.vm.apply_result(result)
        text = f"run {result.status} in {result.duration or 0:.2f}s"
        if result.cost:
            text += f", cost ${result.cost:.4f}"
        if result.error:
            text += f": {result.error}"
        self._say(text, "info" if result.status in ("succeeded", "paused") else "error")
        if self.vm.selected is not None:
            self.tabs.selected_index = 1  # the selected node's fresh output
        self._sync_panels()
        self.redraw(frozenset(("nodes",)))

    def close(self) -> None:
        """Stop following the flow and close the widgets."""
        self._unobserve()
        super().close()


def _profile_html() -> str:
    """The toolbar's label naming the environment profile whose keys and base URLs runs use."""
    try:
        env = active_env() or "none"
    except NbflowError:
        env = "invalid NBFLOW_ENV"
    return ("<span class='nbflow-env' style='margin-left:8px;color:#3c4043' title='environment profile "
            "(NBFLOW_ENV): keys and base URLs resolve as NAME_&lt;PROFILE&gt; first, then NAME'>"
            f"env: <b>{html.escape(env)}</b></span>")
