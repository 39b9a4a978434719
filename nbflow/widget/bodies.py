"""Bodies of composite nodes (``subflow``, ``loop``, ``map``) as flows the canvas can open in place.

A body is either embedded in the node's ``flow`` param or a file named by its ``path`` param
(relative to the parent flow's folder). Opening gives a :class:`~nbflow.Flow` to edit with the same
canvas; every change is written back at once: into the parent node's params (validated like any
params edit, so an unfinished body waits until it is valid) or into the referenced file. Plain
Python, no Jupyter import.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from nbflow.exceptions import FlowError, NbflowError
from nbflow.flow import Flow
from nbflow.model.io import spec_from_obj

__all__ = ["COMPOSITE_TYPES", "Body", "open_body"]

COMPOSITE_TYPES = frozenset({"subflow", "loop", "map"})
_VISITS = itertools.count(1)


@dataclass
class Body:
    """An opened body: the flow being edited, where it lives, and the node it belongs to."""

    parent: Flow
    node: str
    flow: Flow
    path: Path | None = None
    written: int = -1  # the body flow's version last written back (none yet: as opened)
    disk: bytes = b""  # the file's bytes as opened or last written (a body kept in a file)
    visit: int = field(default_factory=lambda: next(_VISITS))  # tells this opening from later ones

    def __post_init__(self) -> None:
        self.written = self.flow.version
        if self.path is not None:
            try:
                self.disk = self.path.read_bytes()
            except OSError:
                self.disk = b""

    @property
    def label(self) -> str:
        return f"{self.node} ({self.path.name})" if self.path else self.node

    def write_back(self) -> str | None:
        """Put the edited body where it came from; the reason when the parent refuses it, else None.

        Nothing is written while the body is as it was opened or last written.
        """
        if self.flow.version == self.written:
            return None
        if self.path is not None:
            try:
                self.flow.save(self.path)
            except OSError as exc:
                return f"cannot write {self.path}: {exc.strerror or exc}"
            self.written = self.flow.version
            # the parent keeps its reference; setting it again tells the parent (its compiled plan, the
            # canvas' ports of the node) that the file behind it changed
            try:
                self.parent.set_params(self.node, path=self.parent.node(self.node).params["path"])
            except NbflowError as exc:
                return f"{self.path.name} is saved, but the parent cannot use it yet: {exc}"
            return None
        try:
            self.parent.set_params(self.node, flow=json.loads(self.flow.dumps()))
        except NbflowError as exc:
            return str(exc)
        self.written = self.flow.version
        return None


def open_body(parent: Flow, node_id: str) -> Body:
    """The body of composite node ``node_id`` as an editable flow; FlowError when it has none to open."""
    spec = parent.node(node_id)
    if spec.type not in COMPOSITE_TYPES:
        raise FlowError(f"{spec.type} nodes have no body to open", node=node_id)
    params = spec.params
    if isinstance(params.get("flow"), dict):
        try:
            body = Flow(spec=spec_from_obj(params["flow"], source="embedded flow"), registry=parent.registry)
        except NbflowError as exc:
            raise FlowError(f"cannot open the body: {exc}", node=node_id, field="flow") from None
        return Body(parent, node_id, body)
    if isinstance(params.get("path"), str):
        p = Path(params["path"]).expanduser()
        if not p.is_absolute():
            base = Path(parent.source).expanduser().resolve().parent if parent.source else Path.cwd()
            p = base / p
        try:
            body = Flow.load(p, registry=parent.registry)
        except NbflowError as exc:
            raise FlowError(f"cannot open the body: {exc}", node=node_id, field="path") from None
        return Body(parent, node_id, body, path=p)
    if params.get("node") is not None:
        raise FlowError("a single-node body: edit it in the Params tab", node=node_id, field="node")
    raise FlowError("no body yet: give 'flow' or 'path' in the Params tab", node=node_id)
