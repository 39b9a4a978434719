"""Opening composite bodies in the canvas editor, with breadcrumbs (a mixin of :class:`~nbflow.widget.Editor`)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from nbflow.exceptions import NbflowError
from nbflow.flow import Flow
from nbflow.widget.arrange import auto_layout
from nbflow.widget.bodies import Body, open_body
from nbflow.widget.layers import ALL_LAYERS
from nbflow.widget.undo import FileChange
from nbflow.widget.viewmodel import ViewModel

if TYPE_CHECKING:
    from collections.abc import Callable

    import ipywidgets as w

    from nbflow.model.record import RunResult
    from nbflow.widget.draw import Renderer
    from nbflow.widget.layers import Layer
    from nbflow.widget.panels import ParamsPanel

__all__ = ["BodyNavigation"]

#: Room kept at each side of an opened body for its edge ports and their names (screen pixels).
RAIL_MARGIN = 120.0


class BodyNavigation:
    """Open a loop, map or subflow body in place; Up (or Escape) goes back."""

    if TYPE_CHECKING:
        flow: Flow
        root: Flow
        vm: ViewModel
        renderer: Renderer
        params: ParamsPanel
        crumbs: w.HTML
        crumb_bar: w.HBox
        up_button: w.Button
        crumb_links: list[w.Button]
        helper: Any
        result: RunResult | None
        _bodies: list[tuple[Body, ViewModel, Any]]
        _unsaved: str | None
        _body_pending: bool

        def _say(self, text: str, level: str = "info") -> None: ...
        def _show_message(self) -> None: ...
        def _apply(self, layers: frozenset[Layer], *, panels: bool = False) -> None: ...
        def redraw(self, layers: Any = ...) -> None: ...
        def _sync_panels(self, *, force: bool = False) -> None: ...
        def _sync_buttons(self) -> None: ...

    # -- composite bodies -------------------------------------------------------------------------

    def open_body(self, node_id: str) -> bool:
        """Open the body of loop, map or subflow ``node_id`` in place; edits go back at once."""
        try:
            body = open_body(self.flow, node_id)
        except NbflowError as exc:
            self._say(str(exc), "error")
            return False
        parent_vm = self.vm
        vm = ViewModel(body.flow, width=self.vm.view.width, height=self.vm.view.height)
        vm.rails = True
        laid = body.flow.spec.layout.nodes
        if any(n.id not in laid for n in body.flow.spec.nodes):  # a body written without a layout
            for nid, (x, y) in auto_layout(body.flow.spec, vm.boxes).items():
                body.flow.move(nid, x, y)
            body.written = body.flow.version  # layout alone is not worth a write: it goes with the next edit
        stop = body.flow.observe(lambda _ch: self._body_changed())
        self._bodies.append((body, parent_vm, stop))
        self._switch(body.flow, vm)
        vm.view.fit(vm.boxes.values(), margin=RAIL_MARGIN)  # clear of the edge ports' labels
        self.redraw()
        self._say(f"editing the body of {body.label}: Up or Escape goes back")
        return True

    def _body_changed(self) -> None:
        if self.vm.editing:  # one canvas gesture may change the body several times: write it back once,
            self._body_pending = True  # when the gesture is done (flush_body, after every canvas action)
            return
        self._body_pending = False
        body, parent_vm, _ = self._bodies[-1]
        why = _write_back(body, parent_vm)
        self._unsaved = f"{body.node}: not saved into the parent yet: {why}" if why else None
        self._show_message()

    def flush_body(self) -> None:
        """Write an opened body back after a canvas gesture that changed it (one parent undo step)."""
        if getattr(self, "_body_pending", False) and self._bodies:
            self._body_changed()

    def close_body(self) -> bool:
        """Back to the enclosing flow (the body is already written back; a body the parent refuses
        keeps the editor inside it, with the reason)."""
        if not self._bodies:
            return False
        body, parent_vm, stop = self._bodies[-1]
        why = _write_back(body, parent_vm)
        if why:
            self._say(f"fix the body first: {why}", "error")
            return False
        stop()
        self._bodies.pop()
        self._unsaved = None
        self._switch(body.parent, parent_vm)
        self.vm.select([body.node])
        self.vm.say(f"back in {self._bodies[-1][0].label if self._bodies else self.root.name}")
        self._apply(ALL_LAYERS, panels=True)
        self.focus_canvas()
        return True

    def go_to_level(self, level: int) -> bool:
        """Back out to breadcrumb ``level`` (0: the flow the editor opened on), one body at a time; stops
        inside a body its parent refuses, with the reason."""
        while len(self._bodies) > level:
            if not self.close_body():
                return False
        return True

    def focus_canvas(self) -> None:
        """Give the page's keyboard focus back to the canvas (a toolbar button took it); no-op without
        the DOM helper."""
        if self.helper is not None:
            self.helper.send({"focus": True})

    def _switch(self, flow: Flow, vm: ViewModel) -> None:
        self.flow, self.vm = flow, vm
        self.renderer.vm = vm
        self.params.flow = flow
        self.params.problem = None
        inside = [b.label for b, _, _ in self._bodies]
        self.crumb_bar.layout.display = "flex" if inside else "none"
        names = [self.root.name, *inside]
        self.crumb_links = [_crumb(name, level, self.go_to_level) for level, name in enumerate(names[:-1])]
        self.crumb_bar.children = (self.up_button, *self.crumb_links, self.crumbs)
        self.crumb_bar.add_class("nbflow-crumb-bar")
        self.crumbs.value = f"<span class='nbflow-crumbs'>{html.escape(names[-1])}</span>"
        self.result = None
        self.redraw()
        self._sync_panels(force=True)
        self._sync_buttons()


def _crumb(name: str, level: int, go: Callable[[int], bool]) -> Any:
    """A breadcrumb link: the name of an enclosing flow, followed by ›; a click goes back to it."""
    import ipywidgets as w

    link = w.Button(description=f"{name} ›", tooltip=f"back to {name}",
                    layout=w.Layout(width="auto", border="none"))
    link.style.button_color = "transparent"
    link.add_class("nbflow-crumb")
    link.on_click(lambda _b: go(level))
    return link


def _write_back(body: Body, parent_vm: ViewModel) -> str | None:
    """Write ``body`` back as one undo step of the parent: an embedded body as the node's ``flow``
    param; a body kept in a file as that file's bytes (every write of one visit folds into one step,
    which undo in the parent puts back: ``undo: edit body of sub (sub.json); sub.json is back as it was``)."""
    label = f"edit body of {body.label}"
    if body.path is None:
        return parent_vm.edit(label, body.write_back)
    before, spec = body.disk, parent_vm.flow.spec.model_copy(deep=True)
    with parent_vm.history.held():  # the parent's spec keeps its reference: the step is the file's
        why = parent_vm.edit(label, body.write_back)
    try:
        now = body.path.read_bytes()
    except OSError:
        return why
    if now != before:
        parent_vm.history.push_file(label, spec, FileChange(body.path, before, now, visit=body.visit))
        body.disk = now
    return why
