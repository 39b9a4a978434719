"""What a schedule remembers between starts: the last fire time it handled.

One small JSON file per schedule under ``<nbflow home>/schedules/``, written atomically, so the
scheduler knows on start which fire times it missed while it was down.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from nbflow.exceptions import ConfigError

__all__ = ["MemoryScheduleState", "ScheduleState", "default_state_dir"]

_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def default_state_dir() -> Path:
    """``<nbflow home>/schedules``."""
    from nbflow.store.paths import data_home

    return data_home() / "schedules"


class ScheduleState:
    """Last handled fire time per schedule, in files under ``directory``."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_state_dir()

    def _path(self, key: str) -> Path:
        return self.directory / f"{_SAFE.sub('_', key)}.json"

    def last_fire(self, key: str) -> float | None:
        """The last fire time handled (started, queued or skipped), or None for a new schedule."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"schedule {key!r}: cannot read its state file {str(path)!r}: {exc}") from None
        value = data.get("last_fire") if isinstance(data, dict) else None
        return float(value) if isinstance(value, (int, float)) else None

    def set_last_fire(self, key: str, t: float) -> None:
        path = self._path(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(json.dumps({"schedule": key, "last_fire": t}) + "\n", encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise ConfigError(f"schedule {key!r}: cannot write its state file {str(path)!r}: "
                              f"{exc.strerror or exc}") from None


class MemoryScheduleState(ScheduleState):
    """Schedule state kept in memory (tests; a scheduler that should not remember)."""

    def __init__(self, initial: dict[str, float] | None = None) -> None:
        self.values: dict[str, float] = dict(initial or {})

    def last_fire(self, key: str) -> float | None:
        return self.values.get(key)

    def set_last_fire(self, key: str, t: float) -> None:
        self.values[key] = t
