"""Google Veo through the Gemini API: ``predictLongRunning``, poll the operation, fetch the video.

Wire format (Gemini API ``v1beta``, long-running operations): ``POST
{base}/v1beta/models/{model}:predictLongRunning`` with ``{"instances": [{"prompt", "image":
{"bytesBase64Encoded", "mimeType"}}], "parameters": {"aspectRatio", "durationSeconds",
"negativePrompt", ...}}`` answers an operation ``{"name": "models/{model}/operations/{id}"}``.
``GET {base}/v1beta/{name}`` answers ``{"name", "done"}``; when done, either ``error`` (a
``google.rpc.Status``) or ``response.generateVideoResponse.generatedSamples[].video.uri``. The key
travels in ``x-goog-api-key``. The video URI is a Gemini ``files/...:download`` URL that needs the key
and redirects to storage: :func:`~nbflow.providers.fetch.fetch_media` sends the key to the API's
origin only, never to the storage host.
"""

from __future__ import annotations

import base64
from typing import Any

from nbflow.exceptions import ProviderError
from nbflow.providers.fetch import fetch_media, same_origin
from nbflow.providers.http import HttpProvider
from nbflow.providers.media import as_media, aspect_ratio
from nbflow.providers.polling import JobState, submit_and_poll
from nbflow.providers.provider import OnProgress, Usage, VideoRequest, VideoResponse

__all__ = ["veo_body", "veo_video"]

_RETRY_CODES = frozenset({4, 8, 13, 14})  # DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE


def veo_body(req: VideoRequest) -> dict[str, Any]:
    """The ``predictLongRunning`` request body for ``req``."""
    instance: dict[str, Any] = {"prompt": req.prompt}
    if req.image is not None:
        if req.image.data is None:
            raise ProviderError("Veo needs the first-frame image's bytes, not only its URL", provider="gemini")
        instance["image"] = {"bytesBase64Encoded": base64.b64encode(req.image.data).decode(),
                             "mimeType": req.image.mime}
    params: dict[str, Any] = {"aspectRatio": aspect_ratio(req.ratio), "durationSeconds": int(req.duration)}
    params.update({k: v for k, v in req.extra.items() if v is not None})
    return {"instances": [instance], "parameters": params}


def _read_operation(op: Any) -> JobState:
    if not isinstance(op, dict):
        return JobState(True, error="the operation is not a JSON object", retryable=True)
    if not op.get("done"):
        meta = op.get("metadata") or {}
        progress = meta.get("progressPercent") if isinstance(meta, dict) else None
        return JobState(False, status="running",
                        progress=float(progress) / 100 if isinstance(progress, (int, float)) else None)
    if op.get("error"):
        err = op["error"] or {}
        code = err.get("code")
        return JobState(True, error=f"{err.get('message', 'the operation failed')} (code {code})",
                        retryable=code in _RETRY_CODES)
    resp = (op.get("response") or {}).get("generateVideoResponse") or {}
    samples = resp.get("generatedSamples") or []
    uri = ((samples[0] if samples else {}).get("video") or {}).get("uri")
    if not uri:
        reasons = resp.get("raiMediaFilteredReasons")
        if reasons:
            return JobState(True, error=f"the video was filtered: {'; '.join(map(str, reasons))}")
        return JobState(True, error="done without a video", retryable=True)
    return JobState(True, result=str(uri))


async def veo_video(provider: HttpProvider, submit_path: str, req: VideoRequest, *,
                    on_progress: OnProgress | None = None) -> VideoResponse:
    """Generate one video with Veo ``req.model`` through ``provider``'s key and base URL.

    ``submit_path`` is the model's ``...:predictLongRunning`` path (the Gemini client spells model names).
    """
    body = veo_body(req)

    async def submit() -> str:
        op = await provider.send_json("POST", submit_path, json=body)
        if not isinstance(op, dict) or not op.get("name"):
            raise ProviderError("the response has no operation name", provider=provider.name, retryable=True)
        return str(op["name"])

    async def poll(name: str) -> JobState:
        return _read_operation(await provider.send_json("GET", f"/v1beta/{name}"))

    uri = await submit_and_poll(provider.name, submit, poll, interval=req.poll_interval, timeout=req.timeout,
                                on_progress=on_progress)
    auth = provider.auth_headers() if same_origin(uri, provider.base_url) else None
    raw, ctype = await fetch_media(provider.name, uri, what="video", auth=auth, timeout=req.timeout,
                                   clients=provider.clients)
    meta = {"provider": provider.name, "model": req.model, "seconds": float(req.duration)}
    video = as_media(raw, ctype, default="video/mp4", stem="video", meta=meta)
    return VideoResponse(video=video, model=req.model, provider=provider.name,
                         usage=Usage(video_seconds=float(req.duration)))
