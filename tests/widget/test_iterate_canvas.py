"""Iterating on the canvas: pin marks (stale too), fresh / cache / pin badges, run from here / only this /
up to here from the context menu, the toolbar and keys, and the next run's cost. Provider calls are
counted at the in-repo fake server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from nbflow import DiskCache
from nbflow.testing.pytest_plugin import _fake_server_session, fake_env, fake_server
from nbflow.widget import Editor
from nbflow.widget.marks import tags

from ..iterate.helpers import calls, two_calls
from .builders import product_flow
from .conftest import CanvasWire, frontend, key
from .test_editor import click, screen
from .test_run_and_files import settle

__all__ = ["_fake_server_session", "fake_env", "fake_server"]


def _laid_out(f: Any) -> Any:
    for i, nid in enumerate(("topic", "prompt", "draft", "ask", "polish", "out")):
        f.move(nid, 20 + 230 * (i % 3), 40 + 200 * (i // 3))
    return f


def _editor(flow: Any) -> Editor:
    ed = Editor(flow, width=900, height=500)
    ed.vm.view.zoom, ed.vm.view.ox, ed.vm.view.oy = 1.0, 0.0, 0.0
    return ed


def _do(ed: Editor, action: Any) -> Editor:
    """Start a run with ``action`` (a callable) inside a running loop and wait for it to end."""
    async def main() -> Editor:
        action()
        if ed.handle is not None:
            await settle(ed)
        for _ in range(10):
            await asyncio.sleep(0)
        return ed

    return asyncio.run(main())


def _menu(ed: Editor, node: str, command: str) -> None:
    """Right-click ``node`` and choose the item running ``command``, as a user does."""
    x, y = screen(ed, node)
    ed._on_dom({"event": "contextmenu", "x": x, "y": y})
    popup = ed.vm.popup
    assert popup is not None and ed.vm.selected == node
    item = next(i for i in popup.items if i.command == command)
    assert item.enabled
    cx, cy = popup.x + 10, popup.y + 4 + (popup.items.index(item) + 0.5) * 24
    assert popup.item_at(cx, cy) == popup.items.index(item)
    click(ed, (cx, cy))


def _drawn_text(wire: CanvasWire) -> str:
    out = []
    for data, buffers in wire.messages:
        out.append(json.dumps(data, default=str))
        out.extend(bytes(b).decode("utf-8", "replace") for b in buffers or [])
    return "".join(out)


def test_pin_from_the_menu_draws_the_mark_goes_stale_and_is_exported(fake_env: Any, wire: CanvasWire,
                                                                     tmp_path: Path) -> None:
    ed = _editor(_laid_out(two_calls()))
    _do(ed, ed.run)
    assert len(calls(fake_env)) == 2
    wire.clear()
    _menu(ed, "draft", "toggle_pin")
    assert "draft" in ed.flow.spec.pins and ed.pin_button.description == "Unpin"
    assert "draft: pinned its last output" in ed.message.value
    assert ed.renderer.pins.get(ed.flow) == {"draft": "ok"}
    assert "PINNED" in _drawn_text(wire) and "STALE PIN" not in _drawn_text(wire)
    # the menu now offers Unpin
    x, y = screen(ed, "draft")
    ed.vm.open_menu(x, y)
    assert ed.vm.popup is not None and "Unpin output" in [i.label for i in ed.vm.popup.items]
    ed.vm.close_popup()
    # a param upstream changes: the pin is stale, drawn as such
    wire.clear()
    ed._on_param("prompt", "template", "Write a poem about {{topic}}.")
    assert ed.renderer.pins.get(ed.flow) == {"draft": "stale"}
    assert "STALE PIN" in _drawn_text(wire)
    # Export writes the pin under the top-level "pins" key, with its outputs inline
    out = ed.export(tmp_path / "writer.json")
    assert out is not None
    saved = json.loads(out.read_text())
    assert saved["pins"]["draft"]["outputs"]["text"] == ed.flow.pins["draft"]["text"]
    # undo the edit, then the pin: one undo step each
    ed._apply(ed.vm.undo())
    assert ed.renderer.pins.get(ed.flow) == {"draft": "ok"}
    ed._apply(ed.vm.undo())
    assert ed.flow.spec.pins == {} and ed.pin_button.description == "Pin"


def test_pin_marks_are_the_same_size_on_screen_at_every_zoom() -> None:
    ed = _editor(product_flow())
    box = ed.vm.boxes["copy"]
    for zoom in (0.1, 0.3, 1.0, 2.5):
        (x, y, w, text, color), = tags([box], {"copy": "stale"}, {}, zoom)
        assert (text, color) == ("STALE PIN", "#c0392b")
        assert y * zoom == pytest.approx(box.y * zoom - 20)  # 16 px high, 4 px above the node on screen
        assert w * zoom == pytest.approx(9 * 11 * 0.62 + 10)
    ok, badge = tags([box], {"copy": "ok"}, {"copy": "cached"}, 1.0)
    assert ok[3] == "PINNED" and badge[3:] == ("cache", "#16a085")
    assert badge[0] + badge[2] == pytest.approx(box.x + box.w)  # the badge ends at the node's right edge


def test_run_from_here_makes_no_upstream_call_and_badges_say_where_outputs_came_from(fake_env: Any,
                                                                                     wire: CanvasWire) -> None:
    ed = _editor(_laid_out(two_calls()))
    _do(ed, ed.run)
    assert len(calls(fake_env)) == 2
    st = ed.vm.status
    assert (st["draft"], st["polish"]) == ("done", "done")
    fake_env.reset()
    ed.vm.select(["ask"])
    ed.flow.set_params("ask", template="Shorter: {{text}}")
    _do(ed, lambda: _menu(ed, "ask", "run_from"))
    assert calls(fake_env) == [f"Shorter: {ed.result.nodes['draft'].outputs['text']}"]  # type: ignore[union-attr]
    assert ed.result is not None and set(ed.result.nodes) == {"draft", "ask", "polish", "out"}
    st = ed.vm.status
    assert (st["draft"], st["ask"], st["polish"], st["topic"]) == ("cached", "done", "done", "done")
    wire.clear()
    ed.redraw()
    drawn = _drawn_text(wire)
    assert "fresh" in drawn and "cache" in drawn
    # pin the draft (key P), Run all: the draft comes from its pin, no call for it
    ed.vm.select(["draft"])
    key(ed.canvas, "p")
    fake_env.reset()
    _do(ed, lambda: ed.run_button.click())
    assert ed.vm.status["draft"] == "pinned" and "prompt" not in ed.result.nodes  # type: ignore[union-attr]
    assert calls(fake_env) == []  # polish came from the cache: its input is the pinned (same) draft
    wire.clear()
    ed.redraw()
    assert '"pin"' in _drawn_text(wire) or "pin" in _drawn_text(wire).replace("PINNED", "")


def test_run_from_here_without_upstream_output_marks_the_node_and_runs_nothing(fake_env: Any) -> None:
    ed = _editor(_laid_out(two_calls()))
    ed.vm.select(["polish"])
    assert _do(ed, ed.run_from_button.click).handle is None
    assert calls(fake_env) == []
    assert "ask" in ed.vm.problems  # the node lacking an output is marked (drawn red, its preview says why)
    text = ed.message.value
    assert "cannot run from polish: polish.prompt needs the output ask.text, but it is neither cached" in text
    assert "pin it (P)" in text and "<br" not in text


def test_run_only_and_up_to_here_by_key(fake_env: Any) -> None:
    ed = _editor(_laid_out(two_calls()))
    _do(ed, ed.run)
    fake_env.reset()
    ed.vm.select(["polish"])

    async def press(k: str) -> None:
        key(ed.canvas, k)
        assert ed.handle is not None
        await settle(ed)

    asyncio.run(press("o"))
    assert ed.result is not None and set(ed.result.nodes) == {"ask", "polish"}
    assert ed.vm.status["polish"] == "done" and ed.vm.status["ask"] == "cached"
    assert len(calls(fake_env)) == 1  # only polish, again
    fake_env.reset()
    ed.vm.select(["draft"])
    asyncio.run(press("u"))
    assert ed.result is not None and set(ed.result.nodes) == {"topic", "prompt", "draft"}
    assert calls(fake_env) == []  # up to here, from the cache


def test_pin_before_a_run_says_why_and_buttons_need_a_selection() -> None:
    ed = _editor(product_flow())
    assert ed.run_from_button.disabled and ed.run_only_button.disabled and ed.pin_button.disabled
    assert ed.run_only() is None and "select a node first" in ed.message.value
    click(ed, screen(ed, "copy"))
    assert not ed.pin_button.disabled
    key(ed.canvas, "p")
    assert "cannot pin copy" in ed.message.value and "no output to pin yet" in ed.message.value
    assert ed.flow.spec.pins == {}
    key(ed.canvas, "p", ctrl=True)  # with a modifier it is not the pin key
    assert ed.flow.spec.pins == {}


def test_cost_label_follows_runs_pins_and_selection() -> None:
    ed = _editor(product_flow())
    assert ed.cost.value.count("Run all ≈") == 1 and "2 calls" in ed.cost.value and "saved" not in ed.cost.value
    _do(ed, ed.run)
    ed.update_cost()  # (with no loop the label is worked out at once; in a kernel a moment later)
    assert "0 calls" in ed.cost.value and "2 cached" in ed.cost.value
    click(ed, screen(ed, "copy"))
    assert "Run from copy ≈" in ed.cost.value and "1 call" in ed.cost.value
    ed.toggle_pin()
    assert "Run from copy ≈" in ed.cost.value and "0 calls" in ed.cost.value and "1 pinned" in ed.cost.value
    ed.flow.set_params("image_prompt", template="A photo of {{product}}")  # a cell's edit
    assert "Run from copy ≈" in ed.cost.value and "0 calls" in ed.cost.value
    frontend(ed.canvas, "key_down", key="Escape", shift_key=False, ctrl_key=False, meta_key=False)
    assert "Run all ≈" in ed.cost.value and "1 call (1 pinned" in ed.cost.value  # the picture, again


def test_cost_label_names_a_missing_upstream_output() -> None:
    ed = _editor(product_flow())
    click(ed, screen(ed, "copy"))
    assert "Run from copy: needs the output of prompt (neither cached nor pinned)" in ed.cost.value
    assert "&#x27;&#x27;" not in ed.cost.value  # no doubled quote


def test_pin_media_by_cache_reference(tmp_path: Path) -> None:
    flow = product_flow()
    flow.cache = DiskCache(tmp_path / "cache")
    ed = _editor(flow)
    _do(ed, ed.run)
    click(ed, screen(ed, "picture"))
    ed.pin_media.value = "cache"
    ed.pin_button.click()
    image = ed.flow.pins["picture"]["image"]
    assert "blob" in json.dumps(image) and "data_base64" not in json.dumps(image)
    ed.pin_button.click()  # unpin, then pin inline
    ed.pin_media.value = "inline"
    ed.pin_button.click()
    assert "data_base64" in json.dumps(ed.flow.pins["picture"]["image"])


def test_moving_nodes_does_not_reprice_but_an_edit_does() -> None:
    ed = _editor(product_flow())
    ed.cost_text = "unchanged"
    start = screen(ed, "copy")
    frontend(ed.canvas, "mouse_down", x=start[0], y=start[1])
    for i in range(1, 6):
        frontend(ed.canvas, "mouse_move", x=start[0] + 8 * i, y=start[1] + 8 * i)
    frontend(ed.canvas, "mouse_up", x=start[0] + 40, y=start[1] + 40)
    assert ed.flow.position("copy") == (560.0, 80.0) and ed.vm.selected == "copy"
    frontend(ed.canvas, "key_down", key="Escape", shift_key=False, ctrl_key=False, meta_key=False)
    ed.cost_text = "unchanged"
    ed.flow.move("copy", 520, 40)  # a cell moves it back: layout only
    assert ed.cost_text == "unchanged"
    ed.flow.set_params("copy", max_tokens=50)
    assert ed.cost_text.startswith("Run all ≈ $")


def test_selection_and_runs_narrow_one_dry_run_and_an_edit_makes_a_new_one() -> None:
    ed = _editor(product_flow())
    dry = ed._dry
    assert dry is not None and set(dry[1]["nodes"]) == {"copy", "picture"}
    assert "2 calls" in ed.cost_text
    _do(ed, ed.run)
    ed.update_cost()
    assert "0 calls (2 cached" in ed.cost_text and ed._dry is dry
    click(ed, screen(ed, "copy"))
    assert "Run from copy ≈" in ed.cost_text and "1 call" in ed.cost_text and ed._dry is dry
    ed.flow.set_params("copy", max_tokens=40)
    assert ed._dry is not dry and "Run from copy ≈" in ed.cost_text


def test_narrow_estimate_counts_what_runs_and_saves_the_rest() -> None:
    from nbflow.widget.iterating import cost_text, narrow_estimate

    usage = [{"provider": "openai", "model": "m", "input_tokens": 10, "output_tokens": 5, "cost": 0.5}]
    full = {"estimate": True, "status": "succeeded", "usage": {}, "cost": 1.5, "unpriced": ["x/y"],
            "nodes": {n: {"type": "llm", "usage": usage, "cost": 0.5} for n in ("a", "b", "c")}}
    est = narrow_estimate(full, {"a": "run", "b": "cached", "c": "pinned", "d": "idle"})
    assert set(est["nodes"]) == {"a"} and est["cost"] == 0.5 and est["unpriced"] == []
    assert est["saved"] == {"cached": ["b"], "pinned": ["c"], "cost": 1.0}
    assert cost_text("Run all", est) == "Run all ≈ $0.5000, 1 call (1 cached, 1 pinned: $1.0000 saved)"
    assert narrow_estimate(full, {"a": "idle", "b": "idle", "c": "idle"})["nodes"] == {}


def test_update_cost_can_be_awaited_in_a_loop_even_with_nothing_new_to_estimate() -> None:
    async def main() -> tuple[str, str]:
        ed = _editor(product_flow())
        await ed.update_cost()  # in a kernel: the dry run is a task on its loop
        first = ed.cost_text
        await ed.update_cost()  # nothing changed: narrowed at once, still awaitable
        return first, ed.cost_text

    first, again = asyncio.run(main())
    assert first == again and first.startswith("Run all ≈ $") and "2 calls" in first


def test_inside_an_opened_body_the_cost_label_prices_the_whole_flow_not_an_error() -> None:
    from nbflow.templates import load_template

    ed = Editor(load_template("generate-score-regenerate"), store=False)
    ed.update_cost()
    outside = ed.cost_text
    assert outside.startswith("Run all ≈ $"), outside
    assert ed.open_body("attempts")
    ed.update_cost()
    assert "cannot estimate" not in ed.cost_text and "missing graph input" not in ed.cost_text
    top = ed.flow.name if not ed._bodies else ed._bodies[0][1].flow.name
    assert ed.cost_text.startswith(f"Run all of the top-level flow {top} ≈ $"), ed.cost_text
    assert ed.cost_text.split("≈", 1)[1] == outside.split("≈", 1)[1]  # the same figure as outside
    assert "#d93025" not in ed.cost.value  # not drawn as an error
    ed.close_body()  # back out, the loop is selected: the label prices a run from it again
    ed.update_cost()
    assert ed.cost_text.startswith("Run from attempts")
