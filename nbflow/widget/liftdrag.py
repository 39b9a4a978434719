"""Dragging nodes and frames in the browser: the kernel draws what is lifted once, the browser moves it.

A drag step that goes browser -> kernel -> Python drawing -> canvas commands -> browser runs at the
kernel's pace, and on a busy machine that pace is low (a 500-node flow: 16-21 updates/s, gaps of
200-400 ms). Editors users know (LiteGraph/ComfyUI, Rivet) move the dragged nodes client-side, and
so does the editor when the DOM helper (:mod:`nbflow.widget.dom`) runs:

1. the first move past the slop lifts the selection (nodes, and frames with what they hold, see
   :mod:`nbflow.widget.moves`), as without the helper: the kernel redraws the lower layers without
   it; it then draws what is lifted once into a hidden *sprite* canvas and sends the helper a
   ``lift`` message (the view, where the sprite sits, the grabbed node's or frame's start, the snap
   step and the wires of the lifted nodes and reroute points);
2. the helper copies the sprite once into a small canvas of its own (``div.nbflow-drag`` above the
   editor's canvas holds it); on each animation frame in which the snapped position changed it moves
   that canvas by a CSS transform (a compositor-only move: nothing large is redrawn) and redraws the
   wires bent to it on a canvas the size of their bounds only; no layout is read in those frames;
3. the kernel keeps following the moves in the view model (no drawing), and on mouse-up drops the
   nodes as one undoable move from the same pointer position, redraws, and sends ``drop``: the helper
   clears its canvas once that frame is on screen.

Python stays the one source of truth for the flow: the browser only shows a picture of what the
kernel commits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ipycanvas import Canvas

from nbflow.widget.draw import ERROR_COLOR, Renderer
from nbflow.widget.geometry import NodeBox
from nbflow.widget.layers import ALL_LAYERS, Layer
from nbflow.widget.style import EDGE_WIDTH, GRID_SNAP, PORT_R, port_color
from nbflow.widget.undo import Throttle
from nbflow.widget.viewmodel import ViewModel

__all__ = ["DRAG_JS", "ClientDrag", "lift_area", "lift_message", "sprite_origin"]

#: How much larger than the view the sprite canvas is (a selection wider than the view still moves whole).
SPRITE_SCALE = 2
#: Opacity of the dragged nodes (as the overlay draws them without the helper).
DRAG_ALPHA = 0.92


def _rects(vm: ViewModel, boxes: list[NodeBox]) -> list[tuple[float, float, float, float]]:
    """``(x, y, w, h)`` of the lifted nodes and frames."""
    lifted = vm.lifted_frames
    return [(b.x, b.y, b.w, b.h) for b in boxes] + [(f.x, f.y, f.w, f.h) for f in vm.flow.spec.layout.frames
                                                     if f.id in lifted]


def sprite_origin(vm: ViewModel, boxes: list[NodeBox], size: tuple[int, int]) -> tuple[float, float, int, int]:
    """``(left, top, w, h)``: the screen point where the sprite's top-left corner shows before the
    pointer moves, and the size of its part in use: the lifted nodes' and frames' bounding box plus room
    for ports and the selection outline (centred on the pointer when the box is larger than the sprite)."""
    v = vm.view
    pad = (PORT_R + 4) * v.zoom + 6
    rs = _rects(vm, boxes)
    x0, y0 = v.to_screen(min(r[0] for r in rs), min(r[1] for r in rs))
    x1, y1 = v.to_screen(max(r[0] + r[2] for r in rs), max(r[1] + r[3] for r in rs))
    px, py = vm.mouse
    left = x0 - pad if x1 - x0 + 2 * pad <= size[0] else px - size[0] / 2
    top = y0 - pad if y1 - y0 + 2 * pad <= size[1] else py - size[1] / 2
    w, h = min(size[0], math.ceil(x1 - x0 + 2 * pad)), min(size[1], math.ceil(y1 - y0 + 2 * pad))
    return float(round(left)), float(round(top)), w, h


def lift_area(vm: ViewModel, boxes: list[NodeBox]) -> tuple[float, float, float, float]:
    """The world rectangle the lifted nodes and their wires covered (curves by their control points),
    grown by the selection outline, the ports and a pixel of antialiasing: what the lift redraws."""
    lifted, points = {b.id for b in boxes}, vm.lifted_points()
    z = vm.view.zoom
    pad = PORT_R + 4 + 6 / z
    rs = _rects(vm, boxes)
    xs0, ys0 = [r[0] - pad for r in rs], [r[1] - pad for r in rs]
    xs1, ys1 = [r[0] + r[2] + pad for r in rs], [r[1] + r[3] + pad for r in rs]
    wpad = 2 * EDGE_WIDTH + 2 / z
    for e in vm.edges:
        if e.src_node in lifted or e.dst_node in lifted or (e.src, e.dst) in points:
            for x1, y1, x2, y2 in e.segments():
                k = max(40.0, abs(x2 - x1) * 0.5)
                xs0.append(min(x1, x2 - k) - wpad)
                xs1.append(max(x1 + k, x2) + wpad)
                ys0.append(min(y1, y2) - wpad)
                ys1.append(max(y1, y2) + wpad)
    return min(xs0), min(ys0), max(xs1), max(ys1)


def lift_message(vm: ViewModel, area: tuple[float, float, int, int]) -> dict[str, Any]:
    """What the helper needs to move the lifted nodes as the view model would: the view, the grabbed
    node's start and grab offset (world units), the snap step, the sprite's place and size (``area``,
    from :func:`sprite_origin`), and the wires to the lifted nodes and reroute points (``[points, src
    moves, dst moves, colour, dashed, moves]``: output, reroute points and input in world units, a
    curve between each two; ``moves`` says which points move). With frames lifted the wires are drawn
    above the sprite (``above``), so the frames' fill never hides them."""
    d = vm.drag
    assert d is not None
    lifted, points = vm.lifted, vm.lifted_points()
    wires = []
    for e in vm.edges:
        ms, md, idx = e.src_node in lifted, e.dst_node in lifted, points.get((e.src, e.dst), set())
        if ms or md or idx:
            wires.append([[[e.x1, e.y1], *([x, y] for x, y in e.via), [e.x2, e.y2]], ms, md,
                          port_color(e.type) if e.ok else ERROR_COLOR, not e.ok,
                          [ms, *(j in idx for j in range(len(e.via))), md]])
    v = vm.view
    return {"event": "lift", "zoom": v.zoom, "ox": v.ox, "oy": v.oy, "x0": d.origin[0], "y0": d.origin[1],
            "gx": d.grab_dx, "gy": d.grab_dy, "step": GRID_SNAP if vm.snap else 0.0, "left": area[0],
            "top": area[1], "w": area[2], "h": area[3], "alpha": DRAG_ALPHA, "line": EDGE_WIDTH, "wires": wires,
            "above": bool(vm.lifted_frames)}


class ClientDrag:
    """Editor mixin: pointer moves; hands the moving of lifted nodes to the browser while the helper is
    attached."""

    if TYPE_CHECKING:
        vm: ViewModel
        renderer: Renderer
        helper: Any
        throttle: Throttle

        def redraw(self, layers: frozenset[Layer] | set[Layer] = ALL_LAYERS) -> None: ...
        def _apply(self, layers: frozenset[Layer], *, panels: bool = False) -> None: ...
        def _later(self, key: str, delay: float, fn: Any) -> None: ...

    # -- pointer moves (the DOM helper's, or ipycanvas' without it) ------------------------------------

    def _mouse_move(self, x: float, y: float) -> None:
        if self.vm.drag is None:
            self.vm.mouse = (x, y)  # remembered for wheel zoom, paste and the context menu key
        if self.follow_move(x, y):
            return
        if not self.throttle(x, y):
            # too soon after the last frame: draw the latest position when the interval is over, so a
            # drag never stalls waiting for the next move (trailing edge of the throttle)
            self._later("move-flush", self.throttle.interval, self._flush_move)
            return
        self.draw_move(self.vm.mouse_move(x, y))

    def _flush_move(self) -> None:
        pending = self.throttle.pending
        if pending is not None and self.throttle(*pending):
            self.draw_move(self.vm.mouse_move(*pending))

    def _mouse_out(self, x: float, y: float) -> None:
        self.follow_move(x, y)  # where the pointer left: the drop of a drag the browser showed
        self._apply(self.vm.mouse_out())

    # -- the browser's drag -----------------------------------------------------------------------

    def _init_client_drag(self, width: int, height: int) -> Canvas | None:
        """The hidden sprite canvas the helper moves (None without the helper)."""
        self.client_ready = False  # set when the helper says it can show drags
        self.client_lift = False  # a drag the browser is showing now
        self.sprite = Canvas(width=width * SPRITE_SCALE, height=height * SPRITE_SCALE) if self.helper else None
        if self.helper is not None:
            self.helper.sprite = self.sprite
        return self.sprite

    def on_client_drag(self, msg: dict[str, Any]) -> None:
        """The helper is ready (``attached``), or says where the pointer is during a drag (``drag``)."""
        if msg.get("event") == "attached":
            self.client_ready = bool(msg.get("drag"))
        else:
            self.follow_move(float(msg.get("x", 0.0)), float(msg.get("y", 0.0)))

    def follow_move(self, x: float, y: float) -> bool:
        """During a drag the browser shows, the kernel only follows the pointer: True when it took the move."""
        if not self.client_lift:
            return False
        self.vm.mouse_move(x, y)
        return True

    def draw_move(self, layers: frozenset[Layer]) -> None:
        """Draw a drag step: lift the nodes into the browser's hands the first time, else redraw ``layers``."""
        if self.client_lift:
            return  # the browser draws this drag
        d = self.vm.drag
        if not ((self.vm.lifted or self.vm.lifted_frames) and d is not None and self.client_ready
                and self.sprite is not None and self.helper is not None):
            self.redraw(layers)
            return
        boxes = [self.vm.boxes[i] for i in d.starts if i in self.vm.boxes]  # where they were: the helper moves them
        self.client_lift = self.renderer.client_drag = True
        size = (self.sprite.width, self.sprite.height)
        area = sprite_origin(self.vm, boxes, size)
        self.renderer.draw_lifted(self.sprite, boxes, area[0], area[1], lift_area(self.vm, boxes))
        self.helper.send(lift_message(self.vm, area))

    def end_lift(self) -> None:
        """The drag the browser showed is over (dropped, cancelled): the kernel's frame takes over."""
        if not self.client_lift or self.vm.lifted or self.vm.lifted_frames:
            return
        self.client_lift = self.renderer.client_drag = False
        if self.helper is not None:
            self.helper.send({"event": "drop"})
        if self.sprite is not None:
            self.sprite.clear()


DRAG_JS = r"""
function dragger(model, canvas, at, send) {
  let sprite = null, lift = null, cur = null, pressed = false, shown = null, raf = 0, gen = 0;
  let rect = null, sent = 0, box = null, img = null, wires = null, s = 1, used = null;
  const ref = model.get("sprite");
  const ready = (async () => {
    if (typeof ref === "string" && ref.startsWith("IPY_MODEL_") && model.widget_manager) {
      const m = await model.widget_manager.get_model(ref.slice(10));
      sprite = m && m.canvas ? m.canvas : null;
    }
    return sprite !== null;
  })().catch(() => false);
  const layer = (cls) => {
    const c = document.createElement("canvas");
    c.className = cls;
    c.style.cssText = "position:absolute;left:0;top:0;will-change:transform;transform-origin:0 0";
    return c;
  };
  function place() {  // layout is read here, once a drag, never in the animation frames
    if (!box) {
      box = document.createElement("div");
      box.className = "nbflow-drag";
      box.style.cssText = "position:absolute;pointer-events:none;z-index:1;overflow:hidden;contain:strict;display:none";
      wires = layer("nbflow-drag-wires");
      img = layer("nbflow-drag-sprite");
      box.append(wires, img);
    }
    const parent = canvas.parentElement;
    if (getComputedStyle(parent).position === "static") parent.style.position = "relative";
    if (box.parentElement !== parent) parent.appendChild(box);
    const c = rect = canvas.getBoundingClientRect(), p = parent.getBoundingClientRect();
    s = c.width / canvas.width;  // CSS pixels per canvas pixel
    box.style.left = (c.left - p.left - parent.clientLeft + parent.scrollLeft) + "px";
    box.style.top = (c.top - p.top - parent.clientTop + parent.scrollTop) + "px";
    box.style.width = c.width + "px";
    box.style.height = c.height + "px";
    const L = lift;
    img.width = L.w;  // the lifted nodes, drawn once; each frame only moves this small canvas
    img.height = L.h;
    img.style.width = L.w * s + "px";
    img.style.height = L.h * s + "px";
    img.style.opacity = L.alpha;
    img.getContext("2d").drawImage(sprite, 0, 0, L.w, L.h, 0, 0, L.w, L.h);
    img.style.transform = `translate(${L.left * s}px,${L.top * s}px)`;
    wires.style.display = "none";
    wires.style.zIndex = L.above ? "1" : "";  // over lifted frames, whose fill would hide them
    used = null;
    box.style.display = "block";
  }
  function drawWires(L, dx, dy) {  // the wires of the lifted nodes, on a canvas the size of their bounds
    const lines = L.wires.map(([pts, ms, md, color, dashed, mv]) => {
      const n = pts.length - 1;
      const q = pts.map(([x, y], i) => ((mv ? mv[i] : (i === 0 && ms) || (i === n && md))
        ? [(x + dx) * L.zoom + L.ox, (y + dy) * L.zoom + L.oy] : [x * L.zoom + L.ox, y * L.zoom + L.oy]));
      return [q, color, dashed];
    });
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [q] of lines) {
      for (let i = 0; i + 1 < q.length; i++) {
        const [a, b] = q[i], [c, d] = q[i + 1], k = Math.max(40 * L.zoom, Math.abs(c - a) * 0.5);
        x0 = Math.min(x0, a, c - k); x1 = Math.max(x1, a + k, c);
        y0 = Math.min(y0, b, d); y1 = Math.max(y1, b, d);
      }
    }
    const pad = L.line * L.zoom + 2;
    x0 = Math.max(0, Math.floor(x0 - pad)); y0 = Math.max(0, Math.floor(y0 - pad));
    x1 = Math.min(canvas.width, Math.ceil(x1 + pad)); y1 = Math.min(canvas.height, Math.ceil(y1 + pad));
    if (!(x1 > x0 && y1 > y0)) { wires.style.display = "none"; used = null; return; }
    const w = x1 - x0, h = y1 - y0;
    if (w > wires.width || h > wires.height || w * h * 4 < wires.width * wires.height) {
      wires.width = Math.ceil(w * 1.25);  // grown (or shrunk) now and then, not every frame
      wires.height = Math.ceil(h * 1.25);
      wires.style.width = wires.width * s + "px";
      wires.style.height = wires.height * s + "px";
      used = null;
    }
    const ctx = wires.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (used) ctx.clearRect(0, 0, used[0], used[1]);
    used = [w, h];
    ctx.setTransform(L.zoom, 0, 0, L.zoom, L.ox - x0, L.oy - y0);
    ctx.lineWidth = L.line;
    for (const [pts, ms, md, color, dashed, mv] of L.wires) {
      const n = pts.length - 1;
      const on = (i) => (mv ? mv[i] : (i === 0 && ms) || (i === n && md));  // does point i move?
      const px = (i) => pts[i][0] + (on(i) ? dx : 0);
      const py = (i) => pts[i][1] + (on(i) ? dy : 0);
      ctx.strokeStyle = color;
      ctx.setLineDash(dashed ? [6, 4] : []);
      ctx.beginPath();
      for (let i = 0; i < n; i++) {  // one curve per stretch between reroute points, as the kernel draws
        const a = px(i), b = py(i), c = px(i + 1), d = py(i + 1), k = Math.max(40, Math.abs(c - a) * 0.5);
        ctx.moveTo(a, b);
        ctx.bezierCurveTo(a + k, b, c - k, d, c, d);
      }
      ctx.stroke();
    }
    wires.style.transform = `translate(${x0 * s}px,${y0 * s}px)`;
    wires.style.display = "block";
  }
  function paint() {
    raf = lift ? requestAnimationFrame(paint) : 0;
    if (!lift || !cur) return;
    const L = lift;
    let nx = (cur.x - L.ox) / L.zoom - L.gx, ny = (cur.y - L.oy) / L.zoom - L.gy;
    if (L.step) { nx = Math.round(nx / L.step) * L.step; ny = Math.round(ny / L.step) * L.step; }
    const dx = nx - L.x0, dy = ny - L.y0, key = dx + "," + dy;
    if (key === shown) return;
    shown = key;
    if (L.wires.length) drawWires(L, dx, dy);
    const x = Math.round(L.left + dx * L.zoom) * s, y = Math.round(L.top + dy * L.zoom) * s;
    img.style.transform = `translate(${x}px,${y}px)`;  // a compositor-only move: nothing is redrawn
  }
  canvas.addEventListener("mousedown", (e) => { if (e.button === 0) { pressed = true; cur = at(e); } });
  // while the browser moves the nodes, the kernel gets a few positions a second, not every move
  // (each message costs the page a frame's worth of work); mouse-up and mouse-out carry the last one
  // every move goes to the kernel numbered (dom.py), and never also through ipycanvas: the kernel would
  // only drop that copy, and moves are the most frequent message
  canvas.parentElement.addEventListener("mousemove", (e) => {
    if (e.target !== canvas) return;
    e.stopPropagation();
    if (!lift || !pressed) {
      const p = at(e);
      if (pressed) cur = p;
      send({ event: "move", ...p });
      return;
    }
    cur = { x: (e.clientX - rect.left) * canvas.width / rect.width,
            y: (e.clientY - rect.top) * canvas.height / rect.height };
    if (e.timeStamp - sent >= 100) { sent = e.timeStamp; send({ event: "drag", ...cur }); }
  }, true);
  canvas.addEventListener("mouseup", () => { pressed = false; });
  canvas.addEventListener("mouseout", () => { pressed = false; });
  model.on("msg:custom", (msg) => {
    if (msg.event === "lift" && sprite) {
      gen++;
      lift = msg;
      shown = null;
      place();
      if (!raf) raf = requestAnimationFrame(paint);
    } else if (msg.event === "drop" && lift) {
      const mine = ++gen;
      lift = null;
      // the kernel's frame with the dropped nodes came before this message: hide once it is drawn
      requestAnimationFrame(() => requestAnimationFrame(() => {
        if (mine === gen && box) box.style.display = "none";
      }));
    }
  });
  return ready;
}
"""
