"""What Replicate and fal have in common: any model by name, a JSON input, media URLs in the output.

A marketplace client implements one call, :meth:`MarketplaceProvider.run_model` (submit, wait, read
the output JSON); this base turns the ``image``, ``video`` and ``speech`` node requests into the
model's input and the output URLs into kept media. The input is ``{"prompt": ...}`` plus the node's
``options`` as given (each model names its own inputs: ``aspect_ratio``, ``num_outputs``,
``image_size``...); a video node's first frame goes in as ``image`` (a data URI), a speech node's
text as ``text``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from nbflow.exceptions import ProviderError
from nbflow.model.values import Media
from nbflow.providers.fetch import fetch_media
from nbflow.providers.http import HttpProvider
from nbflow.providers.media import as_media, collect_urls
from nbflow.providers.provider import (
    ImageRequest,
    ImageResponse,
    OnProgress,
    SpeechRequest,
    SpeechResponse,
    Usage,
    VideoRequest,
    VideoResponse,
)

__all__ = ["MarketplaceProvider"]

_NOT_INPUT = frozenset({"quality"})  # OpenAI settings the image node may carry
_DEFAULT_MIME = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}


class MarketplaceProvider(HttpProvider):
    """Base of the clients that reach many models by name (``owner/name``)."""

    poll_interval = 1.0

    @abstractmethod
    async def run_model(self, model: str, inputs: dict[str, Any], *, timeout: float,
                        on_progress: OnProgress | None = None) -> tuple[Any, dict[str, Any]]:
        """Run ``model`` on ``inputs``; returns (the output JSON, facts for the media's meta)."""

    async def _media(self, output: Any, kind: str, model: str, facts: dict[str, Any], *, limit: int,
                     timeout: float) -> list[Media]:
        urls = collect_urls(output)
        if not urls:
            raise ProviderError(f"the model's output has no {kind} URL", provider=self.name, retryable=False)
        found: list[Media] = []
        for url in urls:
            raw, ctype = await fetch_media(self.name, url, what=kind, timeout=timeout, clients=self.clients)
            media = as_media(raw, ctype, default=_DEFAULT_MIME[kind], stem=f"{kind}_{len(found)}",
                             meta={"provider": self.name, "model": model, **facts})
            if media.mime.startswith(f"{kind}/"):
                found.append(media)
            if len(found) >= limit:
                break
        if not found:
            raise ProviderError(f"the model's output has no {kind} (got {len(urls)} other file(s))",
                                provider=self.name)
        return found

    @staticmethod
    def _inputs(prompt: str, extra: dict[str, Any], **more: Any) -> dict[str, Any]:
        inputs: dict[str, Any] = {"prompt": prompt, **{k: v for k, v in more.items() if v is not None}}
        inputs.update({k: v for k, v in extra.items() if v is not None and k not in _NOT_INPUT})
        return inputs

    async def image(self, req: ImageRequest) -> ImageResponse:
        output, facts = await self.run_model(req.model, self._inputs(req.prompt, req.extra), timeout=self.timeout)
        images = await self._media(output, "image", req.model, facts, limit=max(req.n, 10), timeout=self.timeout)
        return ImageResponse(images=images, model=req.model, provider=self.name, usage=Usage(images=len(images)))

    async def video(self, req: VideoRequest, *, on_progress: OnProgress | None = None) -> VideoResponse:
        image = None
        if req.image is not None:
            image = req.image.data_url() if req.image.data else req.image.url
        output, facts = await self.run_model(req.model, self._inputs(req.prompt, req.extra, image=image),
                                             timeout=req.timeout, on_progress=on_progress)
        (video,) = await self._media(output, "video", req.model, {**facts, "seconds": float(req.duration)},
                                     limit=1, timeout=req.timeout)
        return VideoResponse(video=video, model=req.model, provider=self.name,
                             usage=Usage(video_seconds=float(req.duration)))

    async def speech(self, req: SpeechRequest) -> SpeechResponse:
        inputs = {"text": req.text, **{k: v for k, v in req.extra.items() if v is not None}}
        if req.voice and req.voice != "alloy":
            inputs.setdefault("voice", req.voice)
        output, facts = await self.run_model(req.model, inputs, timeout=self.timeout)
        (audio,) = await self._media(output, "audio", req.model, facts, limit=1, timeout=self.timeout)
        return SpeechResponse(audio=audio, model=req.model, provider=self.name,
                              usage=Usage(characters=len(req.text)))
