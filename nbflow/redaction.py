"""Keeping secret values out of every text nbflow lets out: error messages, logs, records, events.

Two things are scrubbed: every secret value resolved in this process (so a server echoing a key back,
"Incorrect API key provided: sk-...", is caught) and anything shaped like a well-known API key. This
module sits below everything else (it imports nothing from nbflow), so the exception classes
themselves redact their messages and no caller has to remember to.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "looks_like_secret", "redact", "remember_secret"]

# Shapes of real API keys. A param holding one of these is refused: it belongs in a secret.
_KEY_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{30,}|"
    r"xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}|r8_[A-Za-z0-9]{20,}|"
    r"ghp_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16})")

_RESOLVED: set[str] = set()
REDACTED = "[redacted]"


def looks_like_secret(value: str) -> bool:
    """Whether ``value`` contains something shaped like a real API key."""
    return bool(_KEY_PATTERNS.search(value))


def remember_secret(value: str) -> None:
    """Scrub ``value`` from all text from now on (called when a secret is resolved)."""
    if len(value) >= 6:  # shorter values would scrub ordinary words
        _RESOLVED.add(value)


def redact(text: str) -> str:
    """``text`` with every resolved secret value and anything shaped like an API key replaced."""
    for value in sorted(_RESOLVED, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return _KEY_PATTERNS.sub(REDACTED, text)
