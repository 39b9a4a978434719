"""Drawing the view model on an ``ipycanvas.MultiCanvas`` with four layers: grid, edges, nodes, overlay.

Every redraw happens inside ``hold_canvas()``, so a frame is one widget message whatever the number
of layers. Shapes of one style are batched into one command (all node bodies, all headers, all port
dots), so a frame costs a few commands per node, mostly text. Nodes outside the view are culled and
small details are left out when zoomed far out. While a node is dragged it is drawn on the overlay
only, so a drag step redraws the overlay and nothing else; with the DOM helper attached the browser
moves it instead (``draw_lifted``, see :mod:`nbflow.widget.liftdrag`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from ipycanvas import Canvas, MultiCanvas, hold_canvas
from ipywidgets import Image

from nbflow.model.spec import FrameSpec
from nbflow.model.values import Media
from nbflow.widget.draw_layout import draw_frames, draw_points
from nbflow.widget.geometry import EdgeGeom, NodeBox, bezier_controls
from nbflow.widget.iterating import PinStates
from nbflow.widget.keydraw import draw_key_focus
from nbflow.widget.marks import draw_marks
from nbflow.widget.overlay import draw_box_rect, draw_minimap, draw_popup, draw_tooltip
from nbflow.widget.previews import wrap
from nbflow.widget.rails_draw import draw_rails, wire_from_rail
from nbflow.widget.style import (
    BACKGROUND,
    EDGE_WIDTH,
    GRID_MAJOR,
    GRID_MINOR,
    HEADER_H,
    MIN_TEXT_PX,
    PORT_R,
    PREVIEW_H,
    STATUS_COLORS,
    STATUS_RING,
    Detail,
    category_color,
    contrast,
    detail,
    fit_text,
    hex_to_rgb,
    port_color,
)
from nbflow.widget.viewmodel import Layer, ViewModel

__all__ = ["LAYER_INDEX", "Renderer", "far_titles", "preview_lines", "split_overlapping"]

LAYER_INDEX: dict[str, int] = {"grid": 0, "edges": 1, "nodes": 2, "minimap": 3, "overlay": 4}
_ORDER: tuple[Layer, ...] = ("grid", "edges", "nodes", "minimap", "overlay")
SELECT_COLOR = "#1f6feb"
ERROR_COLOR = "#d93025"


def split_overlapping(boxes: list[NodeBox]) -> tuple[list[NodeBox], list[NodeBox]]:
    """``(free, stacked)``: nodes that overlap no other (drawn batched, in any order) and nodes that
    overlap some other, in drawing order (each drawn whole, so the upper one covers the lower).

    A sweep over x: linear for a laid-out flow, whatever its size.
    """
    order = sorted(range(len(boxes)), key=lambda i: boxes[i].x)
    hit = [False] * len(boxes)
    active: list[int] = []
    for i in order:
        b = boxes[i]
        active = [j for j in active if boxes[j].x + boxes[j].w > b.x]
        for j in active:
            o = boxes[j]
            if o.y < b.y + b.h and b.y < o.y + o.h:
                hit[i] = hit[j] = True
        active.append(i)
    return [b for b, h in zip(boxes, hit, strict=True) if not h], [b for b, h in zip(boxes, hit, strict=True) if h]


def preview_lines(text: str, room: float, px: float, max_lines: int) -> list[str]:
    """``text`` wrapped into at most ``max_lines`` lines of ``room`` units at font size ``px``."""
    per_line = max(1, int(room / (px * 0.58)))
    if max_lines <= 1:
        return [fit_text(text, room, px)[0]]
    return wrap(text, per_line, max_lines)


def far_titles(boxes: list[NodeBox], lod: Detail) -> list[tuple[NodeBox, float, str]]:
    """Far out: ``(box, font size in world units, text)`` for each node whose title fits at >= 3 characters,
    at 13 px on screen if it fits so, else at ``MIN_TEXT_PX`` (never smaller), cut with an ellipsis."""
    out = []
    for b in boxes:
        for px in (lod.title_px, MIN_TEXT_PX / lod.zoom):
            if px > b.h - 2 or int((b.w - 10) / (px * 0.58)) < 3:
                continue
            out.append((b, px, fit_text(b.title, b.w - 10, px)[0]))
            break
    return out


class Renderer:
    """Draws a :class:`ViewModel` on a 4-layer MultiCanvas.

    Attributes:
        frames: how many frames (``draw`` calls) were sent; tests and the benchmark read it.
        client_drag: the browser shows the dragged nodes (from ``draw_lifted``): the overlay leaves them out.
        area: while set, ``(x0, y0, x1, y1)`` in world units: the edges and nodes layers redraw only there.
    """

    def __init__(self, vm: ViewModel, canvas: MultiCanvas) -> None:
        self.vm = vm
        self.canvas = canvas
        self.frames = 0
        self.client_drag = False
        self.area: tuple[float, float, float, float] | None = None
        self._images: dict[str, Image] = {}
        self.pins = PinStates()

    def layer(self, name: str) -> Canvas:
        return self.canvas[LAYER_INDEX[name]]

    def draw(self, layers: Iterable[Layer] = _ORDER) -> None:
        """Redraw the given layers as one frame (one widget message)."""
        todo = set(layers)
        if not todo:
            return
        with hold_canvas():
            for name in _ORDER:
                if name in todo:
                    getattr(self, f"draw_{name}")(self.layer(name))
        self.frames += 1

    # -- helpers ----------------------------------------------------------------------------------

    def _begin(self, c: Canvas) -> None:
        v = self.vm.view
        c.reset_transform()
        if self.area is None:
            c.clear()
        c.set_transform(v.zoom, 0, 0, v.zoom, v.ox, v.oy)
        if self.area is not None:  # a partial redraw (the caller saves and restores the clip)
            x0, y0, x1, y1 = self.area
            c.begin_path()
            c.rect(x0, y0, x1 - x0, y1 - y0)
            c.clip()
            c.clear_rect(x0, y0, x1 - x0, y1 - y0)

    def _region(self, margin: float) -> tuple[float, float, float, float]:
        """What to draw: the view (or the partial redraw's area), grown by ``margin`` world units."""
        if self.area is None:
            return self.vm.view.visible(margin=margin)
        x0, y0, x1, y1 = self.area
        return x0 - margin, y0 - margin, x1 + margin, y1 + margin

    def _visible_boxes(self) -> list[NodeBox]:
        x0, y0, x1, y1 = self._region(20)
        lifted = self.vm.lifted
        return [b for b in self.vm.boxes.values()
                if b.id not in lifted and b.x <= x1 and b.x + b.w >= x0 and b.y <= y1 and b.y + b.h >= y0]

    def image_widget(self, media: Media) -> Image:
        """One Image widget per distinct image, so redraws never resend its bytes."""
        key = media.sha256
        img = self._images.get(key)
        if img is None:
            if media.data is not None:
                img = Image(value=media.data, format=media.mime.split("/")[-1])
            else:
                img = Image.from_url(media.url or "")
            if len(self._images) > 256:
                self._images.clear()
            self._images[key] = img
        return img

    # -- layers -----------------------------------------------------------------------------------

    def draw_grid(self, c: Canvas) -> None:
        v = self.vm.view
        c.reset_transform()
        c.clear()
        c.fill_style = BACKGROUND
        c.fill_rect(0, 0, v.width, v.height)
        c.set_transform(v.zoom, 0, 0, v.zoom, v.ox, v.oy)
        x0, y0, x1, y1 = v.visible()
        for step, color in ((GRID_MINOR, "#e8ebef"), (GRID_MAJOR, "#d5dae1")):
            if step * v.zoom < 8:
                continue
            c.stroke_style = color
            c.line_width = 1 / v.zoom
            c.begin_path()
            gx = np.floor(x0 / step) * step
            while gx <= x1:
                c.move_to(gx, y0)
                c.line_to(gx, y1)
                gx += step
            gy = np.floor(y0 / step) * step
            while gy <= y1:
                c.move_to(x0, gy)
                c.line_to(x1, gy)
                gy += step
            c.stroke()

    def draw_edges(self, c: Canvas) -> None:
        """Frames (behind everything), then the wires and their reroute points."""
        self._begin(c)
        vm = self.vm
        draw_frames(c, vm)
        lifted, points = vm.lifted, vm.lifted_points()
        x0, y0, x1, y1 = self._region(60)
        edges = [e for e in vm.edges
                 if e.src_node not in lifted and e.dst_node not in lifted and (e.src, e.dst) not in points
                 and (b := e.bounds())[0] <= x1 and b[2] >= x0 and b[1] <= y1 and b[3] >= y0]
        self._edge_paths(c, edges)
        draw_points(c, vm, edges)

    def _edge_paths(self, c: Canvas, edges: list[EdgeGeom]) -> None:
        groups: dict[str, list[EdgeGeom]] = {}
        broken: list[EdgeGeom] = []
        sel = self.vm.selected_edge
        chosen: list[EdgeGeom] = []
        for e in edges:
            if sel is not None and (e.src, e.dst) == sel:
                chosen.append(e)
            elif not e.ok:
                broken.append(e)
            else:
                groups.setdefault(port_color(e.type), []).append(e)
        c.line_width = EDGE_WIDTH
        for color, es in groups.items():
            c.stroke_style = color
            self._curves(c, es)
        if broken:
            c.stroke_style = ERROR_COLOR
            c.set_line_dash([6, 4])
            self._curves(c, broken)
            c.set_line_dash([])
        if chosen:
            c.stroke_style = SELECT_COLOR
            c.line_width = EDGE_WIDTH * 2.2
            self._curves(c, chosen)

    @staticmethod
    def _curves(c: Canvas, edges: list[EdgeGeom]) -> None:
        c.begin_path()
        for e in edges:
            for x1, y1, x2, y2 in e.segments():  # one curve, or one per stretch between reroute points
                c.move_to(x1, y1)
                c.bezier_curve_to(*bezier_controls(x1, y1, x2, y2), x2, y2)
        c.stroke()

    def draw_nodes(self, c: Canvas) -> None:
        self._begin(c)
        boxes = self._visible_boxes()
        free, stacked = split_overlapping(boxes)
        lod = detail(self.vm.view.zoom)
        self._boxes(c, free, lod)
        for b in stacked:  # overlapping nodes are drawn whole, one after the other (the later on top)
            self._boxes(c, [b], lod)

    def _boxes(self, c: Canvas, boxes: list[NodeBox], lod: Detail) -> None:
        if not boxes:
            return
        vm = self.vm
        xs = np.array([b.x for b in boxes])
        ys = np.array([b.y for b in boxes])
        ws = np.array([b.w for b in boxes])
        hs = np.array([b.h for b in boxes])
        c.fill_style = "#ffffff"
        c.fill_rects(xs, ys, ws, hs)
        c.fill_styled_rects(xs, ys, ws, np.full(len(boxes), HEADER_H),
                            np.array([hex_to_rgb(category_color(b.category)) for b in boxes]))
        if lod.far:  # far out the body is the status: one block of colour per node
            st = vm.status
            ran = [b for b in boxes if b.id in st]
            if ran:
                c.fill_styled_rects(np.array([b.x + 1 for b in ran]), np.array([b.y + HEADER_H for b in ran]),
                                    np.array([b.w - 2 for b in ran]), np.array([b.h - HEADER_H - 1 for b in ran]),
                                    np.array([hex_to_rgb(STATUS_COLORS.get(st[b.id], "#999999")) for b in ran]))
        else:
            c.fill_style = "#f1f3f6"
            c.fill_rects(xs + 1, ys + hs - PREVIEW_H, ws - 2, np.full(len(boxes), PREVIEW_H - 1))
        c.stroke_style = "#b8c0cc"
        c.line_width = 1
        c.stroke_rects(xs, ys, ws, hs)
        bad = [b for b in boxes if b.problem or vm.status.get(b.id) == "failed" or b.id in vm.problems]
        if bad:
            c.stroke_style = ERROR_COLOR
            c.line_width = max(2.0, 2.5 / lod.zoom)
            for b in bad:
                c.stroke_rect(b.x, b.y, b.w, b.h)
        sel = [b for b in boxes if b.id in vm.selection]
        if sel:
            c.stroke_style = SELECT_COLOR
            c.line_width = max(3.0, 3.0 / lod.zoom)
            for b in sel:
                c.stroke_rect(b.x - 2, b.y - 2, b.w + 4, b.h + 4)
        if not lod.far:
            self._status_marks(c, boxes)
        self._ports(c, boxes, lod.zoom)
        self._titles(c, boxes, lod)
        if lod.port_labels:
            self._port_labels(c, boxes, lod)
        if lod.previews:
            self._previews(c, boxes, lod)
        draw_marks(c, boxes, self.pins.get(vm.flow), vm.status, lod.zoom)  # pin marks, source badges

    def _status_marks(self, c: Canvas, boxes: list[NodeBox]) -> None:
        """A status dot on a white disc, so it stands out on every header colour."""
        st = self.vm.status
        with_status = [b for b in boxes if b.id in st]
        if not with_status:
            return
        cx = np.array([b.x + b.w - 13 for b in with_status])
        cy = np.array([b.y + HEADER_H / 2 for b in with_status])
        c.fill_style = STATUS_RING
        c.fill_circles(cx, cy, 8.5)
        c.fill_styled_circles(cx, cy, 5.5, np.array([hex_to_rgb(STATUS_COLORS.get(st[b.id], "#999999"))
                                                     for b in with_status]))
        c.stroke_style = "#1f2933"
        c.line_width = 1
        c.stroke_circles(cx, cy, 5.5)

    @staticmethod
    def _ports(c: Canvas, boxes: list[NodeBox], zoom: float) -> None:
        ports = [p for b in boxes for p in (*b.inputs.values(), *b.outputs.values())]
        if not ports:
            return
        px = np.array([p.x for p in ports])
        py = np.array([p.y for p in ports])
        c.fill_styled_circles(px, py, PORT_R, np.array([hex_to_rgb(port_color(p.type)) for p in ports]))
        c.stroke_style = "#ffffff"
        c.line_width = 1.5
        c.stroke_circles(px, py, PORT_R)
        hollow = [p for p in ports if p.type.startswith("list[") or (p.is_input and not p.required)]
        if hollow and zoom >= 0.25:
            c.fill_style = "#ffffff"
            c.fill_circles(np.array([p.x for p in hollow]), np.array([p.y for p in hollow]), PORT_R - 2.5)

    def _titles(self, c: Canvas, boxes: list[NodeBox], lod: Detail) -> None:
        c.text_baseline = "middle"
        c.font = f"bold {lod.title_px:.1f}px sans-serif"
        if lod.far:
            self._far_titles(c, boxes, lod)
            return
        c.fill_style = "#ffffff"
        c.text_align = "left"
        for b in boxes:
            room = b.w - 32 - (len(b.type) * 11 * 0.58 + 8 if lod.type_names else 0)
            c.fill_text(fit_text(b.title, room, lod.title_px)[0], b.x + 8, b.y + HEADER_H / 2)
        if lod.type_names:
            c.font = "11px sans-serif"
            c.text_align = "right"
            c.fill_style = "rgba(255,255,255,0.9)"
            for b in boxes:
                c.fill_text(b.type, b.x + b.w - 26, b.y + HEADER_H / 2)

    def _far_titles(self, c: Canvas, boxes: list[NodeBox], lod: Detail) -> None:
        """Far out, each title across its node: across the body when it fits there, else across the whole
        node (header too), at 13 px on screen or down to ``MIN_TEXT_PX`` so that at least 3 characters fit;
        a node too small for that gets no title (its tooltip tells it). The body keeps its status colour."""
        c.text_align = "center"
        st = self.vm.status
        font = ""
        for b, px, text in far_titles(boxes, lod):
            if font != (font := f"bold {px:.1f}px sans-serif"):
                c.font = font
            bg = STATUS_COLORS.get(st[b.id], "#999999") if b.id in st else "#ffffff"
            ink = "#ffffff" if contrast("#ffffff", bg) > contrast("#1f2933", bg) else "#1f2933"
            body = b.h - HEADER_H
            cy = b.y + HEADER_H + body / 2 if px <= body else b.y + b.h / 2
            if px > body:  # over the header too: a halo keeps it legible on both colours
                c.stroke_style = "#1f2933" if ink == "#ffffff" else "#ffffff"
                c.line_width = px * 0.18
                c.stroke_text(text, b.x + b.w / 2, cy)
            c.fill_style = ink
            c.fill_text(text, b.x + b.w / 2, cy)

    @staticmethod
    def _port_labels(c: Canvas, boxes: list[NodeBox], lod: Detail) -> None:
        px = lod.label_px
        c.font = f"{px:.1f}px sans-serif"
        c.text_baseline = "middle"
        c.fill_style = "#2d3436"
        c.text_align = "left"
        for b in boxes:
            half = b.w / 2 - 14
            for p in b.inputs.values():
                c.fill_text(fit_text(p.name, half, px)[0], p.x + 10, p.y)
        c.text_align = "right"
        for b in boxes:
            half = b.w / 2 - 14
            for p in b.outputs.values():
                c.fill_text(fit_text(p.name, half, px)[0], p.x - 10, p.y)

    def _previews(self, c: Canvas, boxes: list[NodeBox], lod: Detail) -> None:
        vm = self.vm
        px = lod.preview_px
        c.font = f"{px:.1f}px sans-serif"
        c.text_align = "left"
        c.text_baseline = "middle"
        texts: list[tuple[NodeBox, str, bool, float]] = []
        for b in boxes:
            pv = vm.previews.get(b.id)
            cy = b.y + b.h - PREVIEW_H / 2
            if b.id in vm.problems:
                texts.append((b, vm.problems[b.id].message, True, b.w - 16))
                continue
            if b.problem:
                texts.append((b, b.problem, True, b.w - 16))
                continue
            if pv is None:
                st = vm.status.get(b.id)
                if st:
                    texts.append((b, st, False, b.w - 16))
                continue
            room = b.w - 16
            if pv.kind == "image" and pv.media is not None:
                th = PREVIEW_H - 8
                c.draw_image(self.image_widget(pv.media), b.x + b.w - 8 - th, cy - th / 2, th, th)
                room -= th + 6
            texts.append((b, pv.text, vm.status.get(b.id) == "failed", room))
        line_h = px * 1.2
        for want_error in (False, True):
            group = [t for t in texts if t[2] == want_error]
            if not group:
                continue
            c.fill_style = ERROR_COLOR if want_error else "#4b5563"
            for b, text, _, room in group:
                lines = preview_lines(text, room, px, lod.preview_lines)
                top = b.y + b.h - PREVIEW_H / 2 - (len(lines) - 1) * line_h / 2
                for i, line in enumerate(lines):
                    c.fill_text(line, b.x + 8, top + i * line_h)

    def draw_minimap(self, c: Canvas) -> None:
        c.reset_transform()
        c.clear()
        draw_minimap(c, self.vm)

    def draw_overlay(self, c: Canvas) -> None:
        self._begin(c)
        vm = self.vm
        moved = [] if self.client_drag else vm.dragged_boxes()
        frames = [] if self.client_drag else vm.dragged_frames()
        if moved or frames:
            self._dragged(c, moved, frames)
        d = vm.drag
        if d is not None and d.mode == "wire" and d.moved and d.node in vm.boxes and wire_from_rail(vm) is None:
            self._loose_wire(c)
        draw_key_focus(c, vm)  # the focus ring and a wire being made by keyboard
        c.reset_transform()
        draw_rails(c, vm)
        draw_box_rect(c, vm.box_rect())
        if vm.popup is not None:
            draw_popup(c, vm.popup)
        if vm.tooltip is not None:
            draw_tooltip(c, vm.tooltip, vm.view.width, vm.view.height)

    def _dragged(self, c: Canvas, moved: list[NodeBox], frames: list[FrameSpec]) -> None:
        draw_frames(c, self.vm, frames)
        edges = self.vm.dragged_edges(moved)
        self._edge_paths(c, edges)
        draw_points(c, self.vm, edges)
        c.global_alpha = 0.92
        lod = detail(self.vm.view.zoom)
        free, stacked = split_overlapping(moved)
        self._boxes(c, free, lod)
        for b in stacked:
            self._boxes(c, [b], lod)
        c.global_alpha = 1.0

    def draw_lifted(self, c: Canvas, moved: list[NodeBox], left: float, top: float,
                    area: tuple[float, float, float, float]) -> None:
        """One frame: the dragged nodes and frames on the hidden canvas ``c`` the browser moves during
        the drag (its corner shows at screen point (``left``, ``top``) before the pointer moves), and the
        edges and nodes layers redrawn without them in ``area`` only (where they and their wires were)."""
        v = self.vm.view
        with hold_canvas():
            c.reset_transform()
            c.clear()
            c.set_transform(v.zoom, 0, 0, v.zoom, v.ox - left, v.oy - top)
            lifted = self.vm.lifted_frames
            draw_frames(c, self.vm, [f for f in self.vm.flow.spec.layout.frames if f.id in lifted])
            lod = detail(v.zoom)
            free, stacked = split_overlapping(moved)
            self._boxes(c, free, lod)
            for b in stacked:
                self._boxes(c, [b], lod)
            self.area = area
            try:
                for name in ("edges", "nodes"):
                    layer = self.layer(name)
                    layer.save()
                    getattr(self, f"draw_{name}")(layer)
                    layer.restore()
            finally:
                self.area = None
            self.draw_overlay(self.layer("overlay"))
        self.frames += 1

    def _loose_wire(self, c: Canvas) -> None:
        vm = self.vm
        d = vm.drag
        assert d is not None and d.node is not None
        p = vm.boxes[d.node].outputs.get(d.port or "")
        if p is None:
            return
        color = port_color(p.type)
        if d.target is not None:
            color = ERROR_COLOR if d.reason else "#27ae60"
        c.stroke_style = color
        c.line_width = EDGE_WIDTH + 1
        c.set_line_dash([8, 5])
        c.begin_path()
        c.move_to(p.x, p.y)
        c.bezier_curve_to(*bezier_controls(p.x, p.y, d.x, d.y), d.x, d.y)
        c.stroke()
        c.set_line_dash([])
        if d.reason:
            px = max(12.0, 11.0 / vm.view.zoom)
            c.font = f"bold {px:.1f}px sans-serif"
            c.text_align = "left"
            c.text_baseline = "bottom"
            c.fill_style = ERROR_COLOR
            c.fill_text(d.reason, d.x + 12, d.y - 8)

    def stats(self) -> dict[str, Any]:
        return {"frames": self.frames, "images": len(self._images)}
