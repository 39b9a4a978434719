"""Testing helpers: a fake provider server speaking every wire format, and a pytest plugin for it."""

from nbflow.testing.fakeserver import FakeServer, env_for

__all__ = ["FakeServer", "env_for"]
