"""A small DOM helper for the canvas: the browser events ipycanvas does not report, and all of them in order.

ipycanvas (0.14) reports mouse events as (x, y) only: no button, no modifier keys, no double-click,
no context menu; and its canvas takes JupyterLab's shortcuts and cell context menu when focused or
right-clicked. This invisible anywidget, placed inside the editor, finds the editor's canvas element
and reports every pointer and key event itself, numbered (``view``, ``seq``), so the kernel handles
them in the user's order (:mod:`nbflow.widget.inputorder`: ipykernel 7 can let one comm message
overtake another, and a Shift-drag whose press overtook the Shift became a pan). Once its events
arrive, the kernel ignores ipycanvas' own copies of presses and keys (moves no longer reach
ipycanvas); ipycanvas still focuses the canvas on a press and stops the browser's default action for
keys typed on it. The helper focuses the canvas first, without scrolling, so a press or right-click
on a canvas partly off screen never scrolls the page under the pointer. What the helper adds:

- ``down`` with the modifiers (shift, ctrl, meta) of each left press, so Shift/Ctrl-click and
  Shift-drag reach the view model; ``move``, ``up``, ``out``, ``wheel`` and ``key`` as ipycanvas has them;
- ``dblclick`` and ``contextmenu`` with canvas coordinates (the browser's and JupyterLab's context
  menus are suppressed over the canvas, and non-left presses never reach ipycanvas);
- ``resize`` with the editor's width, so the canvas can narrow to keep the side panel beside it
  (Notebook 7's narrower column) instead of wrapping the panel below, off screen;
- ``leave``: ipycanvas prevents the default of every key, so Tab could never leave the canvas (a
  keyboard trap). After ``Escape`` the helper keeps the next Tab / Shift+Tab from ipycanvas, so the
  browser moves the focus on, and tells the kernel. It decides alone, in the browser, so a quick Tab
  after Escape is never lost to a round trip;
- ``data-lm-suppress-shortcuts`` and ``data-jp-suppress-context-menu`` on the canvas, so keys typed on
  the canvas (``a``, ``d``, ``Ctrl+V`` ...) drive the editor, not the notebook's cell commands, and
  the browser defaults of the editor's shortcuts (Ctrl+D, Ctrl+A, ``/``) are prevented;
- ``{"focus": true}`` from the kernel focuses the canvas (after Up or a breadcrumb, whose button took
  the page's focus), so the editor's keys (Ctrl+Z, arrows) work on at once;
- dragging: once the kernel lifts the dragged nodes, the helper moves them on each animation frame
  (:mod:`nbflow.widget.liftdrag`), so a drag keeps the screen's pace whatever the kernel's.

Without anywidget installed the editor takes ipycanvas' events and still works; the gestures that
need the helper have keyboard equivalents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbflow.widget.liftdrag import DRAG_JS

__all__ = ["ESM", "make_helper"]

ESM = DRAG_JS + r"""
function render({ model, el }) {
  el.style.display = "none";
  let tries = 0;
  function attach() {
    const root = el.closest(".nbflow-editor");
    const canvas = root && root.querySelector("canvas.nbflow-canvas");
    if (!canvas) {
      if (tries++ < 600) requestAnimationFrame(attach);
      return;
    }
    canvas.setAttribute("data-lm-suppress-shortcuts", "true");
    canvas.setAttribute("data-jp-suppress-context-menu", "true");
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * canvas.width / r.width,
               y: (e.clientY - r.top) * canvas.height / r.height };
    };
    const on = (e) => e.target === canvas;
    // focus without scrolling: a plain focus() (ipycanvas' on a press) scrolls a canvas that is partly
    // off screen, so the page moves under the pointer and a click lands elsewhere (a 30 px drag)
    const focus = () => { if (document.activeElement !== canvas) canvas.focus({ preventScroll: true }); };
    // every event goes numbered, per view, so the kernel handles them in the user's order (ipykernel 7
    // can let one comm message overtake another: nbflow/widget/inputorder.py)
    const view = Math.random().toString(36).slice(2);
    let seq = 0;
    const send = (m) => model.send({ ...m, view, seq: ++seq });
    const mods = (e) => ({ shift: e.shiftKey, ctrl: e.ctrlKey, meta: e.metaKey });
    let exit = false;  // Escape was the last key: Tab and Shift+Tab leave the canvas
    root.addEventListener("mousedown", (e) => {
      if (!on(e)) return;
      exit = false;
      if (e.button !== 0) { e.stopPropagation(); e.preventDefault(); return; }
      focus();  // before ipycanvas' own focus(), which then has nothing to do
      send({ event: "down", ...mods(e), ...at(e) });
    }, true);
    root.addEventListener("mouseup", (e) => {
      if (!on(e)) return;
      if (e.button !== 0) { e.stopPropagation(); e.preventDefault(); return; }
      send({ event: "up", ...at(e) });
    }, true);
    root.addEventListener("mouseout", (e) => {
      if (on(e)) send({ event: "out", ...at(e) });
    }, true);
    root.addEventListener("wheel", (e) => {
      if (on(e)) send({ event: "wheel", dx: e.deltaX, dy: e.deltaY });
    }, true);
    root.addEventListener("dblclick", (e) => {
      if (on(e)) send({ event: "dblclick", ...at(e) });
    }, true);
    root.addEventListener("contextmenu", (e) => {
      if (!on(e)) return;
      e.preventDefault();
      e.stopPropagation();
      focus();
      send({ event: "contextmenu", ...at(e) });
    }, true);
    const taken = new Set(["a", "c", "d", "g", "v", "x", "y", "z"]);
    model.on("msg:custom", (m) => {  // the kernel gives the keys back to the canvas (after Up, a crumb)
      if (m && m.focus) focus();
    });
    root.addEventListener("keydown", (e) => {
      if (!on(e)) return;
      if (e.key === "Tab" && exit && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.stopPropagation();  // not to ipycanvas (which prevents every default): the browser moves on
        exit = false;
        send({ event: "leave", back: e.shiftKey });
        return;
      }
      send({ event: "key", key: e.key, ...mods(e) });
      if (!["Shift", "Control", "Alt", "Meta"].includes(e.key)) exit = e.key === "Escape";
      const k = e.key.toLowerCase();
      if (((e.ctrlKey || e.metaKey) && taken.has(k)) || e.key === "/" || e.key === "Backspace"
          || e.key === " " || e.key.startsWith("Arrow") || e.key === "ContextMenu") e.preventDefault();
    }, true);
    let last = 0;
    const report = () => {
      const w = Math.floor(root.getBoundingClientRect().width);
      if (w > 0 && w !== last) { last = w; send({ event: "resize", width: w }); }
    };
    new ResizeObserver(() => requestAnimationFrame(report)).observe(root);
    dragger(model, canvas, at, send).then((drag) => send({ event: "attached", drag }));
  }
  attach();
}
export default { render };
"""


def make_helper(on_event: Callable[[dict[str, Any]], None]) -> Any:
    """The helper widget calling ``on_event(message)`` for each browser event, or None without anywidget.

    Its ``sprite`` (a hidden ipycanvas ``Canvas``) is what the helper moves during a drag.
    """
    try:
        import anywidget
        import traitlets
        from ipywidgets import Widget, widget_serialization
    except ImportError:
        return None

    class CanvasEvents(anywidget.AnyWidget):
        _esm = ESM
        sprite = traitlets.Instance(Widget, allow_none=True).tag(sync=True, **widget_serialization)

    helper = CanvasEvents(layout={"display": "none"})
    helper.on_msg(lambda _w, content, _buffers: on_event(content) if isinstance(content, dict) else None)
    return helper
