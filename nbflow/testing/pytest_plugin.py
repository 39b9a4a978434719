"""pytest fixtures for flows that call AI providers, without the internet.

Enable in a ``conftest.py`` with ``pytest_plugins = ["nbflow.testing.pytest_plugin"]``:

* ``fake_server``: a running :class:`~nbflow.testing.fakeserver.FakeServer`, reset for each test
  (one server per session, so tests stay fast);
* ``fake_env``: also points every built-in provider at it through the SDK environment variables
  (``OPENAI_BASE_URL``, ``ANTHROPIC_API_KEY``...) and resets the process-wide rate limiters.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nbflow.providers.ratelimit import reset_limiters
from nbflow.testing.fakeserver import FakeServer, env_for

__all__ = ["fake_env", "fake_server"]


@pytest.fixture(scope="session")
def _fake_server_session() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_server(_fake_server_session: FakeServer) -> Iterator[FakeServer]:
    """The session's fake provider server, with no scripts, faults or recorded requests."""
    _fake_server_session.reset()
    yield _fake_server_session
    _fake_server_session.reset()


@pytest.fixture
def fake_env(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """``fake_server`` with every provider's base URL and key variables pointing at it."""
    for name in ("GOOGLE_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST", "NBFLOW_PRICES"):
        monkeypatch.delenv(name, raising=False)
    for k, v in env_for(fake_server.url).items():
        monkeypatch.setenv(k, v)
    reset_limiters()
    yield fake_server
    reset_limiters()
