"""pytest fixtures for flows that call AI providers, without the internet.

Enable in a ``conftest.py`` with ``pytest_plugins = ["nbflow.testing.pytest_plugin"]``:

* ``fake_server``: a running :class:`~nbflow.testing.fakeserver.FakeServer`, reset for each test
  (one server per session, so tests stay fast);
* ``fake_env``: also points every built-in provider at it through the SDK environment variables
  (``OPENAI_BASE_URL``, ``ANTHROPIC_API_KEY``...) and resets the process-wide rate limiters;
* ``nbflow_cassette``: records every outbound provider/HTTP exchange of the test into
  ``cassettes/<test module>/<test name>.json`` next to the test file the first time, and replays it
  (with no network and no keys) ever after. ``NBFLOW_CASSETTES=record`` re-records, ``missing`` adds
  what is new, ``replay`` refuses to record (for CI), ``once`` (the default) records only when the
  file is missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbflow.providers.ratelimit import reset_limiters
from nbflow.testing.fakeserver import FakeServer, env_for

__all__ = ["cassette_path", "fake_env", "fake_server", "nbflow_cassette"]


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


def cassette_path(request: pytest.FixtureRequest) -> Path:
    """Where a test's cassette lives: ``cassettes/<module>/<test name>.json`` beside the test file."""
    test_file = Path(str(request.node.fspath))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    return test_file.parent / "cassettes" / test_file.stem / f"{name}.json"


@pytest.fixture
def nbflow_cassette(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Every outbound HTTP exchange of the test, recorded once and replayed ever after.

    Yields the :class:`~nbflow.providers.cassette.CassetteSession` (``.mode``, ``.path``, ``.hits``,
    ``.new``); the cassette is saved when the test ends. The mode comes from ``NBFLOW_CASSETTES``.
    """
    from nbflow.providers.cassette import cassette

    mode: Any = os.environ.get("NBFLOW_CASSETTES", "once")
    with cassette(cassette_path(request), mode=mode) as session:
        yield session
