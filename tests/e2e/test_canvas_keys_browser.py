"""The canvas by keyboard alone in Notebook 7, and snap (G) and auto-layout (L) pressed in JupyterLab.

Notebook 7: the canvas takes the focus without a click; Tab selects nodes in reading order, the arrows
move the selected node (and the canvas draws it there), Shift+L groups it into a loop, and Ctrl+Z takes
each step back; no key touches the notebook's cells. JupyterLab: G turns snapping on so a dragged node
lands on the grid, L lays the flow out exactly as ``auto_layout`` says. In both, keyboard only: a selection
built with the focus ring (Ctrl+arrows, Space, Ctrl+Shift+arrows), a wire made with W and one deleted with
Shift+W, and Tab / Shift+Tab leaving the canvas after Escape and Shift+Tab coming back. The kernel is polled for the model's
state, since a key event can reach the kernel after code sent later.
"""

from __future__ import annotations

from typing import Any

import pytest

from .jupyter import JupyterServer
from .test_canvas_browser import (
    HEADER,
    WAIT,
    browser_context,
    drag,
    kernel,
    message,
    open_and_run,
    server,
    shot,
    until,
    wait_pixel,
)
from .test_canvas_editing_browser import cells, click, finish

__all__ = ["browser_context", "server"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def focus_canvas(page: Any) -> None:
    """Give the canvas the keyboard focus the way Tab would (no mouse)."""
    page.locator("canvas.nbflow-canvas").focus()
    page.wait_for_function("() => document.activeElement"
                           " && document.activeElement.classList.contains('nbflow-canvas')", timeout=WAIT)


def test_keyboard_only_select_move_group_into_a_loop_and_undo_in_notebook_7(
        server: JupyterServer, browser_context: Any) -> None:
    (server.root / "nb7-keys.ipynb").write_bytes((server.root / "canvas_e2e.ipynb").read_bytes())
    page = open_and_run(browser_context, f"{server.url}/notebooks/nb7-keys.ipynb")
    n_cells = cells(page)
    focus_canvas(page)
    # reading order: product, prompt, copy, copy_out on the top row
    for _ in range(3):
        page.keyboard.press("Tab")
    until(page, "print(editor.vm.selected)", "copy")
    page.keyboard.press("Tab")
    until(page, "print(editor.vm.selected)", "copy_out")
    page.keyboard.press("Shift+Tab")
    until(page, "print(editor.vm.selected)", "copy")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    until(page, "print(*flow.position('copy'))", "500.0 130.0")
    # drawn at its new place (Notebook 7 narrows the canvas, so ask the view where that is on screen)
    sx, sy = (int(v) for v in kernel(page, "print(*(round(v) for v in editor.vm.view.to_screen(600, 143)))").split())
    wait_pixel(page, sx, sy, HEADER["AI"])
    # still the canvas' keys: focus stayed, and no cell was added or removed
    assert page.evaluate("() => document.activeElement.classList.contains('nbflow-canvas')")
    page.keyboard.press("Shift+L")
    message(page, "grouped 1 node into loop")
    gid = kernel(page, "print(editor.vm.selected)")
    until(page, f"print(flow.node('{gid}').type, 'copy' in flow.nodes)", "loop False")
    page.keyboard.press("Control+z")
    until(page, "print('copy' in flow.nodes, *flow.position('copy'))", "True 500.0 130.0")
    page.keyboard.press("Control+z")
    until(page, "print(*flow.position('copy'))", "500.0 30.0")  # one undo step per press
    page.keyboard.press("Control+z")
    until(page, "print(*flow.position('copy'))", "480.0 30.0")
    assert cells(page) == n_cells
    finish(page)


def test_snap_and_auto_layout_keys_in_jupyterlab(server: JupyterServer, browser_context: Any) -> None:
    (server.root / "keys-lab.ipynb").write_bytes((server.root / "canvas_e2e.ipynb").read_bytes())
    page = open_and_run(browser_context, f"{server.url}/lab/tree/keys-lab.ipynb")
    focus_canvas(page)
    page.keyboard.press("g")
    until(page, "print(editor.vm.snap, editor.snap_button.value)", "True True")
    drag(page, (130, 43), (173, 97))  # 'product' from (20, 30) by (43, 54)
    until(page, "p = flow.position('product'); print(p != (20.0, 30.0), p[0] % 20 == 0 and p[1] % 20 == 0)",
          "True True")
    page.keyboard.press("g")
    until(page, "print(editor.vm.snap)", "False")
    # L: the positions auto_layout works out for the flow as it is now
    kernel(page, "from nbflow.widget.arrange import auto_layout\n"
                 "expected = auto_layout(flow.spec, editor.vm.boxes)")
    focus_canvas(page)
    page.keyboard.press("l")
    message(page, "laid out 7 nodes")
    assert kernel(page, "print(all(flow.position(n) == (float(x), float(y)) for n, (x, y) in expected.items()),"
                        " len(expected) == len(flow.nodes))") == "True True"
    # the Params and Output tabs are on screen without scrolling
    for title in ("Params", "Output"):
        box = page.locator(".nbflow-editor .nbflow-tabs .lm-TabBar-tab", has_text=title).bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 1050
        assert 0 <= box["x"] and box["x"] + box["width"] <= 1700
    # zoom in by key until part of the flow is out of view: the minimap is drawn, and a click in it pans
    for _ in range(3):
        page.keyboard.press("+")
    until(page, "print(editor.vm.minimap.shown(editor.vm.boxes))", "True")
    mx, my = (int(v) for v in kernel(page, "mm, bs = editor.vm.minimap, editor.vm.boxes; b = bs['copy']; "
                                           "print(*(round(v) for v in mm.to_mini(b.x + b.w / 2, b.y + 8, "
                                           "mm.world(bs))))").split())
    wait_pixel(page, mx, my, HEADER["AI"])  # 'copy' in the minimap, in its category colour
    before = kernel(page, "print(round(editor.vm.view.ox), round(editor.vm.view.oy))")
    click(page, mx, my)
    until(page, f"print(f'{{round(editor.vm.view.ox)}} {{round(editor.vm.view.oy)}}' != '{before}')", "True")
    finish(page)


_COLOR_IN_JS = """([x0, y0, x1, y1, rgb]) => {
  const c = document.querySelector('canvas.nbflow-canvas');
  if (!c) return false;
  const d = c.getContext('2d').getImageData(x0, y0, x1 - x0 + 1, y1 - y0 + 1).data;
  for (let i = 0; i < d.length; i += 4)
    if ([0, 1, 2].every(k => Math.abs(d[i + k] - rgb[k]) <= 12)) return true;
  return false;
}"""


def wait_color_in(page: Any, rect: tuple[int, int, int, int], rgb: tuple[int, int, int]) -> None:
    """Wait until some canvas pixel inside ``rect`` (x0, y0, x1, y1) has colour ``rgb``."""
    page.wait_for_function(_COLOR_IN_JS, arg=[*rect, list(rgb)], timeout=WAIT)


def canvas_focused(page: Any, focused: bool) -> None:
    page.wait_for_function("(want) => (document.activeElement !== null && document.activeElement.classList"
                           ".contains('nbflow-canvas')) === want", arg=focused, timeout=WAIT)


FOCUS_RING = (232, 113, 10)
WIRE_RING = (24, 128, 56)
SEL = "print(editor.vm.keyboard_focus, *editor.vm.selection)"


@pytest.mark.parametrize("app", ["lab/tree", "notebooks"])
def test_keyboard_multi_select_wire_and_leave_the_canvas(app: str, server: JupyterServer,
                                                         browser_context: Any) -> None:
    """Keyboard only: build a selection with the focus ring and Space, delete and undo it, wire
    image_prompt.text to picture.prompt with W, delete a wire with Shift+W, and leave the canvas by Tab."""
    name = f"keys-{app.split('/')[0]}.ipynb"
    (server.root / name).write_bytes((server.root / "canvas_e2e.ipynb").read_bytes())
    page = open_and_run(browser_context, f"{server.url}/{app}/{name}")
    focus_canvas(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Control+ArrowRight")  # the focus moves, the selection stays
    until(page, SEL, "prompt product")
    wait_color_in(page, (245, 20, 420, 26), FOCUS_RING)  # the dashed ring above 'prompt' (y 30)
    page.keyboard.press(" ")
    page.keyboard.press("Control+ArrowDown")
    page.keyboard.press("Control+Shift+ArrowRight")
    until(page, SEL, "picture product prompt picture")
    message(page, "focus on picture, 3 nodes selected")
    if app == "lab/tree":
        shot(page, "31-keyboard-select.png")
    page.keyboard.press("Delete")
    until(page, "print(sorted(flow.nodes))", "['copy', 'copy_out', 'image_out', 'image_prompt']")
    page.keyboard.press("Control+z")
    until(page, "print(len(flow.nodes), len(flow.edges))", "7 5")
    # W from image_prompt (fifth in reading order): its output, then picture, then picture.prompt
    for _ in range(5):
        page.keyboard.press("Tab")
    until(page, "print(editor.vm.selected)", "image_prompt")
    page.keyboard.press("w")
    page.keyboard.press("Enter")
    until(page, "kw = editor.vm.key_wire; print(kw and kw.stage, kw and kw.dst)", "target picture.prompt")
    message(page, "wire image_prompt.text -> node picture")
    # the ring on picture.prompt (world 480, 246; Notebook 7's narrower canvas may have panned to it)
    px, py = (int(v) for v in kernel(page, "print(*(round(v) for v in editor.vm.view.to_screen(480, 246)))").split())
    wait_color_in(page, (px + 6, py - 6, px + 12, py + 6), WIRE_RING)
    if app == "lab/tree":
        shot(page, "30-keyboard-wire.png")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    until(page, "print(('image_prompt.text', 'picture.prompt') in flow.edges)", "True")
    message(page, "wired image_prompt.text -> picture.prompt")
    page.keyboard.press("Control+z")
    until(page, "print(('image_prompt.text', 'picture.prompt') in flow.edges)", "False")
    page.keyboard.press("Control+Shift+Z")
    until(page, "print(('image_prompt.text', 'picture.prompt') in flow.edges)", "True")
    # Shift+W: the focused node's wires, inputs first; Delete takes the second away
    page.keyboard.press("Shift+W")
    page.keyboard.press("Shift+W")
    until(page, "print(*editor.vm.selected_edge)", "image_prompt.text picture.prompt")
    page.keyboard.press("Delete")
    until(page, "print(len(flow.edges))", "5")
    # Escape, then Tab leaves the canvas; Shift+Tab comes back and walks from the last node
    page.keyboard.press("Escape")
    until(page, "print(editor.vm.escaped)", "True")
    page.keyboard.press("Tab")
    canvas_focused(page, False)
    message(page, "Tab left the canvas")
    page.keyboard.press("Shift+Tab")
    canvas_focused(page, True)
    page.keyboard.press("Shift+Tab")
    until(page, "print(editor.vm.selected)", "image_out")
    page.keyboard.press("Escape")  # and Shift+Tab leaves backwards
    page.keyboard.press("Shift+Tab")
    canvas_focused(page, False)
    message(page, "Shift+Tab left the canvas")
    until(page, "print(len(flow.nodes), len(flow.edges))", "7 5")
    finish(page)
