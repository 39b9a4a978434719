"""Iteration tests count requests at the in-repo fake server (see nbflow.testing.pytest_plugin)."""

from nbflow.testing.pytest_plugin import _fake_server_session, fake_env, fake_server

__all__ = ["_fake_server_session", "fake_env", "fake_server"]
