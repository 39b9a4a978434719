"""Keeping secret values out of every text nbflow lets out: error messages, logs, records, events, outputs.

Two things are scrubbed from error texts: every secret value resolved in this process (so a server
echoing a key back, "Incorrect API key provided: sk-...", is caught) and anything shaped like a
well-known API key. Values a node produces (outputs, events, records) are scrubbed of the resolved
secrets only (:func:`scrub`), so an answer that merely talks about key formats is left alone.

A resolved secret is also caught in part: any run of :data:`MIN_ECHO` or more of its characters (a
masked echo such as ``sk-proj-PLAN****cdef`` keeps 12 real characters; they go). This module sits
below everything else (it imports nothing from nbflow), so the exception classes themselves redact
their messages and no caller has to remember to.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["MIN_ECHO", "REDACTED", "contains_secret", "forget_secrets", "install_log_redaction", "looks_like_secret",
           "redact", "remember_secret", "scrub", "scrub_text"]

# Shapes of real API keys. A param holding one of these is refused: it belongs in a secret.
_KEY_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{30,}|"
    r"xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}|r8_[A-Za-z0-9]{20,}|"
    r"ghp_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16})")

#: Shortest part of a secret that counts as an echo of it.
MIN_ECHO = 8

_RESOLVED: set[str] = set()
_GRAMS: set[str] = set()  # every MIN_ECHO-long piece of every resolved value
REDACTED = "[redacted]"


def looks_like_secret(value: str) -> bool:
    """Whether ``value`` contains something shaped like a real API key."""
    return bool(_KEY_PATTERNS.search(value))


def remember_secret(value: str) -> None:
    """Scrub ``value`` (and any :data:`MIN_ECHO`-long part of it) from all text from now on."""
    if len(value) < 6 or value in _RESOLVED:  # shorter values would scrub ordinary words
        return
    _RESOLVED.add(value)
    _GRAMS.update(value[i:i + MIN_ECHO] for i in range(len(value) - MIN_ECHO + 1))


def forget_secrets() -> None:
    """Forget every remembered secret value (test suites call this between tests)."""
    _RESOLVED.clear()
    _GRAMS.clear()


def contains_secret(text: str) -> bool:
    """Whether ``text`` holds a resolved secret value or a :data:`MIN_ECHO`-long part of one."""
    return bool(_RESOLVED) and (any(v in text for v in _RESOLVED) or any(g in text for g in _GRAMS))


def scrub_text(text: str) -> str:
    """``text`` with every resolved secret value, and every echo of 8+ of its characters, replaced.

    Cost: one substring search per distinct 8-character piece of the known secrets (in C), so a text
    that holds none is scanned quickly whatever its length.
    """
    if not _RESOLVED:
        return text
    for value in sorted(_RESOLVED, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    spans: list[tuple[int, int]] = []
    for gram in _GRAMS:
        start = text.find(gram)
        while start >= 0:
            spans.append((start, start + MIN_ECHO))
            start = text.find(gram, start + 1)
    if not spans:
        return text
    spans.sort()
    out, pos, (cur_a, cur_b) = [], 0, spans[0]
    for a, b in spans[1:]:
        if a <= cur_b:
            cur_b = max(cur_b, b)
            continue
        out.append(text[pos:cur_a] + REDACTED)
        pos, cur_a, cur_b = cur_b, a, b
    out.append(text[pos:cur_a] + REDACTED)
    return "".join(out) + text[cur_b:]


def redact(text: str) -> str:
    """``text`` with every resolved secret (and echoes of it) and anything shaped like an API key replaced."""
    return _KEY_PATTERNS.sub(REDACTED, scrub_text(text))


def scrub(value: Any) -> Any:
    """``value`` (a node's outputs, an event's data: strings, lists, dicts, media) without resolved secrets.

    Returns the very same object when there is nothing to scrub, so the common case copies nothing.
    Objects with a ``scrubbed()`` method (media values) scrub themselves.
    """
    if not _RESOLVED:
        return value
    stack: list[Any] = [value]
    dirty = False
    while stack and not dirty:  # a cheap look first: most values hold no secret
        v = stack.pop()
        if isinstance(v, str):
            dirty = contains_secret(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif hasattr(v, "scrubbed"):
            dirty = v.scrubbed() is not v
    return _rebuild(value) if dirty else value


def _rebuild(value: Any) -> Any:
    # Depth of JSON-like values is bounded where they enter (files, request bodies, provider answers).
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {_rebuild(k): _rebuild(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebuild(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_rebuild(v) for v in value)
    if hasattr(value, "scrubbed"):
        return value.scrubbed()
    return value


def _scrubbed_args(record: logging.LogRecord, clean: str) -> tuple[Any, Any]:
    """The record's message and arguments scrubbed one by one where that suffices (formatters such as
    uvicorn's access log unpack ``record.args``); else the whole scrubbed message with no arguments."""
    args = record.args
    if isinstance(args, tuple):
        msg = redact(str(record.msg))
        scrubbed = tuple(redact(a) if isinstance(a, str) else a for a in args)
        try:
            text = msg % scrubbed
        except (TypeError, ValueError):
            return clean, None
        if redact(text) == text:
            return msg, scrubbed
    return clean, None


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to logging's own error handling
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = _scrubbed_args(record, clean)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)


def install_log_redaction() -> None:
    """Redact every log record this process makes, whichever logger or handler (the CLI calls this).

    Done in the record factory, so records of libraries (uvicorn's tracebacks) are caught too. Not
    installed on ``import nbflow``: a notebook's logging is its owner's business.
    """
    old = logging.getLogRecordFactory()
    if getattr(old, "_nbflow_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = old(*args, **kwargs)
        _redact_record(record)
        return record

    factory._nbflow_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
