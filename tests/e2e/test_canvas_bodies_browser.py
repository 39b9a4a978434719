"""Composite bodies on the canvas in real JupyterLab 4 and Notebook 7, by mouse and keys.

Group a selection into a map (the flow runs with the same results; exported JSON; one undo step);
open a body referenced by a file loaded from disk and wire its edge ports (the file is rewritten,
deterministically; the parent keeps its reference; undo in the parent puts the file back); copy and
paste between two editors of one notebook, Shift+L and Shift+M (choosing the map's item) in both
JupyterLab and Notebook 7; the seed's generate -> score -> regenerate loop
opens in place and its iterations page with real pictures. Screenshots go to ``test-output/e2e/``
(``scripts/docs-shots`` copies the ones the docs show).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nbflow import Flow

from .jupyter import JupyterServer, open_notebook
from .test_canvas_browser import (
    HERE,
    NOTEBOOK,
    OUT,
    WAIT,
    browser_context,
    drag,
    kernel,
    message,
    open_and_run,
    server,
    shot,
    to_page,
    until,
)

__all__ = ["browser_context", "server"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def write_notebook(path: Path, *cells: str) -> None:
    nb = json.loads((HERE / NOTEBOOK).read_text())
    nb["cells"] = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                    "outputs": [], "source": src} for i, src in enumerate(cells)]
    path.write_text(json.dumps(nb, indent=1))


def open_and_draw(ctx: Any, url: str) -> Any:
    """Open a notebook, run all its cells and wait until the canvas has drawn a frame."""
    page = open_notebook(ctx, url, canvas=True)
    page.wait_for_function("() => { const c = document.querySelector('canvas.nbflow-canvas');"
                           " return c && c.width > 0; }", timeout=WAIT)
    page.wait_for_timeout(1500)
    return page


def screen(page: Any, expr: str) -> tuple[float, float]:
    """Canvas pixel of a point the kernel computes (``expr`` gives world or screen coordinates)."""
    x, y = kernel(page, f"print(*{expr})").split()
    return float(x), float(y)


def node_at(page: Any, node: str) -> tuple[float, float]:
    return screen(page, f"editor.vm.view.to_screen(editor.vm.boxes['{node}'].x + 100, editor.vm.boxes['{node}'].y + 13)")


def port_at(page: Any, node: str, port: str, is_input: bool) -> tuple[float, float]:
    return screen(page, f"(lambda p: editor.vm.view.to_screen(p.x, p.y))"
                        f"(editor.vm.boxes['{node}'].port('{port}', {is_input}))")


def rail_at(page: Any, name: str, side: str) -> tuple[float, float]:
    return screen(page, "next((r.x, r.y) for r in __import__('nbflow.widget.rails', fromlist=['x'])"
                        f".rail_ports(editor.vm) if r.name == '{name}' and r.side == '{side}')")


def crumbs(page: Any, text: str) -> None:
    """Wait for the breadcrumb bar (the enclosing flows' links, then the open body) to read ``text``."""
    page.wait_for_function("(t) => { const c = document.querySelector('.nbflow-crumb-bar');"
                           " return c && c.offsetParent !== null && c.innerText.replace(/\\s+/g, ' ').includes(t); }",
                           arg=text, timeout=WAIT)


def canvas_focused(page: Any) -> None:
    page.wait_for_function("() => document.activeElement !== null"
                           " && document.activeElement.classList.contains('nbflow-canvas')", timeout=WAIT)


def finish(page: Any) -> None:
    page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.shutdown(); }")
    page.close()


def test_group_into_a_map_in_jupyterlab(server: JupyterServer, browser_context: Any) -> None:
    (server.root / "map.ipynb").write_bytes((server.root / NOTEBOOK).read_bytes())
    page = open_and_run(browser_context, f"{server.url}/lab/tree/map.ipynb")
    kernel(page, "flow.connect('image_prompt.text', 'picture.prompt'); before = flow.run().outputs")
    before_json = kernel(page, "print(flow.dumps())")
    # Shift-click 'prompt' and 'copy', right-click, pick "Group 2 nodes into a map" with the mouse
    for i, node in enumerate(("prompt", "copy")):
        px, py = to_page(page, *node_at(page, node))
        if i:
            page.keyboard.down("Shift")
        page.mouse.click(px, py)
        page.keyboard.up("Shift")
    assert kernel(page, "print(sorted(editor.vm.selection))") == "['copy', 'prompt']"
    px, py = to_page(page, *node_at(page, "copy"))
    page.mouse.click(px, py, button="right")
    page.wait_for_timeout(400)
    item = screen(page, "(lambda p: (p.x + 30, p.y + 4 + [i.command for i in p.items].index('group:map') * 24"
                        " + 12))(editor.vm.popup)")
    shot(page, "15-group-map-menu.png")
    page.mouse.click(*to_page(page, *item))
    message(page, "grouped 2 nodes into map")
    gid = kernel(page, "print(editor.vm.selected)")
    assert kernel(page, f"print(flow.node('{gid}').type)") == "map"
    # the same results through the engine, before and after grouping
    assert kernel(page, "print(flow.run().outputs == before)") == "True"
    # exported JSON: the map with its embedded body, fed by a one-item list, read by list.item
    page.locator(".nbflow-editor button.widget-button", has_text="Export").click()
    message(page, "exported")
    saved = json.loads((server.root / "product.json").read_text())
    types = {n["id"]: n["type"] for n in saved["nodes"]}
    assert types[gid] == "map" and "prompt" not in types and "copy" not in types
    body = next(n for n in saved["nodes"] if n["id"] == gid)["params"]["flow"]
    assert {n["id"] for n in body["nodes"]} >= {"prompt", "copy", "item"}
    assert sorted(t for t in types.values() if t.startswith("list")) == ["list", "list.item"]
    page.locator(".nbflow-editor button.widget-button", has_text="Fit").click()
    page.wait_for_timeout(500)
    shot(page, "16-grouped-map.png")
    # one undo step brings the two nodes back, exactly (a click on empty canvas gives it the keys again)
    page.mouse.click(*to_page(page, 900, 390))
    page.keyboard.press("Control+z")
    message(page, "undo: group into map")
    assert kernel(page, "print(flow.dumps())") == before_json
    finish(page)


def body_files(root: Path) -> None:
    """A parent flow file whose subflow node references a body file next to it."""
    body = {"nbflow": 3, "name": "shout", "nodes": [
        {"id": "text", "type": "input.text", "params": {"default": "x"}},
        {"id": "tone", "type": "input.text", "params": {"default": "calm"}},
        {"id": "shout", "type": "template", "params": {"template": "{{text}}! ({{mood}})"}},
        {"id": "out", "type": "output", "params": {"name": "text"}}],
        "edges": [{"from": "text.value", "to": "shout.text"}, {"from": "text.value", "to": "shout.mood"},
                  {"from": "shout.text", "to": "out.value"}],
        "layout": {"nodes": {"text": {"x": 0, "y": 0}, "tone": {"x": 0, "y": 200},
                             "shout": {"x": 300, "y": 60}, "out": {"x": 600, "y": 60}}}}
    (root / "shout.json").write_text(json.dumps(body, indent=2) + "\n")
    f = Flow("parent")
    f.source = str(root / "parent.json")
    f.add("input.text", id="topic", default="tea", x=20, y=40)
    f.add("subflow", id="loud", path="shout.json", x=300, y=40)
    f.add("output", id="result", x=580, y=40)
    f.connect("topic.value", "loud.text")
    f.connect("loud.text", "result.value")
    f.save(root / "parent.json")


def test_edit_a_referenced_body_by_its_edge_ports_in_notebook_7(server: JupyterServer,
                                                               browser_context: Any) -> None:
    body_files(server.root)
    parent_before, body_before = (server.root / "parent.json").read_text(), (server.root / "shout.json").read_text()
    write_notebook(server.root / "edges.ipynb",
                   "import nbflow\nflow = nbflow.Flow.load('parent.json')",
                   "editor = flow.edit(width=940, height=420)\neditor")
    page = open_and_draw(browser_context, f"{server.url}/notebooks/edges.ipynb")
    assert kernel(page, "print(sorted(editor.vm.boxes['loud'].inputs), sorted(editor.vm.boxes['loud'].outputs))") \
        == "['text', 'tone'] ['text']"
    # double-click the subflow: the body file opens in place, inputs at the left edge, outputs at the right
    page.mouse.dblclick(*to_page(page, *node_at(page, "loud")))
    crumbs(page, "parent › loud (shout.json)")
    assert kernel(page, "print(editor.vm.rails, [(r.name, r.side) for r in __import__('nbflow.widget.rails', "
                        "fromlist=['x']).rail_ports(editor.vm)])") == (
        "True [('text', 'in'), ('tone', 'in'), ('+', 'in'), ('text', 'out'), ('+', 'out')]")
    # drag from the left-edge port 'tone' to the template's 'mood' input
    drag(page, rail_at(page, "tone", "in"), port_at(page, "shout", "mood", True))
    message(page, "wired tone.value -> shout.mood")
    written = (server.root / "shout.json").read_text()
    assert {"from": "tone.value", "to": "shout.mood"} in json.loads(written)["edges"]
    assert written == Flow.load(server.root / "shout.json").dumps()  # the flow file format, byte for byte
    # drag a node's output onto the right '+': a new body output; the parent node gains that port
    drag(page, port_at(page, "shout", "text", False), rail_at(page, "+", "out"))
    message(page, "add body output text_2")
    assert "text_2" in {n["id"] for n in json.loads((server.root / "shout.json").read_text())["nodes"]}
    shot(page, "17-body-edges.png")
    # undo (inside the body) takes the new output back out of the file
    page.keyboard.press("Control+z")
    message(page, "undo: add body output")
    assert "text_2" not in (server.root / "shout.json").read_text()
    # back up with the Up button: it says where, and the keys are the canvas's again (Ctrl+Z below);
    # the parent keeps its reference and runs the edited body; its own file is untouched
    page.locator(".nbflow-crumb-bar button", has_text="Up").click()
    message(page, "back in parent")
    canvas_focused(page)
    page.wait_for_function("() => { const c = document.querySelector('.nbflow-crumbs');"
                           " return !c || c.offsetParent === null; }", timeout=WAIT)
    assert kernel(page, "print(flow.node('loud').params)") == "{'path': 'shout.json'}"
    assert kernel(page, "print(flow.run().outputs['result'])") == "tea! (calm)"
    assert (server.root / "parent.json").read_text() == parent_before
    # Ctrl+Z in the parent: the visit's edits to the file are one step; the file is back as it was opened
    page.keyboard.press("Control+z")
    message(page, "undo: edit body of loud (shout.json); shout.json is back as it was")
    assert (server.root / "shout.json").read_text() == body_before
    assert kernel(page, "print(flow.run().outputs['result'])") == "tea! (tea)"
    finish(page)


def test_seed_loop_opens_and_pages_pictures_in_jupyterlab(server: JupyterServer, browser_context: Any) -> None:
    write_notebook(server.root / "seed.ipynb",
                   "import nbflow\nflow = nbflow.Flow('seed')",
                   "editor = flow.edit(width=940, height=420)\neditor")
    page = open_and_draw(browser_context, f"{server.url}/lab/tree/seed.ipynb")
    # start from the template with the mouse, run it offline
    page.locator(".nbflow-editor select").filter(has_text="start from a template").select_option(
        "generate-score-regenerate")
    message(page, "imported template generate-score-regenerate")
    page.locator(".nbflow-editor button.widget-button", has_text="Run all").click()
    message(page, "run succeeded")
    n = int(kernel(page, "print(editor.result.nodes['attempts'].outputs['count'])"))
    assert n >= 2
    # the loop's Output tab: its iterations page with real pictures
    page.mouse.click(*to_page(page, *node_at(page, "attempts")))
    page.locator(".nbflow-editor .nbflow-tabs .lm-TabBar-tab", has_text="Output").click()
    page.locator(".nbflow-editor .widget-toggle-button", has_text="iterations").click()
    label = page.locator(".nbflow-editor .widget-label", has_text=f"item 1 of {n}")
    label.wait_for(timeout=WAIT)
    img = page.locator(".nbflow-tabs img").first
    img.wait_for(timeout=WAIT)
    size = page.evaluate("(e) => [e.naturalWidth, e.naturalHeight]", img.element_handle())
    assert size[0] > 0 and size[1] > 0  # a decoded picture, not JSON metadata
    first_src = img.get_attribute("src")
    shot(page, "18-loop-iterations.png")
    page.locator(".nbflow-editor button.widget-button", has_text="▶").first.click()
    page.locator(".nbflow-editor .widget-label", has_text=f"item 2 of {n}").wait_for(timeout=WAIT)
    # the next iteration's own picture replaces the first (the widget view is rendered a moment later)
    page.wait_for_function("(src) => { const i = document.querySelector('.nbflow-tabs img');"
                           " return i && i.src !== src && i.naturalWidth > 0; }", arg=first_src, timeout=WAIT)
    # double-click the loop: its body (draw, then score) opens with its inputs and outputs at the edges
    page.mouse.dblclick(*to_page(page, *node_at(page, "attempts")))
    crumbs(page, "› attempts")
    names = kernel(page, "print(sorted((r.side, r.name) for r in __import__('nbflow.widget.rails', "
                         "fromlist=['x']).rail_ports(editor.vm)))")
    assert "('in', 'feedback')" in names and "('in', 'prompt')" in names and "('out', 'image')" in names
    shot(page, "19-loop-body.png")
    finish(page)


EMBEDDED = '''import nbflow
body = {"nbflow": 3, "name": "greet", "nodes": [
    {"id": "name", "type": "input.text", "params": {"default": "x"}},
    {"id": "greet", "type": "template", "params": {"template": "{{greeting}}, {{name}}"}},
    {"id": "out", "type": "output", "params": {"name": "text"}}],
    "edges": [{"from": "name.value", "to": "greet.name"}, {"from": "name.value", "to": "greet.greeting"},
              {"from": "greet.text", "to": "out.value"}]}
flow = nbflow.Flow("embedded")
flow.add("input.text", id="who", default="Ada", x=20, y=40)
flow.add("subflow", id="hello", flow=body, x=300, y=40)
flow.add("output", id="result", x=580, y=40)
flow.connect("who.value", "hello.name")
flow.connect("hello.text", "result.value")'''


def test_edit_an_embedded_body_built_in_python_in_jupyterlab(server: JupyterServer,
                                                              browser_context: Any) -> None:
    write_notebook(server.root / "embedded.ipynb", EMBEDDED,
                   "editor = flow.edit(width=940, height=420, path='embedded.json')\neditor")
    page = open_and_draw(browser_context, f"{server.url}/lab/tree/embedded.ipynb")
    assert kernel(page, "print(flow.run().outputs['result'])") == "Ada, Ada"
    page.mouse.dblclick(*to_page(page, *node_at(page, "hello")))
    crumbs(page, "embedded › hello")
    # drag from the left '+ new' to the template's 'greeting' input: a new body input, typed text
    drag(page, rail_at(page, "+", "in"), port_at(page, "greet", "greeting", True))
    message(page, "add body input greeting")
    assert kernel(page, "print(editor.flow.node('greeting').type)") == "input.text"
    # the parent's node params hold the edited body at once, and the node gains the input port
    assert kernel(page, "print({'from': 'greeting.value', 'to': 'greet.greeting'} in "
                        "flow.node('hello').params['flow']['edges'])") == "True"
    shot(page, "20-embedded-body-plus.png")
    page.locator(".nbflow-crumb-bar .nbflow-crumb", has_text="embedded").click()  # the crumb goes back
    message(page, "back in embedded")
    canvas_focused(page)
    page.wait_for_function("() => { const c = document.querySelector('.nbflow-crumbs');"
                           " return !c || c.offsetParent === null; }", timeout=WAIT)
    assert kernel(page, "print(sorted(editor.vm.boxes['hello'].inputs))") == "['greeting', 'name']"
    page.locator(".nbflow-editor button.widget-button", has_text="Export").click()
    message(page, "exported")
    saved = json.loads((server.root / "embedded.json").read_text())
    hello = next(n for n in saved["nodes"] if n["id"] == "hello")
    assert "greeting" in {n["id"] for n in hello["params"]["flow"]["nodes"]}
    # the exported flow runs once something feeds the new (required) input
    saved["nodes"].append({"id": "hi", "type": "input.text", "params": {"default": "Hi"}})
    saved["edges"].append({"from": "hi.value", "to": "hello.greeting"})
    (server.root / "embedded-fed.json").write_text(json.dumps(saved))
    assert Flow.load(server.root / "embedded-fed.json").run().outputs["result"] == "Hi, Ada"
    # one undo step in the parent takes the body edit back
    page.mouse.click(*to_page(page, 900, 390))
    page.keyboard.press("Control+z")
    message(page, "undo: edit body of hello")
    assert kernel(page, "print(sorted(n['id'] for n in flow.node('hello').params['flow']['nodes']))") \
        == "['greet', 'name', 'out']"
    finish(page)


TWO_EDITORS = '''import nbflow
a = nbflow.Flow("a")
a.add("input.text", id="topic", default="tea", x=20, y=30)
a.add("input.text", id="style", default="bold", x=20, y=190)
a.add("template", id="tpl", template="{{t}} in {{s}}", x=260, y=30)
a.add("template", id="more", template="{{x}}!", x=500, y=30)
a.add("output", id="out", x=740, y=30)
a.connect("topic.value", "tpl.t")
a.connect("style.value", "tpl.s")
a.connect("tpl.text", "more.x")
a.connect("more.text", "out.value")
b = nbflow.Flow("b")'''


def at_zoom_1(name: str) -> str:
    return (f"{name} = {name[1]}.edit(width=900, height=300)\n"
            f"{name}.vm.view.zoom, {name}.vm.view.ox, {name}.vm.view.oy = 1.0, 0.0, 0.0\n{name}.redraw()\n{name}")


def click_in(page: Any, editor: str, index: int, world: tuple[float, float], *, shift: bool = False) -> None:
    """Click world point ``world`` of the ``index``-th editor on the page (named ``editor`` in the kernel)."""
    x, y = screen(page, f"{editor}.vm.view.to_screen{world}")
    canvas = page.locator("canvas.nbflow-canvas").nth(index)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = box["width"] / page.evaluate("(c) => c.width", canvas.element_handle())
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
    if shift:
        page.keyboard.up("Shift")


@pytest.mark.parametrize("app", ["lab", "notebooks"])
def test_copy_paste_across_two_editors_and_group_by_keys(app: str, server: JupyterServer,
                                                         browser_context: Any) -> None:
    """Two editors in one notebook: Ctrl+C in one, Ctrl+V in the other (nodes and their wire arrive,
    Ctrl+Z there takes them back); Shift+L groups into a loop; Shift+M asks which wire carries the item."""
    name = f"two-{app}.ipynb"
    write_notebook(server.root / name, TWO_EDITORS, at_zoom_1("ea"), at_zoom_1("eb"))
    page = open_and_draw(browser_context, f"{server.url}/{'lab/tree' if app == 'lab' else 'notebooks'}/{name}")
    page.wait_for_function("() => document.querySelectorAll('canvas.nbflow-canvas').length === 2", timeout=WAIT)
    until(page, "print(len(ea.vm.boxes), len(eb.vm.boxes))", "5 0")
    click_in(page, "ea", 0, (360, 43))
    click_in(page, "ea", 0, (600, 43), shift=True)
    until(page, "print(sorted(ea.vm.selection))", "['more', 'tpl']")
    page.keyboard.press("Control+c")
    until(page, "print(ea.vm.message)", "copied 2 nodes")
    click_in(page, "eb", 1, (300, 120))
    page.keyboard.press("Control+v")
    until(page, "print(sorted(b.nodes), b.edges)", "['more_2', 'tpl_2'] [('tpl_2.text', 'more_2.x')]")  # fresh ids
    assert kernel(page, "print(len(a.nodes), len(a.edges))") == "5 4"  # the source is untouched
    page.keyboard.press("Control+z")
    until(page, "print(len(b.nodes), len(b.edges), eb.vm.message)", "0 0 undo: paste")
    # Shift+L: the selected node into a loop, one undo step
    click_in(page, "ea", 0, (600, 43))
    until(page, "print(ea.vm.selected)", "more")
    page.keyboard.press("Shift+L")
    until(page, "print(sorted(n.type for n in a.spec.nodes if n.type == 'loop'), 'more' in a.nodes)",
          "['loop'] False")
    page.keyboard.press("Control+z")
    until(page, "print('more' in a.nodes, len(a.edges))", "True 4")
    # Shift+M with two wires coming in: a menu asks which one carries each item; pick the second
    click_in(page, "ea", 0, (360, 43))
    until(page, "print(ea.vm.selected)", "tpl")
    page.keyboard.press("Shift+M")
    until(page, "print([i.command for i in ea.vm.popup.items] if ea.vm.popup else None)",
          "['group:map:topic.value', 'group:map:style.value']")
    page.locator(".nbflow-editor").first.screenshot(path=str(OUT / f"21-map-item-choice-{app}.png"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    until(page, "g = ea.vm.selected; print(a.node(g).type if g in a.nodes else None)", "map")
    # style carries the items (through the one-item list), topic goes to every item; same result
    assert kernel(page, "g = ea.vm.selected; w = next(x for x, y in a.edges if y == g + '.items').split('.')[0];"
                        " print(('style.value', w + '.in1') in a.edges, ('topic.value', g + '.tpl_t') in a.edges,"
                        " a.run().outputs['out'])") == "True True tea in bold!"
    page.keyboard.press("Control+z")
    until(page, "print('tpl' in a.nodes, len(a.nodes), len(a.edges))", "True 5 4")
    finish(page)
