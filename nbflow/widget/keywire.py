"""Wiring by keyboard: ``W`` on the focused node, then choose its output, the node to feed and that
node's input, ``Enter`` after each; the wire is one undo step.

Only what may be wired is offered: the target nodes are those with an input the chosen output may
feed (same rules as a drag: types, no cycle, not itself), and their inputs are only those. ``Tab`` /
the arrows cycle the current choice (``Shift+Tab``, up and left go back), ``Backspace`` returns to the
previous choice and ``Escape`` cancels. The chosen port and the candidate wire are drawn on the overlay
(:func:`nbflow.widget.keydraw.draw_key_wire`). A mixin of the view model; plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nbflow.widget.keynav import reading_order
from nbflow.widget.layers import ALL_LAYERS

if TYPE_CHECKING:
    from nbflow.flow import Flow
    from nbflow.widget.geometry import NodeBox
    from nbflow.widget.layers import Layer

__all__ = ["KeyWire", "KeyWiring"]

_OVERLAY: frozenset[Layer] = frozenset(("overlay",))
_BACK = ("ArrowUp", "ArrowLeft")
_NEXT = ("ArrowDown", "ArrowRight", "Tab")


@dataclass(slots=True)
class KeyWire:
    """A wire being chosen by keyboard.

    ``stage`` says what the keys choose now: the ``source`` node's output, the ``target`` node, or the
    target's input ``port``; ``targets`` and ``inputs`` hold only what the chosen output may feed.
    """

    node: str
    outputs: list[str]
    stage: Literal["source", "target", "port"] = "source"
    out_i: int = 0
    targets: dict[str, list[str]] = field(default_factory=dict)
    tgt_i: int = 0
    in_i: int = 0

    @property
    def src(self) -> str:
        return f"{self.node}.{self.outputs[self.out_i]}"

    @property
    def target(self) -> str | None:
        return list(self.targets)[self.tgt_i] if self.stage != "source" and self.targets else None

    @property
    def dst(self) -> str | None:
        """The candidate input: the chosen one, or while choosing the node its first one."""
        t = self.target
        if t is None:
            return None
        ports = self.targets[t]
        return f"{t}.{ports[self.in_i if self.stage == 'port' else 0]}"


class KeyWiring:
    """Start, step through and finish a wire by keyboard (mixed into the view model)."""

    if TYPE_CHECKING:
        flow: Flow

        @property
        def boxes(self) -> dict[str, NodeBox]: ...
        def say(self, message: str, level: Any = "info") -> None: ...
        def check_wire(self, src: str, dst: str) -> str | None: ...
        def wire(self, src: str, dst: str) -> bool: ...
        def show(self, node_id: str) -> None: ...

    key_wire: KeyWire | None = None

    def start_wire(self, node_id: str | None) -> frozenset[Layer]:
        """Begin wiring from ``node_id``'s outputs (the focused node)."""
        if node_id is None:
            self.say("no node has the focus: Tab to a node, then W wires one of its outputs")
            return frozenset()
        outs = list(self.boxes[node_id].outputs)
        if not outs:
            self.say(f"{node_id} has no outputs to wire")
            return frozenset()
        self.key_wire = KeyWire(node_id, outs)
        self._say_wire()
        return _OVERLAY

    def cancel_wire(self) -> frozenset[Layer]:
        """Stop wiring by keyboard; the layers to redraw (the overlay if a wire was being made)."""
        was, self.key_wire = self.key_wire, None
        return _OVERLAY if was is not None else frozenset()

    def wire_key(self, key: str, shift: bool) -> frozenset[Layer] | None:
        """A key while wiring: None when it is not a wiring key (wiring then stops, the key acts)."""
        kw = self.key_wire
        assert kw is not None
        if key == "Escape":
            self.key_wire = None
            self.say("wiring cancelled")
            return _OVERLAY
        if key in _NEXT or key in _BACK:
            self._step(kw, -1 if key in _BACK or (key == "Tab" and shift) else 1)
            return _OVERLAY
        if key == "Enter":
            return self._advance(kw)
        if key == "Backspace":
            if kw.stage == "source":
                self.key_wire = None
                self.say("wiring cancelled")
            else:
                kw.stage = "source" if kw.stage == "target" else "target"
                self._say_wire()
            return _OVERLAY
        if key in ("Shift", "Control", "Alt", "Meta"):
            return frozenset()
        self.key_wire = None
        return None

    def _step(self, kw: KeyWire, d: int) -> None:
        if kw.stage == "source":
            kw.out_i = (kw.out_i + d) % len(kw.outputs)
        elif kw.stage == "target":
            kw.tgt_i = (kw.tgt_i + d) % len(kw.targets)
            kw.in_i = 0
            if kw.target is not None:
                self.show(kw.target)
        else:
            assert kw.target is not None
            kw.in_i = (kw.in_i + d) % len(kw.targets[kw.target])
        self._say_wire()

    def _advance(self, kw: KeyWire) -> frozenset[Layer]:
        if kw.stage == "source":
            kw.targets = self._wire_targets(kw.src)
            if not kw.targets:
                self.say(f"no node can take {kw.src}: choose another output (arrows) or Escape", "error")
                return _OVERLAY
            kw.stage, kw.tgt_i, kw.in_i = "target", 0, 0
            assert kw.target is not None
            self.show(kw.target)
        elif kw.stage == "target":
            kw.stage, kw.in_i = "port", 0
        else:
            src, dst = kw.src, kw.dst
            assert dst is not None
            self.key_wire = None
            self.wire(src, dst)  # says "wired ..." or why not
            return ALL_LAYERS
        self._say_wire()
        return _OVERLAY

    def _wire_targets(self, src: str) -> dict[str, list[str]]:
        """Node -> the inputs ``src`` may feed, nodes after the source first (in reading order)."""
        boxes = self.boxes
        order = reading_order(boxes)
        me = src.split(".", 1)[0]
        k = order.index(me) if me in order else 0
        out: dict[str, list[str]] = {}
        for nid in order[k + 1:] + order[:k]:
            ok = [p for p in boxes[nid].inputs if self.check_wire(src, f"{nid}.{p}") is None]
            if ok:
                out[nid] = ok
        return out

    def _say_wire(self) -> None:
        kw = self.key_wire
        assert kw is not None
        if kw.stage == "source":
            self.say(f"wire from {kw.src} ({kw.out_i + 1} of {len(kw.outputs)} outputs): arrows choose, "
                     "Enter picks, Escape cancels")
        elif kw.stage == "target":
            self.say(f"wire {kw.src} -> node {kw.target} ({kw.tgt_i + 1} of {len(kw.targets)} that take it): "
                     "arrows choose, Enter picks, Backspace goes back")
        else:
            assert kw.target is not None
            n = len(kw.targets[kw.target])
            self.say(f"wire {kw.src} -> {kw.dst} ({kw.in_i + 1} of {n} inputs): Enter connects, Escape cancels")
