"""Testing helpers: a fake provider server speaking every wire format, and a pytest plugin for it.

``FakeServer`` and ``env_for`` are imported on first use, so ``python -m nbflow.testing.fakeserver``
runs the module once, cleanly.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FakeServer", "env_for"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from nbflow.testing import fakeserver

        return getattr(fakeserver, name)
    raise AttributeError(f"module 'nbflow.testing' has no attribute {name!r}")
