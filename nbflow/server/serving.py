"""Running the app under uvicorn: in the foreground (``nbflow serve``) or in a background thread
(tests, benchmarks, a notebook)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time
from typing import Any

__all__ = ["ServerThread", "hide_link_tokens", "serve_forever"]

_LINK = re.compile(r"(/approvals/)[^/?#\s]+")


class _HideLinkTokens(logging.Filter):
    """Drops the token of an approval link (``/approvals/{token}``) from uvicorn's access log: a link
    is a one-time capability, and a log is read by more people than the approver."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_LINK.sub(r"\1[token]", a) if isinstance(a, str) else a for a in args)
        elif isinstance(record.msg, str):
            record.msg = _LINK.sub(r"\1[token]", record.msg)
        return True


def hide_link_tokens() -> None:
    """Install the access-log filter that keeps approval-link tokens out of the log (idempotent)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _HideLinkTokens) for f in access.filters):
        access.addFilter(_HideLinkTokens())


def serve_forever(app: Any, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
                  grace: float = 10.0) -> None:
    """Serve ``app`` until interrupted (Ctrl-C or SIGTERM); running runs get ``grace`` seconds."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=int(grace),
                            proxy_headers=False, server_header=False)
    hide_link_tokens()  # after the Config, which sets up uvicorn's loggers
    uvicorn.Server(config).run()


class ServerThread:
    """Serve an app on 127.0.0.1 in a daemon thread, on a free port::

        with ServerThread(app) as server:
            httpx.get(server.url + "/healthz")
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        config = uvicorn.Config(app, log_level=log_level, lifespan="on", server_header=False,
                                timeout_graceful_shutdown=5)
        hide_link_tokens()
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerThread:
        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

        self._thread = threading.Thread(target=run, name="nbflow-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
