"""``nbflow.__all__`` is exactly the documented API (docs/api.md), like httpx's own test of its exports."""

from __future__ import annotations

import re
import types
from pathlib import Path

import nbflow

DOC = Path(__file__).parent.parent / "docs" / "api.md"


def _documented() -> list[str]:
    return re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", DOC.read_text(encoding="utf-8"), flags=re.M)


def test_all_is_exactly_the_documented_api() -> None:
    documented = _documented()
    assert len(documented) == len(set(documented)), "a name is documented twice"
    assert sorted(nbflow.__all__) == sorted(documented)


def test_every_name_in_all_resolves() -> None:  # (ruff's RUF022 keeps __all__ sorted)
    for name in nbflow.__all__:
        if name != "Editor":  # resolving it loads the canvas; tests/test_plugins_and_imports covers it
            getattr(nbflow, name)


def test_no_public_name_outside_all() -> None:
    public = {n for n, v in vars(nbflow).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public - set(nbflow.__all__) == set()
