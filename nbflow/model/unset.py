"""``UNSET``: "not given", as opposed to ``None`` (a reviewer may well set a value to None).

A module of its own so the API's signatures can use it without loading the run store.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNSET"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
