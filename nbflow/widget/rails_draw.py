"""Drawing an opened body's edge ports (see :mod:`~nbflow.widget.rails`), in screen pixels.

Each edge gets a light strip with a heading (``inputs`` / ``outputs``); each port is a dot in its
type's colour with its name beside it (12 px whatever the zoom) and a dotted link to the node it
stands for; a wire dragged from a left-edge port starts at its dot.
"""

from __future__ import annotations

from ipycanvas import Canvas

from nbflow.widget.geometry import bezier_controls
from nbflow.widget.rails import EDGE_X, HIT_R, TOP, BodyView, RailPort, rail_ports
from nbflow.widget.style import EDGE_WIDTH, PORT_R, fit_text, port_color

__all__ = ["draw_rails", "wire_from_rail"]

_STRIP = 4.0
_LABEL_W = 96.0
_TEXT = "#1f2933"
_MUTED = "#6b7280"


def wire_from_rail(vm: BodyView) -> RailPort | None:
    """The left-edge port the wire being dragged starts at, if it does."""
    d = vm.drag
    if not vm.rails or d is None or d.mode != "wire" or abs(d.sx - EDGE_X) > HIT_R:
        return None
    return next((r for r in rail_ports(vm) if r.side == "in" and abs(r.y - d.sy) <= HIT_R), None)


def _link(c: Canvas, vm: BodyView, r: RailPort) -> None:
    b = vm.boxes.get(r.node)
    p = None if b is None else (b.outputs.get("value") if r.side == "in" else b.inputs.get("value"))
    if p is None:
        return
    px, py = vm.view.to_screen(p.x, p.y)
    c.begin_path()
    c.move_to(r.x, r.y)
    if r.side == "in":
        c.bezier_curve_to(*bezier_controls(r.x, r.y, px, py), px, py)
    else:
        c.bezier_curve_to(*bezier_controls(px, py, r.x, r.y), px, py)
    c.stroke()


def draw_rails(c: Canvas, vm: BodyView) -> None:
    """The body's input ports down the left edge and its outputs down the right, linked to their nodes."""
    if not vm.rails:
        return
    rails = rail_ports(vm)
    w, h = vm.view.width, vm.view.height
    c.fill_style = "rgba(31,111,235,0.10)"
    c.fill_rect(0, 0, _STRIP, h)
    c.fill_rect(w - _STRIP, 0, _STRIP, h)
    c.font = "bold 12px sans-serif"
    c.text_baseline = "middle"
    c.fill_style = _MUTED
    c.text_align = "left"
    c.fill_text("inputs", EDGE_X - 4, TOP - 22)
    c.text_align = "right"
    c.fill_text("outputs", w - EDGE_X + 4, TOP - 22)
    c.line_width = 1.5
    c.set_line_dash([3, 4])
    c.stroke_style = "#7b8794"
    for r in rails:
        if not r.is_new:
            _link(c, vm, r)
    c.set_line_dash([])
    c.font = "12px sans-serif"
    for r in rails:
        c.fill_style = "#ffffff" if r.is_new else port_color(r.type)
        c.stroke_style = port_color(r.type) if not r.is_new else "#7b8794"
        c.begin_path()
        c.arc(r.x, r.y, PORT_R + 1, 0, 6.2832)
        c.fill()
        c.stroke()
        label = fit_text("+ new" if r.is_new else r.name, _LABEL_W, 12)[0]
        c.fill_style = _MUTED if r.is_new else _TEXT
        c.text_align = "left" if r.side == "in" else "right"
        c.fill_text(label, r.x + 10 if r.side == "in" else r.x - 10, r.y)
    start = wire_from_rail(vm)
    d = vm.drag
    if start is not None and d is not None and d.moved:
        x, y = vm.view.to_screen(d.x, d.y)
        c.stroke_style = "#27ae60" if d.target is not None and not d.reason else port_color(start.type)
        c.line_width = EDGE_WIDTH + 1
        c.set_line_dash([8, 5])
        c.begin_path()
        c.move_to(start.x, start.y)
        c.bezier_curve_to(*bezier_controls(start.x, start.y, x, y), x, y)
        c.stroke()
        c.set_line_dash([])
