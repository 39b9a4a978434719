"""The edges of an opened body: its inputs as ports down the left edge, its outputs down the right.

A body's inputs are its ``input.*`` nodes and its outputs its ``output`` nodes (named by their
``name`` param, else their id): the ports the composite node shows outside. Inside, each is drawn at
the canvas edge (screen pixels, so they stay put while panning) and linked to its node. They wire
like ports: drag from a left-edge port to a node's input (wires that body input to it), from a
node's output onto a right-edge port (feeds that body output). The ``+`` at the end of each edge makes
a new one: drag from the left ``+`` to a node's input for a new body input of that port's type, or
from a node's output to the right ``+`` for a new body output. Plain Python, no Jupyter import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from nbflow.exceptions import FlowError
from nbflow.flow import Flow
from nbflow.model.spec import parse_ref
from nbflow.widget.arrange import COLUMN, free_spot
from nbflow.widget.geometry import NodeBox, PortCache, View
from nbflow.widget.grouping import INPUT_TYPES
from nbflow.widget.layers import Hit

__all__ = ["NEW_INPUT", "NEW_OUTPUT", "BodyView", "RailPort", "rail_hit", "rail_ports", "rail_wire"]

T = TypeVar("T")


class BodyView(Protocol):
    """What the edge ports need of the view model (a protocol: the view model imports this module)."""

    flow: Flow
    view: View
    ports: PortCache
    drag: Any
    rails: bool

    @property
    def boxes(self) -> dict[str, NodeBox]: ...
    def edit(self, label: str, fn: Callable[[], T]) -> T: ...
    def say(self, message: str, level: Any = "info") -> None: ...

#: Stand-in node ids of the ``+`` ports that make a new body input or output (their port is ``new``).
NEW_INPUT = "__new_body_input__"
NEW_OUTPUT = "__new_body_output__"
#: Distance of the port dots from the canvas edge, the first one from the top, and between them.
EDGE_X = 12.0
TOP = 44.0
STEP = 30.0
HIT_R = 10.0


@dataclass(frozen=True, slots=True)
class RailPort:
    """One port at a body's edge: ``side`` ``in`` (left) or ``out`` (right), in screen pixels."""

    side: Literal["in", "out"]
    name: str
    node: str  # the input or output node it stands for (NEW_INPUT / NEW_OUTPUT for the + port)
    type: str
    x: float
    y: float

    @property
    def is_new(self) -> bool:
        return self.node in (NEW_INPUT, NEW_OUTPUT)


def rail_ports(vm: BodyView) -> list[RailPort]:
    """The body's input ports down the left edge and output ports down the right, each ending in ``+``."""
    left, right = EDGE_X, vm.view.width - EDGE_X
    ins: list[RailPort] = []
    outs: list[RailPort] = []
    for n in vm.flow.spec.nodes:
        name = str(n.params.get("name") or n.id)
        if n.type.startswith("input."):
            port = vm.ports.ports(n)[1].get("value")
            ins.append(RailPort("in", name, n.id, port.type if port else "any", left, TOP + len(ins) * STEP))
        elif n.type == "output":
            outs.append(RailPort("out", name, n.id, "any", right, TOP + len(outs) * STEP))
    ins.append(RailPort("in", "+", NEW_INPUT, "any", left, TOP + len(ins) * STEP))
    outs.append(RailPort("out", "+", NEW_OUTPUT, "any", right, TOP + len(outs) * STEP))
    return ins + outs


def rail_hit(vm: BodyView, sx: float, sy: float) -> Hit | None:
    """The edge port under (sx, sy) as a port hit: a left one is an output (wires start there), a right
    one an input (only while a wire is being dragged, so a click there never moves its node)."""
    if EDGE_X + HIT_R < sx < vm.view.width - EDGE_X - HIT_R:
        return None
    wiring = vm.drag is not None and vm.drag.mode == "wire"
    for r in rail_ports(vm):
        if abs(r.x - sx) <= HIT_R and abs(r.y - sy) <= HIT_R and (r.side == "in" or wiring):
            return Hit("port", r.node, "new" if r.is_new else "value", r.side == "out")
    return None


def _fresh(vm: BodyView, base: str) -> str:
    taken = set(vm.flow.nodes) | {str(n.params.get("name")) for n in vm.flow.spec.nodes if n.params.get("name")}
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def rail_wire(vm: BodyView, src: str, dst: str) -> bool:
    """Wire to or from a ``+`` port: a new body input feeding ``dst`` or a new body output fed by ``src``
    (one undo step); a refusal becomes the message and False."""
    a, ap = parse_ref(src)
    b, bp = parse_ref(dst)
    if a == NEW_INPUT and b in vm.boxes and bp in vm.boxes[b].inputs:
        box, typ = vm.boxes[b], vm.boxes[b].inputs[bp].type
        node, kind, label = _fresh(vm, bp.replace("-", "_")), INPUT_TYPES.get(typ, "input.json"), "add body input"
        want, wire = (box.x - COLUMN, box.y), (f"{node}.value", dst)
    elif b == NEW_OUTPUT and a in vm.boxes and ap in vm.boxes[a].outputs:
        box = vm.boxes[a]
        node, kind, label = _fresh(vm, ap.replace("-", "_")), "output", "add body output"
        want, wire = (box.x + COLUMN, box.y), (src, f"{node}.value")
    else:
        vm.say("cannot wire: drag from the left + to a node's input, or from a node's output to the right +",
               "error")
        return False
    x, y = free_spot(*want, box.w, box.h, [(o.x, o.y, o.w, o.h) for o in vm.boxes.values()])

    def do() -> None:
        vm.flow.add(kind, node, x=x, y=y)
        if any(d == wire[1] for _, d in vm.flow.edges):
            vm.flow.disconnect(wire[1])
        vm.flow.connect(*wire)

    try:
        vm.edit(label, do)
    except FlowError as exc:
        vm.say(f"cannot wire: {exc}", "error")
        return False
    vm.say(f"{label} {node}: wired {wire[0]} -> {wire[1]}")
    return True
