"""Testing helpers: a fake provider server speaking every wire format, and a pytest plugin for it.

``FakeServer`` and ``env_for`` are imported on first use, so ``python -m nbflow.testing.fakeserver``
runs the module once, cleanly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbflow.lazy import lazy_attrs

if TYPE_CHECKING:
    from nbflow.testing.fakeserver import FakeServer, env_for

__all__ = ["FakeServer", "env_for"]

__getattr__, __dir__ = lazy_attrs(globals(), {".fakeserver": ("FakeServer", "env_for")})
