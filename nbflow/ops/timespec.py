"""Durations and points in time as people type them (``90s``, ``15m``, ``24h``, ``7d``, ``2026-01-31``),
and points in time as people read them: with the date and the time zone."""

from __future__ import annotations

import re
import time
from datetime import datetime, tzinfo

from nbflow.exceptions import ConfigError

__all__ = ["format_time", "parse_duration", "parse_since"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.I)


def parse_duration(text: str | float, *, what: str = "duration") -> float:
    """Seconds from ``"30s"``, ``"15m"``, ``"24h"``, ``"7d"``, ``"2w"`` or a plain number of seconds.

    Raises:
        ConfigError: naming ``what`` (e.g. ``--older-than``) when the text is not a duration.
    """
    if not isinstance(text, str):
        if text < 0:
            raise ConfigError(f"{what}: a duration cannot be negative ({text})")
        return float(text)
    m = _DURATION.match(str(text))
    if not m:
        raise ConfigError(f"{what}: {text!r} is not a duration (expected e.g. 90s, 15m, 24h, 7d or 2w)")
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]


def parse_since(text: str | float, *, now: float | None = None, what: str = "--since") -> float:
    """A point in time (seconds since the epoch) from a duration ago (``24h``) or an ISO date/time.

    A date or date-time without a zone is local time; ``2026-01-31T09:00:00+01:00`` carries its own.
    """
    if not isinstance(text, str):
        return float(text)
    now = time.time() if now is None else now
    if _DURATION.match(text) and not text.strip().isdigit():
        return now - parse_duration(text, what=what)
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is neither a duration ago (24h, 7d) nor a date "
                          "(2026-01-31 or 2026-01-31T09:00)") from None


def format_time(t: float | None, zone: tzinfo | None = None) -> str:
    """``2026-12-01 09:00:00 CET``: a timestamp with its date and zone (local time unless ``zone``)."""
    if t is None:
        return "-"
    when = datetime.fromtimestamp(t, zone) if zone is not None else datetime.fromtimestamp(t).astimezone()
    name = when.strftime("%Z")
    offset = when.strftime("%z")
    return when.strftime("%Y-%m-%d %H:%M:%S ") + (name if name and not name.startswith(("+", "-")) else
                                                   f"UTC{offset[:3]}:{offset[3:]}")
