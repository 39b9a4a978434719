"""Where nbflow keeps run history by default: ``$NBFLOW_HOME``, else the user data directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["DB_NAME", "data_home", "default_db_path"]

#: File name of the SQLite run store inside the nbflow home.
DB_NAME = "runs.db"


def data_home() -> Path:
    """The nbflow home: ``$NBFLOW_HOME`` when set, else the platform's user data directory.

    Linux and other Unixes follow XDG (``$XDG_DATA_HOME/nbflow``, default ``~/.local/share/nbflow``),
    macOS uses ``~/Library/Application Support/nbflow`` and Windows ``%LOCALAPPDATA%\\nbflow``.
    """
    env = os.environ.get("NBFLOW_HOME")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "nbflow"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "nbflow"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / "nbflow"


def default_db_path() -> Path:
    """The default SQLite run store: ``<nbflow home>/runs.db`` (its blobs sit beside it in ``blobs/``)."""
    return data_home() / DB_NAME
