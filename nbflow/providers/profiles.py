"""Environment profiles: the same flow file with development keys in a notebook, production keys on a server.

A profile is a short name (``dev``, ``prod``, ``staging``...) chosen with ``NBFLOW_ENV`` or the CLI's
``--env``. While one is active, every secret and base-URL variable a flow resolves is looked up
first under the profile's name, then under the plain name: with ``NBFLOW_ENV=prod``,
``OPENAI_API_KEY`` resolves ``OPENAI_API_KEY_PROD`` when it is set, else ``OPENAI_API_KEY``; a
node's ``api_key_env`` and ``OPENAI_BASE_URL`` likewise. Secrets-manager paths may contain
``{env}`` (``vault:secret/nbflow/{env}``) to keep each profile's keys apart. The flow file names
only the plain names, so nothing in it changes between environments.
"""

from __future__ import annotations

import os
import re

from nbflow.exceptions import ConfigError

__all__ = ["ENV_VAR", "active_env", "check_env_name", "profile_names", "set_active_env"]

#: The variable that selects the profile.
ENV_VAR = "NBFLOW_ENV"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


def check_env_name(name: str) -> str:
    """``name`` lower-cased, or a ConfigError naming what is wrong with it."""
    if not _NAME.match(name):
        raise ConfigError(f"{ENV_VAR}/--env: profile {name!r} is not a name (letters, digits, '_' or '-', "
                          "starting with a letter; e.g. dev or prod)")
    return name.lower()


def active_env() -> str | None:
    """The active profile (``NBFLOW_ENV``), lower-cased, or None when no profile is set."""
    value = os.environ.get(ENV_VAR, "").strip()
    return check_env_name(value) if value else None


def set_active_env(name: str | None) -> None:
    """Select a profile for this process and the processes it starts (None: no profile)."""
    if name:
        os.environ[ENV_VAR] = check_env_name(name)
    else:
        os.environ.pop(ENV_VAR, None)


def profile_names(name: str, env: str | None = None) -> list[str]:
    """The names to try for ``name`` under profile ``env`` (default: the active one), most specific first."""
    env = active_env() if env is None else env
    if not env:
        return [name]
    suffix = "_" + env.upper().replace("-", "_")
    return [name] if name.endswith(suffix) else [name + suffix, name]
