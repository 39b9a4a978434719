"""MCP content blocks and nbflow values, both ways.

A tool result is a list of content blocks (text, image, audio, embedded resources, resource links)
plus optional structured content. :func:`result_outputs` turns one into the typed outputs of the
``mcp.tool`` node; :func:`run_result_content` turns a flow's run into a tool result for the server.
Needs the ``mcp`` package (``pip install 'nbflow[mcp]'``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any

import mcp.types as mt

from nbflow.exceptions import MediaError, NodeError
from nbflow.model.record import RunResult, value_to_json
from nbflow.model.values import Media

__all__ = ["error_text", "media_from_base64", "result_outputs", "run_result_content", "value_blocks"]


def media_from_base64(data: str, mime: str | None, *, name: str | None = None) -> Media:
    """A :class:`Media` from a content block's base64 payload; NodeError when it is not base64."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise NodeError(f"the server sent {mime or 'media'} data that is not valid base64") from None
    try:
        return Media.from_bytes(raw, mime=mime, name=name)
    except MediaError as exc:
        raise NodeError(str(exc)) from None


def _b64_size(text: str) -> int:
    return len(text) * 3 // 4 - text[-2:].count("=")


def _block_json(block: Any) -> dict[str, Any]:
    """A block as JSON for the ``content`` output, with media bytes replaced by their size."""
    out: dict[str, Any] = block.model_dump(by_alias=True, exclude_none=True, mode="json")
    if "data" in out and isinstance(out["data"], str):
        out["size"] = _b64_size(out.pop("data"))
    res = out.get("resource")
    if isinstance(res, dict) and isinstance(res.get("blob"), str):
        res["size"] = _b64_size(res.pop("blob"))
    return out


def error_text(result: mt.CallToolResult) -> str:
    """The text of an error result, as one line."""
    parts = [b.text for b in result.content if isinstance(b, mt.TextContent)]
    text = " ".join(" ".join(parts).split())
    return text or "the tool reported an error without a message"


def result_outputs(result: mt.CallToolResult) -> dict[str, Any]:
    """The ``mcp.tool`` node's outputs for a successful tool result.

    ``text`` joins the text blocks (and text resources); ``json`` is the structured content, or the
    text parsed as JSON when it is JSON (left out otherwise, so nodes wired to it are skipped);
    ``image``/``audio`` are the first of their kind (left out when there is none); ``images`` and
    ``files`` list every image and every other binary resource; ``content`` is the raw blocks.
    """
    texts: list[str] = []
    images: list[Media] = []
    audio: list[Media] = []
    files: list[Media] = []
    for block in result.content:
        if isinstance(block, mt.TextContent):
            texts.append(block.text)
        elif isinstance(block, mt.ImageContent):
            images.append(media_from_base64(block.data, block.mime_type))
        elif isinstance(block, mt.AudioContent):
            audio.append(media_from_base64(block.data, block.mime_type))
        elif isinstance(block, mt.EmbeddedResource):
            res = block.resource
            if isinstance(res, mt.TextResourceContents):
                texts.append(res.text)
                continue
            name = res.uri.rstrip("/").rsplit("/", 1)[-1] or None
            m = media_from_base64(res.blob, res.mime_type, name=name)
            (images if m.kind == "image" else audio if m.kind == "audio" else files).append(m)
    text = "\n".join(texts)
    out: dict[str, Any] = {"text": text, "images": images, "files": files,
                           "content": [_block_json(b) for b in result.content]}
    if result.structured_content is not None:
        out["json"] = result.structured_content
    elif text.strip():
        with contextlib.suppress(ValueError):  # plain text: 'json' is not produced
            out["json"] = json.loads(text)
    if images:
        out["image"] = images[0]
    if audio:
        out["audio"] = audio[0]
    return out


def value_blocks(name: str, value: Any, *, uri_base: str) -> list[mt.ContentBlock]:
    """Content blocks for one media output (lists give one block per item)."""
    if isinstance(value, list):
        return [b for i, v in enumerate(value) for b in value_blocks(f"{name}_{i}", v, uri_base=uri_base)]
    if not isinstance(value, Media):
        return []
    if value.data is None:
        return [mt.ResourceLink(name=name, uri=value.url or "", mime_type=value.mime)]
    data = base64.b64encode(value.data).decode()
    if value.kind == "image":
        return [mt.ImageContent(data=data, mime_type=value.mime)]
    if value.kind == "audio":
        return [mt.AudioContent(data=data, mime_type=value.mime)]
    uri = f"{uri_base}/{value.name or name}"
    return [mt.EmbeddedResource(resource=mt.BlobResourceContents(uri=uri, mime_type=value.mime, blob=data))]


def _has_media(value: Any) -> bool:
    return isinstance(value, Media) or (isinstance(value, list) and any(isinstance(v, Media) for v in value))


def run_result_content(result: RunResult, tool: str) -> mt.CallToolResult:
    """A flow run as a tool result.

    Succeeded: structured content maps each output name to its JSON value (media as a descriptor
    without bytes); the text block carries a single text output as it is, or all non-media outputs
    as JSON; media outputs follow as image, audio or embedded-resource blocks. Failed, paused or
    cancelled: an error result whose text is the one-line reason.
    """
    if result.status != "succeeded":
        why = result.error or f"the run {result.status}"
        if result.status == "paused":
            why = f"the run paused waiting for approval (run {result.run_id}; resume it with `nbflow resume`)"
        return mt.CallToolResult(content=[mt.TextContent(text=why)], is_error=True)
    plain = {k: v for k, v in result.outputs.items() if not _has_media(v)}
    blocks: list[mt.ContentBlock] = []
    if len(plain) == 1 and isinstance(next(iter(plain.values())), str):
        blocks.append(mt.TextContent(text=next(iter(plain.values()))))
    elif plain:
        blocks.append(mt.TextContent(text=json.dumps(value_to_json(plain), ensure_ascii=False)))
    uri_base = f"nbflow://{tool}/{result.run_id}"
    for name, value in result.outputs.items():
        if name not in plain:
            blocks.extend(value_blocks(name, value, uri_base=uri_base))
    structured = value_to_json(result.outputs, inline_media=False)
    return mt.CallToolResult(content=blocks, structured_content=structured)
