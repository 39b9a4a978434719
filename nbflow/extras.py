"""Optional extras: which extra brings each optional package, and one error when one is missing.

Commands that need an extra check for it before they touch anything (no output file is created, no
server socket opened), and the CLI turns an import of a missing optional package anywhere else into
the same one-line error with exit code 2.
"""

from __future__ import annotations

import importlib.util

from nbflow.exceptions import MissingExtraError

__all__ = ["EXTRAS", "missing_extra", "require"]

#: Top-level package -> the nbflow extra that installs it.
EXTRAS = {
    "dask": "dask",
    "distributed": "dask",
    "starlette": "serve",
    "uvicorn": "serve",
    "croniter": "schedule",
    "mcp": "mcp",
    "psycopg": "postgres",
}


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def require(feature: str, *modules: str) -> None:
    """Raise :class:`MissingExtraError` naming the extra when any of ``modules`` is not installed."""
    missing = [m for m in modules if _absent(m)]
    if missing:
        raise _error(feature, missing[0])


def missing_extra(exc: ImportError, feature: str) -> MissingExtraError | None:
    """The one-line error for ``exc`` when it is an optional package's absence, else None."""
    root = (exc.name or "").split(".")[0]
    return _error(feature, root) if root in EXTRAS else None


def _error(feature: str, module: str) -> MissingExtraError:
    extra = EXTRAS[module]
    return MissingExtraError(f"{feature} needs the {extra} extra ({module} is not installed): "
                             f"pip install 'nbflow[{extra}]'")
