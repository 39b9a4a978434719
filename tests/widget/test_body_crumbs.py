"""Leaving an opened body: Up and the breadcrumb links go back, say where, and give the keys back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nbflow import Flow
from nbflow.widget import Editor

from .conftest import key
from .test_bodies import body, parent


def nested() -> Flow:
    """parent -> outer (a subflow) -> deep (a subflow in its body)."""
    mid = body()
    mid["nodes"].append({"id": "deep", "type": "subflow", "params": {"flow": body()}})
    mid["edges"].append({"from": "text.value", "to": "deep.text"})
    mid["layout"]["nodes"]["deep"] = {"x": 260, "y": 200}
    f = Flow("parent")
    f.add("input.text", id="topic", default="hi", x=0, y=0)
    f.add("subflow", id="outer", flow=mid, x=260, y=0)
    f.connect("topic.value", "outer.text")
    return f


def sent_to_browser(ed: Editor, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    sent: list[Any] = []
    monkeypatch.setattr(ed.helper, "send", lambda content, buffers=None: sent.append(content))
    return sent


def test_up_says_where_and_gives_the_keys_back_to_the_canvas(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    f = parent(tmp_path)
    ed = Editor(f, store=False)
    sent = sent_to_browser(ed, monkeypatch)
    ed.open_body("inner")
    ed.vm.select(["text"])
    key(ed.canvas, "d", ctrl=True)
    ed.up_button.click()
    assert ed.flow is f
    assert "back in parent" in ed.message.value
    assert {"focus": True} in sent  # the Up button took the page's focus: the canvas gets it back
    key(ed.canvas, "z", ctrl=True)  # so Ctrl+Z right after Up undoes the body's edit
    assert "text_2" not in {n["id"] for n in f.node("inner").params["flow"]["nodes"]}


def test_each_breadcrumb_goes_back_to_its_level(monkeypatch: pytest.MonkeyPatch) -> None:
    f = nested()
    ed = Editor(f, store=False)
    sent = sent_to_browser(ed, monkeypatch)
    assert ed.open_body("outer") and ed.open_body("deep")
    assert [b.description for b in ed.crumb_links] == ["parent ›", "outer ›"]
    assert "deep" in ed.crumbs.value
    ed.crumb_links[1].click()  # one level up
    assert set(ed.flow.nodes) == {"text", "shout", "out", "deep"}
    assert "back in outer" in ed.message.value and ed.vm.selected == "deep"
    assert [b.description for b in ed.crumb_links] == ["parent ›"]
    ed.open_body("deep")
    ed.crumb_links[0].click()  # straight back to the top
    assert ed.flow is f and ed.crumb_bar.layout.display == "none"
    assert "back in parent" in ed.message.value and ed.vm.selected == "outer"
    assert sent.count({"focus": True}) == 3
