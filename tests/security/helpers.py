"""Local servers a hostile caller aims nbflow at: they serve files, redirect, and record what reached them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nbflow.model.values import Media

PNG = Media.from_bytes(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63fcff9f"
    "a11e000782027f3d0c7d230000000049454e44ae426082"), expect="image").data or b""


class Recorder:
    """A server on 127.0.0.1 that records every request (method, path, headers, body).

    Routes: ``/img.png`` a PNG, ``/big`` 64 KiB, ``/redirect?to=URL`` a redirect (``code`` defaults to
    307), ``/json`` a JSON body ``reply``; anything else ``status`` with ``reply`` as its body. With
    ``redirect_all`` every request is answered with a 307 to that base URL plus the same path.
    """

    def __init__(self, *, status: int = 404, reply: bytes = b"{}", redirect_all: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self
        self.status, self.reply, self.redirect_all = status, reply, redirect_all

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append({"method": self.command, "path": self.path,
                                       "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                path, _, query = self.path.partition("?")
                if outer.redirect_all is not None:
                    return self._send(307, b"", {"location": outer.redirect_all + self.path})
                if path == "/img.png":
                    return self._send(200, PNG, {"content-type": "image/png"})
                if path == "/big":
                    return self._send(200, b"x" * 65536, {"content-type": "application/octet-stream"})
                if path == "/redirect":
                    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                    return self._send(int(params.get("code", "307")), b"", {"location": params["to"]})
                return self._send(outer.status, outer.reply, {"content-type": "application/json"})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)
