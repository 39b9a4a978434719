"""What the fake server says, in each provider's documented wire format.

Pure functions from (request body, reply) to response bodies or SSE frames, so the shapes can be read
and checked in one place: OpenAI Chat Completions (+ stream chunks and ``[DONE]``), Anthropic Messages
(+ every SSE event type), Gemini ``generateContent`` (+ ``alt=sse``), and each provider's error body.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

__all__ = [
    "anthropic_message",
    "anthropic_stream",
    "error_body",
    "gemini_response",
    "gemini_stream",
    "openai_chat",
    "openai_stream",
    "prompt_text",
    "request_model",
    "split_text",
    "sse_frame",
    "wants_json",
]


def split_text(text: str) -> list[str]:
    """Stream pieces: words with their trailing space (never empty for a non-empty text)."""
    return re.findall(r"\S+\s*|\s+", text) or ([text] if text else [])


def sse_frame(data: Any, event: str | None = None, *, crlf: bool = False) -> bytes:
    nl = "\r\n" if crlf else "\n"
    head = f"event: {event}{nl}" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}{nl}{nl}".encode()


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    out = []
    for part in content or []:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            out.append(part["text"])
    return out


def prompt_text(provider: str, body: Any) -> str:
    """All the text a request carries (prompt, system, input...), for matching scripted replies."""
    if not isinstance(body, dict):
        return ""
    texts: list[str] = []
    if provider in ("openai", "anthropic"):
        if isinstance(body.get("system"), str):
            texts.append(body["system"])
        for m in body.get("messages") or []:
            texts.extend(_texts(m.get("content")))
        for key in ("prompt", "input"):
            if isinstance(body.get(key), str):
                texts.append(body[key])
    elif provider == "gemini":
        for c in body.get("contents") or []:
            texts.extend(_texts(c.get("parts")))
        texts.extend(_texts((body.get("systemInstruction") or {}).get("parts")))
    else:
        for key in ("text", "promptText", "prompt", "input"):
            if isinstance(body.get(key), str):
                texts.append(body[key])
    return "\n".join(texts)


def request_model(provider: str, body: Any, path: str) -> str:
    if provider == "gemini":
        m = re.search(r"/models/([^:/]+):", path)
        return m.group(1) if m else ""
    if isinstance(body, dict):
        return str(body.get("model") or body.get("model_id") or "")
    return ""


def wants_json(provider: str, body: Any) -> dict[str, Any] | None:
    """The JSON schema a chat request asks the answer to follow, if any."""
    if not isinstance(body, dict):
        return None
    if provider == "openai":
        rf = body.get("response_format") or {}
        return (rf.get("json_schema") or {}).get("schema") if rf.get("type") == "json_schema" else None
    if provider == "anthropic":
        tools = body.get("tools") or []
        return tools[0].get("input_schema") if tools and body.get("tool_choice") else None
    if provider == "gemini":
        cfg = body.get("generationConfig") or {}
        return cfg.get("responseJsonSchema") or cfg.get("responseSchema")
    return None


# -- OpenAI ---------------------------------------------------------------------------------------

def openai_chat(model: str, text: str, usage: tuple[int, int], finish: str = "stop") -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                      "total_tokens": usage[0] + usage[1]}}


def openai_stream(model: str, text: str, usage: tuple[int, int], include_usage: bool) -> list[bytes]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}
    frames = [sse_frame({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                              "finish_reason": None}]})]
    for piece in split_text(text):
        frames.append(sse_frame({**base, "choices": [{"index": 0, "delta": {"content": piece},
                                                      "finish_reason": None}]}))
    frames.append(sse_frame({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if include_usage:
        frames.append(sse_frame({**base, "choices": [], "usage": {
            "prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}}))
    frames.append(sse_frame("[DONE]"))
    return frames


# -- Anthropic ------------------------------------------------------------------------------------

def anthropic_message(model: str, text: str, usage: tuple[int, int], tool: str | None) -> dict[str, Any]:
    if tool is not None:
        content: list[dict[str, Any]] = [{"type": "tool_use", "id": "toolu_fake", "name": tool,
                                          "input": json.loads(text)}]
        stop = "tool_use"
    else:
        content, stop = [{"type": "text", "text": text}], "end_turn"
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}


def anthropic_stream(model: str, text: str, usage: tuple[int, int], tool: str | None) -> list[bytes]:
    msg: dict[str, Any] = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
           "stop_reason": None, "stop_sequence": None,
           "usage": {"input_tokens": usage[0], "output_tokens": 1}}
    frames = [sse_frame({"type": "message_start", "message": msg}, "message_start")]
    if tool is not None:
        block: dict[str, Any] = {"type": "tool_use", "id": "toolu_fake", "name": tool, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in _chunks(text, 7)]
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split_text(text)]
        stop = "end_turn"
    frames.append(sse_frame({"type": "content_block_start", "index": 0, "content_block": block},
                            "content_block_start"))
    frames.append(sse_frame({"type": "ping"}, "ping"))
    for d in deltas:
        frames.append(sse_frame({"type": "content_block_delta", "index": 0, "delta": d},
                                "content_block_delta"))
    frames.append(sse_frame({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    frames.append(sse_frame({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                             "usage": {"output_tokens": usage[1]}}, "message_delta"))
    frames.append(sse_frame({"type": "message_stop"}, "message_stop"))
    return frames


def _chunks(text: str, n: int) -> list[str]:
    return [text[i:i + n] for i in range(0, len(text), n)] or [""]


# -- Gemini ---------------------------------------------------------------------------------------

def gemini_response(model: str, text: str, usage: tuple[int, int] | None,
                    finish: str | None = "STOP") -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    out: dict[str, Any] = {"candidates": [cand], "modelVersion": model}
    if usage is not None:
        out["usageMetadata"] = {"promptTokenCount": usage[0], "candidatesTokenCount": usage[1],
                                "totalTokenCount": sum(usage)}
    return out


def gemini_stream(model: str, text: str, usage: tuple[int, int]) -> list[bytes]:
    pieces = split_text(text) or [""]
    frames = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        frames.append(sse_frame(gemini_response(model, piece, usage if last else None,
                                                "STOP" if last else None), crlf=True))
    return frames


# -- errors ---------------------------------------------------------------------------------------

_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                 404: "invalid_request_error", 429: "rate_limit_exceeded"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    500: "api_error", 529: "overloaded_error"}
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def error_body(provider: str, status: int, message: str, retry_delay: str | None = None) -> dict[str, Any]:
    """An error body shaped like ``provider``'s."""
    if provider == "openai":
        return {"error": {"message": message, "type": _OPENAI_TYPES.get(status, "server_error"),
                          "param": None, "code": None}}
    if provider == "anthropic":
        return {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"),
                                           "message": message}}
    if provider == "gemini":
        err: dict[str, Any] = {"code": status, "message": message,
                               "status": _GOOGLE_STATUS.get(status, "UNKNOWN")}
        if retry_delay is not None:
            err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                               "retryDelay": retry_delay}]
        return {"error": err}
    if provider == "elevenlabs":
        return {"detail": {"status": "error", "message": message}}
    if provider == "kling":
        return {"code": 1303 if status == 429 else 5000 if status >= 500 else 1200, "message": message,
                "request_id": "req-fault"}
    if provider == "replicate":
        return {"title": message, "detail": message, "status": status}
    if provider in ("bfl", "fal"):
        return {"detail": message}
    if provider == "recraft":
        return {"code": "rate_limit" if status == 429 else "error", "message": message}
    if provider == "veo":
        return error_body("gemini", status, message, retry_delay)
    return {"error": message}
