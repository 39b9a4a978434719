"""Iterating on the canvas in real JupyterLab 4 and Notebook 7, by the user's gestures: pin from the
context menu (and the key P), see the pin mark, change a prompt in the Params tab and see it turn
stale, run from here (and only this) with no call upstream, see fresh / cache / pin badges (a new
kernel's run served by the canvas's disk cache too), and watch the cost label follow. Provider calls go to the in-repo fake server, which this test starts and whose
requests it counts. Checked by pixels, by the fake server and by asking the kernel. Screenshots go to
``test-output/e2e/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbflow.testing.fakeserver import FakeServer, env_for
from nbflow.testing.fakewire import prompt_text

from .jupyter import CHROMIUM, JupyterServer, chromium, open_notebook, start_jupyter
from .test_canvas_browser import OUT, button, kernel, message, shot, to_page, wait_pixel

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

HERE = Path(__file__).parent
NOTEBOOK = "iterate_e2e.ipynb"
WAIT = 60_000
AI = (211, 84, 0)                                    # an llm node's header
ORANGE, RED = (230, 126, 34), (192, 57, 43)          # pin mark, stale pin mark
FRESH, CACHE, PIN = (39, 174, 96), (22, 160, 133), (185, 119, 14)  # source badges
# node positions in the notebook (zoom 1 from the origin); nodes are 200 wide, their header 26 high
DRAFT, PROMPT, ASK, POLISH = (480, 40), (250, 40), (250, 230), (480, 230)


def header(node: tuple[int, int]) -> tuple[int, int]:
    return node[0] + 100, node[1] + 10


def pin_mark(node: tuple[int, int]) -> tuple[int, int]:
    """A pixel in the pin tag's left padding (the tag sits 4 px above the node, 16 px high)."""
    return node[0] + 2, node[1] - 12


def badge(node: tuple[int, int]) -> tuple[int, int]:
    """A pixel in the source badge's right padding (the badge ends at the node's right edge)."""
    return node[0] + 198, node[1] - 12


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(fake: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/test installs Debian's chromium)")
    tmp = tmp_path_factory.mktemp("jupyter")
    root = tmp / "root"
    root.mkdir()
    shutil.copy(HERE / NOTEBOOK, root / NOTEBOOK)
    srv = start_jupyter(tmp, root, env=env_for(fake.url))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser_context(server: JupyterServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path_factory.mktemp("chromium-profile"), 1700, 1050) as ctx:
        yield ctx


def chats(fake: FakeServer) -> list[str]:
    """The prompts of the chat calls the fake server answered, in order."""
    return [prompt_text(r.provider, r.json) for r in fake.requests
            if r.provider == "openai" and r.path.endswith("/chat/completions")]


def open_and_run(ctx: Any, url: str) -> Any:
    page = open_notebook(ctx, url, canvas=True)
    wait_pixel(page, *header(DRAFT), AI)
    return page


def click(page: Any, at: tuple[int, int], **kw: Any) -> None:
    page.mouse.click(*to_page(page, *at), **kw)


def cost(page: Any, *parts: str) -> str:
    """Wait until the cost label holds every one of ``parts``; return its text."""
    page.wait_for_function("(parts) => { const c = document.querySelector('.nbflow-cost');"
                           " return c && parts.every(p => c.innerText.includes(p)); }", arg=list(parts),
                           timeout=WAIT)
    return str(page.locator(".nbflow-cost").inner_text())


def menu_item(page: Any, node: tuple[int, int], command: str) -> None:
    """Right-click ``node`` and click the menu row running ``command`` (the kernel tells where it is)."""
    click(page, header(node), button="right")
    where = kernel(page, "p = editor.vm.popup; print(p.x, p.y, [i.command for i in p.items].index("
                         f"{command!r}))")
    x, y, i = (float(v) for v in where.split())
    click(page, (int(x + 20), int(y + 4 + (i + 0.5) * 24)))


def run_and_wait(page: Any, action: Any) -> str:
    """Do ``action`` (a gesture that starts a canvas run) and wait until that run ended (the kernel
    says so); return the editor's message."""
    last = kernel(page, "print(id(editor.result))")
    ended = f"print(id(editor.result) != {last} and editor.handle is not None and editor.handle.done())"
    action()
    for _ in range(200):
        if kernel(page, ended) == "True":
            break
        page.wait_for_timeout(300)
    else:
        raise AssertionError(f"the run did not end: {page.locator('.nbflow-message').inner_text()}")
    page.wait_for_function("() => /run succeeded/.test(document.querySelector('.nbflow-message').innerText)",
                           timeout=WAIT)
    return str(page.locator(".nbflow-message").inner_text())


def test_pin_stale_run_from_here_badges_and_cost_in_jupyterlab(fake: FakeServer, server: JupyterServer,
                                                               browser_context: Any) -> None:
    fake.reset()
    page = open_and_run(browser_context, f"{server.url}/lab/tree/{NOTEBOOK}")
    before = cost(page, "Run all ≈ $", "2 calls")
    assert "cached" not in before and chats(fake) == []

    run_and_wait(page, button(page, "Run all").click)
    assert len(chats(fake)) == 2
    wait_pixel(page, *badge(DRAFT), FRESH)
    wait_pixel(page, *badge(POLISH), FRESH)
    after = cost(page, "Run all ≈ $0.0000, 0 calls", "2 cached")
    assert after != before

    # a second Run all: no call, and each llm node's badge says its output came from the cache
    run_and_wait(page, button(page, "Run all").click)
    assert len(chats(fake)) == 2
    wait_pixel(page, *badge(DRAFT), CACHE)
    wait_pixel(page, *badge(POLISH), CACHE)
    assert kernel(page, "print(editor.vm.status['draft'], editor.vm.status['polish'])") == "cached cached"

    # pin the draft from its context menu: the orange mark, the pin in the flow
    menu_item(page, DRAFT, "toggle_pin")
    message(page, "draft: pinned its last output")
    wait_pixel(page, *pin_mark(DRAFT), ORANGE)
    assert kernel(page, "print(sorted(flow.pins), flow.pin_states())") == "['draft'] {'draft': 'ok'}"

    # change the draft's prompt in the Params tab: the pin turns stale (red)
    click(page, header(PROMPT))
    find = ("() => [...document.querySelectorAll('.nbflow-editor .nbflow-tabs textarea')]"
            ".findIndex(t => t.value.startsWith('Write three sentences'))")
    page.wait_for_function(f"() => ({find})() >= 0", timeout=WAIT)
    area = page.locator(".nbflow-editor .nbflow-tabs textarea").nth(page.evaluate(find))
    assert area.input_value().startswith("Write three sentences")  # the prompt's template, in the Params tab
    area.fill("Write two sentences about {{topic}}.")
    area.press("Tab")
    message(page, "prompt: set template")
    wait_pixel(page, *pin_mark(DRAFT), RED)
    assert kernel(page, "print(flow.pin_states())") == "{'draft': 'stale'}"

    # select 'ask': the label prices Run from here (the pinned draft is not called)
    click(page, header(ASK))
    cost(page, "Run from ask ≈ $", "1 call", "1 pinned")
    run_and_wait(page, button(page, "Run from here").click)
    prompts = chats(fake)
    assert len(prompts) == 3 and prompts[-1].startswith("Polish this")  # polish only: no call upstream
    assert kernel(page, "print(sorted(editor.result.nodes))") == "['ask', 'copy', 'draft', 'polish']"
    wait_pixel(page, *badge(DRAFT), PIN)
    wait_pixel(page, *badge(ASK), FRESH)
    wait_pixel(page, *badge(POLISH), FRESH)
    # the shot fitted (no minimap over a node), then the view as it was
    kernel(page, "_v = (editor.vm.view.zoom, editor.vm.view.ox, editor.vm.view.oy); editor.vm.fit(); editor.redraw()")
    assert kernel(page, "print(editor.vm.minimap.shown(editor.vm.boxes))") == "False"
    page.wait_for_timeout(500)
    shot(page, "iterate-01-run-from-here.png")
    kernel(page, "editor.vm.view.zoom, editor.vm.view.ox, editor.vm.view.oy = _v; editor.redraw()")
    page.wait_for_timeout(300)

    # far out (zoom 0.41: each node one block of colour) the tags keep their size on screen
    for _ in range(4):
        page.locator(".nbflow-editor button[title='zoom out']").click()
    assert kernel(page, "print(round(editor.vm.view.zoom, 2))") == "0.41"
    sx, sy = (float(v) for v in kernel(page, "print(*editor.vm.view.to_screen(480, 40))").split())
    wait_pixel(page, int(sx) + 2, int(sy) - 12, RED)           # the stale pin mark, 16 px high
    wait_pixel(page, int(sx + 200 * 0.41) - 2, int(sy) - 12, PIN)  # the badge, at the node's right edge
    shot(page, "iterate-03-far.png")

    # Export: the pin is in the file's "pins", inline
    button(page, "Export").click()
    message(page, "exported writer.json")
    saved = json.loads((server.root / "writer.json").read_text())
    assert saved["pins"]["draft"]["outputs"]["text"] == kernel(page, "print(flow.pins['draft']['text'])")
    page.close()


def test_new_kernel_cache_pin_by_key_run_only_and_run_from_here_in_notebook_7(fake: FakeServer,
                                                                              server: JupyterServer,
                                                                              browser_context: Any) -> None:
    notebook = (HERE / NOTEBOOK).read_bytes().replace(b"a ceramic teapot", b"a glass teapot")  # keys of its own
    for name in ("nb7.ipynb", "nb7-again.ipynb"):
        (server.root / name).write_bytes(notebook)
    fake.reset()
    page = open_and_run(browser_context, f"{server.url}/notebooks/nb7.ipynb")
    run_and_wait(page, button(page, "Run all").click)
    assert len(chats(fake)) == 2
    wait_pixel(page, *badge(DRAFT), FRESH)
    page.close()

    # the same flow in a new kernel: the canvas's disk cache (under NBFLOW_HOME) answers, with no call
    page = open_and_run(browser_context, f"{server.url}/notebooks/nb7-again.ipynb")
    run_and_wait(page, button(page, "Run all").click)
    assert len(chats(fake)) == 2
    wait_pixel(page, *badge(DRAFT), CACHE)
    wait_pixel(page, *badge(POLISH), CACHE)

    click(page, header(DRAFT))
    page.keyboard.press("p")
    message(page, "draft: pinned its last output")
    wait_pixel(page, *pin_mark(DRAFT), ORANGE)

    click(page, header(ASK))
    run_and_wait(page, lambda: page.keyboard.press("o"))  # run only 'ask': its input comes from the pin
    assert len(chats(fake)) == 2
    wait_pixel(page, *badge(ASK), FRESH)
    wait_pixel(page, *badge(DRAFT), PIN)

    run_and_wait(page, lambda: menu_item(page, POLISH, "run_from"))
    assert len(chats(fake)) == 3  # polish alone called the model
    wait_pixel(page, *badge(POLISH), FRESH)
    shot(page, "iterate-02-notebook7.png")
    page.close()
