"""``Editor``: the canvas editor widget (toolbar, palette, canvas, params and preview panels).

It wires browser events to the :class:`~nbflow.widget.viewmodel.ViewModel` and redraws the layers
each handler names. Runs are tasks on the kernel's event loop (``flow.start``), so the notebook stays
responsive; engine events update node status, and redraws during a run are coalesced to at most
one frame per ``RUN_FRAME`` seconds.
"""

from __future__ import annotations

import asyncio
import base64
import html
from pathlib import Path
from typing import Any

import ipywidgets as w
from ipycanvas import MultiCanvas

from nbflow.engine.sync import RunHandle
from nbflow.exceptions import FlowError, NbflowError
from nbflow.flow import Flow
from nbflow.model.events import Event
from nbflow.model.record import NodeRecord, RunResult
from nbflow.templates import list_templates, load_template
from nbflow.widget.draw import Renderer
from nbflow.widget.panels import ParamsPanel, PreviewPanel
from nbflow.widget.style import PORT_COLORS
from nbflow.widget.undo import Throttle
from nbflow.widget.viewmodel import ALL_LAYERS, Layer, ViewModel

__all__ = ["Editor"]

#: Shortest time between two frames drawn because of run events.
RUN_FRAME = 0.05


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _button(description: str, icon: str, tooltip: str, width: str = "auto") -> w.Button:
    return w.Button(description=description, icon=icon, tooltip=tooltip, layout=w.Layout(width=width))


class Editor(w.VBox):
    """A canvas editor on a :class:`~nbflow.Flow`: ``nbflow.Editor(flow)`` or ``flow.edit()``.

    The editor and the Python API edit the same object: ``flow.add(...)`` in a cell appears on the
    canvas, and what is drawn on the canvas is in ``flow``.

    Args:
        flow: the flow to edit.
        width, height: canvas size in pixels (fixed, so a surrounding box cannot stretch it).
        path: the file Export writes and Import reads; defaults to the flow's source or ``<name>.json``.
        store: where canvas runs are recorded (run history, resumable approvals): True for the default
            SQLite store, a path or a RunStore, False for nowhere.
    """

    def __init__(self, flow: Flow, *, width: int = 780, height: int = 520, path: str | None = None,
                 store: Any = True) -> None:
        """Build the canvas, toolbar and panels and wire their callbacks.

        Long (over 60 lines) because it is a flat list of widget constructions and ``on_click`` wirings
        with no logic between them; split, each part would be a one-caller helper that hides the layout.
        """
        self.flow = flow
        self.store = store
        self.vm = ViewModel(flow, width=width, height=height)
        self.canvas = MultiCanvas(4, width=width, height=height,
                                  layout=w.Layout(width=f"{width}px", height=f"{height}px",
                                                  min_width=f"{width}px", flex="0 0 auto"))
        self.renderer = Renderer(self.vm, self.canvas)
        self.throttle = Throttle()
        self.handle: RunHandle | None = None
        self.result: RunResult | None = None
        self.approval: Any = None  # the Approve / Reject box shown for a paused node, if any
        self._pending: dict[str, asyncio.Handle] = {}
        self._home = _running_loop()  # the kernel's loop: where widget work happens

        self.search = w.Text(placeholder="search node types…", layout=w.Layout(width="170px"))
        self.palette = w.Dropdown(layout=w.Layout(width="260px"), tooltip="node types (plugins included)")
        self.add_button = _button("Add", "plus", "add the chosen node type in the middle of the view")
        self.run_button = _button("Run all", "play", "run the whole flow")
        self.run_selected_button = _button("Run selected", "step-forward",
                                           "run the selected node and what it needs")
        self.stop_button = _button("Stop", "stop", "stop the run")
        self.undo_button = _button("", "undo", "undo (Ctrl+Z)", "40px")
        self.redo_button = _button("", "repeat", "redo (Ctrl+Shift+Z)", "40px")
        self.delete_button = _button("", "trash", "delete the selected node or edge (Delete)", "40px")
        self.zoom_out_button = _button("", "search-minus", "zoom out", "40px")
        self.zoom_in_button = _button("", "search-plus", "zoom in", "40px")
        self.fit_button = _button("Fit", "expand", "fit the flow in view (F)")
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
        self.message = w.HTML()
        self.params = ParamsPanel(flow, on_param=self._on_param, on_rename=self._on_rename)
        self.preview = PreviewPanel()
        for panel in (self.params, self.preview):
            panel.layout.flex = "0 0 auto"  # the side column scrolls; its panels never shrink
        side = w.VBox([self.params, w.HTML("<hr style='margin:6px 0'>"), self.preview],
                      layout=w.Layout(width="340px", min_width="340px", flex="0 0 340px",
                                      max_height=f"{height}px", overflow="auto", padding="0 0 0 8px"))
        legend = " ".join(f"<span style='white-space:nowrap'><span style='color:{c}'>●</span> {t}</span>"
                          for t, c in PORT_COLORS.items())
        tools = w.HBox([self.search, self.palette, self.add_button, self.run_button,
                        self.run_selected_button, self.stop_button], layout=w.Layout(flex_flow="row wrap"))
        tools2 = w.HBox([self.undo_button, self.redo_button, self.delete_button, self.zoom_out_button,
                         self.zoom_in_button, self.fit_button, self.path, self.export_button,
                         self.import_button, self.upload, self.templates, self.download],
                        layout=w.Layout(flex_flow="row wrap", align_items="center"))
        # the panel wraps under the canvas when the notebook is too narrow for both side by side
        body = w.HBox([self.canvas, side], layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        super().__init__([tools, tools2, self.message, body,
                          w.HTML(f"<small>ports: {legend}; hollow = list or optional input</small>")])
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
        self.export_button.on_click(lambda _: self.export())
        self.import_button.on_click(lambda _: self.import_path())
        self.upload.observe(self._on_upload, names="value")
        self.templates.observe(self._on_template, names="value")

        c = self.canvas
        c.on_mouse_down(self._mouse_down)
        c.on_mouse_move(self._mouse_move)
        c.on_mouse_up(self._mouse_up)
        c.on_mouse_out(self._mouse_out)
        c.on_mouse_wheel(self._wheel)
        c.on_key_down(self._key_down)
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
        """After a view-model action: draw, show its message, and refresh panels and buttons."""
        self.redraw(layers)
        self._show_message()
        if panels:
            self._sync_panels(force=True)
        self._sync_buttons()

    def _show_message(self) -> None:
        color = "#d93025" if self.vm.message_level == "error" else "#3c4043"
        self.message.value = (f"<span class='nbflow-message' style='color:{color}'>"
                              f"{html.escape(self.vm.message)}</span>")

    def _say(self, text: str, level: str = "info") -> None:
        self.vm.say(text, "error" if level == "error" else "info")
        self._show_message()

    def _sync_buttons(self) -> None:
        running = self.handle is not None and not self.handle.done()
        self.run_button.disabled = running
        self.run_selected_button.disabled = running or self.vm.selected is None
        self.stop_button.disabled = not running
        self.undo_button.disabled = not self.vm.history.can_undo
        self.redo_button.disabled = not self.vm.history.can_redo
        self.delete_button.disabled = self.vm.selected is None and self.vm.selected_edge is None

    def _sync_panels(self, *, force: bool = False) -> None:
        sel = self.vm.selected
        if force or sel != self.params.node_id:
            self.params.show(sel)
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
        q = self.search.value.strip().lower()
        ranked = []
        for name, cls in self.flow.registry.types().items():
            hay = f"{name} {cls.title} {cls.category} {cls.description}".lower()
            if not q or all(part in hay for part in q.split()):
                # exact and prefix matches on the type name first, then the title, then the rest
                rank = 0 if name == q else 1 if name.startswith(q) else 2 if q in cls.title.lower() else 3
                ranked.append((rank if q else 0, f"{cls.category} · {cls.title or name} ({name})", name))
        ranked.sort()
        opts = [(label, name) for _, label, name in ranked]
        self.palette.options = opts
        if opts:
            self.palette.value = opts[0][1]  # the best match
        self.add_button.disabled = not opts

    def add_node(self, node_type: str | None = None, **params: Any) -> str | None:
        """Add a node of ``node_type`` (default: the palette's choice); returns its id."""
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

    # -- mouse and keys ---------------------------------------------------------------------------

    def _mouse_down(self, x: float, y: float) -> None:
        before = (self.vm.selected, self.vm.selected_edge)
        self.throttle.reset()
        layers = self.vm.mouse_down(x, y)
        self.redraw(layers)
        if before != (self.vm.selected, self.vm.selected_edge):
            self._sync_panels()
            self._sync_buttons()

    def _mouse_move(self, x: float, y: float) -> None:
        if self.vm.drag is None:
            self.vm.mouse = (x, y)  # remembered for wheel zoom; nothing to draw
            return
        if not self.throttle(x, y):
            return
        self.redraw(self.vm.mouse_move(x, y))

    def _mouse_up(self, x: float, y: float) -> None:
        wiring = self.vm.drag is not None and self.vm.drag.mode == "wire"
        self.throttle.reset()
        self._apply(self.vm.mouse_up(x, y))
        if wiring:
            self._sync_panels(force=True)  # a new input can change the selected node's ports

    def _mouse_out(self, x: float, y: float) -> None:
        self._apply(self.vm.mouse_out())

    def _wheel(self, dx: float, dy: float) -> None:
        self.redraw(self.vm.wheel(dy))

    def _key_down(self, key: str, shift: bool, ctrl: bool, meta: bool) -> None:
        before = (self.vm.selected, self.vm.selected_edge, self.flow.version)
        try:
            layers = self.vm.key_down(key, shift, ctrl, meta)
        except NbflowError as exc:
            self._say(str(exc), "error")
            return
        self._apply(layers, panels=before != (self.vm.selected, self.vm.selected_edge, self.flow.version))

    # -- flow changes -----------------------------------------------------------------------------

    def _on_flow_change(self, change: dict[str, Any]) -> None:
        if self.vm.editing:
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
        self.vm.set_params(node_id, **{name: value})
        self._say(f"{node_id}: set {name}")
        self.redraw()
        self._sync_buttons()

    def _on_rename(self, old: str, new: str) -> None:
        self.vm.rename(old, new)
        self._apply(ALL_LAYERS, panels=True)

    # -- running ----------------------------------------------------------------------------------

    def run(self, targets: list[str] | None = None) -> RunHandle | None:
        """Start a run of the flow (or of ``targets`` and what they need) on the kernel's loop."""
        if self.handle is not None and not self.handle.done():
            self._say("a run is already going: stop it first", "error")
            return None
        try:
            self.flow.validate()
        except FlowError as exc:
            self._say(f"cannot run: {exc}", "error")
            return None
        self.vm.begin_run(targets)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a plain script: no loop to run in the background on
            self._say("running…")
            try:
                # the flow's run observers (_on_flow_run) show the result
                self.flow.run(on_event=self._on_event, targets=targets, store=self.store, source="notebook")
            except NbflowError as exc:
                self._say(f"run failed: {exc}", "error")
            return None
        self.handle = self.flow.start(on_event=self._on_event, targets=targets, store=self.store,
                                      source="notebook")
        self.handle.task.add_done_callback(self._run_done)
        self._say("running…" if not targets else f"running {', '.join(targets)} and what it needs…")
        self._sync_buttons()
        self.redraw(frozenset(("nodes",)))
        return self.handle

    def run_selected(self) -> RunHandle | None:
        """Run the selected node and the nodes it depends on."""
        if self.vm.selected is None:
            self._say("select a node to run", "error")
            return None
        return self.run([self.vm.selected])

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
        self._sync_panels()
        self.redraw(frozenset(("nodes",)))

    # -- export and import ------------------------------------------------------------------------

    def export(self, path: str | Path | None = None) -> Path | None:
        """Write the flow JSON to ``path`` (default: the file box) and offer it as a download."""
        target = Path(path or self.path.value.strip() or f"{self.flow.name}.json")
        try:
            self.flow.save(target)
        except OSError as exc:
            self._say(f"cannot write {target}: {exc.strerror or exc}", "error")
            return None
        data = target.read_bytes()
        href = "data:application/json;base64," + base64.b64encode(data).decode()
        name = html.escape(target.name)
        self.download.value = (f'<a class="nbflow-download" download="{name}" href="{href}" '
                               f'title="download {name}">⬇ {name}</a>')
        self._say(f"exported {target} ({len(data):,} bytes)")
        return target

    def import_path(self, path: str | Path | None = None) -> bool:
        """Replace the flow's contents with the flow file at ``path`` (one undo step)."""
        source = Path(path or self.path.value.strip())
        try:
            other = Flow.load(source, registry=self.flow.registry)
        except NbflowError as exc:
            self._say(f"cannot import: {exc}", "error")
            return False
        return self._take(other, str(source))

    def import_text(self, text: str | bytes, name: str = "upload") -> bool:
        """Replace the flow's contents with flow JSON text (what the Upload button does)."""
        try:
            other = Flow.loads(text, source=name, registry=self.flow.registry)
        except NbflowError as exc:
            self._say(f"cannot import: {exc}", "error")
            return False
        return self._take(other, name)

    def start_from_template(self, name: str) -> bool:
        """Replace the canvas with template ``name`` (one undo step; see ``nbflow templates``)."""
        try:
            other = load_template(name)
        except NbflowError as exc:
            self._say(f"cannot start from template: {exc}", "error")
            return False
        return self._take(other, f"template {name}")

    def _on_template(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.start_from_template(change["new"])
            self.templates.value = ""

    def _take(self, other: Flow, source: str) -> bool:
        self.vm.replace(other)
        self.result = None
        self.vm.fit()
        self._apply(ALL_LAYERS, panels=True)
        self._say(f"imported {source}: {len(other.spec.nodes)} nodes, {len(other.spec.edges)} edges")
        return True

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        self.import_text(bytes(f["content"]), f.get("name", "upload"))
        self.upload.unobserve(self._on_upload, names="value")
        self.upload.value = ()
        self.upload.observe(self._on_upload, names="value")

    def close(self) -> None:
        """Stop following the flow and close the widgets."""
        self._unobserve()
        super().close()
