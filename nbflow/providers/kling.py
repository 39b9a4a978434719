"""Kling video: ``text2video`` and ``image2video`` tasks, polled by id, the video fetched and kept.

Wire format (Kling API v1): ``Authorization: Bearer <JWT>``, where the token is signed HS256 with the
secret key and carries ``iss`` = access key, ``exp`` = now + 30 min, ``nbf`` = now - 5 s (a fresh one
per request, so long polls never outlive it). Submit ``POST /v1/videos/text2video`` (``model_name``,
``prompt``, ``negative_prompt``, ``mode`` std|pro, ``aspect_ratio``, ``duration`` "5"|"10") or
``/v1/videos/image2video`` (``image`` as raw base64 or a URL, no aspect ratio); poll
``GET /v1/videos/{kind}/{task_id}``. Every answer is ``{"code", "message", "request_id", "data"}``
with ``code`` 0 on success; ``data.task_status`` moves ``submitted`` -> ``processing`` -> ``succeed``
(``data.task_result.videos[].url``) or ``failed`` (``task_status_msg``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote

from nbflow.exceptions import ProviderError
from nbflow.providers.fetch import fetch_media
from nbflow.providers.http import HttpProvider
from nbflow.providers.media import as_media, aspect_ratio
from nbflow.providers.polling import JobState, submit_and_poll
from nbflow.providers.provider import OnProgress, Usage, VideoRequest, VideoResponse
from nbflow.providers.secrets import Secret

__all__ = ["KlingProvider", "kling_token"]

#: Kling's ``code`` values that mean "too many requests or tasks right now": worth a retry.
_BUSY_CODES = frozenset({1302, 1303, 1304, 5000, 5001, 5002})


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def kling_token(access_key: str, secret_key: str, *, now: float | None = None, ttl: int = 1800) -> str:
    """The HS256 JWT Kling asks for: ``iss`` access key, valid from 5 s ago for ``ttl`` seconds."""
    t = int(time.time() if now is None else now)
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = _b64url(json.dumps({"iss": access_key, "exp": t + ttl, "nbf": t - 5}, separators=(",", ":")).encode())
    signing = f"{header}.{claims}".encode()
    sig = hmac.new(secret_key.encode(), signing, hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64url(sig)}"


class KlingProvider(HttpProvider):
    """The Kling AI video API (kling-v1 ... kling-v2-1-master)."""

    name = "kling"
    default_base_url = "https://api-singapore.klingai.com"

    def __init__(self, *, secret_key: Secret | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self._secret_key = secret_key

    def auth_headers(self) -> dict[str, str]:
        if not (self._key and self._secret_key):
            return {}
        return {"authorization": f"Bearer {kling_token(self._key.reveal(), self._secret_key.reveal())}"}

    def _check(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ProviderError("the response is not a JSON object", provider=self.name, retryable=True)
        code = data.get("code", 0)
        if code not in (0, "0"):
            msg = str(data.get("message") or "request failed")
            raise ProviderError(f"{msg} (code {code})", provider=self.name, status=200,
                                retryable=isinstance(code, int) and code in _BUSY_CODES)
        body = data.get("data")
        if not isinstance(body, dict):
            raise ProviderError("the response has no data object", provider=self.name, retryable=True)
        return body

    def _body(self, req: VideoRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model_name": req.model, "prompt": req.prompt,
                                "duration": str(int(req.duration))}
        if req.image is not None:
            body["image"] = base64.b64encode(req.image.data).decode() if req.image.data else req.image.url
        else:
            body["aspect_ratio"] = aspect_ratio(req.ratio)
        body.update({k: v for k, v in req.extra.items() if v is not None})
        return body

    async def _submit(self, kind: str, req: VideoRequest) -> str:
        data = self._check(await self.send_json("POST", f"/v1/videos/{kind}", json=self._body(req)))
        if not data.get("task_id"):
            raise ProviderError("the submit response has no task_id", provider=self.name, retryable=True)
        return str(data["task_id"])

    async def _poll(self, kind: str, task: str) -> JobState:
        data = self._check(await self.send_json("GET", f"/v1/videos/{kind}/{quote(task, safe='')}"))
        status = str(data.get("task_status", ""))
        if status == "succeed":
            videos = (data.get("task_result") or {}).get("videos") or []
            if not videos or not videos[0].get("url"):
                return JobState(True, error="succeeded without a video URL", retryable=True)
            return JobState(True, result=videos[0])
        if status == "failed":
            return JobState(True, error=str(data.get("task_status_msg") or "the task failed"))
        return JobState(False, status=status or "submitted")

    async def video(self, req: VideoRequest, *, on_progress: OnProgress | None = None) -> VideoResponse:
        kind = "image2video" if req.image is not None else "text2video"
        video = await submit_and_poll(self.name, lambda: self._submit(kind, req), lambda t: self._poll(kind, t),
                                      interval=req.poll_interval, timeout=req.timeout, on_progress=on_progress)
        raw, ctype = await fetch_media(self.name, str(video["url"]), what="video", timeout=req.timeout,
                                       clients=self.clients)
        try:
            seconds = float(video.get("duration") or req.duration)
        except (TypeError, ValueError):
            seconds = float(req.duration)
        meta = {"provider": self.name, "model": req.model, "seconds": seconds, "kind": kind}
        media = as_media(raw, ctype, default="video/mp4", stem="video", meta=meta)
        return VideoResponse(video=media, model=req.model, provider=self.name, usage=Usage(video_seconds=seconds))
