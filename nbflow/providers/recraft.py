"""Recraft image generation: ``POST {base}/v1/images/generations`` (raster, and vector as SVG).

Wire format (Recraft API v1): ``Authorization: Bearer <token>``; body ``prompt``, ``model``
(``recraftv3``, ``recraftv2``, ``recraftv4``...; names ending ``_vector`` draw vectors), ``style``
(``realistic_image``, ``digital_illustration``, ``vector_illustration``, ``icon``, ``logo_raster``...),
``substyle``, ``size`` (``WxH``), ``n`` (1-6), ``negative_prompt``, ``controls``, ``response_format``
(``url``, the default, or ``b64_json``). The answer is ``{"created", "credits", "data": [{"image_id",
"url"}]}``. Result URLs are temporary (about a day), so every image is fetched at once; a vector
result is kept as ``image/svg+xml``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from nbflow.exceptions import ProviderError
from nbflow.providers.fetch import fetch_media
from nbflow.providers.http import HttpProvider
from nbflow.providers.media import as_media
from nbflow.providers.provider import ImageRequest, ImageResponse, Usage
from nbflow.providers.tokens import count_tokens

__all__ = ["RecraftProvider", "is_vector"]

#: Styles that produce vector (SVG) images.
VECTOR_STYLES = frozenset({"vector_illustration", "icon", "logo"})


def is_vector(model: str, style: str | None) -> bool:
    """Whether Recraft answers this model and style with an SVG."""
    return model.endswith("_vector") or model.endswith("-svg") or (style or "") in VECTOR_STYLES


class RecraftProvider(HttpProvider):
    """Recraft's external API."""

    name = "recraft"
    default_base_url = "https://external.api.recraft.ai"

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key.reveal()}"} if self._key else {}

    async def image(self, req: ImageRequest) -> ImageResponse:
        body: dict[str, Any] = {"prompt": req.prompt, "model": req.model, "size": req.size, "n": req.n}
        body.update({k: v for k, v in req.extra.items() if v is not None})
        body.pop("quality", None)  # an OpenAI setting Recraft rejects
        data = await self.send_json("POST", "/v1/images/generations", json=body, tokens=count_tokens(req.prompt))
        items = data.get("data") if isinstance(data, dict) else None
        if not items:
            raise ProviderError("the response has no images", provider=self.name, status=200, retryable=True)
        vector = is_vector(req.model, body.get("style"))
        images = []
        for i, item in enumerate(items):
            if item.get("b64_json"):
                try:
                    raw, ctype = base64.b64decode(item["b64_json"], validate=True), ""
                except (binascii.Error, ValueError):
                    raise ProviderError("returned malformed base64 image data", provider=self.name,
                                        retryable=True) from None
            elif item.get("url"):
                raw, ctype = await fetch_media(self.name, item["url"], what="image", timeout=self.timeout,
                                               clients=self.clients)
            else:
                raise ProviderError("an image in the response has neither url nor b64_json", provider=self.name,
                                    status=200, retryable=True)
            meta = {"provider": self.name, "model": req.model, "size": req.size, "vector": vector}
            for key in ("style", "substyle"):
                if body.get(key):
                    meta[key] = body[key]
            if item.get("image_id"):
                meta["image_id"] = item["image_id"]
            default = "image/svg+xml" if vector else "image/png"
            images.append(as_media(raw, ctype, default=default, stem=f"image_{i}", meta=meta))
        # Vector images are priced apart: a vector style on a raster model is billed as its _vector twin.
        billed = req.model if not vector or req.model.endswith(("_vector", "-svg")) else f"{req.model}_vector"
        return ImageResponse(images=images, model=billed, provider=self.name, usage=Usage(images=len(images)))
