"""Drawing the keyboard's marks on the overlay, in world units: the focus ring (dashed orange, outside
the solid blue selection outline) and the wire being made by keyboard (its chosen ports ringed, the
candidate target outlined, the candidate wire dashed, the port being chosen named)."""

from __future__ import annotations

from typing import Any

from nbflow.widget.geometry import bezier_controls
from nbflow.widget.style import EDGE_WIDTH, PORT_R, port_color

__all__ = ["FOCUS_COLOR", "WIRE_COLOR", "draw_key_focus"]

#: The focus ring's colour: orange, dashed, so it never reads as the (solid blue) selection.
FOCUS_COLOR = "#e8710a"
#: The keyboard wire's chosen ports and target.
WIRE_COLOR = "#188038"


def draw_key_focus(c: Any, vm: Any) -> None:
    """The focus ring and the keyboard wire of ``vm`` (a view model), on a canvas in world units."""
    z = vm.view.zoom
    boxes = vm.boxes
    nid = vm.keyboard_focus
    if nid is not None and nid in boxes:
        b, gap = boxes[nid], 7.0 / z
        c.stroke_style = FOCUS_COLOR
        c.line_width = 2.5 / z
        c.set_line_dash([7.0 / z, 4.0 / z])
        c.stroke_rect(b.x - gap, b.y - gap, b.w + 2 * gap, b.h + 2 * gap)
        c.set_line_dash([])
    kw = vm.key_wire
    p = boxes[kw.node].outputs.get(kw.outputs[kw.out_i]) if kw is not None and kw.node in boxes else None
    if kw is None or p is None:  # (a cell may have changed the flow while wiring)
        return
    _ring(c, p.x, p.y, z)
    dst = kw.dst
    if dst is None:
        _label(c, p.x + 12 / z, p.y, f"{p.name}: {p.type}", z, "left")
        return
    t, port = dst.split(".", 1)
    tb = boxes.get(t)
    q = tb.inputs.get(port) if tb is not None else None
    if tb is None or q is None:
        return
    gap = 4.0 / z
    c.stroke_style = WIRE_COLOR
    c.line_width = 2.0 / z
    c.set_line_dash([4.0 / z, 3.0 / z])
    c.stroke_rect(tb.x - gap, tb.y - gap, tb.w + 2 * gap, tb.h + 2 * gap)
    c.stroke_style = port_color(p.type)
    c.line_width = (EDGE_WIDTH + 1.5) / max(z, 0.5)
    c.set_line_dash([9.0 / z, 5.0 / z])
    c.begin_path()
    c.move_to(p.x, p.y)
    c.bezier_curve_to(*bezier_controls(p.x, p.y, q.x, q.y), q.x, q.y)
    c.stroke()
    c.set_line_dash([])
    _ring(c, q.x, q.y, z)
    if kw.stage == "port":
        _label(c, q.x - 12 / z, q.y, f"{q.name}: {q.type}", z, "right")


def _ring(c: Any, x: float, y: float, z: float) -> None:
    c.stroke_style = WIRE_COLOR
    c.line_width = 3.0 / z
    c.stroke_circle(x, y, PORT_R + 4.0 / z)


def _label(c: Any, x: float, y: float, text: str, z: float, align: str) -> None:
    """``text`` at 12 px on screen with a white halo, so it reads over nodes and wires."""
    c.font = f"bold {12.0 / z:.2f}px sans-serif"
    c.text_align = align
    c.text_baseline = "middle"
    c.line_width = 3.0 / z
    c.stroke_style = "#ffffff"
    c.stroke_text(text, x, y)
    c.fill_style = WIRE_COLOR
    c.fill_text(text, x, y)
