"""The canvas' layers and what a point hits: the small vocabulary the view model and its mixins share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ALL_LAYERS", "Hit", "Layer"]

Layer = Literal["grid", "edges", "nodes", "minimap", "overlay"]
ALL_LAYERS: frozenset[Layer] = frozenset(("grid", "edges", "nodes", "minimap", "overlay"))


@dataclass(frozen=True, slots=True)
class Hit:
    """What is under a point: ``empty``, a ``node`` body, a ``port``, an ``edge`` (``(src, dst)``), a
    reroute ``point`` (``edge`` and its index), or a frame's title bar (``frame``) or resize corner."""

    kind: Literal["empty", "node", "port", "edge", "point", "frame", "resize"]
    node: str | None = None
    port: str | None = None
    is_input: bool = False
    edge: tuple[str, str] | None = None
    frame: str | None = None
    index: int = 0
