"""Running from the canvas (status, stop, previews) and export / import / headless replay."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import subprocess
import sys
from pathlib import Path

import ipywidgets as w
import pytest

from nbflow import Flow, Media
from nbflow.model.record import NodeRecord, value_to_json
from nbflow.providers.offline import png_bytes
from nbflow.widget import Editor
from nbflow.widget.panels import PreviewPanel, render_value

from .builders import plugin_registry, product_flow
from .conftest import frontend
from .test_editor import click, screen


async def settle(ed: Editor) -> None:
    """Wait for the editor's run to end and its callbacks to run."""
    assert ed.handle is not None
    with contextlib.suppress(asyncio.CancelledError):
        await ed.handle
    for _ in range(3):
        await asyncio.sleep(0)


def test_run_all_shows_status_and_previews() -> None:
    async def main() -> Editor:
        ed = Editor(product_flow())
        events: list[str] = []
        handle = ed.run()
        assert handle is not None and ed.stop_button.disabled is False and ed.run_button.disabled
        orig = ed._on_event
        ed._on_event = lambda ev: (events.append(ev.kind), orig(ev))  # type: ignore[method-assign]
        await settle(ed)
        return ed

    ed = asyncio.run(main())
    assert set(ed.vm.status.values()) == {"done"}
    assert ed.flow.last_result is ed.result and ed.result is not None and ed.result.ok
    assert ed.vm.previews["copy"].text.startswith("[offline]")
    assert ed.vm.previews["picture"].kind == "image"
    assert "run succeeded" in ed.message.value
    assert ed.run_button.disabled is False and ed.stop_button.disabled
    ed.vm.view.zoom, ed.vm.view.ox, ed.vm.view.oy = 1.0, 0.0, 0.0
    click(ed, screen(ed, "picture"))
    kinds = [type(c) for c in ed.preview.body.children]
    assert w.ToggleButtons in kinds and w.Image in kinds  # two outputs: image, images
    assert "images 1" in ed.preview.footer.value and "cost $" in ed.preview.footer.value
    ed.preview.port.value = "images"
    assert any(type(c).__name__ == "_Pager" for c in ed.preview.body.children)
    click(ed, screen(ed, "copy"))
    text = ed.preview.body.children[0].value
    assert "[offline]" in text and "pre-wrap" in text and "user-select:text" in text


def test_events_update_status_while_running_and_the_loop_stays_free() -> None:
    async def main() -> tuple[Editor, list[str], int]:
        f = product_flow(plugin_registry())
        f.add("test.slow", id="slow", x=1020, y=40)
        f.connect("copy.text", "slow.text")
        ed = Editor(f)
        ed.run()
        ticks = 0
        for _ in range(200):  # other work on the kernel loop goes on during the run
            await asyncio.sleep(0.005)
            ticks += 1
            if ed.vm.status.get("slow") == "running":
                break
        seen = dict(ed.vm.status)
        frontend(ed.canvas, "mouse_down", x=5, y=5)  # the canvas answers mid-run
        frontend(ed.canvas, "mouse_up", x=5, y=5)
        ed.stop_button.click()
        await settle(ed)
        return ed, [seen.get("copy", ""), seen.get("slow", "")], ticks

    ed, seen, ticks = asyncio.run(main())
    assert seen == ["done", "running"] and ticks < 200
    assert ed.vm.status["slow"] == "cancelled"
    assert "run cancelled" in ed.message.value
    assert ed.stop_button.disabled and not ed.run_button.disabled


def test_a_failed_node_shows_its_error_attempts_and_status() -> None:
    async def main() -> Editor:
        f = product_flow(plugin_registry())
        f.add("test.fail", id="broken", x=1020, y=40)
        f.connect("copy.text", "broken.text")
        ed = Editor(f)
        ed.run()
        await settle(ed)
        return ed

    ed = asyncio.run(main())
    assert ed.vm.status["broken"] == "failed"
    assert ed.vm.errors["broken"] == "the service is down"
    assert "run failed" in ed.message.value
    ed.vm.selected = "broken"
    ed._sync_panels()
    err = ed.preview.body.children[0].value
    assert "NodeError" in err and "the service is down" in err and "HTTP 503" in err and "attempts: 1" in err


def test_run_selected_runs_the_node_and_what_it_needs() -> None:
    async def main() -> Editor:
        ed = Editor(product_flow())
        ed.vm.selected = "copy"
        ed._sync_buttons()
        assert not ed.run_selected_button.disabled
        ed.run_selected_button.click()
        await settle(ed)
        return ed

    ed = asyncio.run(main())
    assert ed.result is not None
    assert set(ed.result.nodes) == {"product", "prompt", "copy"}


def test_an_invalid_flow_is_not_run_and_says_why() -> None:
    f = Flow()
    f.add("llm", id="copy")
    ed = Editor(f)
    assert ed.run() is None
    assert "cannot run" in ed.message.value and "copy" in ed.message.value


def test_without_an_event_loop_the_run_happens_in_place() -> None:
    ed = Editor(product_flow())
    assert ed.run() is None
    assert ed.result is not None and ed.result.ok and ed.vm.status["copy"] == "done"


# -- export and import --------------------------------------------------------------------------


def test_export_import_export_is_byte_identical(tmp_path: Path) -> None:
    ed = Editor(product_flow())
    first = ed.export(tmp_path / "a.json")
    assert first is not None
    a = first.read_bytes()
    link = ed.download.value
    assert 'download="a.json"' in link
    assert base64.b64decode(link.split("base64,")[1].split('"')[0]) == a
    other = Editor(Flow("empty"))
    other.path.value = str(first)
    other.import_button.click()
    assert "imported" in other.message.value
    second = other.export(tmp_path / "b.json")
    assert second is not None and second.read_bytes() == a
    other.undo_button.click()  # an import is one undo step
    assert other.flow.spec.nodes == []


def test_import_by_upload_and_bad_files(tmp_path: Path) -> None:
    ed = Editor(Flow("empty"))
    text = product_flow().dumps().encode()
    ed.upload.value = ({"name": "up.json", "type": "application/json", "size": len(text),
                        "content": memoryview(text),
                        "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert len(ed.flow.spec.nodes) == 7 and ed.upload.value == ()
    assert ed.flow.dumps().encode() == text
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert not ed.import_path(bad)
    assert "cannot import" in ed.message.value and "bad.json" in ed.message.value
    assert not ed.import_path(tmp_path / "missing.json")
    assert len(ed.flow.spec.nodes) == 7


def test_nbflow_run_on_the_export_gives_the_notebooks_outputs(tmp_path: Path) -> None:
    async def main() -> Editor:
        f = Flow("canvas-built")
        ed = Editor(f)
        # built on the canvas: palette adds, params edits and wires, no flow.add in code
        ids = {t: ed.add_node(t) for t in ("input.text", "template", "llm", "image")}
        ed.vm.set_params(ids["input.text"], default="a linen apron")
        ed.vm.set_params(ids["template"], template="Short product copy for {{product}}")
        ed.vm.set_params(ids["image"], size="48x48")
        out_copy, out_img = ed.add_node("output"), ed.add_node("output")
        ed.vm.rename(out_copy, "copy_out")
        ed.vm.rename(out_img, "image_out")
        for src, dst in [(f"{ids['input.text']}.value", f"{ids['template']}.product"),
                         (f"{ids['template']}.text", f"{ids['llm']}.prompt"),
                         (f"{ids['llm']}.text", "copy_out.value"),
                         (f"{ids['template']}.text", f"{ids['image']}.prompt"),
                         (f"{ids['image']}.image", "image_out.value")]:
            assert ed.vm.wire(src, dst), ed.vm.message
        ed.run()
        await settle(ed)
        return ed

    ed = asyncio.run(main())
    assert ed.result is not None and ed.result.ok
    path = ed.export(tmp_path / "flow.json")
    proc = subprocess.run([sys.executable, "-m", "nbflow", "run", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    headless = json.loads(proc.stdout)["outputs"]
    assert headless == value_to_json(ed.result.outputs)
    assert headless["copy_out"].startswith("[offline]") and headless["image_out"]["$media"] == "image"


# -- preview renderers --------------------------------------------------------------------------


def wav() -> bytes:
    return b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + bytes(28)


@pytest.mark.parametrize("value,kind", [
    ("hello\nworld", w.HTML),
    ({"a": [1, 2]}, w.HTML),
    (3.5, w.HTML),
    (Media("image/png", png_bytes(2, 2, [b"\x00" * 6] * 2)), w.Image),
    (Media("audio/wav", wav()), w.Audio),
    (Media("video/mp4", b"\x00\x00\x00\x18ftypmp42"), w.Video),
    (Media("application/pdf", b"%PDF-1.4", name="a.pdf"), w.HTML),
    (Media("image/png", url="https://example.invalid/a.png"), w.HTML),
])
def test_render_value_by_type(value: object, kind: type) -> None:
    assert isinstance(render_value(value), kind)


def test_text_and_json_previews_are_escaped_and_pretty() -> None:
    assert "&lt;b&gt;" in render_value("<b>hi</b>").value
    assert '&quot;a&quot;: [\n    1\n  ]' in render_value({"a": [1]}).value
    link = render_value(Media("application/pdf", b"%PDF-1.4", name="a.pdf")).value
    assert 'download="a.pdf"' in link and "8 bytes" in link


def test_lists_are_paged() -> None:
    pager = render_value(["one", "two", "three"])
    assert pager.label.value == "item 1 of 3" and pager.prev.disabled
    pager.next.click()
    pager.next.click()
    assert pager.label.value == "item 3 of 3" and pager.next.disabled
    assert "three" in pager.body.children[0].value
    assert render_value([]).label.value == "empty list"


def test_preview_panel_hints_and_usage() -> None:
    p = PreviewPanel()
    assert "select a node" in p.header.value
    p.show("copy", None, status="running")
    assert "running" in p.header.value and "run the flow" in p.body.children[0].value
    rec = NodeRecord("copy", "llm", status="done", outputs={"text": "hi"},
                     usage=[{"provider": "openai", "model": "gpt-x", "input_tokens": 12, "output_tokens": 3}],
                     cost=0.0012)
    p.show("copy", rec)
    assert "input_tokens 12" in p.footer.value and "cost $0.0012" in p.footer.value


def test_a_paused_approval_is_decided_from_the_preview() -> None:
    async def main() -> Editor:
        f = Flow("review")
        f.add("input.text", id="draft", default="Buy our teapot.")
        f.add("approval", id="review", prompt="Publish this copy?")
        f.add("output", id="published")
        f.connect("draft.value", "review.value")
        f.connect("review.approved", "published.value")
        ed = Editor(f)
        ed.run()
        await settle(ed)
        assert ed.vm.status["review"] == "paused" and ed.result is not None and ed.result.status == "paused"
        ed.vm.selected = "review"
        ed._sync_panels()
        box = ed.approval
        assert box is not None and box in ed.preview.body.children
        box.value.value = "Buy our ceramic teapot."
        task = box.decide(True)
        assert task is not None
        await task
        for _ in range(3):
            await asyncio.sleep(0)
        return ed

    ed = asyncio.run(main())
    assert ed.result is not None and ed.result.status == "succeeded"
    assert ed.result.outputs["published"] == "Buy our ceramic teapot."
    assert ed.vm.status["review"] == "done" and "run succeeded" in ed.message.value


def test_canvas_runs_are_recorded_in_the_run_history_as_notebook_runs(tmp_path, monkeypatch) -> None:
    from nbflow.store import open_store
    from nbflow.widget import Editor

    from .builders import product_flow

    monkeypatch.setenv("NBFLOW_HOME", str(tmp_path))
    ed = Editor(product_flow())
    assert ed.run() is None  # no running loop here: runs in place
    assert ed.result is not None and ed.result.status == "succeeded"
    with open_store() as store:  # the default store, under NBFLOW_HOME
        runs = store.list_runs()
    assert [(r.id, r.source) for r in runs] == [(ed.result.run_id, "notebook")]


def test_a_run_from_a_cell_shows_on_the_displayed_canvas() -> None:
    from nbflow.widget import Editor

    from .builders import product_flow

    flow = product_flow()
    ed = Editor(flow)
    result = flow.run()  # as in a later cell, not through the canvas
    assert ed.result is result
    statuses = {nid: ed.vm.status.get(nid) for nid in flow.nodes}
    assert set(statuses.values()) == {"done"}
    assert "run succeeded" in ed.message.value
