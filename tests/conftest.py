"""Test-wide fixtures: a guard that fails any test reaching beyond loopback, and the --skip-browser flag."""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from typing import Any

import pytest


class NetworkGuardError(RuntimeError):
    """A test tried to open a connection to a non-loopback address."""


def _allowed(address: Any, family: int) -> bool:
    if family == getattr(socket, "AF_UNIX", None):
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _allowed(address, self.family):
        raise NetworkGuardError(f"tests must not reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _allowed(address, self.family):
        raise NetworkGuardError(f"tests must not reach {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-browser", action="store_true", default=False,
                     help="skip the tests that drive JupyterLab in headless Chromium")
    parser.addoption("--skip-matrix", action="store_true", default=False,
                     help="skip the notebook tests on the kernel matrix that scripts/kernels builds")


def pytest_configure(config: pytest.Config) -> None:
    # Before any fixture starts a process (Jupyter, MCP servers, the CLI): none of them may fall back
    # to the user's data directory. Each test then gets its own home (``_nbflow_home`` below).
    os.environ["NBFLOW_HOME"] = tempfile.mkdtemp(prefix="nbflow-test-home-")
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for option, marker in (("--skip-browser", "browser"), ("--skip-matrix", "kernel_matrix")):
        if config.getoption(option):
            skip = pytest.mark.skip(reason=f"{option} given")
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip)


@pytest.fixture(autouse=True)
def _nbflow_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each test gets its own NBFLOW_HOME: runs the CLI records never land in the user's data directory."""
    monkeypatch.setenv("NBFLOW_HOME", str(tmp_path_factory.mktemp("nbflow_home")))
    monkeypatch.delenv("NBFLOW_STORE", raising=False)
    yield
    os.environ.pop("NBFLOW_STORE", None)  # `--store URL` sets it for the command; no later test inherits it


@pytest.fixture(scope="session")
def pg_server() -> Any:
    """A real PostgreSQL server for the whole session (started lazily by the first test needing it).

    Locally a missing server skips the tests that need it; in CI (CI=true) it fails them:
    ``scripts/test`` installs Debian's ``postgresql`` when it is missing.
    """
    from nbflow.testing.pgserver import PgServer, PgUnavailable

    try:
        server = PgServer.start()
    except PgUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> Any:
    """The URL of a fresh, empty database on the session's PostgreSQL server (dropped afterwards)."""
    import uuid

    name = f"t_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture(autouse=True)
def _forget_secrets() -> Any:
    """Secrets one test resolved are not scrubbed from the next test's texts."""
    yield
    from nbflow.redaction import forget_secrets

    forget_secrets()
