"""Grouping into a loop: the new loop runs its body once until the user says when to stop."""

from __future__ import annotations

from nbflow.widget import Editor

from .builders import product_flow
from .conftest import key


def test_a_new_loop_runs_once_and_says_how_to_repeat() -> None:
    f = product_flow()
    before = f.run()
    ed = Editor(f, store=False)
    ed.vm.select(["copy"])
    key(ed.canvas, "L", shift=True)
    gid = ed.vm.selected
    assert gid is not None and f.node(gid).type == "loop"
    assert f.node(gid).params["max_iterations"] == 1 and not f.node(gid).params.get("until")
    assert "runs once" in ed.message.value and "until" in ed.message.value
    after = f.run()
    rec = after.nodes[gid]
    assert rec.outputs is not None and rec.outputs["count"] == 1  # the llm is called once, not 3 times
    assert after.outputs == before.outputs
