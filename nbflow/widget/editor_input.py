"""The canvas' pointer and key events, from the DOM helper in order or from ipycanvas without it (a mixin
of :class:`~nbflow.widget.Editor`).

With the helper (:mod:`nbflow.widget.dom`), every event arrives numbered and goes through
:class:`~nbflow.widget.inputorder.InputOrder` first, and ipycanvas' own copies are ignored; without
it (no anywidget), ipycanvas' events drive the same handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbflow.exceptions import NbflowError

if TYPE_CHECKING:
    from nbflow.flow import Flow
    from nbflow.widget.inputorder import InputOrder
    from nbflow.widget.undo import Throttle
    from nbflow.widget.viewmodel import Layer, ViewModel

__all__ = ["CanvasInput"]


class CanvasInput:
    """Presses, moves, releases, wheel, keys, double-clicks and context menus on the canvas."""

    if TYPE_CHECKING:
        flow: Flow
        vm: ViewModel
        throttle: Throttle
        _order: InputOrder
        _helper_input: bool

        def _apply(self, layers: frozenset[Layer], *, panels: bool = False) -> None: ...
        def _say(self, text: str, level: str = "info") -> None: ...
        def redraw(self, layers: frozenset[Layer] | set[Layer] = ...) -> None: ...
        def _iterate_key(self, key: str, mod: bool) -> bool: ...
        def _mouse_move(self, x: float, y: float) -> None: ...
        def _mouse_out(self, x: float, y: float) -> None: ...
        def on_client_drag(self, msg: dict[str, Any]) -> None: ...
        def fit_width(self, available: int) -> None: ...

    def _selection_state(self) -> tuple[Any, ...]:
        vm = self.vm
        return (tuple(vm.selection), tuple(vm.selected_frames), vm.selected_edge, vm.selected_frame, vm.selected_point,
                self.flow.version)

    def _unless_helper(self, handler: Callable[..., None]) -> Callable[..., None]:
        """ipycanvas' event handler, skipped once the DOM helper sends the same events numbered."""
        def on_canvas_event(*args: Any) -> None:
            if not self._helper_input:
                handler(*args)

        return on_canvas_event

    def _mouse_down(self, x: float, y: float, shift: bool = False, ctrl: bool = False) -> None:
        before = self._selection_state()
        self.throttle.reset()
        wiring = self.vm.cancel_wire()  # a press ends a wire being made by keyboard
        self.vm.say("")  # a new gesture: the last message is stale
        layers = self.vm.mouse_down(x, y, shift=shift, ctrl=ctrl) | wiring
        changed = before != self._selection_state()
        self._apply(layers, panels=changed)

    def _mouse_up(self, x: float, y: float) -> None:
        before = self._selection_state()
        self.throttle.reset()
        self._apply(self.vm.mouse_up(x, y), panels=before != self._selection_state())

    def _wheel(self, dx: float, dy: float) -> None:
        self.redraw(self.vm.wheel(dy))

    def _key_down(self, key: str, shift: bool, ctrl: bool, meta: bool) -> None:
        if self._iterate_key(key, ctrl or meta):  # H, O, U, P: run from here, only this, up to here, pin
            return
        before = self._selection_state()
        try:
            layers = self.vm.key_down(key, shift, ctrl, meta)
        except NbflowError as exc:
            self._say(str(exc), "error")
            return
        self._apply(layers, panels=before != self._selection_state())

    def _on_dom(self, msg: dict[str, Any]) -> None:
        """A message from the DOM helper: numbered ones (every pointer and key event) go in order."""
        if "seq" in msg:
            self._helper_input = True
            self._order.push(msg)
        else:
            self._dom_event(msg)

    def _dom_event(self, msg: dict[str, Any]) -> None:
        """One browser event, as the DOM helper reports it (see :mod:`nbflow.widget.dom`)."""
        ev = msg.get("event")
        x, y = float(msg.get("x", 0.0)), float(msg.get("y", 0.0))
        shift, ctrl, meta = bool(msg.get("shift")), bool(msg.get("ctrl")), bool(msg.get("meta"))
        if ev == "down":
            self._mouse_down(x, y, shift=shift, ctrl=ctrl or meta)
        elif ev == "move":
            self._mouse_move(x, y)
        elif ev == "up":
            self._mouse_up(x, y)
        elif ev == "out":
            self._mouse_out(x, y)
        elif ev == "wheel":
            self._wheel(float(msg.get("dx", 0.0)), float(msg.get("dy", 0.0)))
        elif ev == "key":
            self._key_down(str(msg.get("key", "")), shift, ctrl, meta)
        elif ev == "resize":
            self.fit_width(int(msg.get("width", 0)))
        elif ev in ("attached", "drag"):
            self.on_client_drag(msg)
        elif ev == "leave":  # Tab took the page's focus off the canvas (keyfocus.py)
            self.vm.left_canvas(back=bool(msg.get("back")))
            self._apply(frozenset(("overlay",)))
        else:
            self._dom_gesture(ev, x, y)

    def _dom_gesture(self, ev: Any, x: float, y: float) -> None:
        before = self._selection_state()
        if ev == "dblclick":
            layers = self.vm.double_click(x, y)
        elif ev == "contextmenu":
            self.vm.mouse = (x, y)
            layers = self.vm.open_menu(x, y)
        else:
            return
        self._apply(layers, panels=before != self._selection_state())
