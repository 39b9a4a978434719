"""The built-in offline provider: deterministic, no network, no key.

It exists so that every example, notebook and test runs on a fresh machine. Its outputs are clearly
labelled: text starts with ``[offline]``, media carry ``meta["provider"] == "offline"``. The same
request always gives the same answer, so cached and replayed runs can be compared byte for byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import struct
import zlib
from typing import Any

from nbflow.model.values import Media
from nbflow.providers.provider import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    OnDelta,
    Provider,
    SpeechRequest,
    SpeechResponse,
    Usage,
)

__all__ = ["OfflineProvider", "estimate_tokens", "png_bytes"]

LABEL = "[offline]"
_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)
_STOP = frozenset([
    "a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "with", "by", "from", "as", "at",
    "is", "are", "be", "this", "that", "it", "its", "into", "your", "you", "write", "make", "give",
    "create", "describe", "short", "about", "please", "one", "two", "three", "using", "use", "which",
    "what", "who", "product", "copy", "text", "prompt", "image", "photo", "picture", "caption",
    "sentence", "sentences"])
_OPENERS = ("Meet", "Discover", "Introducing", "Say hello to", "Experience")
_CLOSERS = (
    "Made to be used every day.", "Designed with care, built to last.",
    "Small details, big difference.", "Simple, honest and ready when you are.",
    "Everything you need, nothing you don't.")


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).digest()


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token), used for usage and estimates."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _keywords(text: str, n: int = 6) -> list[str]:
    seen: list[str] = []
    for w in _WORD.findall(text):
        lw = w.lower()
        if lw in _STOP or len(lw) < 3 or lw in (s.lower() for s in seen):
            continue
        seen.append(w)
        if len(seen) == n:
            break
    return seen


_SUBJECTS = tuple(re.compile(rf"\b{w}\s+(.+?)(?:[.;:!?\n]|$)", re.I) for w in ("for", "about", "of"))


_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TRANSLATE = re.compile(r"\btranslate\b.*?\binto\s+([A-Z][\w-]*)", re.I | re.S)
_COUNT = re.compile(r"\b(\d{1,2})\s+(?:bullet|point|sentence)", re.I)


def _body(prompt: str) -> str:
    """The material a prompt works on: what follows its first blank line (or the whole prompt)."""
    head, sep, rest = prompt.partition("\n\n")
    return rest.strip() if sep and rest.strip() else head.strip()


def _task_text(prompt: str, image_prompts: list[str] | None) -> str | None:
    """Answers shaped like the task for the common ones: summaries, translations, image captions."""
    low = prompt.lower()
    if "summar" in low:
        sentences = [x for x in _SENTENCE.split(_body(prompt)) if x.strip()] or [prompt]
        m = _COUNT.search(prompt)
        n = max(1, min(int(m.group(1)) if m else 3, len(sentences)))
        bullets = "\n".join("- " + " ".join(x.split()[:14]) for x in sentences[:n])
        return f"{LABEL} Summary:\n{bullets}"
    m = _TRANSLATE.search(prompt)
    if m:
        return f"{LABEL} ({m.group(1)}) {_body(prompt)}"
    if image_prompts is not None and any(w in low for w in ("caption", "describe", "what is in", "what's in")):
        # Offline images remember their prompt, so the caption can say what is in them.
        seen = [p for p in image_prompts if p] or [" ".join(_keywords(prompt)[:4]) or "a scene"]
        return f"{LABEL} A picture showing {seen[0].rstrip('.')}."
    return None


def _compose_text(prompt: str, system: str | None, model: str, image_prompts: list[str] | None = None) -> str:
    task = _task_text(prompt, image_prompts)
    if task is not None:
        return task
    h = _digest("text", model, system, prompt)
    subject = next((m.group(1) for rx in _SUBJECTS if (m := rx.search(prompt))), "")
    words = _keywords(subject) or _keywords(prompt) or ["your idea"]
    subject = " ".join(words[:3])
    rest = ", ".join(words[3:]) if len(words) > 3 else "quality"
    opener = _OPENERS[h[0] % len(_OPENERS)]
    closer = _CLOSERS[h[1] % len(_CLOSERS)]
    return f"{LABEL} {opener} {subject}: thoughtfully made, with a focus on {rest}. {closer}"


def _stem(word: str) -> str:
    w = word.lower()
    return w[:-1] if len(w) > 3 and w.endswith("s") else w


def _pick(options: list[Any], words: list[str], i: int) -> Any:
    """Choose the enum option whose words appear most in the prompt (a classifier's guess); else by hash."""
    seen = {_stem(w) for w in words}
    scores = [sum(_stem(t) in seen for t in re.split(r"[\W_]+", str(o)) if t) for o in options]
    best = max(scores)
    if best > 0 and scores.count(best) == 1:
        return options[scores.index(best)]
    return options[i % len(options)]


def _from_schema(schema: dict[str, Any], seed: bytes, words: list[str], depth: int = 0) -> Any:
    """A deterministic value that validates against a (simple) JSON schema."""
    i = seed[depth % len(seed)]
    if schema.get("enum"):
        return _pick(schema["enum"], words, i)
    if "const" in schema:
        return schema["const"]
    t = schema.get("type", "string")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "object":
        props = schema.get("properties", {})
        return {k: _from_schema(v, _digest(seed.hex(), k), words, depth + 1) for k, v in props.items()}
    if t == "array":
        n = max(int(schema.get("minItems", 1)), 1)
        n = min(n, int(schema.get("maxItems", n)))
        return [_from_schema(schema.get("items", {}), _digest(seed.hex(), j), words, depth + 1)
                for j in range(n)]
    if t in ("number", "integer"):
        lo = float(schema.get("minimum", 0))
        hi = float(schema.get("maximum", lo + 10))
        v = lo + (hi - lo) * (int.from_bytes(seed[:4], "big") / 0xFFFFFFFF)
        return round(v) if t == "integer" else round(v, 2)
    if t == "boolean":
        return bool(i % 2)
    if not words:
        return f"{LABEL} text"
    # words picked by the seed: a different prompt gives a different string, as a model's would
    picked = [words[seed[(depth + k) % len(seed)] % len(words)] for k in range(min(4, len(words)))]
    return f"{LABEL} " + " ".join(picked)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, rows: list[bytes]) -> bytes:
    """Encode RGB rows (``width*3`` bytes each) as a PNG file."""
    raw = b"".join(b"\x00" + r for r in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw, 6)) + _png_chunk(b"IEND", b""))


def _render_image(prompt: str, model: str, size: int) -> bytes:
    """A gradient with a few discs, colours drawn from the prompt's hash."""
    h = _digest("image", model, prompt)
    c1 = (h[0], h[1], h[2])
    c2 = (h[3], h[4], h[5])
    discs = [((h[6 + 3 * k] / 255) * size, (h[7 + 3 * k] / 255) * size, 10 + h[8 + 3 * k] % (size // 4),
              (255 - h[9 + k], 255 - h[12 + k], 255 - h[15 + k])) for k in range(3)]
    rows = []
    for y in range(size):
        t = y / max(size - 1, 1)
        base = bytes(int(c1[j] * (1 - t) + c2[j] * t) for j in range(3))
        row = bytearray(base * size)
        for cx, cy, r, col in discs:
            dy = y - cy
            if abs(dy) >= r:
                continue
            half = int(math.sqrt(r * r - dy * dy))
            x0, x1 = max(0, int(cx) - half), min(size, int(cx) + half)
            if x1 > x0:
                row[x0 * 3:x1 * 3] = bytes(col) * (x1 - x0)
        rows.append(bytes(row))
    return png_bytes(size, size, rows)


def _wav(text: str, model: str, voice: str) -> tuple[bytes, float]:
    """A short sequence of tones, one per word (capped), as 16-bit mono WAV."""
    rate = 8000
    words = text.split()[:40] or ["..."]
    samples = bytearray()
    for w in words:
        f = 220 + _digest("tone", model, voice, w)[0] * 2
        for n in range(int(rate * 0.12)):
            v = int(8000 * math.sin(2 * math.pi * f * n / rate) * (1 - n / (rate * 0.12)))
            samples += struct.pack("<h", v)
        samples += b"\x00\x00" * int(rate * 0.03)
    data = bytes(samples)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data))
    return header + data, len(data) / 2 / rate


class OfflineProvider(Provider):
    """Deterministic stand-in for an AI API: same request, same answer, no network."""

    name = "offline"

    def __init__(self, *, latency: float = 0.0, image_size: int = 256) -> None:
        self.latency = latency
        self.image_size = image_size

    async def chat(self, req: ChatRequest, *, on_delta: OnDelta | None = None) -> ChatResponse:
        prompt = "\n".join(m.text for m in req.messages)
        if self.latency:
            await asyncio.sleep(self.latency)
        if req.json_schema is not None:
            seed = _digest("json", req.model, req.system, prompt)
            # Enums are chosen by the words of the material (what follows the instructions), so an
            # offline classifier routes "Product photo: ..." as a product photo.
            words = re.findall(r"[^\W_]+", _body(prompt))
            text = json.dumps(_from_schema(req.json_schema, seed, words), ensure_ascii=False)
        else:
            images = [img for m in req.messages for img in m.images]
            image_prompts = [str(img.meta.get("prompt", "")) for img in images] if images else None
            text = _compose_text(prompt, req.system, req.model, image_prompts)
            if any(m.images for m in req.messages):
                n = sum(len(m.images) for m in req.messages)
                text += f" (looked at {n} image{'s' if n != 1 else ''})"
        if req.max_tokens is not None and req.json_schema is None:
            text = text[: max(len(LABEL) + 1, req.max_tokens * 4)]
        if req.stream and on_delta is not None:
            for piece in re.findall(r"\S+\s*", text):
                res = on_delta(piece)
                if res is not None:
                    await res
        usage = Usage(input_tokens=estimate_tokens((req.system or "") + prompt),
                      output_tokens=estimate_tokens(text))
        return ChatResponse(text=text, model=req.model, provider=self.name, usage=usage, finish_reason="stop")

    async def image(self, req: ImageRequest) -> ImageResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        images = []
        for k in range(req.n):
            prompt = req.prompt if k == 0 else f"{req.prompt}#{k}"
            data = await asyncio.to_thread(_render_image, prompt, req.model, self.image_size)
            images.append(Media(mime="image/png", data=data, name="offline.png",
                                meta={"provider": "offline", "prompt": req.prompt[:200], "width": self.image_size,
                                      "height": self.image_size, "requested_size": req.size}))
        return ImageResponse(images=images, model=req.model, provider=self.name, usage=Usage(images=req.n))

    async def speech(self, req: SpeechRequest) -> SpeechResponse:
        data, seconds = _wav(req.text, req.model, req.voice)
        audio = Media(mime="audio/wav", data=data, name="offline.wav",
                      meta={"provider": "offline", "seconds": round(seconds, 2)})
        return SpeechResponse(audio=audio, model=req.model, provider=self.name,
                              usage=Usage(characters=len(req.text), audio_seconds=seconds))
