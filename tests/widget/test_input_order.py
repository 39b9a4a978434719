"""Browser events in the user's order: the helper numbers them, the editor hands them on by number.

ipykernel 7 can let one comm message overtake another (it dispatches comm messages at once while the
shell's lock is held); a Shift-drag whose press overtook the Shift became a pan in the browser tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbflow.widget import Editor
from nbflow.widget.inputorder import InputOrder
from nbflow.widget.style import HEADER_H

from .builders import product_flow
from .conftest import frontend


class Timers:
    """A fake ``later``: remembers what is due, runs it when the test says time has passed."""

    def __init__(self) -> None:
        self.due: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, fn: Callable[[], None]) -> None:
        self.due.append((delay, fn))

    def run(self) -> None:
        due, self.due = self.due, []
        for _, fn in due:
            fn()


def order() -> tuple[InputOrder, list[Any], Timers]:
    got: list[Any] = []
    timers = Timers()
    return InputOrder(lambda m: got.append((m["view"], m["seq"])), timers), got, timers


def ev(seq: int, event: str = "down", view: str = "a") -> dict[str, Any]:
    return {"event": event, "view": view, "seq": seq}


def test_events_in_order_go_straight_through() -> None:
    o, got, timers = order()
    for i in (1, 2, 3):
        o.push(ev(i))
    assert got == [("a", 1), ("a", 2), ("a", 3)] and o.held == 0 and timers.due == []


def test_an_early_event_waits_for_the_one_before_it() -> None:
    o, got, timers = order()
    o.push(ev(2))
    o.push(ev(3))
    assert got == [] and o.held == 2 and timers.due[0][0] == o.wait
    o.push(ev(1))
    assert got == [("a", 1), ("a", 2), ("a", 3)] and o.held == 0
    timers.run()  # the timer finds nothing held
    assert got == [("a", 1), ("a", 2), ("a", 3)]


def test_a_lost_event_is_skipped_after_the_wait_and_a_late_one_still_counts_unless_a_move() -> None:
    o, got, timers = order()
    o.push(ev(1))
    o.push(ev(4, "up"))
    o.push(ev(3, "move"))
    assert got == [("a", 1)]
    timers.run()  # 2 never came: 3 and 4 go on
    assert got == [("a", 1), ("a", 3), ("a", 4)] and o.held == 0
    o.push(ev(2, "key"))  # it was on its way after all: a key is never dropped
    o.push(ev(2, "move"))  # a position older than the ones handed on is
    o.push(ev(5))
    assert got == [("a", 1), ("a", 3), ("a", 4), ("a", 2), ("a", 5)]


def test_each_view_counts_on_its_own() -> None:
    o, got, _ = order()
    o.push(ev(1, view="a"))
    o.push(ev(2, view="b"))
    o.push(ev(1, view="b"))  # a second view (or a reload) starts again at 1
    o.push(ev(2, view="a"))
    assert got == [("a", 1), ("b", 1), ("b", 2), ("a", 2)]


def screen(ed: Editor, node: str) -> tuple[float, float]:
    b = ed.vm.boxes[node]
    return ed.vm.view.to_screen(b.x + b.w / 2, b.y + HEADER_H / 2)


def dom(ed: Editor, seq: int, event: str, **content: Any) -> None:
    assert ed.helper is not None
    frontend(ed.helper, event, view="v", seq=seq, **content)


def test_a_shift_drag_whose_press_arrives_last_still_selects_a_box() -> None:
    ed = Editor(product_flow(), width=1000, height=600)
    xs = [ed.vm.view.to_screen(b.x, b.y) for b in ed.vm.boxes.values()]
    left = min(x for x, _ in xs) - 10
    top = min(y for _, y in xs) - 10
    ed._order.later = Timers()  # no loop in this test: the wait would otherwise end at once
    # the helper sent down (Shift), move, up; the kernel got them backwards
    dom(ed, 3, "up", x=990, y=590)
    dom(ed, 2, "move", x=990, y=590)
    assert list(ed.vm.selection) == [] and ed._order.held == 2
    dom(ed, 1, "down", shift=True, ctrl=False, meta=False, x=left, y=top)
    assert sorted(ed.vm.selection) == sorted(ed.flow.nodes)
    assert "selected" in ed.message.value


def test_once_the_helper_speaks_ipycanvas_copies_of_its_events_are_ignored() -> None:
    ed = Editor(product_flow(), width=1000, height=600)
    x, y = screen(ed, "copy")
    dom(ed, 1, "resize", width=1400)
    frontend(ed.canvas, "mouse_down", x=x, y=y)  # the same press, as ipycanvas reports it
    frontend(ed.canvas, "mouse_up", x=x, y=y)
    assert list(ed.vm.selection) == []
    dom(ed, 2, "down", shift=False, ctrl=False, meta=False, x=x, y=y)
    dom(ed, 3, "up", x=x, y=y)
    assert list(ed.vm.selection) == ["copy"]
    dom(ed, 4, "key", key="Delete", shift=False, ctrl=False, meta=False)
    assert "copy" not in ed.flow.nodes
