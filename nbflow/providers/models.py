"""Which model names belong to which provider, and each provider's documented default model.

Used in two places: ``nbflow validate`` (and every load) refuses a model that plainly belongs to
another provider (``offline-chat`` sent to OpenAI, ``claude-...`` sent to Gemini), and changing a
node's provider (``flow.set_params(node, provider=...)`` or the canvas) swaps a model that does not fit
the new provider for that provider's default. Aggregators and self-hosted servers (OpenRouter,
Ollama, vLLM, any OpenAI-compatible server) take any name but the offline ones; a name nbflow does not
recognise is never refused.
"""

from __future__ import annotations

import difflib
import re

__all__ = ["DEFAULT_MODELS", "default_model", "did_you_mean", "fitting_model", "model_owner", "model_problem"]

#: provider -> kind of node (chat, image, speech, video) -> the model a node gets by default.
DEFAULT_MODELS: dict[str, dict[str, str]] = {
    "offline": {"chat": "offline-chat", "image": "offline-image", "speech": "offline-tts"},
    "openai": {"chat": "gpt-4o-mini", "image": "gpt-image-1", "speech": "gpt-4o-mini-tts"},
    "anthropic": {"chat": "claude-3-5-haiku-latest"},
    "gemini": {"chat": "gemini-2.5-flash"},
    "elevenlabs": {"speech": "eleven_multilingual_v2"},
    "runway": {"video": "gen4_turbo"},
    "openrouter": {"chat": "openai/gpt-4o-mini"},
    "ollama": {"chat": "llama3.2"},
}

# Name shapes that only one provider uses.
_FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("offline", re.compile(r"offline-")),
    ("openai", re.compile(r"(gpt-|chatgpt-|dall-e|tts-1|whisper-|o\d(-|$))")),
    ("anthropic", re.compile(r"claude-")),
    ("gemini", re.compile(r"(models/)?gemini-")),
    ("elevenlabs", re.compile(r"eleven_")),
    ("runway", re.compile(r"gen[34]")),
)

# Providers whose API serves only their own models (the others route to many).
_FIRST_PARTY = frozenset({"openai", "anthropic", "gemini", "elevenlabs", "runway"})


def model_owner(model: str) -> str | None:
    """The provider a model name plainly belongs to, or None when the name is not recognised."""
    for provider, pattern in _FAMILIES:
        if pattern.match(model):
            return provider
    return None


def default_model(provider: str, kind: str) -> str | None:
    """The documented default model of ``provider`` for a node of ``kind`` (chat, image, speech, video)."""
    return DEFAULT_MODELS.get(provider, {}).get(kind)


def model_problem(provider: str, model: str, kind: str = "chat") -> str | None:
    """Why ``model`` cannot be used with ``provider`` (one line), or None when it may be."""
    owner = model_owner(model)
    if owner is None or owner == provider or provider == "offline":  # offline imitates any model
        return None
    if provider not in _FIRST_PARTY and owner != "offline":
        return None
    instead = default_model(provider, kind)
    hint = f" (for {provider}, e.g. {instead!r})" if instead else ""
    return f"model {model!r} belongs to provider {owner!r}, not {provider!r}{hint}"


def fitting_model(provider: str, model: str, kind: str = "chat") -> str:
    """``model``, or ``provider``'s default when ``model`` plainly belongs to another provider."""
    owner = model_owner(model)
    if owner is None or owner == provider:
        return model
    return default_model(provider, kind) or model


def did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or the list of known names."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
