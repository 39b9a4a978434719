"""Anthropic Messages API: system prompt, max_tokens, images, JSON via a forced tool, and streaming.

Wire format: ``POST {base}/v1/messages`` with ``x-api-key`` and ``anthropic-version: 2023-06-01``.
Structured output uses the documented pattern of one tool whose ``input_schema`` is the schema and a
``tool_choice`` that forces it; the tool's input is the JSON answer. Streaming handles every event
type: ``message_start``, ``content_block_start``, ``content_block_delta`` (``text_delta``,
``input_json_delta``, ``thinking_delta``, ``signature_delta``), ``content_block_stop``,
``message_delta``, ``message_stop``, ``ping`` and ``error``.
"""

from __future__ import annotations

import json
from typing import Any

from nbflow.exceptions import ProviderError
from nbflow.providers.http import HttpProvider
from nbflow.providers.provider import ChatRequest, ChatResponse, Message, OnDelta, Usage
from nbflow.providers.tokens import count_tokens

__all__ = ["ANTHROPIC_VERSION", "AnthropicProvider", "messages_body"]

ANTHROPIC_VERSION = "2023-06-01"
#: Anthropic requires max_tokens; this is used when a node does not set one.
DEFAULT_MAX_TOKENS = 4096
_TOOL = "output"
# Anthropic's error types that a retry may fix, with the HTTP status they stand for.
_RETRYABLE_TYPES = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500, "timeout_error": 504}


def _content(m: Message) -> Any:
    if not m.images:
        return m.text
    parts: list[dict[str, Any]] = []
    for img in m.images:
        source: dict[str, Any]
        if img.data is not None:
            source = {"type": "base64", "media_type": img.mime,
                      "data": img.data_url().split(",", 1)[1]}
        else:
            source = {"type": "url", "url": img.url}
        parts.append({"type": "image", "source": source})
    parts.append({"type": "text", "text": m.text})  # images first, as Anthropic's docs advise
    return parts


def messages_body(req: ChatRequest) -> dict[str, Any]:
    """The Messages API request body for ``req``."""
    body: dict[str, Any] = {"model": req.model, "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS,
                            "messages": [{"role": m.role, "content": _content(m)} for m in req.messages]}
    if req.system:
        body["system"] = req.system
    if req.temperature is not None:
        body["temperature"] = min(req.temperature, 1.0)  # Anthropic's range is 0..1
    if req.json_schema is not None:
        body["tools"] = [{"name": _TOOL, "description": "Return the answer as JSON matching this schema.",
                          "input_schema": req.json_schema}]
        body["tool_choice"] = {"type": "tool", "name": _TOOL}
    if req.stream:
        body["stream"] = True
    body.update(req.extra)
    return body


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("not a string")
    return v


def _usage(u: Any, into: Usage | None = None) -> Usage:
    usage = into or Usage()
    if isinstance(u, dict):
        if u.get("input_tokens") is not None:
            usage.input_tokens = int(u["input_tokens"]) + int(u.get("cache_read_input_tokens") or 0) + \
                int(u.get("cache_creation_input_tokens") or 0)
        if u.get("output_tokens") is not None:
            usage.output_tokens = int(u["output_tokens"])
    return usage


class AnthropicProvider(HttpProvider):
    """The Anthropic Messages API."""

    name = "anthropic"
    default_base_url = "https://api.anthropic.com"

    def auth_headers(self) -> dict[str, str]:
        hdrs = {"anthropic-version": ANTHROPIC_VERSION}
        if self._key:
            hdrs["x-api-key"] = self._key.reveal()
        return hdrs

    def _stream_error(self, data: dict[str, Any]) -> ProviderError:
        err = data.get("error") or {}
        etype = str(err.get("type", "error"))
        return ProviderError(f"{etype}: {err.get('message', '')}".rstrip(": "), provider=self.name,
                             status=_RETRYABLE_TYPES.get(etype), retryable=etype in _RETRYABLE_TYPES)

    async def chat(self, req: ChatRequest, *, on_delta: OnDelta | None = None) -> ChatResponse:
        body = messages_body(req)
        tokens = count_tokens((req.system or "") + "".join(m.text for m in req.messages)) + body["max_tokens"]
        if req.stream:
            return await self._stream(req, body, tokens, on_delta)
        data = await self.send_json("POST", "/v1/messages", json=body, tokens=tokens)
        with self.reading():
            if data.get("type") == "error":
                raise self._stream_error(data)
            blocks = data.get("content")
            if not isinstance(blocks, list):
                raise ProviderError("response has no content", provider=self.name, status=200, retryable=True)
            texts: list[str] = []
            for block in blocks:
                if block.get("type") == "text":
                    texts.append(block.get("text", ""))
                elif block.get("type") == "tool_use" and block.get("name") == _TOOL:
                    texts.append(json.dumps(block.get("input"), ensure_ascii=False))
            return ChatResponse(text="".join(texts), model=_str(data.get("model") or req.model), provider=self.name,
                                usage=_usage(data.get("usage")), finish_reason=data.get("stop_reason"))

    async def _stream(self, req: ChatRequest, body: dict[str, Any], tokens: int,
                      on_delta: OnDelta | None) -> ChatResponse:
        text: list[str] = []
        tool_json: list[str] = []
        usage, model = Usage(), req.model
        with self.reading("stream event"):
            async with self.sse("/v1/messages", json=body, tokens=tokens) as events:
                model, stop, finished = await self._read_stream(events, text, tool_json, usage, on_delta, model)
        if not finished:
            raise ProviderError("the stream ended before message_stop", provider=self.name, retryable=True)
        out = "".join(tool_json) if req.json_schema is not None and tool_json else "".join(text)
        return ChatResponse(text=out, model=model, provider=self.name, usage=usage, finish_reason=stop)

    async def _read_stream(self, events: Any, text: list[str], tool_json: list[str], usage: Usage,
                           on_delta: OnDelta | None, model: str) -> tuple[str, str | None, bool]:
        """Read the events into ``text``/``tool_json``/``usage``; returns (model, stop reason, finished)."""
        stop, finished = None, False
        async for ev in events:
            kind = ev.event
            if kind == "ping":
                continue
            data = self.parse_json(ev.data, 200)
            kind = data.get("type", kind)
            if kind == "error":
                raise self._stream_error(data)
            if kind == "message_start":
                msg = data.get("message") or {}
                model = msg.get("model") or model
                _usage(msg.get("usage"), usage)
            elif kind == "content_block_delta":
                delta = data.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    text.append(_str(delta["text"]))
                    if on_delta is not None and (res := on_delta(delta["text"])) is not None:
                        await res
                elif delta.get("type") == "input_json_delta":
                    tool_json.append(delta.get("partial_json", ""))
                # thinking_delta and signature_delta carry reasoning, not the answer
            elif kind == "content_block_start":
                block = data.get("content_block") or {}
                if block.get("type") == "text" and block.get("text"):
                    text.append(block["text"])
            elif kind == "message_delta":
                stop = (data.get("delta") or {}).get("stop_reason") or stop
                _usage(data.get("usage"), usage)
            elif kind == "message_stop":
                finished = True
                break
            # content_block_stop and unknown future event types need no action
        return _str(model), stop, finished
