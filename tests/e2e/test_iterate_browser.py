"""The iterate notebook (``notebooks/06_iterate.ipynb``) in real JupyterLab: Run All with no error and
nothing on stderr, then its canvas by the user's gestures: the pin mark, the Unpin / Pin button, the
cache / pin / fresh badges after Run all and Run from here, and the cost estimate. Checked by pixels
(the badge colours) and by asking the kernel. Screenshots go to ``test-output/e2e/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .jupyter import CHROMIUM, CHROMIUM_ARGS, JupyterServer, start_jupyter
from .test_canvas_browser import button, close, kernel, message, pixel, wait_pixel

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).parent.parent.parent
OUT = ROOT / "test-output" / "e2e"
NOTEBOOK = "06_iterate.ipynb"
WAIT = 90_000
WIDTH = 900  # the editor's width in the notebook
ORANGE, RED = (230, 126, 34), (192, 57, 43)          # pin mark, stale pin mark
FRESH, CACHE, PIN = (39, 174, 96), (22, 160, 133), (230, 126, 34)  # source badges
BACKGROUND = (246, 247, 249)
DRAFT = (480, 40)  # the 'draft' node's layout position in the notebook; nodes are 200 px wide


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/test installs Debian's chromium)")
    tmp = tmp_path_factory.mktemp("jupyter")
    root = tmp / "root"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    srv = start_jupyter(tmp, root)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def page(server: JupyterServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1700, "height": 1050})
        try:
            yield ctx.new_page()
        finally:
            ctx.close()


_ALL_RUN = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  if (!nb || !nb.content || !nb.sessionContext.session) return false;
  const kernel = nb.sessionContext.session.kernel;
  const cells = nb.content.widgets.filter(c => c.model.type === 'code');
  return kernel.status === 'idle' && cells.length > 0 && cells.every(c => c.model.executionCount);
}"""


def to_page(page: Any, x: float, y: float) -> tuple[float, float]:
    canvas = page.locator("canvas.nbflow-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = box["width"] / WIDTH
    return box["x"] + x * scale, box["y"] + y * scale


def click_node(page: Any, x: float, y: float) -> None:
    sx, sy = to_page(page, x + 100, y + 13)
    page.mouse.click(sx, sy)


def pin_mark(page: Any) -> tuple[int, int]:
    return DRAFT[0] + 2, DRAFT[1] - 12


def source_badge(x: float, y: float) -> tuple[int, int]:
    return int(x + 200 - 2), int(y - 12)


def test_iterate_notebook_runs_all_and_its_canvas_pins_and_runs_from_here(server: JupyterServer,
                                                                          page: Any) -> None:
    page.goto(f"{server.url}/lab/tree/{NOTEBOOK}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                           " === 'idle'", timeout=WAIT)
    page.evaluate("() => { const s = window.jupyterapp.shell; if (s.collapseLeft) s.collapseLeft();"
                  " window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(_ALL_RUN, timeout=WAIT * 2)
    # Run All: no traceback, nothing on stderr
    bad = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                        ".filter(o => ['application/vnd.jupyter.stderr', 'application/vnd.jupyter.error']"
                        ".includes(o.getAttribute('data-mime-type'))).map(o => o.innerText)")
    assert bad == []
    assert "pinned" in page.locator(".jp-Notebook").inner_text()

    # the canvas shows the draft's pin mark, red: the last cells changed its prompt (stale)
    page.locator("canvas.nbflow-canvas").scroll_into_view_if_needed()
    wait_pixel(page, *pin_mark(page), RED)
    page.locator(".nbflow-editor").screenshot(path=str(OUT / "iterate-01-stale-pin.png"))

    # select 'draft': the toolbar offers Unpin; unpinning removes the mark
    click_node(page, *DRAFT)
    button(page, "Unpin").click()
    message(page, "draft: unpinned")
    wait_pixel(page, *pin_mark(page), RED, equal=False)
    assert kernel(page, "print(sorted(flow.pins))") == "[]"

    # Run all (the notebook's last cell went back to the flow's in-memory cache): fresh calls
    button(page, "Run all").click()
    message(page, "run succeeded")
    wait_pixel(page, *source_badge(*DRAFT), FRESH)

    # pin it again with the key P, then Run from here on 'polish': 'ask' comes from the cache
    click_node(page, *DRAFT)
    page.keyboard.press("p")
    message(page, "draft: pinned its last output")
    wait_pixel(page, *pin_mark(page), ORANGE)
    click_node(page, 480, 230)
    button(page, "Run from here").click()
    message(page, "run succeeded")
    wait_pixel(page, *source_badge(250, 230), CACHE)     # ask: from the cache
    wait_pixel(page, *source_badge(480, 230), FRESH)     # polish ran again
    assert kernel(page, "print(sorted(editor.result.nodes))") == "['ask', 'copy', 'polish']"

    # Run all now takes the draft from its pin
    button(page, "Run all").click()
    message(page, "run succeeded")
    wait_pixel(page, *source_badge(*DRAFT), PIN)

    # the estimate leaves out the pinned and cached nodes
    button(page, "Estimate").click()
    page.wait_for_function("() => { const c = document.querySelector('.nbflow-cost');"
                           " return c && c.innerText.includes('pinned'); }", timeout=WAIT)
    assert close(pixel(page, 890, 370), BACKGROUND, tol=30)
    page.locator(".nbflow-editor").screenshot(path=str(OUT / "iterate-02-run-from-here.png"))
