"""The provider contract: what node types ask of an AI API, independent of any vendor.

Node types (``llm``, ``vision``, ``image``, ``speech``, ``video``) build a request value, ask the
context for a provider by name, and await one method. Each provider module translates these values
to and from its own wire format. Values here are plain dataclasses: cheap, typed, serialisable.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nbflow.exceptions import ProviderError
from nbflow.model.values import Media

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "ImageRequest",
    "ImageResponse",
    "Message",
    "OnDelta",
    "OnProgress",
    "Provider",
    "SpeechRequest",
    "SpeechResponse",
    "Usage",
    "VideoRequest",
    "VideoResponse",
]

#: Called with each piece of streamed text as it arrives.
OnDelta = Callable[[str], Awaitable[None] | None]

#: Called while a long job runs, with a fraction done (or None) and a status message.
OnProgress = Callable[[float | None, str], None]


@dataclass(slots=True)
class Message:
    """One chat message. ``images`` ride along with the text (vision input)."""

    role: str  # "user" | "assistant"
    text: str
    images: list[Media] = field(default_factory=list)


@dataclass(slots=True)
class Usage:
    """What one call consumed."""

    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    audio_seconds: float = 0.0
    characters: int = 0
    video_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (
            ("input_tokens", self.input_tokens), ("output_tokens", self.output_tokens),
            ("images", self.images), ("audio_seconds", self.audio_seconds),
            ("characters", self.characters), ("video_seconds", self.video_seconds)) if v}


@dataclass(slots=True)
class ChatRequest:
    """A chat completion request.

    Attributes:
        json_schema: when set, ask for JSON matching this schema (structured output).
        stream: stream the answer; ``on_delta`` receives each piece.
    """

    model: str
    messages: list[Message]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    json_schema: dict[str, Any] | None = None
    stream: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ChatResponse:
    """A chat completion."""

    text: str
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


@dataclass(slots=True)
class ImageRequest:
    """Text to image."""

    model: str
    prompt: str
    size: str = "1024x1024"
    n: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImageResponse:
    images: list[Media]
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)


@dataclass(slots=True)
class SpeechRequest:
    """Text to speech."""

    model: str
    text: str
    voice: str = "alloy"
    format: str = "mp3"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SpeechResponse:
    audio: Media
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)


@dataclass(slots=True)
class VideoRequest:
    """Text (and optionally a first-frame image) to video.

    Attributes:
        ratio: output size as the provider spells it (Runway: ``1280:720``).
        poll_interval: seconds between status checks of the submitted job.
        timeout: seconds the whole job (submit, wait, download) may take.
    """

    model: str
    prompt: str
    image: Media | None = None
    duration: float = 5.0
    ratio: str = "1280:720"
    poll_interval: float = 5.0
    timeout: float = 900.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class VideoResponse:
    video: Media
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)


class Provider(ABC):  # noqa: B024 - every method has a default; subclasses override what they support
    """A client for one AI API. Override the methods the API supports; the rest raise a clear error.

    Attributes:
        name: the provider name used in params (``openai``, ``anthropic``, ``offline``...).
    """

    name: str = ""

    def _unsupported(self, what: str) -> ProviderError:
        return ProviderError(f"does not support {what}", provider=self.name)

    async def chat(self, req: ChatRequest, *, on_delta: OnDelta | None = None) -> ChatResponse:
        raise self._unsupported("chat completions")

    async def image(self, req: ImageRequest) -> ImageResponse:
        raise self._unsupported("image generation")

    async def speech(self, req: SpeechRequest) -> SpeechResponse:
        raise self._unsupported("speech")

    async def video(self, req: VideoRequest, *, on_progress: OnProgress | None = None) -> VideoResponse:
        raise self._unsupported("video generation")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release resources held by this client (pooled HTTP clients are shared and stay open)."""
