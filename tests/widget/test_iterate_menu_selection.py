"""The node context menu's run and pin items act on the whole selection, as the toolbar and keys do."""

from __future__ import annotations

from typing import Any

from nbflow.testing.pytest_plugin import _fake_server_session, fake_env, fake_server
from nbflow.widget import Editor
from nbflow.widget.iterating import menu_items

from ..iterate.helpers import calls, two_calls
from .test_editor import click, screen
from .test_iterate_canvas import _do, _editor, _laid_out

__all__ = ["_fake_server_session", "fake_env", "fake_server"]


def _choose(ed: Editor, node: str, command: str) -> str:
    """Right-click ``node`` (part of the selection) and click the item running ``command``; its label."""
    before = set(ed.vm.selection)
    x, y = screen(ed, node)
    ed._on_dom({"event": "contextmenu", "x": x, "y": y})
    popup = ed.vm.popup
    assert popup is not None and set(ed.vm.selection) == before  # the selection stays
    item = next(i for i in popup.items if i.command == command)
    assert item.enabled
    click(ed, (popup.x + 10, popup.y + 4 + (popup.items.index(item) + 0.5) * 24))
    return item.label


def test_run_only_from_the_menu_runs_every_selected_node(fake_env: Any) -> None:
    ed = _editor(_laid_out(two_calls()))
    _do(ed, ed.run)
    fake_env.reset()
    ed.vm.select(["draft", "polish"])
    label = ""

    def choose() -> None:
        nonlocal label
        label = _choose(ed, "draft", "run_only")

    _do(ed, choose)
    assert label == "Run only these (2 nodes)"
    assert len(calls(fake_env)) == 2  # both selected llm nodes called, nothing else
    assert ed.result is not None and {"draft", "polish"} <= set(ed.result.nodes)
    assert (ed.vm.status["draft"], ed.vm.status["polish"]) == ("done", "done")


def test_run_up_to_here_from_the_menu_runs_what_every_selected_node_needs(fake_env: Any) -> None:
    ed = _editor(_laid_out(two_calls()))
    ed.vm.select(["prompt", "draft"])
    _do(ed, lambda: _choose(ed, "prompt", "run_selected"))
    assert ed.result is not None and set(ed.result.nodes) == {"topic", "prompt", "draft"}
    assert len(calls(fake_env)) == 1


def test_pin_from_the_menu_pins_and_unpins_the_selection_in_one_undo_step(fake_env: Any) -> None:
    ed = _editor(_laid_out(two_calls()))
    _do(ed, ed.run)
    ed.vm.select(["draft", "polish"])
    assert _choose(ed, "polish", "toggle_pin") == "Pin outputs (2 nodes)"
    assert set(ed.flow.pins) == {"draft", "polish"}
    assert ed.pin_button.description == "Unpin"
    assert [i.label for i in menu_items(ed.flow, ["draft", "polish"])][-1] == "Unpin outputs (2 nodes)"
    ed.vm.undo()
    assert ed.flow.pins == {}  # one undo step for both
    ed.vm.redo()
    ed.vm.select(["draft", "polish"])
    assert _choose(ed, "draft", "toggle_pin") == "Unpin outputs (2 nodes)"
    assert ed.flow.pins == {}


def test_pinning_a_selection_with_a_node_that_never_ran_pins_nothing_and_names_it(fake_env: Any) -> None:
    ed = _editor(_laid_out(two_calls()))
    _do(ed, lambda: (ed.vm.select(["draft"]), ed.run_selected()))
    ed.vm.select(["draft", "polish"])
    assert not ed.toggle_pin()
    assert ed.flow.pins == {} and "cannot pin polish" in ed.message.value
