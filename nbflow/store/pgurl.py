"""PostgreSQL connection strings without their secrets: for messages, and for what leaves the process.

A libpq connection string carries a password as ``user:PASSWORD@`` in a URL, as a ``?password=``
(or ``sslpassword=``) URL query parameter, or as ``password=...`` in the ``key=value`` form.
:func:`safe_url` masks all of them for messages; :func:`without_password` removes them, so a URL can
be handed to another process (a Dask task), which takes the password from its own environment:
:func:`local_url` (its own ``NBFLOW_STORE`` when that names the same database, else libpq's
``PGPASSWORD`` / ``.pgpass``, which psycopg honours by itself).
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

__all__ = ["SECRET_PARAMS", "local_url", "safe_url", "same_database", "without_password"]

#: libpq connection parameters that hold secrets.
SECRET_PARAMS = frozenset({"password", "sslpassword"})

_MASK = "***"
_KEYWORD_SECRET = re.compile(r"\b(" + "|".join(sorted(SECRET_PARAMS)) + r")(\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def _is_url(conninfo: str) -> bool:
    return conninfo.startswith(("postgresql://", "postgres://"))


def _rewrite(url: str, *, drop: bool) -> str:
    """The URL with its userinfo password removed and its secret query parameters dropped or masked."""
    scheme, _, rest = url.partition("://")
    rest, hash_, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if at:
        authority = f"{userinfo.split(':', 1)[0]}@{hosts}"
    params = []
    for item in query.split("&") if query else []:
        key = unquote(item.partition("=")[0]).strip().lower()
        if key not in SECRET_PARAMS:
            params.append(item)
        elif not drop:
            params.append(f"{item.partition('=')[0]}={_MASK}")
    tail = f"?{'&'.join(params)}" if params else ""
    return f"{scheme}://{authority}{slash}{path}{tail}{hash_}{fragment}"


def safe_url(conninfo: str) -> str:
    """``conninfo`` for messages and reprs: no password (a URL's ``user:pw@`` loses ``:pw``; secret
    parameters read ``***``)."""
    if _is_url(conninfo):
        return _rewrite(conninfo, drop=False)
    return _KEYWORD_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{_MASK}", conninfo)


def without_password(conninfo: str) -> str:
    """``conninfo`` with every secret removed (not masked): what may leave this process."""
    if _is_url(conninfo):
        return _rewrite(conninfo, drop=True)
    return re.sub(r"\s+", " ", _KEYWORD_SECRET.sub("", conninfo)).strip()


def _identity(conninfo: str) -> tuple[str, str, str, str, str] | None:
    """(host, port, database, user, ...) as libpq reads them; None for a string it cannot parse."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # pragma: no cover - the postgres extra is installed wherever a URL is opened
        return None
    try:
        d = conninfo_to_dict(conninfo)
    except Exception:  # psycopg.ProgrammingError for a malformed string
        return None
    host = str(d.get("host") or d.get("hostaddr") or "")
    return (host, str(d.get("port") or "5432"), str(d.get("dbname") or ""), str(d.get("user") or ""),
            str(d.get("service") or ""))


def same_database(a: str, b: str) -> bool:
    """Whether two connection strings name the same database as the same user (host, port, db, user)."""
    ia, ib = _identity(a), _identity(b)
    return ia is not None and ia == ib


def local_url(conninfo: str) -> str:
    """The connection string this process opens for ``conninfo`` (received without a password): its
    own ``NBFLOW_STORE`` when that names the same database as the same user, so the password comes
    from there; otherwise ``conninfo`` itself, and libpq reads ``PGPASSWORD`` or ``.pgpass``."""
    own = os.environ.get("NBFLOW_STORE", "")
    if own and own != conninfo and same_database(own, conninfo):
        return own
    return conninfo
