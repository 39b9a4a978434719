"""Google Gemini API: ``generateContent`` and ``streamGenerateContent`` (text, images, JSON schema).

Wire format: ``POST {base}/v1beta/models/{model}:generateContent`` (and ``:streamGenerateContent?alt=sse``)
with the key in the ``x-goog-api-key`` header, never in the URL, so it cannot leak into logs. Images
travel as ``inlineData`` parts; a URL-only image is downloaded first. Structured output sets
``responseMimeType: application/json`` and ``responseJsonSchema``. Video (Veo) goes through the
long-running operations in :mod:`nbflow.providers.veo`.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from nbflow.exceptions import ProviderError
from nbflow.providers.http import HttpProvider
from nbflow.providers.provider import (
    ChatRequest,
    ChatResponse,
    Message,
    OnDelta,
    OnProgress,
    Usage,
    VideoRequest,
    VideoResponse,
)
from nbflow.providers.tokens import count_tokens
from nbflow.providers.veo import veo_video

__all__ = ["API_VERSION", "GeminiProvider", "generate_body"]

API_VERSION = "v1beta"
_BLOCKING = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}


def _parts(m: Message, inline: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for i, img in enumerate(m.images):
        mime, data = inline.get(i) or (img.mime, base64.b64encode(img.data or b"").decode())
        parts.append({"inlineData": {"mimeType": mime, "data": data}})
    parts.append({"text": m.text})
    return parts


def generate_body(req: ChatRequest,
                  inline: dict[int, dict[int, tuple[str, str]]] | None = None) -> dict[str, Any]:
    """The ``generateContent`` request body for ``req`` (``inline``: downloaded images by message)."""
    inline = inline or {}
    contents = [{"role": "model" if m.role == "assistant" else "user", "parts": _parts(m, inline.get(k, {}))}
                for k, m in enumerate(req.messages)]
    body: dict[str, Any] = {"contents": contents}
    if req.system:
        body["systemInstruction"] = {"parts": [{"text": req.system}]}
    config: dict[str, Any] = {}
    if req.temperature is not None:
        config["temperature"] = req.temperature
    if req.max_tokens is not None:
        config["maxOutputTokens"] = req.max_tokens
    if req.json_schema is not None:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = req.json_schema
    if config:
        body["generationConfig"] = config
    body.update(req.extra)
    return body


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("not a string")
    return v


def _usage(meta: Any) -> Usage:
    if not isinstance(meta, dict):
        return Usage()
    out = int(meta.get("candidatesTokenCount") or 0) + int(meta.get("thoughtsTokenCount") or 0)
    return Usage(input_tokens=int(meta.get("promptTokenCount") or 0), output_tokens=out)


class GeminiProvider(HttpProvider):
    """The Gemini Developer API."""

    name = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com"

    def auth_headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self._key.reveal()} if self._key else {}

    def _path(self, model: str, method: str) -> str:
        name = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        return f"/{API_VERSION}/{quote(name, safe='/')}:{method}"

    def _read(self, data: Any, texts: list[str]) -> tuple[str | None, Usage | None]:
        """Append the text parts of one response to ``texts``; return (finish reason, usage)."""
        if not isinstance(data, dict):
            raise ProviderError("response is not a JSON object", provider=self.name, retryable=True)
        if "error" in data:
            err = data["error"] or {}
            code = err.get("code")
            raise ProviderError(str(err.get("message", "error")), provider=self.name, status=code,
                                retryable=code in (429, 500, 503, 504))
        block = (data.get("promptFeedback") or {}).get("blockReason")
        if block:
            raise ProviderError(f"the prompt was blocked ({block})", provider=self.name, status=200)
        finish = None
        for cand in (data.get("candidates") or [])[:1]:
            for part in (cand.get("content") or {}).get("parts") or []:
                if "text" in part and not part.get("thought"):
                    texts.append(_str(part["text"]))
            finish = cand.get("finishReason") or None
        if finish in _BLOCKING and not texts:
            raise ProviderError(f"the answer was blocked ({finish})", provider=self.name, status=200)
        return finish, (_usage(data["usageMetadata"]) if data.get("usageMetadata") else None)

    async def _inline_images(self, req: ChatRequest) -> dict[int, dict[int, tuple[str, str]]]:
        inline: dict[int, dict[int, tuple[str, str]]] = {}
        for k, m in enumerate(req.messages):
            for i, img in enumerate(m.images):
                if img.data is None and img.url:
                    raw, ctype = await self.download(img.url, what="image")
                    inline.setdefault(k, {})[i] = (ctype or img.mime, base64.b64encode(raw).decode())
        return inline

    async def chat(self, req: ChatRequest, *, on_delta: OnDelta | None = None) -> ChatResponse:
        body = generate_body(req, await self._inline_images(req))
        prompt = (req.system or "") + "".join(m.text for m in req.messages)
        tokens = count_tokens(prompt) + (req.max_tokens or 0)
        texts: list[str] = []
        if not req.stream:
            data = await self.send_json("POST", self._path(req.model, "generateContent"), json=body,
                                        tokens=tokens)
            with self.reading():
                finish, usage = self._read(data, texts)
                return ChatResponse(text="".join(texts), model=_str(data.get("modelVersion") or req.model),
                                    provider=self.name, usage=usage or Usage(), finish_reason=finish)
        usage, finish, model = Usage(), None, req.model
        with self.reading("stream event"):
            async with self.sse(self._path(req.model, "streamGenerateContent"), json=body,
                                params={"alt": "sse"}, tokens=tokens) as events:
                async for ev in events:
                    data = self.parse_json(ev.data, 200)
                    before = len(texts)
                    f, u = self._read(data, texts)
                    finish, usage = f or finish, u or usage
                    model = _str(data.get("modelVersion") or model)
                    if on_delta is not None:
                        for piece in texts[before:]:
                            if piece and (res := on_delta(piece)) is not None:
                                await res
        if finish is None:
            raise ProviderError("the stream ended before a finishReason", provider=self.name, retryable=True)
        return ChatResponse(text="".join(texts), model=model, provider=self.name, usage=usage,
                            finish_reason=finish)

    async def video(self, req: VideoRequest, *, on_progress: OnProgress | None = None) -> VideoResponse:
        """Veo (``veo-3.0-generate-001``...) through ``predictLongRunning``; see :mod:`nbflow.providers.veo`."""
        return await veo_video(self, self._path(req.model, "predictLongRunning"), req, on_progress=on_progress)
