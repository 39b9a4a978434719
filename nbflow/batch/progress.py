"""A progress bar on stderr for batches: a redrawn line on a terminal, a line per 10% elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Counts finished items and shows how far the batch is.

    Args:
        total: items to run (skipped ones excluded).
        stream: where to draw (default stderr).
        enabled: False draws nothing.
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True, width: int = 30) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.width = width
        self.ok = 0
        self.failed = 0
        self.started = time.monotonic()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_decile = -1
        self._last_draw = 0.0

    @property
    def done(self) -> int:
        return self.ok + self.failed

    def update(self, ok: bool) -> None:
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if self._tty:
            if now - self._last_draw >= 0.1 or self.done == self.total:
                self._last_draw = now
                self.stream.write("\r" + self.line(now))
                if self.done == self.total:
                    self.stream.write("\n")
                self.stream.flush()
        else:
            decile = self.done * 10 // self.total
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(self.line(now) + "\n")
                self.stream.flush()

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        frac = self.done / self.total if self.total else 1.0
        filled = int(frac * self.width)
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "." * (self.width - filled)
        return (f"[{bar}] {self.done}/{self.total} ok {self.ok} failed {self.failed} "
                f"{rate:.1f}/s eta {eta:.0f}s")
