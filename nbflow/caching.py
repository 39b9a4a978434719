"""Which cache a run uses: in memory per flow (the default in Python), or a persistent folder on disk.

The canvas uses the persistent cache by default (:func:`canvas_cache`: ``<nbflow home>/cache``, or the
one :func:`use_cache` set), so a new kernel re-running a flow on the canvas pays nothing again.
``nbflow.use_cache()`` turns the persistent cache on for every flow in the process;
``flow.run(cache=...)`` chooses per run: ``True`` the flow's cache, ``False`` none, a path a disk cache
in that folder, a :class:`~nbflow.engine.diskcache.DiskCache` (or any object with ``get``/``put``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbflow.engine.cache import Cache

if TYPE_CHECKING:  # the disk cache (sqlite3) loads when a run first asks for it, not on import
    from nbflow.engine.diskcache import DiskCache

__all__ = ["CacheChoice", "canvas_cache", "configured_cache", "open_cache", "resolve_cache", "use_cache"]

CacheChoice = Any  # bool | Cache | str | os.PathLike[str] | None

_configured: DiskCache | None = None
_open: dict[str, DiskCache] = {}


def open_cache(path: str | os.PathLike[str] | None = None, *, max_bytes: int | None = None) -> DiskCache:
    """The disk cache in ``path`` (default ``<nbflow home>/cache``), opened once per process."""
    from nbflow.engine.diskcache import DiskCache, default_cache_dir

    where = str((Path(path).expanduser() if path is not None else default_cache_dir()).resolve())
    if where not in _open:
        _open[where] = DiskCache(where)
    cache = _open[where]
    if max_bytes is not None:
        cache.max_bytes = max_bytes
    return cache


def use_cache(where: bool | str | os.PathLike[str] | DiskCache | None = True, *,
              max_bytes: int | None = None) -> DiskCache | None:
    """Use a persistent disk cache for every run of this process that uses its flow's cache.

    ``True``: ``<nbflow home>/cache``; a path: that folder; ``False``/``None``: back to each flow's
    in-memory cache. The canvas, ``flow.run()`` and ``nbflow.run()`` then share the cache with each
    other and with ``nbflow run FLOW --cache`` in a terminal. Returns the cache.
    """
    global _configured
    from nbflow.engine.diskcache import DEFAULT_MAX_BYTES, DiskCache

    max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    if where is None or where is False:
        _configured = None
    elif isinstance(where, DiskCache):
        _configured = where
    else:
        _configured = open_cache(None if where is True else where, max_bytes=max_bytes)
    return _configured


def configured_cache() -> DiskCache | None:
    """The cache set by :func:`use_cache`, if any."""
    return _configured


def resolve_cache(choice: CacheChoice, own: Cache) -> Cache | None:
    """The cache object for a run: ``True`` -> the configured disk cache or ``own`` (the flow's)."""
    if choice is True:
        return _configured if _configured is not None else own
    if choice is False or choice is None:
        return None
    if isinstance(choice, (str, os.PathLike)):
        return open_cache(choice)
    return choice


def canvas_cache(choice: CacheChoice, own: Cache) -> Cache:
    """The cache an editor's runs use. ``True``: the one :func:`use_cache` set, else ``own`` (the flow's
    ``cache``) when it was set to something other than the in-memory default, else the disk cache in
    ``<nbflow home>/cache``; ``False``/``None``: ``own``; a path or a cache object as in
    :func:`resolve_cache`. A default folder that cannot be opened (read-only home) leaves ``own``."""
    from nbflow.engine.cache import MemoryCache
    from nbflow.exceptions import StoreError

    if choice is False or choice is None:
        return own
    if choice is not True:
        return resolve_cache(choice, own) or own
    if _configured is not None:
        return _configured
    if not isinstance(own, MemoryCache):
        return own
    try:
        return open_cache()
    except StoreError:
        return own
