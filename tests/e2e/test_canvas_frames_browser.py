"""Frames and reroute points in real JupyterLab 4 and Notebook 7, by mouse and keyboard.

Shift-click two nodes and press Shift+G: a frame around them; double-click its title bar and write its
title and comment in the Params tab; drag the title bar: the frame moves with its nodes; Ctrl+C / Ctrl+V
paste the frame with its nodes; double-click a wire: a reroute point, dragged and deleted; a Shift-drag
box selects the frame with its nodes, which move (drawn by the browser) and delete together; L lays the
flow out keeping the frame around its nodes; every step undone with Ctrl+Z. Each step is checked in the kernel's flow and in the exported JSON file. In Notebook
7 the canvas' context menu adds a comment (dragged by its title bar, box-selected and deleted, kept clear
of the nodes by L) and a reroute point. Screenshots go to ``test-output/e2e/``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .jupyter import JupyterServer
from .test_canvas_browser import (
    WAIT,
    browser_context,
    button,
    drag,
    kernel,
    open_and_run,
    server,
    shot,
    to_page,
    until,
)
from .test_canvas_editing_browser import click, finish

__all__ = ["browser_context", "server"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def message(page: Any, text: str) -> None:
    """Wait for the editor's message line to say ``text``; on a timeout, say what it says instead."""
    try:
        page.wait_for_function("(t) => { const m = document.querySelector('.nbflow-message');"
                               " return m && m.innerText.includes(t); }", arg=text, timeout=WAIT)
    except Exception as exc:
        now = page.evaluate("() => document.querySelector('.nbflow-message')?.innerText")
        raise AssertionError(f"waited for {text!r}; the message line says {now!r}") from exc


def state(page: Any, code: str) -> Any:
    """A JSON value computed in the kernel (``code`` is an expression over ``flow`` and ``editor``)."""
    return json.loads(kernel(page, f"import json; print(json.dumps({code}))"))


def exported(page: Any, server: JupyterServer, name: str) -> dict[str, Any]:
    """Click Export and read the flow file it wrote."""
    button(page, "Export").click()
    message(page, f"exported {name}")
    return json.loads((server.root / name).read_text())  # type: ignore[no-any-return]


#: The editor's DOM helper shows a drag (its layer above the canvas is displayed).
LIFTED = "() => { const c = document.querySelector('div.nbflow-drag'); return c && c.style.display !== 'none'; }"


def box_drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Shift-drag from canvas pixel ``start`` to ``end``: a selection box."""
    (sx, sy), (ex, ey) = to_page(page, *start), to_page(page, *end)
    page.keyboard.down("Shift")
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")


def focus_canvas(page: Any) -> None:
    """Click the empty top-left corner of the canvas (the minimap is bottom right), so keys go to it again."""
    click(page, 8, 8)


_HIDE_BOTTOM_JS = """(px) => {
  const canvas = document.querySelector('canvas.nbflow-canvas');
  canvas.scrollIntoView({ block: 'end' });
  let box = canvas.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /auto|scroll/.test(getComputedStyle(box).overflowY)))
    box = box.parentElement;
  const scroller = box || document.scrollingElement;
  scroller.scrollTop -= px;
  const bottom = box ? box.getBoundingClientRect().bottom : window.innerHeight;
  return canvas.getBoundingClientRect().bottom - bottom;
}"""


def hide_bottom(page: Any, px: int) -> None:
    """Scroll the page so the canvas' bottom ``px`` pixels are out of view (focusing it would scroll)."""
    hidden = page.evaluate(_HIDE_BOTTOM_JS, px)
    assert abs(hidden - px) <= 2, hidden


def positions(page: Any, *ids: str) -> list[list[float]]:
    return state(page, f"[list(flow.position(i)) for i in {list(ids)!r}]")  # type: ignore[no-any-return]


def wire_point(page: Any, dst: str) -> tuple[float, float]:
    """A canvas point on the wire into ``dst`` (the editor is at zoom 1 from the origin)."""
    x, y = state(page, "__import__('nbflow.widget.geometry').widget.geometry.bezier_points("
                       f"*next(e for e in editor.vm.edges if e.dst == {dst!r}).segments()[0])[8]")
    return x, y


def test_frames_and_reroute_points_in_jupyterlab(server: JupyterServer, browser_context: Any) -> None:
    (server.root / "frames.ipynb").write_bytes((server.root / "canvas_e2e.ipynb").read_bytes())
    page = open_and_run(browser_context, f"{server.url}/lab/tree/frames.ipynb")
    page.wait_for_function("() => document.querySelector('canvas.nbflow-canvas')"
                           ".hasAttribute('data-lm-suppress-shortcuts')", timeout=WAIT)

    # Shift-click the lower row's two nodes, Shift+G: a frame around them
    click(page, 350, 223)
    click(page, 580, 223, shift=True)
    page.keyboard.press("Shift+G")
    message(page, "added frame frame_1 around 2 nodes")
    f = state(page, "flow.spec.layout.frames[0].model_dump()")
    assert (f["x"], f["y"]) == (230, 150) and f["x"] + f["w"] > 680 and f["title"] == "Frame"

    # double-click its title bar: title and comment in the Params tab, each one undoable edit
    px, py = to_page(page, 400, 175)
    page.mouse.dblclick(px, py)
    panel = page.locator(".nbflow-frame-panel")
    panel.wait_for(state="visible", timeout=WAIT)
    panel.locator("input[type=text]").fill("Picture")
    panel.locator("input[type=text]").press("Enter")
    message(page, "frame_1: set title")
    panel.locator("textarea").fill("The offline image model draws a test pattern.")
    panel.locator("textarea").press("Tab")
    message(page, "frame_1: set text")
    saved = exported(page, server, "product.json")
    assert saved["layout"]["frames"] == [{"id": "frame_1", "title": "Picture",
                                          "text": "The offline image model draws a test pattern.",
                                          "x": 230, "y": 150, "w": f["w"], "h": f["h"], "color": "#dbe4ff"}]

    # drag the title bar: the frame moves with the two nodes inside; the rest stays; Ctrl+Z takes it back
    before = positions(page, "image_prompt", "picture", "copy")
    drag(page, (400, 175), (300, 195))
    message(page, "move frame with 2 nodes")
    after = positions(page, "image_prompt", "picture", "copy")
    assert after[2] == before[2]
    for (x0, y0), (x1, y1) in zip(before[:2], after[:2], strict=True):
        assert abs(x1 - x0 + 100) <= 2 and abs(y1 - y0 - 20) <= 2
    assert state(page, "flow.spec.layout.frames[0].x") == 230 + after[0][0] - before[0][0]
    page.keyboard.press("Control+z")
    message(page, "undo: move frame")
    assert positions(page, "image_prompt", "picture") == before[:2]

    # a reroute point: double-click the wire product -> image_prompt, drag the point, delete it, undo
    wx, wy = wire_point(page, "image_prompt.product")
    px, py = to_page(page, wx, wy)
    page.mouse.dblclick(px, py)
    # polled in the kernel: the helper's double-click and ipycanvas' second press come on two comms,
    # and a press that lands after the double-click clears the message line
    until(page, "print([len(w.via) for w in flow.spec.layout.wires])", "[1]")
    drag(page, (wx, wy), (120, 190))
    message(page, "move reroute point")
    via = state(page, "[p.model_dump() for p in flow.spec.layout.wires[0].via]")
    assert len(via) == 1 and abs(via[0]["x"] - 120) <= 2 and abs(via[0]["y"] - 190) <= 2
    edge = state(page, "[e.segments() for e in editor.vm.edges if e.dst == 'image_prompt.product'][0]")
    assert len(edge) == 2  # the wire is drawn through the point
    assert exported(page, server, "product.json")["layout"]["wires"] == [
        {"from": "product.value", "to": "image_prompt.product", "via": [{"x": via[0]["x"], "y": via[0]["y"]}]}]
    shot(page, "15-frames-reroute.png")
    click(page, via[0]["x"], via[0]["y"])  # select the point (and give the canvas the keys back)
    page.keyboard.press("Delete")
    message(page, "deleted a reroute point")
    assert state(page, "flow.spec.layout.wires") == []
    page.keyboard.press("Control+z")
    message(page, "undo: delete reroute point")
    assert len(state(page, "[w.from_ for w in flow.spec.layout.wires]")) == 1

    # click the frame's title, Ctrl+C, Ctrl+V at the pointer: a second frame with copies of its nodes
    click(page, 400, 175)
    view = state(page, "[editor.vm.view.ox, editor.vm.view.oy]")
    page.keyboard.press("Control+c")
    message(page, "copied 2 nodes and 1 frame")
    px, py = to_page(page, 40, 330)
    page.mouse.move(px, py)
    page.keyboard.press("Control+v")
    message(page, "pasted 2 nodes and 1 frame")
    saved = exported(page, server, "product.json")
    assert [f["id"] for f in saved["layout"]["frames"]] == ["frame_1", "frame_2"]
    assert {"image_prompt_2", "picture_2"} <= {n["id"] for n in saved["nodes"]}
    focus_canvas(page)
    page.keyboard.press("Control+z")
    message(page, "undo: paste")
    assert state(page, "[f.id for f in flow.spec.layout.frames]") == ["frame_1"]
    # Delete with the frame selected removes the frame, never its nodes (the paste panned the view to show
    # what it placed: back to where the frame was clicked)
    kernel(page, f"editor.vm.view.ox, editor.vm.view.oy = {view[0]}, {view[1]}; editor.redraw()")
    click(page, 400, 175)
    page.keyboard.press("Delete")
    message(page, "deleted frame frame_1")
    assert state(page, "[f.id for f in flow.spec.layout.frames]") == []
    assert state(page, "'picture' in flow.nodes and 'image_prompt' in flow.nodes")
    page.keyboard.press("Control+z")
    message(page, "undo: delete frame")

    # Shift-drag a box around the frame: it selects the frame and its two nodes (and the nodes it
    # touches); dragging one of them moves the frame too, drawn by the browser (its drag layer shows),
    # as one undo step; Delete takes the frame and the nodes; Ctrl+Z brings them back
    f = state(page, "flow.spec.layout.frames[0].model_dump()")
    before = positions(page, "image_prompt", "picture")
    corner = (f["x"] + f["w"] + 12, f["y"] + f["h"] + 12)
    assert state(page, f"editor.vm.hit{corner}.kind") == "empty"
    box_drag(page, corner, (f["x"] - 8, f["y"] - 8))
    message(page, "nodes and 1 frame selected")
    sel = state(page, "[sorted(editor.vm.selection), editor.vm.selected_frames]")
    assert {"image_prompt", "picture"} <= set(sel[0]) and sel[1] == ["frame_1"]  # and what the box touched
    n = f"{len(sel[0])} nodes"
    sx, sy = to_page(page, 350, 223)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 8, sy + 4)
    page.wait_for_function(LIFTED, timeout=WAIT)  # the browser moves the frame and its nodes
    page.mouse.move(sx, sy + 60, steps=8)
    shot(page, "17-frames-box-drag.png")
    page.mouse.up()
    message(page, f"move {n} and 1 frame")
    assert state(page, "flow.spec.layout.frames[0].y") == f["y"] + positions(page, "picture")[0][1] - before[1][1]
    assert abs(positions(page, "picture")[0][1] - before[1][1] - 60) <= 2
    page.keyboard.press("Delete")
    message(page, f"deleted {n} and 1 frame")
    assert state(page, "(len(flow.spec.layout.frames), 'picture' in flow.nodes)") == [0, False]
    page.keyboard.press("Control+z")
    message(page, f"undo: delete {n} and 1 frame")
    page.keyboard.press("Control+z")
    message(page, f"undo: move {n} and 1 frame")
    assert positions(page, "image_prompt", "picture") == before

    # L lays the flow out with the frame as one block, refitted around its two nodes; Ctrl+Z undoes it
    kernel(page, "flow.connect('image_prompt.text', 'picture.prompt')")
    focus_canvas(page)
    page.keyboard.press("l")
    message(page, "laid out 7 nodes and 1 frame")
    held = state(page, "sorted(__import__('nbflow.widget.frames').widget.frames.frame_members("
                       "flow.spec, editor.vm.boxes, flow.spec.layout.frames[0])[0])")
    assert held == ["image_prompt", "picture"]
    shot(page, "18-frames-auto-layout.png")
    page.keyboard.press("Control+z")
    message(page, "undo: auto-layout")
    assert positions(page, "image_prompt", "picture") == before
    assert state(page, "flow.run().status") == "succeeded"  # layout is not semantics
    finish(page)


def test_comment_and_reroute_from_the_context_menu_in_notebook_7(server: JupyterServer,
                                                                   browser_context: Any) -> None:
    (server.root / "nb7-frames.ipynb").write_bytes((server.root / "canvas_e2e.ipynb").read_bytes())
    page = open_and_run(browser_context, f"{server.url}/notebooks/nb7-frames.ipynb")
    kernel(page, "editor.path.value = 'nb7-frames.json'")

    def menu_item(command: str) -> tuple[float, float]:
        x, y = state(page, f"(lambda p: (p.x + 30, p.y + 16 + 24 * [i.command for i in p.items].index({command!r})))"
                           "(editor.vm.popup)")
        return x, y

    # right-click empty canvas, "Add comment here": a yellow comment frame at the pointer, also when the
    # canvas' bottom is off screen (the right-click focuses the canvas; the page must not scroll under it)
    hide_bottom(page, 30)
    px, py = to_page(page, 60, 360, scroll=False)
    top = "() => document.querySelector('canvas.nbflow-canvas').getBoundingClientRect().top"
    page.mouse.click(px, py, button="right")
    page.wait_for_function("() => document.querySelector('.nbflow-message') !== null", timeout=WAIT)
    page.wait_for_timeout(300)
    page.mouse.click(*to_page(page, *menu_item("comment_add"), scroll=False))
    message(page, "added comment frame_1")
    comment = exported(page, server, "nb7-frames.json")["layout"]["frames"][0]
    assert comment["title"] == "Comment" and comment["color"] == "#fff3bf"
    assert abs(comment["x"] - 60) <= 2 and abs(comment["y"] - 360) <= 2  # at the pointer
    assert page.evaluate(top) == pytest.approx(py - 360, abs=1)  # and the page did not scroll
    # a click on its title bar selects it where it is: the press focuses the canvas without scrolling
    # the page under the pointer (which would make the click a 30 px drag)
    page.evaluate("() => document.activeElement.blur()")
    page.mouse.click(*to_page(page, 210, 366, scroll=False))
    until(page, "print(editor.vm.selected_frame)", "frame_1")
    assert page.evaluate(top) == pytest.approx(py - 360, abs=1)
    assert state(page, "[flow.spec.layout.frames[0].x, flow.spec.layout.frames[0].y]") == [
        comment["x"], comment["y"]]
    page.evaluate("() => document.querySelector('canvas.nbflow-canvas').scrollIntoView({ block: 'nearest' })")
    # drag it by its title bar: the browser moves it (its drag layer shows); one undo step
    sx, sy = to_page(page, comment["x"] + 150, comment["y"] + 15)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 8, sy + 4)
    page.wait_for_function(LIFTED, timeout=WAIT)
    page.mouse.move(sx + 40, sy + 20, steps=6)
    page.mouse.up()
    message(page, "move frame")
    assert state(page, "[flow.spec.layout.frames[0].x, flow.spec.layout.frames[0].y]") == [
        comment["x"] + 40, comment["y"] + 20]
    focus_canvas(page)
    page.keyboard.press("Control+z")
    message(page, "undo: move frame")
    # a Shift-drag box around it selects it (and no node); Delete deletes it; L lays the flow out with
    # the comment clear of every node; each undone
    kernel(page, "editor.vm.view.oy = -140.0; editor.redraw()")  # its bottom is below this 400 px canvas
    x0, y0, x1, y1 = state(page, "(lambda f, v: [*v.to_screen(f.x - 8, f.y - 8), *v.to_screen(f.x + f.w + 8, "
                                 "f.y + f.h + 8)])(flow.spec.layout.frames[0], editor.vm.view)")
    box_drag(page, (x0, y0), (x1, y1))
    message(page, "1 frame selected")
    page.keyboard.press("Delete")
    message(page, "deleted 1 frame")
    page.keyboard.press("Control+z")
    message(page, "undo: delete 1 frame")
    kernel(page, "editor.vm.view.oy = 0.0; editor.redraw()")
    page.keyboard.press("l")
    message(page, "laid out 7 nodes and 1 frame")
    assert state(page, "[b.id for b in editor.vm.boxes.values() if __import__('nbflow.widget.arrange').widget"
                       ".arrange.overlaps((b.x, b.y, b.w, b.h), (lambda f: (f.x, f.y, f.w, f.h))("
                       "flow.spec.layout.frames[0]))]") == []
    page.keyboard.press("Control+z")
    message(page, "undo: auto-layout")

    # click a wire, Shift+R: a reroute point on it; the wire's menu straightens it again
    wx, wy = wire_point(page, "image_prompt.product")
    click(page, wx, wy)
    page.keyboard.press("Shift+R")
    message(page, "added a reroute point on product.value -> image_prompt.product")
    assert len(exported(page, server, "nb7-frames.json")["layout"]["wires"][0]["via"]) == 1
    shot(page, "16-nb7-comment.png")
    wx, wy = wire_point(page, "image_prompt.product")
    click(page, wx, wy, button="right")
    page.wait_for_timeout(300)
    click(page, *menu_item("straighten"))
    message(page, "straightened product.value -> image_prompt.product")
    assert "wires" not in exported(page, server, "nb7-frames.json")["layout"]
    focus_canvas(page)
    page.keyboard.press("Control+z")
    message(page, "undo: straighten wire")
    page.keyboard.press("Control+z")
    message(page, "undo: add reroute point")
    page.keyboard.press("Control+z")
    message(page, "undo: add comment")
    assert state(page, "(flow.spec.layout.frames, flow.spec.layout.wires)") == [[], []]
    finish(page)
