"""A body kept in its own file, edited in place: undo in the parent puts the file back, and redo too."""

from __future__ import annotations

import json
from pathlib import Path

from nbflow.widget import Editor

from .conftest import key
from .test_bodies import parent


def edit_the_file_body(ed: Editor) -> None:
    """Open 'byfile', make two edits in it (add a node, change a param), go back up."""
    ed.vm.select(["byfile"])
    key(ed.canvas, "Enter")
    assert "byfile (sub.json)" in ed.crumbs.value
    ed.vm.add_node("input.number", name="extra", required=False)
    ed._body_changed()
    ed.vm.set_params("shout", template="{{text}}!!")
    ed._body_changed()
    ed.up_button.click()


def test_undo_in_the_parent_puts_the_file_back_and_redo_rewrites_it(tmp_path: Path) -> None:
    f = parent(tmp_path)
    sub = tmp_path / "sub.json"
    original = sub.read_bytes()
    ed = Editor(f, store=False)
    edit_the_file_body(ed)
    edited = sub.read_bytes()
    assert ed.flow is f and edited != original and len(json.loads(edited)["nodes"]) == 4
    assert "extra" in ed.vm.boxes["byfile"].inputs  # the parent's node shows the file's new input
    # the visit is one step of the parent's history, named for the file
    assert ed.vm.history.labels[0][-1] == "edit body of byfile (sub.json)"
    assert ed.vm.history.labels[0].count("edit body of byfile (sub.json)") == 1
    key(ed.canvas, "z", ctrl=True)
    assert sub.read_bytes() == original
    assert "undo: edit body of byfile (sub.json); sub.json is back as it was" in ed.message.value
    assert "extra" not in ed.vm.boxes["byfile"].inputs
    assert f.run().status == "succeeded"
    key(ed.canvas, "z", ctrl=True, shift=True)
    assert sub.read_bytes() == edited and "sub.json is rewritten" in ed.message.value
    assert "extra" in ed.vm.boxes["byfile"].inputs


def test_undo_leaves_a_file_changed_on_disk_since_alone(tmp_path: Path) -> None:
    f = parent(tmp_path)
    sub = tmp_path / "sub.json"
    ed = Editor(f, store=False)
    edit_the_file_body(ed)
    mine = sub.read_bytes().replace(b"extra", b"mine")  # the user edits the file elsewhere
    sub.write_bytes(mine)
    key(ed.canvas, "z", ctrl=True)
    assert sub.read_bytes() == mine
    assert "sub.json changed on disk since, so it is left as it is" in ed.message.value


def test_reopening_the_file_makes_a_new_step(tmp_path: Path) -> None:
    f = parent(tmp_path)
    sub = tmp_path / "sub.json"
    original = sub.read_bytes()
    ed = Editor(f, store=False)
    edit_the_file_body(ed)
    first = sub.read_bytes()
    edit_the_file_body(ed)
    assert ed.vm.history.labels[0][-2:] == ["edit body of byfile (sub.json)"] * 2
    key(ed.canvas, "z", ctrl=True)
    assert sub.read_bytes() == first
    key(ed.canvas, "z", ctrl=True)
    assert sub.read_bytes() == original
