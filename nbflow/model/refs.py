"""Port references (``"node.port"``) and node ids, checked without the flow-file models.

Kept apart from :mod:`nbflow.model.spec` so the engine and the canvas can split references without
importing pydantic.
"""

from __future__ import annotations

import re

__all__ = ["ID_RE", "REF_RE", "parse_ref"]

#: A node id: starts with a letter or ``_``; letters, digits, ``_`` and ``-``.
ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
#: ``node.port``: a node id, a dot and a port name.
REF_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)\.([A-Za-z_][A-Za-z0-9_]*)$")


def parse_ref(ref: str) -> tuple[str, str]:
    """Split ``"node.port"`` into ``("node", "port")``; ValueError when malformed."""
    m = REF_RE.match(ref)
    if not m:
        raise ValueError(f"{ref!r} is not of the form 'node.port'")
    return m.group(1), m.group(2)
