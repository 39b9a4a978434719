"""OpenAI: Chat Completions (text, vision, JSON schema, streaming), image generation and speech.

Wire format: ``POST {base}/chat/completions``, ``{base}/images/generations``, ``{base}/audio/speech``
with ``Authorization: Bearer <key>``; the base URL includes ``/v1``. The same client speaks to any
OpenAI-compatible server (Ollama, vLLM, llama.cpp server, OpenRouter) through ``base_url``; those get
``max_tokens`` where OpenAI itself wants ``max_completion_tokens``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from nbflow.exceptions import ProviderError
from nbflow.model.values import Media, sniff_mime
from nbflow.providers.http import HttpProvider
from nbflow.providers.provider import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    Message,
    OnDelta,
    SpeechRequest,
    SpeechResponse,
    Usage,
)
from nbflow.providers.tokens import count_tokens

__all__ = ["OpenAICompatibleProvider", "OpenAIProvider", "chat_body", "strict_schema_ok"]

_AUDIO_MIME = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
               "wav": "audio/wav", "pcm": "audio/L16"}


def strict_schema_ok(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts ``schema``: every object closed and all its keys required."""
    stack = [schema]
    while stack:
        s = stack.pop()
        if isinstance(s, dict):
            if s.get("type") == "object" or "properties" in s:
                props = s.get("properties", {})
                if s.get("additionalProperties") is not False or set(s.get("required", [])) != set(props):
                    return False
            stack.extend(v for v in s.values() if isinstance(v, (dict, list)))
        elif isinstance(s, list):
            stack.extend(s)
    return True


def _content(m: Message) -> Any:
    if not m.images:
        return m.text
    parts: list[dict[str, Any]] = [{"type": "text", "text": m.text}]
    for img in m.images:
        parts.append({"type": "image_url", "image_url": {"url": img.data_url() if img.data else img.url}})
    return parts


def chat_body(req: ChatRequest, *, max_tokens_field: str = "max_completion_tokens") -> dict[str, Any]:
    """The Chat Completions request body for ``req``."""
    messages: list[dict[str, Any]] = []
    if req.system:
        messages.append({"role": "system", "content": req.system})
    messages.extend({"role": m.role, "content": _content(m)} for m in req.messages)
    body: dict[str, Any] = {"model": req.model, "messages": messages}
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.max_tokens is not None:
        body[max_tokens_field] = req.max_tokens
    if req.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "output", "schema": req.json_schema, "strict": strict_schema_ok(req.json_schema)}}
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    body.update(req.extra)
    return body


def _usage(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    return Usage(input_tokens=_int(u.get("prompt_tokens")), output_tokens=_int(u.get("completion_tokens")))


def _int(v: Any) -> int:
    """A token count; anything but a whole number is a malformed answer (read inside ``reading()``)."""
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("not a number")
    return int(v)


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("not a string")
    return v


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _estimate(req: ChatRequest) -> int:
    text = (req.system or "") + "".join(m.text for m in req.messages)
    return count_tokens(text) + (req.max_tokens or 0)


class OpenAIProvider(HttpProvider):
    """The OpenAI API (and, via :class:`OpenAICompatibleProvider`, servers that speak it)."""

    name = "openai"
    default_base_url = "https://api.openai.com/v1"
    max_tokens_field = "max_completion_tokens"
    default_voice = "alloy"

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._key.reveal()}"} if self._key else {}

    async def chat(self, req: ChatRequest, *, on_delta: OnDelta | None = None) -> ChatResponse:
        body = chat_body(req, max_tokens_field=self.max_tokens_field)
        if req.stream:
            return await self._stream_chat(req, body, on_delta)
        data = await self.send_json("POST", "/chat/completions", json=body, tokens=_estimate(req),
                                    usage=lambda r: sum(json.loads(r.text).get("usage", {}).get(k, 0)
                                                        for k in ("prompt_tokens", "completion_tokens")))
        with self.reading():
            choices = data.get("choices")
            if not choices:
                raise ProviderError("response has no choices", provider=self.name, status=200, retryable=True)
            msg = choices[0].get("message") or {}
            if msg.get("refusal"):
                raise ProviderError(f"the model refused: {msg['refusal']}", provider=self.name, status=200)
            return ChatResponse(text=_str(msg.get("content") or ""), model=_str(data.get("model") or req.model),
                                provider=self.name, usage=_usage(data.get("usage")),
                                finish_reason=_opt_str(choices[0].get("finish_reason")))

    async def _stream_chat(self, req: ChatRequest, body: dict[str, Any],
                           on_delta: OnDelta | None) -> ChatResponse:
        pieces: list[str] = []
        with self.reading("stream event"):
            async with self.sse("/chat/completions", json=body, tokens=_estimate(req)) as events:
                done, finish, model, usage = await self._read_stream(events, pieces, on_delta, req.model)
        if not done and finish is None:
            raise ProviderError("the stream ended before the answer was complete", provider=self.name,
                                retryable=True)
        return ChatResponse(text="".join(pieces), model=model, provider=self.name, usage=usage,
                            finish_reason=finish)

    async def _read_stream(self, events: Any, pieces: list[str], on_delta: OnDelta | None,
                           model: str) -> tuple[bool, str | None, str, Usage]:
        usage, finish, done = Usage(), None, False
        async for ev in events:
            if ev.data.strip() == "[DONE]":
                done = True
                break
            chunk = self.parse_json(ev.data, 200)
            if "error" in chunk:
                err = chunk["error"] or {}
                raise ProviderError(f"stream error: {err.get('message', 'unknown')}", provider=self.name,
                                    retryable=True)
            model = _str(chunk.get("model") or model)
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    pieces.append(_str(delta))
                    if on_delta is not None and (res := on_delta(delta)) is not None:
                        await res
                if choice.get("finish_reason"):
                    finish = _str(choice["finish_reason"])
        return done, finish, model, usage

    async def image(self, req: ImageRequest) -> ImageResponse:
        body: dict[str, Any] = {"model": req.model, "prompt": req.prompt, "n": req.n, "size": req.size}
        if req.model.startswith("dall-e"):
            body["response_format"] = "b64_json"  # gpt-image-* always answer base64 and reject the field
        body.update(req.extra)
        data = await self.send_json("POST", "/images/generations", json=body, tokens=count_tokens(req.prompt))
        with self.reading():
            images = await self._images(data, req)
            u = data.get("usage") or {}
            usage = Usage(images=len(images), input_tokens=_int(u.get("input_tokens")),
                          output_tokens=_int(u.get("output_tokens")))
        if not images:
            raise ProviderError("response has no images", provider=self.name, status=200, retryable=True)
        return ImageResponse(images=images, model=req.model, provider=self.name, usage=usage)

    async def _images(self, data: dict[str, Any], req: ImageRequest) -> list[Media]:
        images = []
        for i, item in enumerate(data.get("data") or []):
            if item.get("b64_json"):
                raw = base64.b64decode(item["b64_json"])
            elif item.get("url"):
                raw, _ = await self.download(item["url"], what="image")
            else:
                continue
            meta = {"provider": self.name, "model": req.model, "size": req.size}
            if item.get("revised_prompt"):
                meta["revised_prompt"] = item["revised_prompt"]
            mime = sniff_mime(raw) or "image/png"
            images.append(Media(mime=mime, data=raw, name=f"image_{i}.{mime.split('/')[1]}", meta=meta))
        return images

    async def speech(self, req: SpeechRequest) -> SpeechResponse:
        body: dict[str, Any] = {"model": req.model, "input": req.text, "voice": req.voice,
                                "response_format": req.format}
        body.update(req.extra)
        resp = await self.send("POST", "/audio/speech", json=body)
        self.expect_media(resp.content, resp.headers.get("content-type", ""), "audio")
        if not resp.content:
            raise ProviderError("returned empty audio", provider=self.name, status=resp.status_code,
                                retryable=True)
        mime = sniff_mime(resp.content) or _AUDIO_MIME.get(req.format, "application/octet-stream")
        audio = Media(mime=mime, data=resp.content, name=f"speech.{req.format}",
                      meta={"provider": self.name, "model": req.model, "voice": req.voice})
        return SpeechResponse(audio=audio, model=req.model, provider=self.name,
                              usage=Usage(characters=len(req.text)))


class OpenAICompatibleProvider(OpenAIProvider):
    """Any server speaking the OpenAI Chat Completions format: Ollama, vLLM, llama.cpp, OpenRouter."""

    name = "openai-compatible"
    default_base_url = ""
    max_tokens_field = "max_tokens"

    def __init__(self, *, name: str | None = None, **kw: Any) -> None:
        if name:
            self.name = name
        super().__init__(**kw)
