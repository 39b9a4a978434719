"""Where Add, paste and duplicate put new nodes: inside the view, and the view follows when it is full."""

from __future__ import annotations

import random

from nbflow import Flow
from nbflow.widget.arrange import _ring, free_spot, overlaps
from nbflow.widget.commands import clipboard
from nbflow.widget.viewmodel import ViewModel

from .builders import product_flow


def on_screen(vm: ViewModel, nid: str) -> bool:
    b, v = vm.boxes[nid], vm.view
    x0, y0 = v.to_screen(b.x, b.y)
    x1, y1 = v.to_screen(b.x + b.w, b.y + b.h)
    return 0 <= x0 and x1 <= v.width and 0 <= y0 and y1 <= v.height


def no_overlaps(vm: ViewModel) -> bool:
    rs = [(b.x, b.y, b.w, b.h) for b in vm.boxes.values()]
    return not any(overlaps(a, b) for i, a in enumerate(rs) for b in rs[i + 1:])


def test_four_adds_land_whole_inside_the_view_at_zoom_1() -> None:
    """The audit's case: Add four times at zoom 1 put two nodes above the view and one half cut off."""
    vm = ViewModel(product_flow(), width=1100, height=700)
    vm.view.zoom, vm.view.ox, vm.view.oy = 1.0, 0.0, 0.0
    before = (vm.view.ox, vm.view.oy)
    added = [vm.add_node("http", url="https://example.com") for _ in range(4)]
    assert all(on_screen(vm, n) for n in added), {n: vm.flow.position(n) for n in added}
    assert (vm.view.ox, vm.view.oy) == before  # there was room: the view stays put
    assert no_overlaps(vm)
    # a view with room for one more: the next ones go just outside it, and the view follows each
    vm = ViewModel(product_flow(), width=900, height=420)
    vm.view.zoom, vm.view.ox, vm.view.oy = 1.0, 0.0, 0.0
    for _ in range(4):
        assert on_screen(vm, vm.add_node("http", url="https://example.com"))
    assert no_overlaps(vm)


def test_a_full_view_pans_to_the_new_node() -> None:
    vm = ViewModel(Flow("f"), width=500, height=300)
    vm.view.zoom, vm.view.ox, vm.view.oy = 1.0, 0.0, 0.0
    ids = [vm.add_node("template", template="x") for _ in range(12)]
    assert no_overlaps(vm)
    assert on_screen(vm, ids[-1])  # the last one did not fit: the view moved to it
    assert (vm.view.ox, vm.view.oy) != (0.0, 0.0)


def test_paste_and_duplicate_land_in_view() -> None:
    vm = ViewModel(product_flow(), width=900, height=420)
    vm.select(["product"])
    vm.copy()
    assert clipboard() is not None
    vm.mouse = (450.0, 210.0)
    vm.paste()
    vm.duplicate()
    assert all(on_screen(vm, n) for n in vm.selection)
    assert no_overlaps(vm)


def test_free_spot_prefers_the_view_over_a_nearer_spot_outside() -> None:
    taken = [(0.0, 0.0, 400.0, 100.0)]
    view = (-300.0, -20.0, 700.0, 300.0)
    # the nearest free spot to (100, 0) is above the node, outside the view; inside, it is beside or below
    x, y = free_spot(100, 0, 200, 100, taken, step=20.0, within=view)
    assert view[0] <= x and x + 200 <= view[2] and view[1] <= y and y + 100 <= view[3]
    assert not overlaps((x, y, 200, 100), taken[0], 24)
    assert free_spot(100, 0, 200, 100, taken, step=20.0)[1] < -20  # without a view: above it
    # no room inside: the nearest free spot anywhere
    assert free_spot(100, 0, 200, 100, taken, step=20.0, within=(0.0, 0.0, 400.0, 100.0)) == \
        free_spot(100, 0, 200, 100, taken, step=20.0)


def test_free_spot_in_a_view_matches_checking_every_candidate() -> None:
    """Inside the view: the first free candidate in ring order whose box is inside; else the nearest anywhere."""
    def brute(x: float, y: float, taken: list, view: tuple, step: float = 20.0) -> tuple:
        def ok(cx: float, cy: float) -> bool:
            return not any(overlaps((cx, cy, 200, 100), r, 24.0) for r in taken)

        def inside(cx: float, cy: float) -> bool:
            return view[0] <= cx and cx + 200 <= view[2] and view[1] <= cy and cy + 100 <= view[3]

        for want in (inside, lambda _x, _y: True):
            cands = [(0, 0)] + [c for r in range(1, 80) for c in _ring(r)]
            for i, j in cands:
                cx, cy = x + i * step, y + j * step
                if want(cx, cy) and ok(cx, cy):
                    return cx, cy
        raise AssertionError("no spot")

    rng = random.Random(11)
    for _ in range(40):
        taken = [(rng.uniform(0, 900), rng.uniform(0, 700), rng.uniform(40, 260), rng.uniform(30, 180))
                 for _ in range(rng.randint(0, 60))]
        view = (rng.uniform(-100, 300), rng.uniform(-100, 300), rng.uniform(500, 1000), rng.uniform(400, 800))
        x, y = rng.uniform(0, 900), rng.uniform(0, 700)
        assert free_spot(x, y, 200, 100, taken, step=20.0, within=view) == brute(x, y, taken, view)
