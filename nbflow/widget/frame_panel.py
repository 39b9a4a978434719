"""The side panel of a selected frame: its title, comment text and colour, in the Params tab.

Each committed change (Enter or leaving the field) is one undoable ``set_frame`` of the view model,
so renaming a frame or writing its comment is undone like any other edit.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from nbflow.exceptions import NbflowError
from nbflow.widget.frames import FRAME_COLORS
from nbflow.widget.layers import Layer
from nbflow.widget.viewmodel import ViewModel

__all__ = ["FramePanel"]


class FramePanel(w.VBox):
    """Title, text and colour of the view model's selected frame; hidden when no frame is selected.

    Args:
        vm: the canvas' view model.
        after: called with the layers to redraw after each change (the editor's ``_apply``).
        params: the params form, hidden while a frame is shown in its place.
    """

    def __init__(self, vm: ViewModel, after: Callable[[frozenset[Layer]], None], params: w.Widget) -> None:
        self.vm = vm
        self.after = after
        self.params = params
        self.frame_id: str | None = None
        self._filling = False
        self.header = w.HTML()
        self.title = w.Text(description="title", continuous_update=False, style={"description_width": "40px"},
                            layout=w.Layout(width="98%"))
        self.text = w.Textarea(placeholder="comment shown on the canvas", continuous_update=False,
                               rows=6, layout=w.Layout(width="98%"))
        self.color = w.Dropdown(options=list(FRAME_COLORS), description="colour",
                                style={"description_width": "40px"}, layout=w.Layout(width="200px"))
        self.select_button = w.Button(description="Select its nodes", icon="object-group",
                                      layout=w.Layout(width="auto"))
        self.delete_button = w.Button(description="Delete frame", icon="trash", layout=w.Layout(width="auto"),
                                      tooltip="delete the frame; the nodes inside stay (Delete)")
        for field, widget in (("title", self.title), ("text", self.text), ("color", self.color)):
            widget.observe(self._changed(field), names="value")
        self.select_button.on_click(lambda _: self.after(self.vm.select_in_frame(self.frame_id)))
        self.delete_button.on_click(lambda _: self.after(self.vm.delete_frame(self.frame_id)))
        super().__init__([self.header, self.title, self.text, self.color,
                          w.HBox([self.select_button, self.delete_button])],
                         layout=w.Layout(display="none", width="100%"))
        self.add_class("nbflow-frame-panel")

    def _changed(self, field: str) -> Callable[[dict[str, Any]], None]:
        def on(change: dict[str, Any]) -> None:
            if self._filling or self.frame_id is None:
                return
            try:
                self.vm.set_frame(self.frame_id, **{field: change["new"]})
            except NbflowError as exc:  # pragma: no cover - the fields only offer valid values
                self.vm.say(str(exc), "error")
            self.after(frozenset(("edges", "minimap")))

        return on

    def show(self) -> None:
        """Show the selected frame (or hide, giving the place back to the params form)."""
        f = self.vm.frame(self.vm.selected_frame) if self.vm.selected_frame else None
        self.frame_id = f.id if f is not None else None
        self.layout.display = "none" if f is None else ""
        self.params.layout.display = "" if f is None else "none"
        if f is None:
            return
        self._filling = True
        try:
            self.header.value = (f"<b>Frame {html.escape(f.id)}</b><br><small>layout only: runs never see it. "
                                 "Drag its title bar to move it with the nodes inside; drag its corner to "
                                 "resize.</small>")
            self.title.value, self.text.value = f.title, f.text
            name = next((k for k, v in FRAME_COLORS.items() if v == f.color), None)
            if name is None:  # a colour written by hand: offer it as it is
                self.color.options = [*FRAME_COLORS, f.color]
                name = f.color
            self.color.value = name
        finally:
            self._filling = False
