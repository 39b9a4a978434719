"""A fake AI provider server on 127.0.0.1: every wire format nbflow speaks, scripted replies, faults.

Start one in a test (or use the ``fake_server`` pytest fixture from :mod:`nbflow.testing.pytest_plugin`)::

    with FakeServer() as server:
        server.script(text="Hello!", prompt="greet")            # reply by prompt text, model or header
        server.fault("status", status=429, retry_after="1")    # then a fault sequence, consumed in order
        ...point providers at server.url...
        server.requests[-1].headers["authorization"]           # check what was sent

or from a shell: ``python -m nbflow.testing.fakeserver --port 8765``.

Routes (the provider is told by the path): OpenAI ``/v1/chat/completions``, ``/v1/images/generations``,
``/v1/audio/speech``; Anthropic ``/v1/messages``; Gemini ``/v1beta/models/{m}:generateContent`` and
``:streamGenerateContent?alt=sse``; ElevenLabs ``/v1/text-to-speech/{voice}``; Runway
``/v1/image_to_video``, ``/v1/text_to_video``, ``/v1/tasks/{id}``; Recraft, Flux, Kling, Veo, Replicate
and fal jobs (:mod:`nbflow.testing.fakemedia`); ``/files/{name}`` serves generated media (expiring after
``result_ttl`` seconds when set); any other path echoes the request as JSON (for the ``http`` node).

Fault kinds: ``status`` (any code, with ``retry_after``, ``retry_after_ms``, ``retry_after_date`` or
Gemini's ``retry_delay``), ``slow`` (``delay`` seconds, then the normal reply), ``disconnect`` (drop
the connection; mid-stream after ``after`` frames for streams), ``malformed`` (200 with broken JSON),
``empty`` (200 with no body), ``html`` (an HTML error page) and ``body`` (200 with the given raw
``body`` and ``content_type``: JSON ``null``, a list, wrong types, a stream of odd events...).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import email.utils
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from nbflow.providers.offline import _from_schema, _keywords, png_bytes
from nbflow.testing import fakewire as wire
from nbflow.testing.fakemedia import MEDIA_PROVIDERS, MediaJobs, media_provider_of

__all__ = ["FakeServer", "Fault", "RecordedRequest", "Script", "main"]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            408: "Request Timeout", 409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded"}
# An ID3 tag, then one MPEG frame header and silence: enough for MIME sniffing.
_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 4000
_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64


@dataclass
class RecordedRequest:
    """One request the server received.

    Attributes:
        provider: which wire format the path belongs to (openai, anthropic, gemini, ...).
        headers: lower-cased names.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    provider: str
    time: float = field(default_factory=time.monotonic)
    peer: str = ""  # the client's address: one per TCP connection

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def __repr__(self) -> str:  # headers hold keys: leave them out
        return f"<RecordedRequest {self.method} {self.path} ({self.provider})>"


@dataclass
class Script:
    """A scripted reply: used for requests matching every condition given."""

    text: str | None = None
    json: Any = None
    prompt: str | None = None
    model: str | None = None
    header: tuple[str, str] | None = None
    provider: str | None = None
    usage: tuple[int, int] | None = None
    times: int | None = None

    def matches(self, req: RecordedRequest, prompt: str, model: str) -> bool:
        if self.provider is not None and self.provider != req.provider:
            return False
        if self.prompt is not None and self.prompt not in prompt:
            return False
        if self.model is not None and self.model != model:
            return False
        return not (self.header is not None and req.headers.get(self.header[0].lower()) != self.header[1])


@dataclass
class Fault:
    """A failure to inject into the next matching request (see the module docstring for kinds)."""

    kind: str
    provider: str | None = None
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after: int = 2
    retry_delay: str | None = None
    message: str | None = None
    path: str | None = None  # only requests whose path contains this
    body: bytes = b""
    content_type: str = "application/json"


def _provider_of(path: str) -> str:
    media = media_provider_of(path)
    if media is not None:
        return media
    if path.endswith(("/chat/completions", "/images/generations", "/audio/speech")):
        return "openai"
    if path.endswith("/v1/messages"):
        return "anthropic"
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    if "/text-to-speech/" in path:
        return "elevenlabs"
    if path.endswith(("/image_to_video", "/text_to_video")) or "/v1/tasks/" in path:
        return "runway"
    if path.startswith("/files/"):
        return "files"
    return "http"


class FakeServer:
    """The server. ``start()``/``stop()`` or use it as a context manager; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` drives the rate limit's token bucket (tests hand a fake one)."""
        self.host = host
        self.port = port
        self.video_polls = 2
        self._generation = 0  # bumped by reset(): a slow answer from before a reset is dropped
        self.keys: dict[str, str] = {}  # provider -> key it insists on (401 otherwise)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._scripts: list[Script] = []
        self._faults: list[tuple[Fault, list[int]]] = []
        self._files: dict[str, tuple[bytes, str, float | None]] = {}
        self.result_ttl: float | None = None  # seconds a media job's result URL stays readable
        self.media = MediaJobs(self)
        self._tasks: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._rate: tuple[float, float] | None = None
        self._bucket = (0.0, 0.0)
        self._clock = clock
        self.rejected = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeServer:
        ready = threading.Event()
        error: list[BaseException] = []

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                coro = asyncio.start_server(self._handle, self.host, self.port)
                self._server = loop.run_until_complete(coro)
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # reported to the starting thread
                error.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=serve, name="nbflow-fakeserver", daemon=True)
        self._thread.start()
        ready.wait(10)
        if error:
            raise error[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            for w in list(self._conns):
                w.close()
            await server.wait_closed()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FakeServer {self.url} requests={len(self._requests)}>"

    # -- scripting ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget requests, scripts, faults, keys and the rate limit."""
        with self._lock:
            self._generation += 1
            self._requests.clear()
            self._scripts.clear()
            self._faults.clear()
            self.keys.clear()
            self._rate = None
            self.rejected = 0
            self.video_polls = 2
            self.result_ttl = None
            self.media.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a copy), oldest first."""
        with self._lock:
            return list(self._requests)

    def script(self, text: str | None = None, *, json: Any = None, prompt: str | None = None,
               model: str | None = None, header: tuple[str, str] | None = None, provider: str | None = None,
               usage: tuple[int, int] | None = None, times: int | None = None) -> Script:
        """Reply with ``text`` (or ``json``) to matching requests; the first matching script wins."""
        s = Script(text=text, json=json, prompt=prompt, model=model, header=header, provider=provider,
                   usage=usage, times=times)
        with self._lock:
            self._scripts.append(s)
        return s

    def fault(self, kind: str, *, provider: str | None = None, times: int = 1, status: int | None = None,
              retry_after: str | None = None, retry_after_ms: int | None = None,
              retry_after_date: float | None = None, retry_delay: str | None = None, delay: float = 0.0,
              after: int = 2, message: str | None = None, path: str | None = None, body: bytes | str = b"",
              content_type: str = "application/json") -> Fault:
        """Queue a fault for the next ``times`` matching requests (faults are consumed in order).

        Args:
            retry_after_date: seconds from now, sent as an HTTP date in ``Retry-After``.
            retry_delay: Gemini ``RetryInfo.retryDelay`` (e.g. ``"2s"``) in the error body.
            path: only requests whose path contains this (e.g. a job's poll route).
        """
        if kind not in ("status", "slow", "disconnect", "malformed", "empty", "html", "body"):
            raise ValueError(f"unknown fault kind {kind!r}")
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        if retry_after_date is not None:
            headers["retry-after"] = email.utils.formatdate(time.time() + retry_after_date, usegmt=True)
        default = 502 if kind == "html" else 500
        f = Fault(kind=kind, provider=provider, status=status or default, headers=headers, delay=delay,
                  after=after, retry_delay=retry_delay, message=message, path=path,
                  body=body.encode() if isinstance(body, str) else body, content_type=content_type)
        with self._lock:
            self._faults.append((f, [times]))
        return f

    def rate_limit(self, rps: float | None, burst: float | None = None) -> None:
        """Answer 429 to requests beyond ``rps`` per second (token bucket of ``burst``, default ``rps``)."""
        with self._lock:
            self._rate = None if rps is None else (float(rps), float(burst or rps))
            self._bucket = (self._rate[1] if self._rate else 0.0, self._clock())
            self.rejected = 0

    def add_file(self, name: str, data: bytes, mime: str, ttl: float | None = None) -> str:
        """Serve ``data`` at ``/files/{name}`` (for ``ttl`` seconds when given); returns its URL."""
        with self._lock:
            self._files[name] = (data, mime, None if ttl is None else time.monotonic() + ttl)
        return f"{self.url}/files/{name}"

    def fail_next_job(self, provider: str, message: str = "generation failed") -> None:
        """Make the next media job of ``provider`` (bfl, kling, veo, replicate, fal) fail with ``message``."""
        with self._lock:
            self.media.failures.append((provider, message))

    def _take_fault(self, provider: str, path: str = "") -> Fault | None:
        with self._lock:
            for i, (f, left) in enumerate(self._faults):
                if f.provider in (None, provider) and (f.path is None or f.path in path):
                    left[0] -= 1
                    if left[0] <= 0:
                        del self._faults[i]
                    return f
        return None

    def _take_script(self, req: RecordedRequest, prompt: str, model: str) -> Script | None:
        with self._lock:
            for i, s in enumerate(self._scripts):
                if s.matches(req, prompt, model):
                    if s.times is not None:
                        s.times -= 1
                        if s.times <= 0:
                            del self._scripts[i]
                    return s
        return None

    def _over_rate(self) -> bool:
        with self._lock:
            if self._rate is None:
                return False
            rps, burst = self._rate
            level, at = self._bucket
            now = self._clock()
            level = min(burst, level + (now - at) * rps)
            if level < 1.0:
                self._bucket = (level, now)
                self.rejected += 1
                return True
            self._bucket = (level - 1.0, now)
            return False

    # -- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                req = await self._read(reader, str(writer.get_extra_info("peername")))
                if req is None or not await self._respond(req, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()

    async def _read(self, reader: asyncio.StreamReader, peer: str = "") -> RecordedRequest | None:
        line = await reader.readline()
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while (size := int((await reader.readline()).strip() or b"0", 16)) > 0:
                body += await reader.readexactly(size)
                await reader.readline()
            await reader.readline()
        elif int(headers.get("content-length") or 0):
            body = await reader.readexactly(int(headers["content-length"]))
        parts = urlsplit(target)
        req = RecordedRequest(method=method.upper(), path=parts.path, query=dict(parse_qsl(parts.query)),
                              headers=headers, body=body, provider=_provider_of(parts.path), peer=peer)
        with self._lock:
            self._requests.append(req)
        return req

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, body: bytes = b"",
                    ctype: str = "application/json", headers: dict[str, str] | None = None) -> bool:
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"content-type: {ctype}",
                f"content-length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        return True

    @staticmethod
    async def _stream(writer: asyncio.StreamWriter, frames: list[bytes], *,
                      cut_after: int | None = None) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")
        for i, frame in enumerate(frames):
            if cut_after is not None and i >= cut_after:
                await writer.drain()
                writer.transport.abort()  # a dropped connection, mid-stream
                return False
            writer.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _json(self, writer: asyncio.StreamWriter, obj: Any, status: int = 200,
                    headers: dict[str, str] | None = None) -> bool:
        return await self._send(writer, status, json.dumps(obj).encode(), headers=headers)

    async def _respond(self, req: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        p = req.provider
        if p == "files":
            data, mime, until = self._files.get(req.path[len("/files/"):], (b"", "", None))
            if not data:
                return await self._json(writer, {"error": "no such file"}, 404)
            if until is not None and time.monotonic() >= until:
                return await self._send(writer, 403, b"<Error><Code>AccessDenied</Code><Message>Request has "
                                        b"expired</Message></Error>", "application/xml")
            return await self._send(writer, 200, data, mime)
        if self._over_rate():
            return await self._json(writer, wire.error_body(p, 429, "rate limit exceeded (fake server)"), 429,
                                    {"retry-after": "1"})
        want = self.keys.get(p)
        if want is not None and want not in " ".join(req.headers.values()):
            return await self._json(writer, wire.error_body(p, 401, "invalid api key"), 401)
        stream = self._is_stream(req)
        fault = self._take_fault(p, req.path)
        if fault is not None:
            if fault.kind == "slow":
                generation = self._generation
                await asyncio.sleep(fault.delay)
                if generation != self._generation:  # reset since: its test is over, and a
                    writer.transport.abort()                       # late answer must not take a new script
                    return False
            elif fault.kind == "disconnect" and not stream:
                writer.transport.abort()
                return False
            elif fault.kind != "disconnect":
                return await self._fault(writer, p, fault)
        cut = fault.after if fault is not None and fault.kind == "disconnect" else None
        return await self._route(req, writer, stream, cut)

    @staticmethod
    def _is_stream(req: RecordedRequest) -> bool:
        body = req.json
        return bool((isinstance(body, dict) and body.get("stream")) or req.query.get("alt") == "sse")

    async def _fault(self, writer: asyncio.StreamWriter, provider: str, f: Fault) -> bool:
        if f.kind == "status":
            default = {429: "rate limit exceeded", 529: "Overloaded"}.get(f.status, f"fault {f.status}")
            msg = f.message or default
            return await self._json(writer, wire.error_body(provider, f.status, msg, f.retry_delay), f.status,
                                    f.headers)
        if f.kind == "malformed":
            return await self._send(writer, 200, b'{"choices": [{"message": {"content": "unterminated')
        if f.kind == "empty":
            return await self._send(writer, 200, b"")
        if f.kind == "body":
            return await self._send(writer, 200, f.body, f.content_type)
        page = f"<!DOCTYPE html><html><head><title>{f.status}</title></head><body><h1>{f.status} " \
               f"{_REASONS.get(f.status, 'Error')}</h1><p>nginx</p></body></html>"
        return await self._send(writer, f.status, page.encode(), "text/html; charset=utf-8", f.headers)

    # -- replies ----------------------------------------------------------------------------------

    def _reply(self, req: RecordedRequest) -> tuple[str, tuple[int, int], bool]:
        """(text, usage, scripted) for a chat-like request."""
        body = req.json
        prompt = wire.prompt_text(req.provider, body)
        model = wire.request_model(req.provider, body, req.path)
        s = self._take_script(req, prompt, model)
        schema = wire.wants_json(req.provider, body)
        if s is not None and (s.text is not None or s.json is not None):
            text = s.text if s.text is not None else json.dumps(s.json)
        elif schema is not None:
            text = json.dumps(_from_schema(schema, prompt.encode().ljust(32, b"\0"), _keywords(prompt)))
        else:
            text = f"Fake reply to: {prompt[-80:]}"
        usage = s.usage if s is not None and s.usage else (max(1, len(prompt) // 4), max(1, len(text) // 4))
        return text, usage, s is not None

    async def _route(self, req: RecordedRequest, writer: asyncio.StreamWriter, stream: bool,
                     cut: int | None) -> bool:
        p, body, path = req.provider, req.json or {}, req.path
        model = wire.request_model(p, body, path)
        if p == "openai" and path.endswith("/chat/completions"):
            text, usage, _ = self._reply(req)
            if stream:
                include = bool((body.get("stream_options") or {}).get("include_usage"))
                frames = wire.openai_stream(model, text, usage, include)
                return await self._stream(writer, frames, cut_after=cut)
            return await self._json(writer, wire.openai_chat(model, text, usage))
        if p == "anthropic":
            text, usage, _ = self._reply(req)
            tool = None
            if wire.wants_json(p, body) is not None:
                try:
                    json.loads(text)
                    tool = body["tools"][0]["name"]
                except ValueError:
                    tool = None  # the model "ignored" the tool: answer in text
            if stream:
                frames = wire.anthropic_stream(model, text, usage, tool)
                return await self._stream(writer, frames, cut_after=cut)
            return await self._json(writer, wire.anthropic_message(model, text, usage, tool))
        if p == "gemini":
            text, usage, _ = self._reply(req)
            if stream:
                return await self._stream(writer, wire.gemini_stream(model, text, usage), cut_after=cut)
            return await self._json(writer, wire.gemini_response(model, text, usage))
        if p == "openai" and path.endswith("/images/generations"):
            return await self._image(req, writer, body)
        if p in ("openai", "elevenlabs"):  # speech
            fmt = (body.get("response_format", "mp3") if p == "openai"
                   else req.query.get("output_format", "mp3"))
            data = png_bytes(1, 1, [b"\0\0\0"]) if fmt.startswith("png") else _MP3
            headers = {"character-cost": str(len(body.get("text", "")))} if p == "elevenlabs" else {}
            return await self._send(writer, 200, data, "audio/mpeg", headers)
        if p == "runway":
            return await self._runway(req, writer, body)
        if p in MEDIA_PROVIDERS:
            return await self.media.route(req, writer, p)
        return await self._json(writer, {"method": req.method, "path": path, "query": req.query,
                                         "json": req.json, "ok": True})

    async def _image(self, req: RecordedRequest, writer: asyncio.StreamWriter, body: dict[str, Any]) -> bool:
        prompt = str(body.get("prompt", ""))
        s = self._take_script(req, prompt, str(body.get("model", "")))
        n = int(body.get("n") or 1)
        if s is not None and s.json is not None:
            return await self._json(writer, s.json)
        data = []
        for k in range(n):
            seed = (sum(prompt.encode()) + k) % 256
            png = png_bytes(2, 2, [bytes([seed, 80, 160] * 2)] * 2)
            if body.get("response_format") == "url":
                data.append({"url": self.add_file(f"img{next(self._ids)}.png", png, "image/png"),
                             "revised_prompt": prompt})
            else:
                data.append({"b64_json": base64.b64encode(png).decode(), "revised_prompt": prompt})
        return await self._json(writer, {"created": int(time.time()), "data": data})

    async def _runway(self, req: RecordedRequest, writer: asyncio.StreamWriter, body: dict[str, Any]) -> bool:
        if req.method == "POST":
            task = f"task-{next(self._ids)}"
            with self._lock:
                self._tasks[task] = self.video_polls
            return await self._json(writer, {"id": task})
        task = req.path.rsplit("/", 1)[-1]
        with self._lock:
            left = self._tasks.get(task)
            if left is not None:
                self._tasks[task] = left - 1
        if left is None:
            return await self._json(writer, {"error": "Task not found"}, 404)
        if left > 0:
            status = "PENDING" if left == self.video_polls else "RUNNING"
            return await self._json(writer, {"id": task, "status": status, "progress": 0.5})
        url = self.add_file(f"{task}.mp4", _MP4, "video/mp4")
        return await self._json(writer, {"id": task, "status": "SUCCEEDED", "output": [url]})


def env_for(url: str, key: str = "fake-key") -> dict[str, str]:
    """Environment variables that point every built-in provider at a fake server at ``url``."""
    return {"OPENAI_BASE_URL": f"{url}/v1", "ANTHROPIC_BASE_URL": url, "GEMINI_BASE_URL": url,
            "ELEVENLABS_BASE_URL": url, "RUNWAYML_BASE_URL": url, "OPENAI_API_KEY": key,
            "ANTHROPIC_API_KEY": key, "GEMINI_API_KEY": key, "ELEVENLABS_API_KEY": key,
            "RUNWAYML_API_SECRET": key, "RECRAFT_BASE_URL": f"{url}/recraft", "RECRAFT_API_TOKEN": key,
            "BFL_BASE_URL": f"{url}/bfl", "BFL_API_KEY": key, "KLING_BASE_URL": f"{url}/kling",
            "KLING_ACCESS_KEY": key, "KLING_SECRET_KEY": f"{key}-secret", "REPLICATE_BASE_URL": f"{url}/replicate",
            "REPLICATE_API_TOKEN": key, "FAL_BASE_URL": f"{url}/fal", "FAL_KEY": key}


def main(argv: list[str] | None = None) -> int:
    """``python -m nbflow.testing.fakeserver``: serve until interrupted."""
    ap = argparse.ArgumentParser(prog="python -m nbflow.testing.fakeserver",
                                 description="A fake AI provider server for trying flows without keys.")
    ap.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    args = ap.parse_args(argv)
    server = FakeServer(port=args.port).start()
    print(f"fake provider server on {server.url}; point nbflow at it with:", flush=True)
    for k, v in env_for(server.url).items():
        print(f"  export {k}={v}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
