"""Iterating on the canvas: pin marks, cache / pin / fresh badges, run from here / only / up to here,
the cost of the next run minus cached and pinned nodes."""

from __future__ import annotations

import asyncio
import json

from nbflow.widget import Editor

from .builders import product_flow
from .conftest import CanvasWire, key
from .test_editor import click, screen
from .test_run_and_files import settle


def _run(ed: Editor, action: str = "run") -> Editor:
    async def main() -> Editor:
        handle = getattr(ed, action)()
        assert handle is not None, ed.message.value
        await settle(ed)
        for _ in range(20):  # the estimate after a run is a task of its own
            await asyncio.sleep(0.01)
        return ed

    return asyncio.run(main())


def _select(ed: Editor, node: str) -> None:
    ed.vm.view.zoom, ed.vm.view.ox, ed.vm.view.oy = 1.0, 0.0, 0.0
    click(ed, screen(ed, node))
    assert ed.vm.selected == node


def _drawn_text(wire: CanvasWire) -> str:
    out = []
    for data, buffers in wire.messages:
        out.append(json.dumps(data, default=str))
        out.extend(bytes(b).decode("utf-8", "replace") for b in buffers or [])
    return "".join(out)


def test_pin_from_the_toolbar_marks_the_node_and_canvas_runs_use_it(wire: CanvasWire) -> None:
    ed = _run(Editor(product_flow()))
    assert {ed.vm.status[n] for n in ("copy", "picture")} == {"done"}
    _select(ed, "copy")
    assert ed.pin_button.description == "Pin" and not ed.pin_button.disabled
    wire.clear()
    ed.pin_button.click()
    assert "copy" in ed.flow.pins and ed.pin_button.description == "Unpin"
    assert ed.vm.pin_marks() == {"copy": "ok"}
    assert "PINNED" in _drawn_text(wire)
    ed = _run(ed)
    assert ed.vm.status["copy"] == "pinned" and ed.result is not None
    assert ed.result.outputs["copy_out"] == ed.flow.pins["copy"]["text"]
    wire.clear()
    ed.redraw()
    drawn = _drawn_text(wire)
    assert "pin" in drawn and "cache" in drawn  # badges: copy from its pin, the rest from the cache
    ed.vm.set_params("prompt", template="Shorter copy for {{product}}.")
    assert ed.vm.pin_marks() == {"copy": "stale"}
    wire.clear()
    ed.redraw()
    assert "PINNED (stale)" in _drawn_text(wire)
    ed.vm.undo()
    ed.vm.undo()  # undo the edit, then the pin
    assert ed.flow.pins == {}


def test_run_from_here_reuses_upstream_and_reruns_downstream() -> None:
    ed = _run(Editor(product_flow()))
    _select(ed, "copy")
    ed = _run(ed, "run_from_here")
    st = ed.vm.status
    assert (st["prompt"], st["copy"], st["copy_out"]) == ("cached", "done", "done")
    assert ed.result is not None and set(ed.result.nodes) == {"prompt", "copy", "copy_out"}
    assert st["picture"] == "done"  # the other branch keeps what it showed
    assert "running from copy on" in ed.message.value or "run succeeded" in ed.message.value


def test_run_only_and_up_to_here_by_key() -> None:
    ed = _run(Editor(product_flow()))
    _select(ed, "picture")

    async def main() -> Editor:
        key(ed.canvas, "o")
        assert ed.handle is not None
        await settle(ed)
        return ed

    ed = asyncio.run(main())
    assert ed.result is not None and set(ed.result.nodes) == {"image_prompt", "picture"}
    assert ed.vm.status["picture"] == "done" and ed.vm.status["image_prompt"] == "cached"

    async def up_to() -> Editor:
        key(ed.canvas, "u")
        await settle(ed)
        return ed

    ed = asyncio.run(up_to())
    assert ed.result is not None and set(ed.result.nodes) == {"product", "image_prompt", "picture"}


def test_run_from_here_without_cached_upstream_says_what_is_missing() -> None:
    ed = Editor(product_flow())
    _select(ed, "copy")
    assert ed.run_from_here() is None and ed.handle is None
    assert "the output of &#x27;prompt&#x27; is neither cached nor pinned" in ed.message.value


def test_pin_key_and_pin_before_a_run_is_a_message() -> None:
    ed = Editor(product_flow())
    _select(ed, "copy")
    key(ed.canvas, "p")
    assert "cannot pin" in ed.message.value and "no output to pin yet" in ed.message.value
    assert ed.flow.pins == {}


def test_estimate_leaves_out_cached_and_pinned_nodes() -> None:
    ed = Editor(product_flow())
    ed.estimate()
    assert "2 calls" in ed.cost.value and "saved" not in ed.cost.value
    ed = _run(ed)
    assert "0 calls" in ed.cost.value and "2 cached" in ed.cost.value
    _select(ed, "copy")
    ed.toggle_pin()
    assert "1 cached, 1 pinned" in ed.cost.value


def test_buttons_need_a_selected_node() -> None:
    ed = Editor(product_flow())
    assert ed.run_from_button.disabled and ed.run_only_button.disabled and ed.pin_button.disabled
    assert ed.run_only() is None and "select a node first" in ed.message.value


