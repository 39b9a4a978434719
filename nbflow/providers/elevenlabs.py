"""ElevenLabs text to speech: ``POST {base}/v1/text-to-speech/{voice_id}?output_format=...``.

The key goes in the ``xi-api-key`` header. ElevenLabs bills by character, so usage records characters.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nbflow.exceptions import ProviderError
from nbflow.model.values import Media, sniff_mime
from nbflow.providers.http import HttpProvider
from nbflow.providers.provider import SpeechRequest, SpeechResponse, Usage

__all__ = ["ElevenLabsProvider", "output_format"]

#: nbflow's short format names -> ElevenLabs ``output_format`` values.
_FORMATS = {"mp3": "mp3_44100_128", "pcm": "pcm_24000", "opus": "opus_48000_128", "ulaw": "ulaw_8000"}
_MIME = {"mp3": "audio/mpeg", "pcm": "audio/L16", "opus": "audio/ogg", "ulaw": "audio/basic"}


def output_format(fmt: str) -> str:
    """ElevenLabs' ``output_format`` for a short name (``mp3``) or a full one (``mp3_22050_32``)."""
    return fmt if "_" in fmt else _FORMATS.get(fmt, fmt)


class ElevenLabsProvider(HttpProvider):
    """ElevenLabs speech synthesis."""

    name = "elevenlabs"
    default_base_url = "https://api.elevenlabs.io"
    #: "George", one of the default voices every account has.
    default_voice = "JBFqnCBsd6RMkjVDRZzb"

    def auth_headers(self) -> dict[str, str]:
        return {"xi-api-key": self._key.reveal()} if self._key else {}

    async def speech(self, req: SpeechRequest) -> SpeechResponse:
        voice = req.voice if req.voice and req.voice != "alloy" else self.default_voice
        fmt = output_format(req.format)
        body: dict[str, Any] = {"text": req.text, "model_id": req.model}
        body.update(req.extra)
        resp = await self.send("POST", f"/v1/text-to-speech/{quote(voice, safe='')}",
                               params={"output_format": fmt}, json=body, headers={"accept": "audio/*"})
        self.expect_media(resp.content, resp.headers.get("content-type", ""), "audio")
        if not resp.content:
            raise ProviderError("returned empty audio", provider=self.name, status=resp.status_code,
                                retryable=True)
        short = fmt.split("_", 1)[0]
        mime = sniff_mime(resp.content) or _MIME.get(short, "application/octet-stream")
        meta: dict[str, Any] = {"provider": self.name, "model": req.model, "voice": voice, "format": fmt}
        if fmt.startswith("mp3_"):
            kbps = int(fmt.rsplit("_", 1)[1])  # constant bit rate: duration follows from the size
            meta["seconds"] = round(len(resp.content) * 8 / (kbps * 1000), 2)
        audio = Media(mime=mime, data=resp.content, name=f"speech.{short}", meta=meta)
        cost = resp.headers.get("character-cost", "")
        chars = int(cost) if cost.isdigit() else len(req.text)
        return SpeechResponse(audio=audio, model=req.model, provider=self.name,
                              usage=Usage(characters=chars, audio_seconds=meta.get("seconds", 0.0)))
