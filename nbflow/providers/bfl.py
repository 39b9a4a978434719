"""Black Forest Labs Flux: submit ``POST {base}/v1/{model}``, poll the ``polling_url``, fetch the sample.

Wire format (BFL API v1): the key in the ``x-key`` header. Submitting (``/v1/flux-pro-1.1``,
``/v1/flux-pro-1.1-ultra``, ``/v1/flux-dev``, ``/v1/flux-kontext-pro``, ``/v1/flux-2-pro``...) with
``prompt`` and ``width``/``height`` (or ``aspect_ratio`` for the models that take one) answers
``{"id", "polling_url"}``. Polling answers ``{"id", "status", "result"}`` where status is ``Pending``,
``Ready`` (``result.sample`` is a signed URL, valid for ten minutes), ``Request Moderated``,
``Content Moderated``, ``Error`` or ``Task not found``. The sample is fetched as soon as it is ready
and kept; a URL that has expired anyway makes a retryable error (the engine submits again).

The key is sent to the ``polling_url`` only when it is on the base URL's origin or on a ``bfl.ai``
host (the global endpoint hands out regional polling hosts, as BFL documents); the sample's storage
host never gets it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from nbflow.exceptions import ProviderError
from nbflow.providers.fetch import fetch_media, same_origin
from nbflow.providers.http import HttpProvider
from nbflow.providers.media import as_media, aspect_ratio, parse_size
from nbflow.providers.polling import JobState, submit_and_poll
from nbflow.providers.provider import ImageRequest, ImageResponse, Usage

__all__ = ["BflProvider"]

#: Models that take ``aspect_ratio`` instead of ``width``/``height``.
_RATIO_MODELS = ("flux-pro-1.1-ultra", "flux-kontext")
_FAILED = {"Request Moderated": "the request was moderated", "Content Moderated": "the image was moderated",
           "Error": "generation failed", "Failed": "generation failed", "Task not found": "the task was not found"}
_TRUSTED_SUFFIX = ".bfl.ai"


class BflProvider(HttpProvider):
    """The Black Forest Labs API (FLUX.1 and FLUX.2 models)."""

    name = "bfl"
    default_base_url = "https://api.bfl.ai"
    poll_interval = 0.5

    def auth_headers(self) -> dict[str, str]:
        return {"x-key": self._key.reveal()} if self._key else {}

    def _body(self, req: ImageRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": req.prompt}
        if req.model.startswith(_RATIO_MODELS):
            body["aspect_ratio"] = aspect_ratio(req.size)
        else:
            body["width"], body["height"] = parse_size(req.size)
        body.update({k: v for k, v in req.extra.items() if v is not None and k != "quality"})
        return body

    def _trusted(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return same_origin(url, self.base_url) or (urlsplit(url).scheme == "https" and host.endswith(_TRUSTED_SUFFIX))

    async def _submit(self, req: ImageRequest, polls: dict[str, str]) -> str:
        data = await self.send_json("POST", f"/v1/{quote(req.model, safe='')}", json=self._body(req))
        if not isinstance(data, dict) or not data.get("id"):
            raise ProviderError("the submit response has no request id", provider=self.name, retryable=True)
        job = str(data["id"])
        url = str(data.get("polling_url") or "")
        polls[job] = url or f"{self.base_url}/v1/get_result?id={quote(job, safe='')}"
        return job

    async def _poll(self, job: str, polls: dict[str, str]) -> JobState:
        url = polls[job]
        data = await self.send_json("GET", url, auth=self._trusted(url))
        status = str(data.get("status", "")) if isinstance(data, dict) else ""
        if status == "Ready":
            sample = (data.get("result") or {}).get("sample")
            if not sample:
                return JobState(True, error="ready without a sample URL", retryable=True)
            return JobState(True, result=str(sample))
        if status in _FAILED:
            details = data.get("details") or data.get("result") or ""
            why = _FAILED[status] + (f": {details}" if isinstance(details, str) and details else "")
            return JobState(True, error=why, retryable=status in ("Error", "Failed"))
        progress = data.get("progress")
        return JobState(False, status=status or "pending",
                        progress=float(progress) / 100 if isinstance(progress, (int, float)) else None)

    async def image(self, req: ImageRequest) -> ImageResponse:
        if req.n != 1:
            raise ProviderError(f"makes one image per request (n={req.n} asked; use a map node for more)",
                                provider=self.name)
        polls: dict[str, str] = {}
        sample = await submit_and_poll(self.name, lambda: self._submit(req, polls),
                                       lambda job: self._poll(job, polls), interval=self.poll_interval,
                                       max_interval=5.0, timeout=self.timeout)
        raw, ctype = await fetch_media(self.name, sample, what="image", timeout=self.timeout,
                                       clients=self.clients)
        meta = {"provider": self.name, "model": req.model, "size": req.size}
        image = as_media(raw, ctype, default="image/jpeg", stem="image_0", meta=meta)
        return ImageResponse(images=[image], model=req.model, provider=self.name, usage=Usage(images=1))
