"""Dragging in a 500-node flow in real JupyterLab and Notebook 7: the figures ``bench/canvas_browser.py`` prints.

Measures screen updates per second and the longest gap while a node is dragged, with the flow fitted
in view and at zoom 1, next to Chromium's own frame rate on an empty page in the same run, and saves
what the canvas looks like at both zooms and in the middle of a drag. The absolute targets (>= 50
updates/s, no gap over 50 ms) are judged by the bench script, which prints them; on a loaded machine
the browser itself paints fewer frames, so this test checks what the design promises whatever the
load: every browser frame in which the pointer moved paints the dragged node (the drag no longer
waits for the kernel), the node is seen moving with the pointer while the original place is empty,
the drop lands exactly where it was shown (snapped when snapping is on) as one undoable move. A frame
holding six nodes, dragged by its title bar, takes the same client-side path, measured the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.canvas_browser import browser_baseline, frame_grab, measure_drag, open_scale, scale_notebook
from nbflow.widget.draw_layout import shade
from nbflow.widget.style import hex_to_rgb

from .jupyter import JupyterServer
from .test_canvas_browser import OUT, browser_context, close, kernel, pixel, server, shot

__all__ = ["browser_context", "server"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

_NEAREST = """
import json
from nbflow.widget.style import category_color, hex_to_rgb
vm = editor.vm
cx, cy = vm.view.width / 2, vm.view.height / 2
b = min(vm.boxes.values(), key=lambda b: sum((a - c) ** 2 for a, c in zip(vm.view.to_screen(b.x + b.w / 2, b.y + 13), (cx, cy))))
sx, sy = vm.view.to_screen(b.x + 30, b.y + 8)
print(json.dumps({"id": b.id, "x": b.x, "y": b.y, "sx": sx, "sy": sy, "zoom": vm.view.zoom,
                  "width": vm.view.width, "rgb": list(hex_to_rgb(category_color(b.category)))}))
"""

# the helper's drag layers (the moved sprite above the wires), read at canvas pixel (x, y)
_LAYER_PIXEL = """([x, y]) => {
  const box = document.querySelector('div.nbflow-drag');
  if (!box || box.style.display === 'none') return null;
  const r = document.querySelector('canvas.nbflow-canvas').getBoundingClientRect();
  const s = r.width / document.querySelector('canvas.nbflow-canvas').width;
  for (const c of [box.querySelector('canvas.nbflow-drag-sprite'), box.querySelector('canvas.nbflow-drag-wires')]) {
    if (!c || c.style.display === 'none') continue;
    const q = c.getBoundingClientRect();
    const cx = Math.floor((r.left + x * s - q.left) / s), cy = Math.floor((r.top + y * s - q.top) / s);
    if (cx < 0 || cy < 0 || cx >= c.width || cy >= c.height) continue;
    const d = Array.from(c.getContext('2d').getImageData(cx, cy, 1, 1).data);
    if (d[3] > 0) return d;
  }
  return [0, 0, 0, 0];
}"""

_SHOWN = "() => { const c = document.querySelector('div.nbflow-drag'); return c && c.style.display {} 'none'; }"


_MINIMAP_CLEAR = """\
mx, my, mw, mh = editor.vm.minimap.rect(); v = editor.vm.view; under = []
for b in editor.vm.boxes.values():
    (x0, y0), (x1, y1) = v.to_screen(b.x, b.y), v.to_screen(b.x + b.w, b.y + b.h)
    if x0 < mx + mw and x1 > mx and y0 < my + mh and y1 > my:
        under.append(b.id)
print(under)"""


def _drag_and_check(page: Any, by: tuple[float, float], *, snap: bool, name: str | None = None) -> None:
    """Drag the node nearest the centre by ``by`` canvas pixels with the mouse; mid-drag the helper shows
    it at the new place (snapped when snapping) and the old place is empty; the drop lands there."""
    kernel(page, f"editor.vm.snap = {snap}")
    n = json.loads(kernel(page, _NEAREST))
    z = n["zoom"]
    nx, ny = n["x"] + by[0] / z, n["y"] + by[1] / z
    if snap:
        nx, ny = round(nx / 20) * 20, round(ny / 20) * 20
    canvas = page.locator("canvas.nbflow-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = box["width"] / n["width"]
    px, py = box["x"] + n["sx"] * scale, box["y"] + n["sy"] * scale
    page.mouse.move(px, py)
    page.mouse.down()
    page.mouse.move(px + 8, py + 4)  # past the slop: the kernel lifts the node into the browser's hands
    page.wait_for_function(_SHOWN.replace("{}", "!=="), timeout=60_000)
    page.mouse.move(px + by[0] * scale, py + by[1] * scale, steps=10)
    # where the grabbed point of the header now is (snapped: the node jumps to the grid)
    gx, gy = n["sx"] + (nx - n["x"]) * z, n["sy"] + (ny - n["y"]) * z
    page.wait_for_function(f"() => {{ const f = ({_LAYER_PIXEL})([{int(gx)}, {int(gy)}]); return f && f[3] > 150; }}",
                           timeout=30_000)
    got = page.evaluate(_LAYER_PIXEL, [int(gx), int(gy)])
    # the node at the new place: its header (far out, the selection outline can cover that pixel)
    assert any(close(tuple(got[:3]), tuple(c), tol=30) for c in (n["rgb"], (31, 111, 235))), (got, n["rgb"])
    assert not close(pixel(page, int(n["sx"]), int(n["sy"])), tuple(n["rgb"]), tol=30)  # hidden at the old
    if name:
        page.screenshot(path=str(OUT / name),
                        clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]})
    page.mouse.up()
    page.wait_for_function(_SHOWN.replace("{}", "==="), timeout=60_000)
    x, y = json.loads(kernel(page, f"import json; print(json.dumps(flow.position('{n['id']}')))"))
    assert abs(x - nx) <= 1 and abs(y - ny) <= 1, ((x, y), (nx, ny))  # where it was shown
    assert kernel(page, "print(editor.vm.history.labels[0][-1])") == "move node"  # one undoable step
    kernel(page, "editor.vm.undo(); editor.redraw(); editor.vm.snap = False")


def _frame_drag_and_check(page: Any, by: tuple[float, float], name: str) -> None:
    """At zoom 1, drag the frame (six nodes) by its title bar by ``by`` canvas pixels: mid-drag the
    helper shows its title bar at the new place and the old place is empty; the drop lands there as
    one undoable frame move (taken back)."""
    g = frame_grab(page, one_to_one=True)
    f = g["frame"]
    bar = tuple(round(v) for v in hex_to_rgb(shade(f["color"], 0.12)))
    canvas = page.locator("canvas.nbflow-canvas")
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = canvas.bounding_box()
    scale = box["width"] / g["width"]
    px, py = box["x"] + g["x"] * scale, box["y"] + g["y"] * scale
    page.mouse.move(px, py)
    page.mouse.down()
    page.mouse.move(px + 8, py + 4)
    page.wait_for_function(_SHOWN.replace("{}", "!=="), timeout=60_000)
    page.mouse.move(px + by[0] * scale, py + by[1] * scale, steps=10)
    tx, ty = int(g["x"] + 200), int(g["y"])  # on the title bar, right of its title
    page.wait_for_function(f"() => {{ const f = ({_LAYER_PIXEL})([{int(tx + by[0])}, {int(ty + by[1])}]);"
                           f" return f && f[3] > 150 && Math.abs(f[2] - {bar[2]}) < 20; }}", timeout=30_000)
    assert not close(pixel(page, tx, ty), bar, tol=8)  # gone from its old place
    page.screenshot(path=str(OUT / name), clip={"x": box["x"], "y": box["y"], "width": box["width"],
                                                "height": box["height"]})
    page.mouse.up()
    page.wait_for_function(_SHOWN.replace("{}", "==="), timeout=60_000)
    at = json.loads(kernel(page, "import json; f = flow.spec.layout.frames[0]; print(json.dumps([f.x, f.y]))"))
    assert abs(at[0] - f["x"] - by[0]) <= 1 and abs(at[1] - f["y"] - by[1]) <= 1, (at, f)
    assert kernel(page, "print(editor.vm.history.labels[0][-1])") == "move frame"
    kernel(page, "editor.vm.undo(); editor.redraw()")


@pytest.mark.parametrize("app", ["lab/tree", "notebooks"], ids=["jupyterlab", "notebook7"])
def test_drag_in_a_500_node_flow(server: JupyterServer, browser_context: Any, capsys: pytest.CaptureFixture[str],
                                 app: str) -> None:
    nb7 = app == "notebooks"
    sfx = "-nb7" if nb7 else ""
    (server.root / "scale.ipynb").write_text(json.dumps(scale_notebook(500)))
    page = open_scale(browser_context, f"{server.url}/{app}/scale.ipynb")
    assert kernel(page, "print(len(flow.nodes), len(flow.edges))") == "500 400"
    before = kernel(page, "print(flow.dumps())")
    if not nb7:
        shot(page, "20-500-nodes-fit.png")
    base = browser_baseline(browser_context)
    where = "Notebook 7" if nb7 else "JupyterLab"
    fit = measure_drag(page, f"{where}, fit", seconds=2.0)
    _drag_and_check(page, (61, 43), snap=False, name=f"23-500-nodes-dragging-fit{sfx}.png")
    kernel(page, "editor.vm.view.zoom = 1.0; editor.vm.view.ox = editor.vm.view.oy = 0.0; editor.redraw()")
    page.wait_for_timeout(500)
    if not nb7:
        shot(page, "21-500-nodes-1to1.png")
    one = measure_drag(page, f"{where}, 1:1", seconds=2.0)
    with capsys.disabled():
        print()
        print(base.line())
        for f in (fit, one):
            print(f.line(base))
            print(f.cost_line())
    for f in (fit, one):
        # each browser frame in which the pointer moved painted the drag: the kernel sets no pace
        assert f.moves_per_s > 0 and f.updates_per_s >= 0.8 * f.moves_per_s, f.line(base)
    assert kernel(page, "print(flow.dumps())") == before  # each drag was undone
    # the flow's bottom-right corner at zoom 1: the minimap (bottom right) lies over empty canvas, not a node
    kernel(page, "v = editor.vm.view; v.ox = v.width - 200.0 - 5960; v.oy = v.height - 140.0 - 3528; editor.redraw()")
    assert kernel(page, "print(editor.vm.minimap.shown(editor.vm.boxes))") == "True"
    assert kernel(page, _MINIMAP_CLEAR) == "[]"
    _drag_and_check(page, (97, 61), snap=False, name=f"22-500-nodes-dragging{sfx}.png")
    _drag_and_check(page, (33, 17), snap=True)
    assert kernel(page, "print(flow.dumps())") == before
    # a frame holding six nodes, dragged by its title bar: the same client-side path
    kernel(page, "editor.vm.fit(); editor.redraw()")
    frames = [measure_drag(page, f"{where}, frame fit", seconds=2.0, grab=frame_grab(page, one_to_one=False)),
              measure_drag(page, f"{where}, frame 1:1", seconds=2.0, grab=frame_grab(page, one_to_one=True))]
    with capsys.disabled():
        for f in frames:
            print(f.line(base))
            print(f.cost_line())
    for f in frames:
        assert f.moves_per_s > 0 and f.updates_per_s >= 0.8 * f.moves_per_s, f.line(base)
    _frame_drag_and_check(page, (83, 57), f"24-500-nodes-dragging-frame{sfx}.png")
    kernel(page, "editor.vm.undo(); editor.redraw()")  # the frame itself
    assert kernel(page, "print(flow.dumps())") == before
    page.close()
