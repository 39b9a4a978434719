"""The canvas in real JupyterLab 4 and Notebook 7, in headless Chromium driven by Playwright.

Opens ``canvas_e2e.ipynb``, runs it, and checks the canvas by its pixels: nodes are drawn where the
layout puts them, a dragged node moves (and Ctrl+Z / Ctrl+Shift+Z take it back and forth), a wire
drawn with the mouse connects two nodes, Run all runs, a selected node shows its preview, and Export
writes the file and offers it as a download. Screenshots go to ``test-output/e2e/``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .jupyter import CHROMIUM, JupyterServer, chromium, open_notebook, start_jupyter

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

HERE = Path(__file__).parent
OUT = HERE.parent.parent / "test-output" / "e2e"
NOTEBOOK = "canvas_e2e.ipynb"
HEADER = {"Outputs": (46, 158, 91), "AI": (211, 84, 0), "Text": (108, 92, 231)}
BACKGROUND = (246, 247, 249)
WAIT = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/test installs Debian's chromium)")
    tmp = tmp_path_factory.mktemp("jupyter")
    root = tmp / "root"
    root.mkdir()
    shutil.copy(HERE / NOTEBOOK, root / NOTEBOOK)
    srv = start_jupyter(tmp, root)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser_context(server: JupyterServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path_factory.mktemp("chromium-profile"), 1700, 1050, accept_downloads=True) as ctx:
        yield ctx


def open_and_run(ctx: Any, url: str) -> Any:
    """Open the notebook, wait for an idle kernel, run all cells, wait for the drawn canvas."""
    page = open_notebook(ctx, url, canvas=True)
    # the first frame arrives after the view exists: wait for a node header's colour
    wait_pixel(page, 580, 43, HEADER["AI"])
    return page


def to_page(page: Any, x: float, y: float, *, scroll: bool = True) -> tuple[float, float]:
    """Page coordinates of canvas pixel (x, y) (the editor runs at zoom 1 from the origin), after
    scrolling the canvas into view unless ``scroll`` is false."""
    if scroll:
        page.locator("canvas.nbflow-canvas").scroll_into_view_if_needed()
    box = page.locator("canvas.nbflow-canvas").bounding_box()
    width = page.evaluate("() => document.querySelector('canvas.nbflow-canvas').width")
    scale = box["width"] / width
    return box["x"] + x * scale, box["y"] + y * scale


_PIXEL_JS = """([x, y]) => {
  const c = document.querySelector('canvas.nbflow-canvas');
  const d = c.getContext('2d').getImageData(x, y, 1, 1).data;
  return [d[0], d[1], d[2]];
}"""


def pixel(page: Any, x: int, y: int) -> tuple[int, int, int]:
    return tuple(page.evaluate(_PIXEL_JS, [x, y]))  # type: ignore[return-value]


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 12) -> bool:
    return all(abs(i - j) <= tol for i, j in zip(a, b, strict=True))


def wait_pixel(page: Any, x: int, y: int, rgb: tuple[int, int, int], *, equal: bool = True,
               timeout: int = WAIT) -> None:
    page.wait_for_function(
        """([x, y, rgb, equal]) => {
             const c = document.querySelector('canvas.nbflow-canvas');
             if (!c) return false;
             const d = c.getContext('2d').getImageData(x, y, 1, 1).data;
             const same = [0, 1, 2].every(i => Math.abs(d[i] - rgb[i]) <= 12);
             return equal ? same : !same;
           }""", arg=[x, y, list(rgb), equal], timeout=timeout)


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    sx, sy = to_page(page, *start)
    ex, ey = to_page(page, *end)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=12)
    page.mouse.up()


def message(page: Any, text: str) -> None:
    page.wait_for_function("(t) => { const m = document.querySelector('.nbflow-message');"
                           " return m && m.innerText.includes(t); }", arg=text, timeout=WAIT)


_EXECUTE_JS = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const future = kernel.requestExecute({code, store_history: false});
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') out += msg.content.text;
    if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return out;
}"""


def kernel(page: Any, code: str) -> str:
    """Run ``code`` in the notebook's kernel (as a cell would) and return what it printed."""
    return str(page.evaluate(_EXECUTE_JS, code)).strip()


def until(page: Any, code: str, expected: str, timeout: float = 30.0) -> None:
    """Poll the kernel until ``code`` prints ``expected`` (a browser event can reach the kernel after code
    sent later, so one read right after a key press or click may see the state before it)."""
    end = time.monotonic() + timeout
    while (got := kernel(page, code)) != expected and time.monotonic() < end:
        page.wait_for_timeout(200)
    assert got == expected, (code, got)


def button(page: Any, text: str) -> Any:
    return page.locator(".nbflow-editor button.widget-button", has_text=text)


def shot(page: Any, name: str) -> None:
    page.locator(".nbflow-editor").screenshot(path=str(OUT / name))


def test_canvas_in_jupyterlab(server: JupyterServer, browser_context: Any) -> None:
    page = open_and_run(browser_context, f"{server.url}/lab/tree/{NOTEBOOK}")

    # nodes are drawn where the layout puts them; empty space shows the background
    wait_pixel(page, 580, 43, HEADER["AI"])                   # 'copy' (llm) header
    wait_pixel(page, 350, 223, HEADER["Text"])                # 'image_prompt' (template) header
    assert close(pixel(page, 920, 380), BACKGROUND, tol=30)   # nothing there
    shot(page, "01-opened.png")

    # drag 'image_out' down by 60 px: its header leaves (810, 223) and appears at (810, 283)
    drag(page, (810, 223), (810, 283))
    wait_pixel(page, 810, 283, HEADER["Outputs"])
    wait_pixel(page, 810, 223, HEADER["Outputs"], equal=False)
    shot(page, "02-dragged.png")
    # the canvas has the keyboard focus after a click: undo and redo the move
    page.keyboard.press("Control+z")
    wait_pixel(page, 810, 223, HEADER["Outputs"])
    page.keyboard.press("Control+Shift+Z")
    wait_pixel(page, 810, 283, HEADER["Outputs"])

    # wire image_prompt.text (output at 450, 246) to picture.prompt (input at 480, 246)
    drag(page, (450, 246), (480, 246))
    message(page, "wired image_prompt.text -> picture.prompt")
    # the canvas edits the notebook's own Flow object...
    assert kernel(page, "print(('image_prompt.text', 'picture.prompt') in flow.edges)") == "True"
    # ...and a cell's edit shows on the displayed canvas
    assert kernel(page, "flow.add('join', id='joined', x=20, y=280)") == ""
    wait_pixel(page, 120, 293, HEADER["Text"])
    # an incompatible wire is refused with a visible message
    drag(page, (680, 246), (480, 82))  # picture.image -> copy.system
    message(page, "picture.image gives image, but copy.system takes text")
    shot(page, "03-wired.png")

    button(page, "Run all").click()
    message(page, "run succeeded")
    # the picture node draws a thumbnail of its image in its preview strip
    wait_pixel(page, 656, 302, (241, 243, 246), equal=False)

    # select 'copy': its text preview; select 'picture': its image preview
    sx, sy = to_page(page, 580, 43)
    page.mouse.click(sx, sy)
    page.wait_for_function("() => [...document.querySelectorAll('.nbflow-editor pre.nbflow-text')]"
                           ".some(p => p.innerText.includes('[offline]'))", timeout=WAIT)
    sx, sy = to_page(page, 580, 223)
    page.mouse.click(sx, sy)
    page.wait_for_function("() => { const i = document.querySelector('.nbflow-editor .widget-image');"
                           " return i && i.naturalWidth > 0; }", timeout=WAIT)
    button(page, "Fit").click()  # every node in view: the minimap hides and covers none of them
    assert kernel(page, "print(editor.vm.minimap.shown(editor.vm.boxes))") == "False"
    page.wait_for_timeout(500)
    shot(page, "04-run-preview.png")

    button(page, "Export").click()
    message(page, "exported product.json")
    saved = json.loads((server.root / "product.json").read_text())
    assert {"from": "image_prompt.text", "to": "picture.prompt"} in saved["edges"]
    assert saved["layout"]["nodes"]["image_out"] == {"x": 710.0, "y": 270.0}
    assert "joined" in saved["layout"]["nodes"]
    with page.expect_download() as dl:
        page.locator("a.nbflow-download").click()
    assert dl.value.suggested_filename == "product.json"
    assert Path(dl.value.path()).read_bytes() == (server.root / "product.json").read_bytes()
    shot(page, "05-exported.png")

    # Add four times at zoom 1: each new node lands whole inside the view (the view pans once it is full)
    kernel(page, "editor.vm.view.zoom, editor.vm.view.ox, editor.vm.view.oy = 1.0, 0.0, 0.0")
    page.locator(".nbflow-editor input[placeholder='search node types…']").fill("http")
    until(page, "print(editor.palette.value)", "http")
    add = button(page, re.compile(r"^\s*Add\s*$"))
    for n in range(1, 5):
        add.click()
        until(page, "print(sum(editor.flow.node(i).type == 'http' for i in editor.flow.nodes))", str(n))
        until(page, "b, v = editor.vm.boxes[editor.vm.selected], editor.vm.view; (x0, y0), (x1, y1) = "
                    "v.to_screen(b.x, b.y), v.to_screen(b.x + b.w, b.y + b.h); "
                    "print(0 <= x0 and x1 <= v.width and 0 <= y0 and y1 <= v.height)", "True")
    page.close()


def test_canvas_in_notebook_7(server: JupyterServer, browser_context: Any) -> None:
    (server.root / "nb7.ipynb").write_bytes((HERE / NOTEBOOK).read_bytes())
    page = open_and_run(browser_context, f"{server.url}/notebooks/nb7.ipynb")
    # Notebook 7 narrows the cell after the first frame: resizing a canvas clears it until the kernel's
    # redraw arrives, so wait for the header again rather than reading the pixel at once
    wait_pixel(page, 580, 43, HEADER["AI"])
    drag(page, (350, 43), (350, 143))  # 'prompt' down by 100 px (the canvas is narrower here)
    wait_pixel(page, 350, 143, HEADER["Text"])
    shot(page, "06-notebook7.png")
    page.close()
