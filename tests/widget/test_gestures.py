"""The Editor widget with the DOM helper's events (modifiers, double-click, context menu) and every
drawing path (near, far, overlapping, popups, tooltips, minimap), with simulated frontend messages."""

from __future__ import annotations

from typing import Any

import pytest

from nbflow.widget import Editor
from nbflow.widget.dom import ESM
from nbflow.widget.style import HEADER_H

from .builders import product_flow
from .conftest import CanvasWire, frontend, key


def dom(ed: Editor, event: str, **content: Any) -> None:
    """A message from the DOM helper, as the browser sends it."""
    assert ed.helper is not None
    frontend(ed.helper, event, **content)


def at(ed: Editor, node: str) -> tuple[float, float]:
    b = ed.vm.boxes[node]
    return ed.vm.view.to_screen(b.x + b.w / 2, b.y + HEADER_H / 2)


@pytest.fixture
def ed() -> Editor:
    return Editor(product_flow(), width=1000, height=600)


def test_the_helper_suppresses_the_notebook_menu_and_shortcuts_over_the_canvas(ed: Editor) -> None:
    assert ed.helper is not None and ed.helper in ed.children
    assert "data-jp-suppress-context-menu" in ESM and "data-lm-suppress-shortcuts" in ESM
    assert "preventDefault" in ESM


def test_shift_click_from_the_helper_adds_to_the_selection(ed: Editor) -> None:
    x, y = at(ed, "copy")
    frontend(ed.canvas, "mouse_down", x=x, y=y)  # before the helper speaks, ipycanvas' events count
    frontend(ed.canvas, "mouse_up", x=x, y=y)
    x2, y2 = at(ed, "picture")
    dom(ed, "down", shift=True, ctrl=False, meta=False, x=x2, y=y2, view="v", seq=1)
    dom(ed, "up", x=x2, y=y2, view="v", seq=2)
    assert list(ed.vm.selection) == ["copy", "picture"]
    assert ed.params.node_id == "picture"
    # the modifiers are the press's own: a plain press on a selected node keeps the selection
    dom(ed, "down", shift=False, ctrl=False, meta=False, x=x, y=y, view="v", seq=3)
    dom(ed, "up", x=x, y=y, view="v", seq=4)
    assert list(ed.vm.selection) == ["picture", "copy"]


def test_right_click_opens_the_menu_and_a_click_runs_its_item(ed: Editor, wire: CanvasWire) -> None:
    x, y = at(ed, "copy")
    wire.clear()
    dom(ed, "contextmenu", x=x, y=y)
    assert ed.vm.popup is not None and ed.vm.selected == "copy"
    assert len(wire.messages) == 1  # one frame
    p = ed.vm.popup
    frontend(ed.canvas, "mouse_down", x=p.x + 10, y=p.y + 4 + 2 * 24 + 10)  # Duplicate node
    frontend(ed.canvas, "mouse_up", x=p.x + 10, y=p.y + 4 + 2 * 24 + 10)
    assert "copy_2" in ed.flow.nodes
    assert "duplicated 1 node" in ed.message.value


def test_double_click_search_and_typing_adds_a_node_there(ed: Editor) -> None:
    dom(ed, "dblclick", x=150, y=560)
    for ch in "join":
        key(ed.canvas, ch)
    key(ed.canvas, "Enter")
    nid = ed.vm.selected
    assert nid is not None and ed.flow.node(nid).type == "join"
    assert ed.params.node_id == nid  # the params panel shows the new node


def test_menu_run_this_node_runs_it(ed: Editor) -> None:
    dom(ed, "contextmenu", x=at(ed, "prompt")[0], y=at(ed, "prompt")[1])
    p = ed.vm.popup
    assert p is not None
    p.index = [i.command for i in p.items].index("run_selected")
    key(ed.canvas, "Enter")
    assert ed.vm.status.get("prompt") in ("done", "succeeded", "cached") or ed.handle is not None


def test_copy_in_one_editor_paste_in_another(ed: Editor) -> None:
    other = Editor(product_flow(), width=800, height=500)
    x, y = at(ed, "copy")
    frontend(ed.canvas, "mouse_down", x=x, y=y)
    frontend(ed.canvas, "mouse_up", x=x, y=y)
    key(ed.canvas, "c", ctrl=True)
    frontend(other.canvas, "mouse_move", x=100, y=450)
    key(other.canvas, "v", ctrl=True)
    assert "copy_2" in other.flow.nodes


def test_snap_button_and_key_agree(ed: Editor) -> None:
    key(ed.canvas, "g")
    assert ed.vm.snap and ed.snap_button.value
    ed.snap_button.value = False
    assert not ed.vm.snap


def test_output_tab_beside_params(ed: Editor) -> None:
    assert [ed.tabs.get_title(i) for i in range(2)] == ["Params", "Output"]
    params_pane, output_pane = ed.tabs.children
    assert ed.params in params_pane.children and ed.preview in output_pane.children
    ed.vm.select(["copy_out"])
    ed.run()
    assert ed.vm.status.get("copy_out") == "done"
    assert ed.tabs.selected_index == 1  # a run that ends with a node selected opens its output
    shown = _texts(ed.preview)  # the selected node's last output, in the tab
    assert "Preview: copy_out" in shown and "ceramic teapot" in shown


def _texts(widget: Any) -> str:
    """Every value and child text under an ipywidgets tree."""
    out = [str(getattr(widget, "value", "") or "")]
    out += [_texts(c) for c in getattr(widget, "children", ())]
    return " ".join(out)


@pytest.mark.parametrize("zoom", [0.12, 0.3, 0.73, 1.0, 2.5])
def test_every_drawing_path_runs(ed: Editor, zoom: float, wire: CanvasWire) -> None:
    ed.flow.move("copy_out", 530, 50)  # overlapping 'copy'
    ed.vm.status.update({"copy": "done", "picture": "failed", "prompt": "running"})
    ed.vm.view.zoom = zoom
    ed.vm.select(["copy", "picture"])
    wire.clear()
    ed.redraw()
    key(ed.canvas, "/")  # the search popup
    frontend(ed.canvas, "mouse_move", x=10, y=10)
    dom(ed, "contextmenu", x=20, y=20)
    ed.throttle.reset()
    frontend(ed.canvas, "mouse_move", x=at(ed, "picture")[0], y=at(ed, "picture")[1])
    assert len(wire.messages) >= 3
    drawn = _drawn(wire)
    assert "Select all" in drawn and "Fit the flow in view" in drawn  # the canvas menu, with its rows


def _drawn(wire: CanvasWire) -> str:
    import json

    out = []
    for data, buffers in wire.messages:
        out.append(json.dumps(data, default=str))
        out.extend(bytes(b).decode("utf-8", "replace") for b in buffers or [])
    return "".join(out)


def test_a_narrow_notebook_narrows_the_canvas_to_keep_the_panel_beside_it(ed: Editor) -> None:
    ed.fit_width(1400)
    assert ed.canvas.width == 1000  # room enough: as asked
    ed.fit_width(1000)
    assert ed.canvas.width == ed.vm.view.width == 1000 - 320 - 12
    assert ed.canvas.layout.width == f"{1000 - 332}px"
    ed.fit_width(300)
    assert ed.canvas.width == 480  # never narrower: the panel wraps below instead
    dom(ed, "resize", width=5000)
    assert ed.canvas.width == 1000
