"""Editor essentials, legibility and run feedback in real JupyterLab 4 and Notebook 7 (mouse and keys).

Right-click opens the canvas' own menu (never the notebook's cell menu); Shift-click and Shift-drag
select several nodes; Ctrl+C / Ctrl+V / Ctrl+D / Delete / Ctrl+Z act on the flow (typing on the canvas
never inserts or deletes cells); double-click opens search-to-add at the pointer; tooltips show cut
names; a run that cannot start marks the node and field and runs the rest. Screenshots go to
``test-output/e2e/`` (and the ones the docs show are copied to ``docs/`` by ``scripts/docs-shots``).
"""

from __future__ import annotations

from typing import Any

import pytest

from .jupyter import JupyterServer
from .test_canvas_browser import (
    WAIT,
    browser_context,
    kernel,
    message,
    open_and_run,
    pixel,
    server,
    shot,
    to_page,
    until,
)

__all__ = ["browser_context", "server"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WHITE = (255, 255, 255)


def cells(page: Any) -> int:
    return int(page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length"))


def lab_menu_open(page: Any) -> bool:
    return bool(page.evaluate("() => !!document.querySelector('.lm-Menu.jp-ContextMenu, .lm-Menu')"))


def click(page: Any, x: float, y: float, *, shift: bool = False, **kw: Any) -> None:
    px, py = to_page(page, x, y)
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(px, py, **kw)
    if shift:
        page.keyboard.up("Shift")


def test_editing_gestures_in_jupyterlab(server: JupyterServer, browser_context: Any) -> None:
    page = open_and_run(browser_context, f"{server.url}/lab/tree/canvas_e2e.ipynb")
    kernel(page, "flow.connect('image_prompt.text', 'picture.prompt')")  # a complete flow: the label prices it
    page.wait_for_function("() => document.querySelector('canvas.nbflow-canvas')"
                           ".hasAttribute('data-jp-suppress-context-menu')", timeout=WAIT)
    n_cells = cells(page)

    # right-click a node: the canvas' menu, not JupyterLab's cell menu
    click(page, 580, 43, button="right")
    page.wait_for_timeout(400)
    assert not lab_menu_open(page)
    until(page, "print(editor.vm.popup is not None and editor.vm.popup.kind)", "menu")
    # the frame with the menu arrives after the kernel opened it: the menu is white at its rows
    page.wait_for_function("""() => { const c = document.querySelector('canvas.nbflow-canvas');
        const d = c.getContext('2d').getImageData(640, 80, 1, 1).data; return d[0] > 250 && d[1] > 250; }""",
                           timeout=WAIT)
    shot(page, "10-node-menu.png")
    page.keyboard.press("Escape")

    # Shift-click two nodes, copy, paste at the pointer; typing on the canvas never touches cells
    click(page, 350, 43)
    click(page, 580, 43, shift=True)
    until(page, "print(sorted(editor.vm.selection))", "['copy', 'prompt']")
    page.keyboard.press("Control+c")
    message(page, "copied 2 nodes")
    px, py = to_page(page, 120, 330)
    page.mouse.move(px, py)
    page.keyboard.press("Control+v")
    message(page, "pasted 2 nodes")
    assert kernel(page, "print(('prompt_2.text', 'copy_2.prompt') in flow.edges)") == "True"
    page.keyboard.press("Control+d")
    message(page, "duplicated 2 nodes")
    page.keyboard.press("a")
    page.keyboard.press("d")
    page.keyboard.press("d")
    page.keyboard.press("Delete")
    message(page, "deleted 2 nodes")
    page.keyboard.press("Control+z")
    message(page, "undo: delete 2 nodes")
    assert cells(page) == n_cells

    # Shift-drag a selection box around the top row (the duplicate panned the view to show the new nodes: back
    # to the origin first)
    kernel(page, "editor.vm.view.ox = editor.vm.view.oy = 0.0; editor.redraw()")
    sx, sy = to_page(page, 10, 10)
    ex, ey = to_page(page, 930, 100)
    page.keyboard.down("Shift")
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")
    message(page, "4 nodes selected")

    # double-click empty canvas: search-to-add at the pointer (the flow fitted: no minimap over a node)
    kernel(page, "editor.vm.fit(); editor.redraw()")
    assert kernel(page, "print(editor.vm.minimap.shown(editor.vm.boxes))") == "False"
    cx, cy = (float(v) for v in kernel(page, "print(*editor.vm.view.to_screen(700, 360))").split())
    px, py = to_page(page, cx, cy)
    page.mouse.dblclick(px, py)
    page.wait_for_timeout(300)
    page.keyboard.type("json par")
    page.wait_for_timeout(300)
    shot(page, "11-search-to-add.png")
    page.keyboard.press("Enter")
    message(page, "added json.parse node")
    out = kernel(page, "nid = editor.vm.selected; print(flow.node(nid).type, *flow.position(nid))")
    typ, x, y = out.split()
    assert typ == "json.parse" and abs(float(x) - 700) < 120 and abs(float(y) - 360) < 120
    assert cells(page) == n_cells
    assert not lab_menu_open(page)
    # a missing key in JupyterLab: copy's field at fault and the run-the-rest button are in view with
    # the panel unscrolled, at common window sizes
    # (the pasted and duplicated copies go first: their unwired prompts would be problems of their own)
    kernel(page, "import os; os.environ.pop('OPENAI_API_KEY', None); flow.remove(nid); "
                 "[flow.remove(n) for n in ('prompt_2', 'copy_2', 'prompt_3', 'copy_3')]; "
                 "flow.set_params('copy', provider='openai', model='gpt-4o-mini')")
    page.locator(".nbflow-editor button.widget-button", has_text="Run all").click()
    until(page, "print('copy' in editor.vm.problems, editor.params.node_id)", "True copy")
    for width, height in ((1366, 768), (1280, 720)):
        page.set_viewport_size({"width": width, "height": height})
        for sel in (".nbflow-field-at-fault input", ".nbflow-run-ready"):
            page.wait_for_function(_HITS, arg=f".nbflow-tabs {sel}", timeout=WAIT)
    page.set_viewport_size({"width": 1700, "height": 1050})
    finish(page)


def test_run_feedback_and_output_tab_in_notebook_7(server: JupyterServer, browser_context: Any) -> None:
    (server.root / "nb7-feedback.ipynb").write_bytes((server.root / "canvas_e2e.ipynb").read_bytes())
    page = open_and_run(browser_context, f"{server.url}/notebooks/nb7-feedback.ipynb")
    assert kernel(page, "flow.connect('image_prompt.text', 'picture.prompt'); "
                        "flow.add('input.text', id='topic', x=20, y=230); "
                        "flow.add('output', id='topic_out', x=20, y=330); "
                        "flow.connect('topic.value', 'topic_out.value')") == ""
    page.locator(".nbflow-editor button.widget-button", has_text="Run all").click()
    message(page, "cannot run: topic")
    message(page, "do not need topic and can run")
    page.wait_for_selector(".nbflow-editor .nbflow-problem", timeout=WAIT)
    page.wait_for_selector(".nbflow-editor .nbflow-field-at-fault", timeout=WAIT)
    # the Params and Output tabs are on screen without scrolling
    for title in ("Params", "Output"):
        box = page.locator(".nbflow-editor .nbflow-tabs .lm-TabBar-tab", has_text=title).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 1050 and box["x"] + box["width"] <= 1700
    # the outlined field at fault is in view without scrolling (right under the message)
    field = page.locator(".nbflow-editor .nbflow-field-at-fault").bounding_box()
    problem = page.locator(".nbflow-editor .nbflow-problem").bounding_box()
    assert field is not None and problem is not None and field["y"] + field["height"] <= 1050
    assert 0 < field["y"] - problem["y"] < 200
    page.locator(".nbflow-editor button.widget-button", has_text="Fit").click()  # the minimap hides
    assert kernel(page, "print(editor.vm.minimap.shown(editor.vm.boxes))") == "False"
    page.wait_for_timeout(500)
    shot(page, "12-cannot-run.png")
    page.locator(".nbflow-editor button.widget-button", has_text="do not need it").click()
    message(page, "run succeeded")
    assert kernel(page, "print(editor.vm.status.get('copy_out'), editor.vm.status.get('topic_out'))") == "done None"
    # right-click in Notebook 7 too: no cell menu
    click(page, 580, 43, button="right")
    page.wait_for_timeout(400)
    assert not lab_menu_open(page)
    assert close_to_white(pixel(page, 640, 80))
    # a missing key (a longer message): the field at fault and the run-the-rest button are in view with
    # the panel unscrolled, at common window sizes (they were once pushed below the panel's bottom)
    kernel(page, "import os; os.environ.pop('OPENAI_API_KEY', None); flow.set_params('topic', default='cats'); "
                 "flow.set_params('copy', provider='openai', model='gpt-4o-mini')")
    page.locator(".nbflow-editor button.widget-button", has_text="Run all").click()
    message(page, "cannot run: copy")
    page.wait_for_selector(".nbflow-editor .nbflow-field-at-fault", timeout=WAIT)
    # the long message stays one line above the canvas (it once wrapped and hid under it)
    page.wait_for_function("() => document.querySelector('.nbflow-message').getBoundingClientRect().bottom"
                           " <= document.querySelector('canvas.nbflow-canvas').getBoundingClientRect().top + 1",
                           timeout=WAIT)
    for width, height in ((1700, 963), (1366, 768), (1280, 720)):
        page.set_viewport_size({"width": width, "height": height})
        for sel in (".nbflow-field-at-fault input", ".nbflow-run-ready"):
            page.wait_for_function(_HITS, arg=f".nbflow-tabs {sel}", timeout=WAIT)
    # two problems at once (an unwired prompt too): both named in one pass, the button still in view
    kernel(page, "flow.add('llm', id='copy_2', x=580, y=520)")
    page.locator(".nbflow-editor button.widget-button", has_text="Run all").click()
    message(page, "cannot run: 2 problems (copy_2.prompt, copy: api_key_env)")
    until(page, "print(sorted(editor.vm.problems))", "['copy', 'copy_2']")
    page.wait_for_function(_HITS, arg=".nbflow-tabs .nbflow-run-ready", timeout=WAIT)
    page.set_viewport_size({"width": 1700, "height": 1050})
    finish(page)


# true when, with the notebook scrolled to the panel's top (again each time: the page settles after a resize),
# the element's centre is on top there (not covered, not scrolled out of the panel)
_HITS = """(sel) => { document.querySelector('.nbflow-editor .nbflow-tabs').scrollIntoView({block: 'start'});
  const el = document.querySelector(sel); if (!el) return false;
  const r = el.getBoundingClientRect(); const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
  return r.height > 0 && r.bottom <= window.innerHeight && !!hit && (hit === el || el.contains(hit)); }"""


def finish(page: Any) -> None:
    """Shut the notebook's kernel down (so the next test's kernel has the machine) and close the page."""
    page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.shutdown(); }")
    page.close()


def close_to_white(rgb: tuple[int, int, int]) -> bool:
    return all(v > 240 for v in rgb)


def test_group_open_body_and_tooltip_in_jupyterlab(server: JupyterServer, browser_context: Any) -> None:
    (server.root / "bodies.ipynb").write_bytes((server.root / "canvas_e2e.ipynb").read_bytes())
    page = open_and_run(browser_context, f"{server.url}/lab/tree/bodies.ipynb")
    kernel(page, "flow.connect('image_prompt.text', 'picture.prompt')")  # a complete flow: the label prices it
    page.wait_for_function("() => document.querySelector('canvas.nbflow-canvas')"
                           ".hasAttribute('data-lm-suppress-shortcuts')", timeout=WAIT)
    # Shift-click 'prompt' and 'copy', Ctrl+G: one subflow node in their place
    click(page, 350, 43)
    click(page, 580, 43, shift=True)
    page.keyboard.press("Control+g")
    message(page, "grouped 2 nodes into subflow")
    gid = kernel(page, "print(editor.vm.selected)")
    assert kernel(page, f"print(flow.node('{gid}').type)") == "subflow"
    # double-click it: its body opens in place, with a breadcrumb
    px, py = to_page(page, 350, 43)
    page.mouse.dblclick(px, py)
    page.wait_for_function("() => { const c = document.querySelector('.nbflow-crumb-bar');"
                           " return c && c.offsetParent !== null && c.innerText.includes('›'); }", timeout=WAIT)
    message(page, f"editing the body of {gid}")
    assert kernel(page, "print(sorted(editor.flow.nodes))") == "['copy', 'copy_text_out', 'prompt', 'prompt_product']"
    shot(page, "13-body-open.png")
    # back with Escape (nothing selected), then undo the grouping in one step
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_function("() => { const c = document.querySelector('.nbflow-crumbs');"
                           " return !c || c.offsetParent === null; }", timeout=WAIT)
    page.keyboard.press("Control+z")
    message(page, "undo: group into subflow")
    assert kernel(page, "print('prompt' in flow.nodes and 'copy' in flow.nodes)") == "True"
    # a cut title shows whole in a tooltip under the pointer
    kernel(page, "flow.set_title('copy', 'Product copy written by the language model for the shop')")
    px, py = to_page(page, 560, 60)
    page.mouse.move(px, py)
    page.mouse.move(px + 2, py + 1)
    until(page, "print(editor.vm.tooltip is not None and 'for the shop' in ' '.join(editor.vm.tooltip[2]))",
          "True")
    # and drawn: a white panel where draw_tooltip puts it, with the text in dark pixels
    x, y, w, h = (int(v) for v in kernel(page, "sx, sy, lines = editor.vm.tooltip; W, H = editor.vm.view.width, "
                                               "editor.vm.view.height; w = min(W - 8, max(map(len, lines)) * 7 + 16); "
                                               "h = len(lines) * 16 + 8; x = min(max(4, sx + 14), W - w - 4); "
                                               "y = sy + 18 if sy + 18 + h < H else max(4, sy - h - 8); "
                                               "print(*(round(v) for v in (x, y, w, h)))").split())
    panel = """([x, y, w, h, want]) => {
        const c = document.querySelector('canvas.nbflow-canvas');
        const d = c.getContext('2d').getImageData(x + 2, y + 2, w - 4, h - 4).data;
        let white = 0, dark = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250) white++;
          if (d[i] < 90 && d[i + 1] < 90 && d[i + 2] < 90) dark++;
        }
        const n = d.length / 4; return (white > 0.6 * n && dark > 30) === want; }"""
    page.wait_for_function(panel, arg=[x, y, w, h, True], timeout=WAIT)
    shot(page, "14-tooltip.png")
    px, py = to_page(page, 150, 370)  # empty canvas: the tooltip goes, and so does its panel
    page.mouse.move(px, py)
    until(page, "print(editor.vm.tooltip is None)", "True")
    page.wait_for_function(panel, arg=[x, y, w, h, False], timeout=WAIT)
    finish(page)
