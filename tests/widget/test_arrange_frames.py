"""Auto-layout keeps frames whole: every member stays inside its frame, no frame overlaps another
(unless it holds it) or a node it does not hold; on the example flows and on random flows."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbflow import Flow, load
from nbflow.model.spec import FrameSpec
from nbflow.widget.arrange import overlaps
from nbflow.widget.arrange_frames import TOP_PAD, frame_tree
from nbflow.widget.viewmodel import ViewModel

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))


def frame_boxes(vm: ViewModel) -> None:
    """Frames around the first two nodes and around the first four, and an empty comment."""
    boxes = list(vm.boxes.values())
    lay = vm.flow.spec.layout.model_copy(deep=True)
    for k, n in enumerate((2, 4)):
        group = boxes[:n]
        x0, y0 = min(b.x for b in group) - 20 - 10 * k, min(b.y for b in group) - 60 - 10 * k
        x1, y1 = max(b.x + b.w for b in group) + 20 + 10 * k, max(b.y + b.h for b in group) + 20 + 10 * k
        lay.frames.append(FrameSpec(id=f"g{k}", x=x0, y=y0, w=x1 - x0, h=y1 - y0))
    right = max(b.x + b.w for b in boxes)
    lay.frames.append(FrameSpec(id="note", text="a comment", x=right + 100, y=boxes[0].y, w=260, h=140))
    vm.flow.set_layout(lay)


def check_layout(vm: ViewModel) -> None:
    """Lay out and check: members inside their frames (below the title bar), frames and nodes apart."""
    tree = frame_tree(vm.flow.spec, vm.boxes)
    vm.history.clear()
    vm.auto_layout()
    assert vm.history.labels[0] == ["auto-layout"]
    frames = {f"#{f.id}": (f.x, f.y, f.w, f.h) for f in vm.flow.spec.layout.frames}
    nodes = {b.id: (b.x, b.y, b.w, b.h) for b in vm.boxes.values()}

    def holds(frame: str, item: str) -> bool:
        while item:
            item = tree[item]
            if item == frame:
                return True
        return False

    for item, (x, y, w, h) in {**nodes, **frames}.items():
        for frame in [f for f in frames if holds(f, item)]:
            fx, fy, fw, fh = frames[frame]
            assert fx < x and fy + TOP_PAD - 1 <= y and x + w < fx + fw and y + h < fy + fh, (item, frame)
    rects = list({**nodes, **frames}.items())
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            if not (holds(a, b) or holds(b, a)):
                assert not overlaps(ra, rb), (a, b)
    for a, b in vm.flow.edges:  # wires inside one container still run left to right
        na, nb = a.split(".")[0], b.split(".")[0]
        if tree[na] == tree[nb]:
            assert nodes[na][0] < nodes[nb][0]
    assert frame_tree(vm.flow.spec, vm.boxes) == tree  # every node and frame is where it was
    vm.undo()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_auto_layout_keeps_frames_around_their_members_in_the_examples(path: Path) -> None:
    vm = ViewModel(load(path), width=1200, height=700)
    if not vm.flow.spec.layout.frames:
        frame_boxes(vm)
    before = vm.flow.dumps()
    check_layout(vm)
    assert vm.flow.dumps() == before  # one undo step takes it all back


@st.composite
def framed_flows(draw: st.DrawFn) -> Flow:
    n = draw(st.integers(2, 14))
    f = Flow("random")
    for i in range(n):
        f.add("template", id=f"t{i}", template="{{text}}", x=draw(st.integers(0, 1200)),
              y=draw(st.integers(0, 900)))
    for b in range(1, n):
        a = draw(st.integers(0, b - 1))
        if draw(st.booleans()):
            f.connect(f"t{a}.text", f"t{b}.text")
    lay = f.spec.layout.model_copy(deep=True)
    for k in range(draw(st.integers(1, 5))):
        x, y = draw(st.integers(-100, 1200)), draw(st.integers(-100, 900))
        lay.frames.append(FrameSpec(id=f"frame_{k}", x=x, y=y, w=draw(st.integers(80, 900)),
                                    h=draw(st.integers(50, 700))))
    f.set_layout(lay)
    return f


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(framed_flows())
def test_auto_layout_keeps_frames_whole_on_random_flows(flow: Flow) -> None:
    check_layout(ViewModel(flow, width=1200, height=700))


def test_the_layout_refits_a_frame_and_undoes_in_one_step() -> None:
    vm = ViewModel(load(EXAMPLES[0]), width=1200, height=700)
    frame_boxes(vm)
    vm.key_down("l")
    assert vm.message == f"laid out {len(vm.flow.nodes)} nodes and 3 frames"
    g0 = vm.frame("g0")
    assert g0 is not None
    inside = [b for b in vm.boxes.values() if g0.x < b.x and b.x + b.w < g0.x + g0.w and g0.y < b.y < g0.y + g0.h]
    assert len(inside) == 2 and min(b.y for b in inside) - g0.y == TOP_PAD  # refitted: title bar room
    note = vm.frame("note")
    assert note is not None and (note.w, note.h) == (260, 140)  # a comment keeps its size


def test_reroute_points_move_as_their_wires_ends_do() -> None:
    vm = ViewModel(load(EXAMPLES[0]), width=1200, height=700)
    a, b = vm.flow.spec.edges[0].from_, vm.flow.spec.edges[0].to
    (na, _), (nb, _) = a.split("."), b.split(".")
    (ax, ay), (bx, by) = vm.flow.position(na), vm.flow.position(nb)
    vm.add_point((a, b), ((ax + bx) / 2 + 100, (ay + by) / 2))
    p0 = vm.flow.spec.layout.wires[0].via[0]
    vm.auto_layout()
    (cx, cy), (dx, dy) = vm.flow.position(na), vm.flow.position(nb)
    p = vm.flow.spec.layout.wires[0].via[0]
    assert abs(p.x - p0.x - ((cx - ax) + (dx - bx)) / 2) <= 0.5 and abs(p.y - p0.y - ((cy - ay) + (dy - by)) / 2) <= 0.5
