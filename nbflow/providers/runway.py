"""Runway video generation: submit ``image_to_video`` / ``text_to_video``, poll ``/v1/tasks/{id}``.

Wire format: ``Authorization: Bearer <key>`` and ``X-Runway-Version: 2024-11-06``. A task moves through
``PENDING``, ``THROTTLED``, ``RUNNING`` to ``SUCCEEDED`` (with ``output`` URLs), ``FAILED`` (with
``failure`` and ``failureCode``) or ``CANCELLED``. Failure codes starting ``INTERNAL`` are worth a retry.
"""

from __future__ import annotations

from typing import Any

from nbflow.exceptions import ProviderError
from nbflow.model.values import Media, sniff_mime
from nbflow.providers.http import HttpProvider
from nbflow.providers.polling import JobState, submit_and_poll
from nbflow.providers.provider import OnProgress, Usage, VideoRequest, VideoResponse

__all__ = ["RUNWAY_VERSION", "RunwayProvider"]

RUNWAY_VERSION = "2024-11-06"


class RunwayProvider(HttpProvider):
    """Runway's developer API (gen4_turbo, gen3a_turbo, veo3...)."""

    name = "runway"
    default_base_url = "https://api.dev.runwayml.com"

    def auth_headers(self) -> dict[str, str]:
        hdrs = {"x-runway-version": RUNWAY_VERSION}
        if self._key:
            hdrs["authorization"] = f"Bearer {self._key.reveal()}"
        return hdrs

    async def _submit(self, req: VideoRequest) -> str:
        body: dict[str, Any] = {"model": req.model, "promptText": req.prompt, "ratio": req.ratio,
                                "duration": int(req.duration)}
        if req.image is not None:
            body["promptImage"] = req.image.data_url() if req.image.data else req.image.url
            path = "/v1/image_to_video"
        else:
            path = "/v1/text_to_video"
        body.update(req.extra)
        data = await self.send_json("POST", path, json=body)
        if not isinstance(data, dict) or not data.get("id"):
            raise ProviderError("the submit response has no task id", provider=self.name, retryable=True)
        return str(data["id"])

    async def _poll(self, task_id: str) -> JobState:
        data = await self.send_json("GET", f"/v1/tasks/{task_id}")
        with self.reading():
            return self._state(data)

    @staticmethod
    def _state(data: dict[str, Any]) -> JobState:
        status = str(data.get("status", "")).upper()
        if status == "SUCCEEDED":
            out = data.get("output") or []
            if not out:
                return JobState(True, error="succeeded without an output URL", retryable=True)
            if not isinstance(out, list) or not all(isinstance(u, str) for u in out):
                raise TypeError("output is not a list of URLs")
            return JobState(True, result=out)
        if status in ("FAILED", "CANCELLED"):
            code = str(data.get("failureCode") or "")
            why = data.get("failure") or status.lower()
            return JobState(True, error=f"{why} ({code})" if code else str(why),
                            retryable=code.startswith("INTERNAL") or code == "THROTTLED")
        progress = data.get("progress")
        return JobState(False, progress=float(progress) if isinstance(progress, (int, float)) else None,
                        status=status)

    async def video(self, req: VideoRequest, *, on_progress: OnProgress | None = None) -> VideoResponse:
        urls = await submit_and_poll(self.name, lambda: self._submit(req), self._poll,
                                     interval=req.poll_interval, timeout=req.timeout, on_progress=on_progress)
        raw, ctype = await self.download(urls[0], what="video")
        self.expect_media(raw, ctype, "video")
        mime = sniff_mime(raw) or ctype or "video/mp4"
        video = Media(mime=mime, data=raw, name="video.mp4",
                      meta={"provider": self.name, "model": req.model, "seconds": req.duration})
        return VideoResponse(video=video, model=req.model, provider=self.name,
                             usage=Usage(video_seconds=float(req.duration)))
