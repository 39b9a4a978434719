"""Cassettes: every outbound HTTP exchange of a run, recorded to a JSON file and replayed with no network.

A cassette is a wrapper of the real transport of the run's HTTP client factory
(:class:`~nbflow.providers.clients.HttpClients`, the seam every outbound client is made by), so every
provider, the ``http`` node, provider downloads and media inputs are covered by one mechanism: streamed
answers (server-sent events), media bytes and submit-then-poll jobs included. A replayed request is
matched by method, URL path (with its query) and canonical body; requests that match the same recorded
exchanges are answered in the order they were recorded (the polls of a job), the last answer repeating
once they are used up.

The file is stable, diffable JSON: sorted keys, 2-space indent, exchanges sorted by what they match
on. Bodies are stored as JSON when they are JSON, as a list of events for event streams, as text when
text, and base64 otherwise. No key ever reaches it: request headers that carry credentials (by name,
or because their value holds a resolved secret) are left out, and every secret value nbflow resolved
is scrubbed from URLs, headers and bodies. A pure replay needs no keys: one that is not set resolves to a
placeholder, since no request leaves the process.

Use it from Python with :func:`cassette` (``with nbflow.cassette("c.json", mode="replay"): ...``),
``flow.run(record=...)`` / ``flow.run(replay=...)``, or ``nbflow run --record/--replay``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from nbflow.exceptions import CassetteError, CassetteMiss
from nbflow.providers.intercept import intercepting
from nbflow.redaction import redact

if TYPE_CHECKING:
    from nbflow.providers.catalog import Providers
    from nbflow.providers.clients import HttpClients

__all__ = [
    "CASSETTE_FORMAT",
    "REPLAY_PLACEHOLDER",
    "Cassette",
    "CassetteSession",
    "Exchange",
    "Mode",
    "cassette",
    "cassette_session",
    "decode_body",
    "encode_body",
]

#: Version of the cassette file format.
CASSETTE_FORMAT = 1

#: What a key that is not set resolves to in a pure replay: the request never leaves the process.
REPLAY_PLACEHOLDER = "nbflow-replay-no-key"

Mode = Literal["record", "replay", "missing", "once"]
_MODES = ("record", "replay", "missing", "once")

# Request headers that never go in a cassette: credentials by name, and what httpx adds by itself.
_SENSITIVE = re.compile(r"auth|key|token|secret|cookie|signature|session|password|credential", re.I)
_NOISE = {"host", "content-length", "user-agent", "accept-encoding", "connection"}
# Response headers worth keeping: what the clients read. Dates and request ids would churn every diff.
_KEEP_RESPONSE = ("content-type", "retry-after", "retry-after-ms", "location", "content-disposition",
                  "x-ratelimit-", "anthropic-ratelimit-", "x-should-retry")
_SECRET_QUERY = re.compile(r"^(key|api[_-]?key|token|access[_-]?token|signature|sig|secret)$", re.I)


# -- bodies ---------------------------------------------------------------------------------------


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def _is_text_type(content_type: str) -> bool:
    ct = content_type.lower()
    return ct.startswith("text/") or any(t in ct for t in ("json", "xml", "javascript", "urlencoded"))


def encode_body(content: bytes, content_type: str = "") -> dict[str, Any]:
    """A body as cassette JSON: ``{"json": ...}``, ``{"sse": [...]}``, ``{"text": ...}`` or ``{"base64": ...}``."""
    if not content:
        return {}
    ct = content_type.lower()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}
    if "event-stream" in ct:
        return {"sse": [redact(part) for part in text.split("\n\n")]}
    if "json" in ct or (not ct and text.lstrip()[:1] in ("{", "[")):
        try:
            return {"json": _scrub(json.loads(text))}
        except ValueError:
            pass
    if _is_text_type(ct) or (not ct and "\x00" not in text):
        return {"text": redact(text)}
    return {"base64": base64.b64encode(content).decode("ascii")}


def decode_body(body: dict[str, Any]) -> list[bytes]:
    """The bytes of a cassette body, in the chunks a replay streams (one per server-sent event)."""
    if "json" in body:
        return [json.dumps(body["json"], ensure_ascii=False).encode("utf-8")]
    if "sse" in body:
        parts = body["sse"]
        return [(p + ("\n\n" if i < len(parts) - 1 else "")).encode("utf-8") for i, p in enumerate(parts)]
    if "text" in body:
        return [body["text"].encode("utf-8")]
    if "base64" in body:
        return [base64.b64decode(body["base64"])]
    return []


def _canonical(body: dict[str, Any]) -> str:
    if "json" in body:
        return json.dumps(body["json"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for kind in ("text", "base64"):
        if kind in body:
            return f"{kind}:{body[kind]}"
    if "sse" in body:
        return "sse:" + "\n\n".join(body["sse"])
    return ""


def _where(url: str) -> str:
    """Path and query of ``url``, with credential-like query params and secret values left out."""
    parts = urlsplit(redact(url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _SECRET_QUERY.match(k)]
    return parts.path + (f"?{urlencode(sorted(query))}" if query else "")


def _safe_url(url: str) -> str:
    parts = urlsplit(redact(url))
    origin = f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return origin + _where(url)


# -- exchanges ------------------------------------------------------------------------------------


@dataclass(kw_only=True, slots=True)
class Exchange:
    """One request and the response it got, as stored in a cassette."""

    method: str
    url: str
    """Full URL without credentials (for reading; matching uses the path)."""
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """Path and query: what a request must match, with the method and body."""
        return _where(self.url)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.method, self.where, _canonical(self.request_body))

    def to_json(self) -> dict[str, Any]:
        req: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.request_headers:
            req["headers"] = self.request_headers
        req.update(self.request_body)
        resp: dict[str, Any] = {"status": self.status}
        if self.headers:
            resp["headers"] = self.headers
        resp.update(self.body)
        return {"request": req, "response": resp}

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Exchange:
        try:
            req, resp = obj["request"], obj["response"]
            return cls(method=str(req["method"]).upper(), url=str(req["url"]),
                       request_headers=dict(req.get("headers", {})), request_body=_body_of(req),
                       status=int(resp["status"]), headers=dict(resp.get("headers", {})), body=_body_of(resp))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CassetteError(f"{where}: not a recorded exchange ({type(exc).__name__}: {exc})") from None

    def response(self, request: httpx.Request) -> httpx.Response:
        """A fresh response replaying this exchange (streamed in the recorded chunks)."""
        return httpx.Response(self.status, headers=self.headers, stream=_Replay(decode_body(self.body)),
                              request=request)


def _body_of(part: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {k: part[k] for k in ("json", "sse", "text", "base64") if k in part}
    if len(found) > 1:
        raise ValueError(f"more than one body ({', '.join(found)})")
    if "sse" in found and not (isinstance(found["sse"], list) and all(isinstance(s, str) for s in found["sse"])):
        raise ValueError("'sse' must be a list of texts")
    return found


def _request_headers(request: httpx.Request) -> dict[str, str]:
    out = {}
    for name, value in request.headers.items():
        lname = name.lower()
        if lname in _NOISE or _SENSITIVE.search(lname) or redact(value) != value:
            continue
        out[lname] = value
    return out


def _response_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k.lower(): redact(v) for k, v in headers.items() if k.lower().startswith(_KEEP_RESPONSE)}


class _Replay(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, chunk in enumerate(self._chunks):
            if i:
                await asyncio.sleep(0)  # let a streaming reader see each event on its own
            yield chunk


class _Tee(httpx.AsyncByteStream):
    """Passes a live response through (decoded) and hands the whole body over when it is closed."""

    def __init__(self, live: httpx.Response, done: Any) -> None:
        self._live = live
        self._done = done
        self._parts: list[bytes] = []
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._live.aiter_bytes():
            self._parts.append(chunk)
            yield chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._live.aclose()
            self._done(b"".join(self._parts))


# -- the cassette file ----------------------------------------------------------------------------


class Cassette:
    """The exchanges of a cassette file, in memory."""

    def __init__(self, exchanges: list[Exchange] | None = None, *, path: str | Path | None = None) -> None:
        self.exchanges = list(exchanges or [])
        self.path = Path(path) if path is not None else None

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CassetteError(f"{p}: no such cassette (record one with --record)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CassetteError(f"{p}: cannot read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise CassetteError(f"{p}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict) or "exchanges" not in data:
            raise CassetteError(f"{p}: not an nbflow cassette (no 'exchanges')")
        version = data.get("nbflow_cassette")
        if version != CASSETTE_FORMAT:
            raise CassetteError(f"{p}: cassette format {version!r} is not supported (this nbflow reads "
                                f"{CASSETTE_FORMAT})")
        items = data["exchanges"]
        if not isinstance(items, list):
            raise CassetteError(f"{p}: 'exchanges' must be a list")
        return cls([Exchange.from_json(x, f"{p}: exchange {i}") for i, x in enumerate(items)], path=p)

    def dumps(self) -> str:
        """Canonical text: sorted keys, 2-space indent, exchanges in the order they match, newline at the end."""
        order = sorted(range(len(self.exchanges)), key=lambda i: self.exchanges[i].key)  # stable: polls keep order
        doc = {"nbflow_cassette": CASSETTE_FORMAT, "exchanges": [self.exchanges[i].to_json() for i in order]}
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self, path: str | Path | None = None) -> Path:
        p = Path(path) if path is not None else self.path
        if p is None:
            raise CassetteError("this cassette has no path to save to")
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(p)
        return p

    def __len__(self) -> int:
        return len(self.exchanges)

    def __repr__(self) -> str:
        return f"<Cassette {self.path or ''} {len(self.exchanges)} exchanges>"


# -- recording and replaying ----------------------------------------------------------------------


def _first_difference(a: Any, b: Any, path: str = "$") -> tuple[str, Any, Any] | None:
    """Where two JSON values first differ: (path, recorded, sent)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            sub = f"{path}.{k}"
            if k not in a:
                return sub, "<absent>", b[k]
            if k not in b:
                return sub, a[k], "<absent>"
            d = _first_difference(a[k], b[k], sub)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return f"{path} length", len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) and value == "<absent>" else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


class CassetteSession:
    """The interceptor of one use of a cassette: answers from it, records into it, or both.

    Modes: ``record`` (call the network, keep every exchange; saving replaces the file), ``replay``
    (answer only from the cassette; an unmatched request fails its node), ``missing`` (answer what
    the cassette has, call the network for the rest and add it) and ``once`` (``replay`` when the file
    exists, else ``record``).
    """

    def __init__(self, path: str | Path, mode: Mode = "replay") -> None:
        if mode not in _MODES:
            raise CassetteError(f"cassette mode {mode!r} is not one of {', '.join(_MODES)}")
        self.path = Path(path)
        if mode == "once":
            mode = "replay" if self.path.exists() else "record"
        self.mode: Mode = mode
        fresh = mode == "record" or (mode == "missing" and not self.path.exists())
        self.recorded = Cassette(path=self.path) if fresh else Cassette.load(self.path)
        self._lock = threading.Lock()
        self._served: dict[tuple[str, str, str], int] = {}
        self._index: dict[tuple[str, str, str], list[Exchange]] = {}
        for ex in self.recorded.exchanges:
            self._index.setdefault(ex.key, []).append(ex)
        self.hits = 0
        self.new = 0
        self._clients: dict[int, tuple[HttpClients, HttpClients]] = {}

    @property
    def offline(self) -> bool:
        """True when no request may reach the network (pure replay): keys are then not needed."""
        return self.mode == "replay"

    def transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """The transport a run's clients use: this session in front of ``inner`` (the real one)."""
        return _SessionTransport(self, inner)

    def providers(self, base: Providers) -> Providers:
        """A copy of ``base`` whose HTTP goes through this session (and, in a pure replay, whose keys that
        are not set resolve to a placeholder, and whose clients count as offline, so media URLs given as
        inputs are replayed without resolving their host names). One client factory per base, so the
        runs of a session share their pooled clients."""
        from nbflow.providers.catalog import Providers
        from nbflow.providers.clients import HttpClients
        from nbflow.providers.secrets import Secrets

        known = self._clients.get(id(base.clients))
        if known is None or known[0] is not base.clients:
            below = base.clients.wrap
            wrap = self.transport if below is None else (lambda t: self.transport(below(t)))
            clients = HttpClients(base.clients.transport, wrap=wrap, offline=self.offline or base.clients.offline)
            known = self._clients[id(base.clients)] = (base.clients, clients)
        secrets = Secrets(*base.secrets.stores, _Placeholder()) if self.offline else base.secrets
        out = Providers(secrets, clients=known[1])
        out.overrides = dict(base.overrides)
        return out

    def save(self) -> Path | None:
        """Write the cassette when this session recorded anything (or is a fresh recording)."""
        if self.mode == "record" or (self.mode == "missing" and self.new):
            return self.recorded.save()
        return None

    async def handle(self, request: httpx.Request, send: Any) -> httpx.Response:
        """Answer ``request`` from the cassette, or ``send`` it on (and record the exchange)."""
        body = encode_body(await request.aread(), request.headers.get("content-type", ""))
        ex = Exchange(method=request.method.upper(), url=_safe_url(str(request.url)),
                      request_headers=_request_headers(request), request_body=body)
        if self.mode != "record":
            hit = self._next(ex.key)
            if hit is not None:
                return hit.response(request)
            if self.mode == "replay":
                raise CassetteMiss(f"cassette {self.path.name} has no exchange for {ex.method} {ex.where}: "
                                   f"{self.explain(ex)}")
        with self._lock:
            self.recorded.exchanges.append(ex)  # reserve its place now: polls keep their order
            self.new += 1
        try:
            live = await send(request)
        except BaseException:
            with self._lock:  # nothing came back: nothing to replay
                self.recorded.exchanges.remove(ex)
                self.new -= 1
            raise
        ex.status = live.status_code
        ex.headers = _response_headers(live.headers)
        content_type = live.headers.get("content-type", "")
        decoded = httpx.Response(live.status_code, headers=live.headers, stream=live.stream, request=request)

        def done(content: bytes) -> None:
            ex.body = encode_body(content, content_type)

        headers = [(k, v) for k, v in live.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(live.status_code, headers=headers, stream=_Tee(decoded, done),
                              extensions=live.extensions)

    def _next(self, key: tuple[str, str, str]) -> Exchange | None:
        with self._lock:
            found = self._index.get(key)
            if not found:
                return None
            n = self._served.get(key, 0)
            self._served[key] = n + 1
            self.hits += 1
            return found[min(n, len(found) - 1)]

    def explain(self, ex: Exchange) -> str:
        """What differs between ``ex`` and the closest recorded exchange, in a few words."""
        known = self.recorded.exchanges
        same = [k for k in known if k.method == ex.method and k.where == ex.where]
        if same:
            return self._body_difference(same, ex)
        path = ex.where.split("?")[0]
        if any(k.where == ex.where for k in known):
            methods = sorted({k.method for k in known if k.where == ex.where})
            return f"only {', '.join(methods)} was recorded for {ex.where}"
        near = [k for k in known if k.method == ex.method and k.where.split("?")[0] == path]
        if near:
            return f"query differs: recorded {near[0].where}, sent {ex.where}"
        seen = sorted({f"{k.method} {k.where}" for k in known})
        listed = ", ".join(seen[:3]) + (f" and {len(seen) - 3} more" if len(seen) > 3 else "")
        return f"nothing was recorded for that path (recorded: {listed or 'nothing'})"

    @staticmethod
    def _body_difference(candidates: list[Exchange], ex: Exchange) -> str:
        best: tuple[str, Any, Any] | None = None
        for cand in candidates:
            a, b = cand.request_body, ex.request_body
            if "json" in a and "json" in b:
                d = _first_difference(a["json"], b["json"])
            else:
                d = ("the body", _canonical(a)[:60] or "<empty>", _canonical(b)[:60] or "<empty>")
            if d is not None and (best is None or len(d[0]) > len(best[0])):
                best = d  # the deepest difference belongs to the closest recording
        if best is None:
            return "the body differs"
        where, rec, sent = best
        return f"body differs at {where}: recorded {_short(rec)}, sent {_short(sent)}"


class _SessionTransport(httpx.AsyncBaseTransport):
    def __init__(self, session: CassetteSession, inner: httpx.AsyncBaseTransport) -> None:
        self._session = session
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._session.handle(request, self._inner.handle_async_request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Placeholder:
    """The last secret store of a pure replay: every name resolves, to a value no server would accept."""

    def get(self, name: str) -> str:
        return REPLAY_PLACEHOLDER


def cassette_session(*, record: str | Path | None = None, replay: str | Path | None = None,
                     record_missing: bool = False) -> CassetteSession | None:
    """The session for a run's ``record=`` / ``replay=`` / ``record_missing=`` options (None: neither)."""
    if record is not None and replay is not None and Path(record) != Path(replay):
        raise CassetteError("record and replay name different cassettes: give one of them "
                            "(add record_missing to replay one and record what is new into it)")
    path = record if record is not None else replay
    if path is None:
        if record_missing:
            raise CassetteError("record_missing needs a cassette: give record or replay")
        return None
    if record_missing or (record is not None and replay is not None):
        return CassetteSession(path, "missing")
    return CassetteSession(path, "record" if record is not None else "replay")


@contextmanager
def cassette(path: str | Path, mode: Mode = "once") -> Iterator[CassetteSession]:
    """Record or replay every outbound HTTP exchange made inside the ``with`` block.

    ``with nbflow.cassette("tests/cassettes/copy.json"): flow.run()`` records the first time (the file
    does not exist yet) and replays, with no network, ever after. Every run started inside the block
    uses it (unless told ``record=``/``replay=`` itself). The file is written when the block ends, also
    when it raised.
    """
    session = CassetteSession(path, mode)
    try:
        with intercepting(session):
            yield session
    finally:
        session.save()
