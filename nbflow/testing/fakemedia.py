"""The fake server's media jobs: Recraft, Flux (BFL), Kling, Veo (Gemini operations), Replicate, fal.

Each speaks its provider's wire format (see the provider modules) under a path prefix, so one server
holds them all: point ``RECRAFT_BASE_URL`` at ``{url}/recraft``, ``BFL_BASE_URL`` at ``{url}/bfl``,
``KLING_BASE_URL`` at ``{url}/kling``, ``REPLICATE_BASE_URL`` at ``{url}/replicate``, ``FAL_BASE_URL``
at ``{url}/fal``; Veo lives on the Gemini routes (``:predictLongRunning``, ``operations/``, ``files/``).

A submitted job answers "not done" to ``server.video_polls`` polls, then finishes. Results are served
from ``/files/`` and expire after ``server.result_ttl`` seconds (403 afterwards, as a signed URL
does). ``server.fail_next_job(provider, message)`` makes the next job of that provider fail in the
provider's own words. Veo's download URL needs the key and redirects to ``localhost`` (another origin
as far as a client can tell), so tests can check the key does not follow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from nbflow.providers.offline import png_bytes

if TYPE_CHECKING:
    import asyncio


class Server(Protocol):
    """What the media jobs use of the fake server (kept apart so the two modules do not import each other)."""

    @property
    def url(self) -> str: ...

    video_polls: int
    result_ttl: float | None
    _files: dict[str, tuple[bytes, str, float | None]]

    def add_file(self, name: str, data: bytes, mime: str, ttl: float | None = None) -> str: ...

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes = b"",
                    ctype: str = "application/json", headers: dict[str, str] | None = None) -> bool: ...

    async def _json(self, writer: asyncio.StreamWriter, obj: Any, status: int = 200,
                    headers: dict[str, str] | None = None) -> bool: ...

__all__ = ["MEDIA_PROVIDERS", "SVG", "MediaJobs", "Server", "media_provider_of"]

MEDIA_PROVIDERS = frozenset({"recraft", "bfl", "kling", "replicate", "fal", "veo"})
SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" '
       b'viewBox="0 0 64 64"><circle cx="32" cy="32" r="24" fill="#e8743b"/></svg>\n')
_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 400
_VECTOR_STYLES = ("vector_illustration", "icon", "logo")


def media_provider_of(path: str) -> str | None:
    """Which media provider a path belongs to, or None."""
    for prefix in ("recraft", "bfl", "kling", "replicate", "fal"):
        if path.startswith(f"/{prefix}/"):
            return prefix
    if ":predictLongRunning" in path or "/operations/" in path or path.startswith("/v1beta/files/"):
        return "veo"
    return None


def _kind(model: str) -> str:
    low = model.lower()
    if any(w in low for w in ("video", "kling", "veo", "wan-", "hunyuan", "minimax", "seedance")):
        return "video"
    if any(w in low for w in ("tts", "speech", "audio", "voice", "music")):
        return "audio"
    return "image"


def _jwt_ok(token: str, access: str, secret: str) -> bool:
    try:
        head, claims, sig = token.split(".")
        want = hmac.new(secret.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
        got = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        data = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    except (ValueError, TypeError):
        return False
    now = time.time()
    return hmac.compare_digest(want, got) and data.get("iss") == access and data.get("nbf", now) <= now \
        < data.get("exp", 0)


@dataclass
class Job:
    provider: str
    model: str
    body: dict[str, Any]
    left: int
    fail: str | None = None
    outputs: list[str] = field(default_factory=list)


class MediaJobs:
    """Submit/poll state machines for the media providers; owned by a :class:`FakeServer`."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.jobs: dict[str, Job] = {}
        self.failures: list[tuple[str, str]] = []
        self.kling_keys: tuple[str, str] | None = None  # (access, secret): verify Kling's JWT when set
        self._ids = itertools.count(1)

    def reset(self) -> None:
        self.jobs.clear()
        self.failures.clear()
        self.kling_keys = None

    # -- helpers ------------------------------------------------------------------------------

    def _file(self, kind: str, body: dict[str, Any], model: str, k: int = 0) -> str:
        s = self.server
        if kind == "video":
            data, mime, ext = _MP4, "video/mp4", "mp4"
        elif kind == "audio":
            data, mime, ext = _MP3, "audio/mpeg", "mp3"
        elif model.endswith(("_vector", "-svg")) or body.get("style") in _VECTOR_STYLES:
            data, mime, ext = SVG, "image/svg+xml", "svg"
        else:
            seed = (sum(str(body.get("prompt", "")).encode()) + k) % 256
            data, mime, ext = png_bytes(2, 2, [bytes([seed, 90, 170] * 2)] * 2), "image/png", "png"
        return s.add_file(f"out{next(self._ids)}.{ext}", data, mime, ttl=s.result_ttl)

    def _submit(self, provider: str, model: str, body: dict[str, Any]) -> tuple[str, Job]:
        fail = None
        for i, (p, msg) in enumerate(self.failures):
            if p == provider:
                fail = msg
                del self.failures[i]
                break
        job_id = f"{provider}-{next(self._ids)}"
        job = self.jobs[job_id] = Job(provider, model, body, self.server.video_polls, fail)
        return job_id, job

    def _tick(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        if job is not None:
            job.left -= 1
        return job

    def _outputs(self, job: Job, kind: str, n: int = 1) -> list[str]:
        if not job.outputs:
            job.outputs = [self._file(kind, job.body, job.model, k) for k in range(n)]
        return job.outputs

    # -- routing ------------------------------------------------------------------------------

    async def route(self, req: Any, writer: asyncio.StreamWriter, provider: str) -> bool:
        handler = getattr(self, f"_{provider}")
        status, obj, headers = handler(req, req.json if isinstance(req.json, dict) else {})
        if status in (301, 302, 303, 307, 308):
            return await self.server._send(writer, status, b"", "text/plain", headers)
        return await self.server._json(writer, obj, status, headers)

    def _recraft(self, req: Any, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if req.method != "POST" or not req.path.endswith("/v1/images/generations"):
            return 404, {"code": "not_found", "message": "no such route"}, {}
        model = str(body.get("model") or "recraftv3")
        items = []
        for k in range(int(body.get("n") or 1)):
            url = self._file("image", body, model, k)
            item: dict[str, Any] = {"image_id": f"img-{next(self._ids)}"}
            if body.get("response_format") == "b64_json":
                data = self.server._files[url.rsplit("/", 1)[1]][0]
                item["b64_json"] = base64.b64encode(data).decode()
            else:
                item["url"] = url
            items.append(item)
        return 200, {"created": int(time.time()), "credits": 40 * len(items), "data": items}, {}

    def _bfl(self, req: Any, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if req.method == "POST":
            model = req.path.rsplit("/", 1)[1]
            job_id, _ = self._submit("bfl", model, body)
            return 200, {"id": job_id, "polling_url": f"{self.server.url}/bfl/v1/get_result?id={job_id}"}, {}
        job_id = req.query.get("id", "")
        job = self._tick(job_id)
        if job is None:
            return 200, {"id": job_id, "status": "Task not found"}, {}
        if job.left >= 0:
            return 200, {"id": job_id, "status": "Pending", "result": None, "progress": 50}, {}
        if job.fail:
            status = "Content Moderated" if "moderat" in job.fail.lower() else "Error"
            return 200, {"id": job_id, "status": status, "details": job.fail}, {}
        (url,) = self._outputs(job, "image")
        return 200, {"id": job_id, "status": "Ready",
                     "result": {"sample": url, "prompt": job.body.get("prompt"), "seed": 42}}, {}

    def _kling(self, req: Any, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        rid = f"req-{next(self._ids)}"
        if self.kling_keys is not None:
            token = req.headers.get("authorization", "").removeprefix("Bearer ")
            if not _jwt_ok(token, *self.kling_keys):
                return 401, {"code": 1004, "message": "Authorization is not valid", "request_id": rid}, {}
        kind = "image2video" if "/image2video" in req.path else "text2video"
        if req.method == "POST":
            if kind == "image2video" and not body.get("image"):
                return 400, {"code": 1201, "message": "image is required", "request_id": rid}, {}
            job_id, _ = self._submit("kling", str(body.get("model_name", "")), body)
            now = int(time.time() * 1000)
            return 200, {"code": 0, "message": "SUCCEED", "request_id": rid, "data": {
                "task_id": job_id, "task_status": "submitted", "created_at": now, "updated_at": now}}, {}
        job_id = req.path.rsplit("/", 1)[1]
        job = self._tick(job_id)
        if job is None:
            return 404, {"code": 1203, "message": "task not found", "request_id": rid}, {}
        data: dict[str, Any] = {"task_id": job_id, "task_status": "processing" if job.left >= 0 else "succeed"}
        if job.left < 0 and job.fail:
            data.update(task_status="failed", task_status_msg=job.fail)
        elif job.left < 0:
            (url,) = self._outputs(job, "video")
            data["task_result"] = {"videos": [{"id": f"vid-{job_id}", "url": url,
                                               "duration": str(job.body.get("duration", "5"))}]}
        return 200, {"code": 0, "message": "SUCCEED", "request_id": rid, "data": data}, {}

    def _veo(self, req: Any, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if req.path.startswith("/v1beta/files/"):
            name = req.path.split("/")[3].split(":")[0]
            job = self.jobs.get(name)
            if job is None:
                return 404, {"error": {"code": 404, "message": "file not found", "status": "NOT_FOUND"}}, {}
            (url,) = self._outputs(job, "video")
            parts = urlsplit(url)
            return 302, None, {"location": f"http://localhost:{parts.port}{parts.path}"}
        if req.method == "POST":
            model = req.path.split("/models/", 1)[1].split(":", 1)[0]
            job_id, _ = self._submit("veo", model, body)
            return 200, {"name": f"models/{model}/operations/{job_id}"}, {}
        job_id = req.path.rsplit("/", 1)[1]
        job = self._tick(job_id)
        name = req.path.removeprefix("/v1beta/")
        if job is None:
            return 404, {"error": {"code": 404, "message": "operation not found", "status": "NOT_FOUND"}}, {}
        if job.left >= 0:
            return 200, {"name": name, "metadata": {"progressPercent": 50}}, {}
        if job.fail:
            return 200, {"name": name, "done": True, "error": {"code": 3, "message": job.fail}}, {}
        uri = f"{self.server.url}/v1beta/files/{job_id}:download?alt=media"
        return 200, {"name": name, "done": True, "response": {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}}}, {}

    def _prediction(self, job_id: str, job: Job, status: str) -> dict[str, Any]:
        pred: dict[str, Any] = {"id": job_id, "model": job.model, "input": job.body.get("input", {}),
                                "status": status, "output": None, "error": None, "logs": "",
                                "urls": {"get": f"{self.server.url}/replicate/v1/predictions/{job_id}",
                                         "cancel": f"{self.server.url}/replicate/v1/predictions/{job_id}/cancel"}}
        if status == "failed":
            pred["error"] = job.fail
        elif status == "succeeded":
            kind = _kind(job.model)
            n = int((job.body.get("input") or {}).get("num_outputs") or 1) if kind == "image" else 1
            urls = self._outputs(job, kind, n)
            pred["output"] = urls if kind == "image" else urls[0]
            pred["metrics"] = {"predict_time": 1.25}
        return pred

    def _replicate(self, req: Any, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if req.method == "POST":
            if "input" not in body:
                return 422, {"title": "Invalid input", "detail": "input is required", "status": 422}, {}
            model = req.path.split("/models/", 1)[1].rsplit("/predictions", 1)[0] if "/models/" in req.path \
                else str(body.get("version", ""))
            job_id, job = self._submit("replicate", model, body)
            if "wait" in req.headers.get("prefer", "") and job.left <= 0:  # finished within the wait
                job.left = -1
                return 201, self._prediction(job_id, job, "failed" if job.fail else "succeeded"), {}
            return 201, self._prediction(job_id, job, "starting"), {}
        job_id = req.path.rsplit("/", 1)[1]
        polled = self._tick(job_id)
        if polled is None:
            return 404, {"title": "Not found", "detail": "prediction not found", "status": 404}, {}
        status = "processing" if polled.left >= 0 else "failed" if polled.fail else "succeeded"
        return 200, self._prediction(job_id, polled, status), {}

    def _fal(self, req: Any, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        path = req.path.removeprefix("/fal")
        if req.method == "POST":
            model = path.strip("/")
            job_id, _ = self._submit("fal", model, body)
            app = "/".join(model.split("/")[:2])
            base = f"{self.server.url}/fal/{app}/requests/{job_id}"
            return 200, {"request_id": job_id, "response_url": base, "status_url": f"{base}/status",
                         "cancel_url": f"{base}/cancel", "queue_position": 0}, {}
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[2] != "requests":
            return 404, {"detail": "not found"}, {}
        job_id = parts[3]
        job = self.jobs.get(job_id)
        if job is None:
            return 404, {"detail": "request not found"}, {}
        if parts[-1] == "status":
            job.left -= 1
            if job.left >= 0:
                status = "IN_QUEUE" if job.left == self.server.video_polls - 1 else "IN_PROGRESS"
                return 202, {"status": status, "queue_position": 0 if status == "IN_QUEUE" else None,
                             "response_url": f"{self.server.url}/fal{'/'.join(['', *parts[:4]])}"}, {}
            return 200, {"status": "COMPLETED", "logs": None,
                         "response_url": f"{self.server.url}/fal{'/'.join(['', *parts[:4]])}"}, {}
        if job.left >= 0:
            return 400, {"detail": "request is still in progress"}, {}
        if job.fail:
            return 500, {"detail": job.fail}, {}
        kind = _kind(job.model)
        if kind == "image":
            n = int(job.body.get("num_images") or 1)
            return 200, {"images": [{"url": u, "content_type": "image/png", "width": 2, "height": 2}
                                    for u in self._outputs(job, "image", n)],
                         "seed": 7, "prompt": job.body.get("prompt")}, {}
        (url,) = self._outputs(job, kind)
        return 200, {kind: {"url": url, "content_type": "video/mp4" if kind == "video" else "audio/mpeg"}}, {}
