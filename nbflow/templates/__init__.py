"""Ready-made flows to start from: ``nbflow templates`` lists them, ``nbflow new NAME OUT.json`` writes one.

Each template is a flow file shipped in this package. Every one runs offline (the built-in provider)
as it is, and switches to a real provider by changing a node's ``provider`` and ``model`` params.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from nbflow.exceptions import UsageError

if TYPE_CHECKING:
    from nbflow.flow import Flow

__all__ = ["Template", "list_templates", "load_template", "write_template"]


@dataclass(frozen=True, slots=True)
class Template:
    """A packaged flow file.

    Attributes:
        name: what ``nbflow new`` takes, e.g. ``product-copy``.
        description: the flow's own description.
        text: the flow file's canonical JSON text.
    """

    name: str
    description: str
    text: str


def list_templates() -> list[Template]:
    """Every packaged template, sorted by name."""
    out = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            text = entry.read_text(encoding="utf-8")
            out.append(Template(entry.name[:-5], json.loads(text).get("description", ""), text))
    return out


#: Templates renamed to the name of the example holding the same workflow; old names still work.
RENAMED = {"content-production": "product-copy"}


def _get(name: str) -> Template:
    found = {t.name: t for t in list_templates()}
    name = RENAMED.get(name, name)
    if name not in found:
        import difflib

        close = difflib.get_close_matches(name, found, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (templates: {', '.join(found)})"
        raise UsageError(f"unknown template {name!r}{hint}")
    return found[name]


def load_template(name: str) -> Flow:
    """The template as a :class:`nbflow.Flow`, ready to edit or run."""
    from nbflow.flow import Flow  # at call time: the API layer sits above this module

    return Flow.loads(_get(name).text, source=f"template {name}")


def write_template(name: str, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write template ``name`` to ``path``; refuses to replace an existing file unless ``overwrite``."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise UsageError(f"{p}: already exists; choose another name or pass --force to replace it")
    if p.suffix != ".json":
        raise UsageError(f"{p}: a flow file name should end in .json")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(_get(name).text, encoding="utf-8")
    return p
