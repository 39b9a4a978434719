"""Token estimates and context windows, so an over-long prompt is caught before any call is paid for.

Counts are estimates (no tokenizer is shipped): about four characters a token for ASCII text and one
token per other character, which over-counts Latin text slightly and is close for CJK. The estimate
errs high on purpose: refusing a prompt that would have fit is cheaper than paying for one that fails.
"""

from __future__ import annotations

import math
from typing import Literal

from nbflow.exceptions import NodeError

__all__ = ["CONTEXT_WINDOWS", "OverflowPolicy", "context_window", "count_tokens", "fit_prompt"]

#: How an over-long prompt is handled: refuse it, or cut it keeping its start or its end.
OverflowPolicy = Literal["error", "keep_start", "keep_end"]

#: Context windows (tokens) by model name prefix; the longest matching prefix wins.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "claude-": 200_000,
    "gemini-1.5-pro": 2_097_152,
    "gemini-1.5-flash": 1_048_576,
    "gemini-2": 1_048_576,
    "gemini-3": 1_048_576,
    "offline": 1_000_000,
}


def count_tokens(text: str) -> int:
    """Estimated tokens in ``text`` (see the module docstring)."""
    if not text:
        return 0
    ascii_chars = sum(1 for c in text if ord(c) < 128)
    return max(1, math.ceil(ascii_chars / 4) + (len(text) - ascii_chars))


def context_window(model: str, override: int | None = None) -> int | None:
    """The context window of ``model`` in tokens, or None when unknown (then nothing is checked)."""
    if override:
        return override
    best = ""
    for prefix in CONTEXT_WINDOWS:
        if model.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return CONTEXT_WINDOWS[best] if best else None


def _cut(text: str, budget: int, keep: str) -> str:
    """The longest part of ``text`` (from its start or end) estimated at no more than ``budget`` tokens."""
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on length: count_tokens is monotonic in it
        mid = (lo + hi + 1) // 2
        part = text[:mid] if keep == "keep_start" else text[len(text) - mid:]
        if count_tokens(part) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] if keep == "keep_start" else text[len(text) - lo:]


def fit_prompt(prompt: str, *, model: str, system: str = "", max_tokens: int | None = None,
               window: int | None = None, policy: OverflowPolicy = "error", extra_tokens: int = 0) -> str:
    """Check that prompt + system + reserved output fit the model's window; cut or refuse when not.

    Args:
        window: the context window; None looks it up by model name (unknown models are not checked).
        max_tokens: tokens reserved for the answer.
        extra_tokens: tokens taken by other parts of the request (images...).

    Returns:
        The prompt, cut per ``policy`` when it did not fit.

    Raises:
        NodeError: (not retryable) when it does not fit and ``policy`` is ``error``, or when even an
            empty prompt would not fit.
    """
    limit = context_window(model, window)
    if limit is None:
        return prompt
    reserved = (max_tokens or 0) + count_tokens(system) + extra_tokens
    used = count_tokens(prompt)
    if used + reserved <= limit:
        return prompt
    budget = limit - reserved
    if policy == "error" or budget <= 0:
        hint = ("shorten the prompt, lower max_tokens, or set on_overflow to keep_start or keep_end"
                if budget > 0 else "lower max_tokens or shorten the system prompt")
        raise NodeError(f"prompt is about {used:,} tokens but model {model!r} has a {limit:,}-token context "
                        f"window with {reserved:,} reserved for system prompt and output; {hint}")
    return _cut(prompt, budget, policy)
