"""Secrets by reference: a flow names a secret (an environment variable name), never holds its value.

Resolution order, first hit wins: the process environment, then a ``.env`` file (the working
directory's, or the one ``NBFLOW_DOTENV`` points at), then the secrets managers named in
``NBFLOW_SECRETS`` (``vault:<mount>/<path>``, ``aws:<secret id>``; see :mod:`nbflow.providers.vault`
and :mod:`nbflow.providers.awssecrets`), then any store added with :meth:`Secrets.add`. A store is
any object with ``get(name) -> str | None``; one that keeps what it fetched also has ``forget()``.

With an environment profile active (``NBFLOW_ENV=prod``, see :mod:`nbflow.providers.profiles`) each
name is tried as ``NAME_PROD`` in every store before ``NAME``.

Stores are asked at run time, and what a secrets manager returns is kept for the run only: when the
last run using a :class:`Secrets` ends (or right after a lookup made outside any run), every store's
``forget()`` is called.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from nbflow.exceptions import ConfigError, SecretError
from nbflow.providers.profiles import profile_names
from nbflow.redaction import looks_like_secret, redact, remember_secret

__all__ = [
    "DictSecrets",
    "DotenvSecrets",
    "EnvSecrets",
    "Secret",
    "SecretStore",
    "Secrets",
    "looks_like_secret",
    "redact",
    "stores_from_env",
]

#: The variable naming the secrets managers to ask after the environment and .env.
STORES_VAR = "NBFLOW_SECRETS"

class Secret:
    """A resolved secret value that never shows itself in ``repr``, ``str`` or f-strings.

    Attributes:
        name: the reference it was resolved from (e.g. ``OPENAI_API_KEY``); safe to show.
    """

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value
        remember_secret(value)

    def reveal(self) -> str:
        """The value itself, for the one place that needs it: the outgoing request header."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.name == self.name and other._value == self._value

    def __hash__(self) -> int:
        return hash(self.name)


class SecretStore(Protocol):
    """Anything that can look a secret up by name."""

    def get(self, name: str) -> str | None: ...


class EnvSecrets:
    """Secrets from the process environment."""

    def get(self, name: str) -> str | None:
        return os.environ.get(name) or None


class DictSecrets:
    """Secrets held in memory (tests, notebooks)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def __repr__(self) -> str:
        return f"DictSecrets({sorted(self._values)})"


class DotenvSecrets:
    """Secrets from a ``.env`` file, read once when first asked."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else Path(os.environ.get("NBFLOW_DOTENV", ".env"))
        self._values: dict[str, str] | None = None

    def get(self, name: str) -> str | None:
        if self._values is None:
            self._values = {}
            if self.path.is_file():
                from dotenv import dotenv_values

                self._values = {k: v for k, v in dotenv_values(self.path).items() if v}
        return self._values.get(name)

    def __repr__(self) -> str:
        return f"DotenvSecrets({str(self.path)!r})"


def stores_from_env(spec: str | None = None) -> list[SecretStore]:
    """The secrets managers named in ``NBFLOW_SECRETS`` (or ``spec``): comma-separated ``kind:path``.

    ``vault:secret/nbflow/{env}`` reads the KV v2 secret ``nbflow/{env}`` of the mount ``secret``;
    ``aws:nbflow/{env}`` reads the AWS Secrets Manager secret ``nbflow/{env}`` (a JSON object of
    name -> value). ``{env}`` is the active profile (``default`` when none is set).
    """
    text = os.environ.get(STORES_VAR, "") if spec is None else spec
    stores: list[SecretStore] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, path = item.partition(":")
        if kind == "vault" and "/" in path.strip("/"):
            from nbflow.providers.vault import VaultSecrets

            mount, _, sub = path.strip("/").partition("/")
            stores.append(VaultSecrets(sub, mount=mount))
        elif kind == "aws" and path:
            from nbflow.providers.awssecrets import AwsSecrets

            stores.append(AwsSecrets(path))
        else:
            raise ConfigError(f"{STORES_VAR}: {item!r} is not vault:<mount>/<path> or aws:<secret id>")
    return stores


class Secrets:
    """A chain of secret stores; the first that knows a name answers (see the module docstring)."""

    def __init__(self, *stores: SecretStore) -> None:
        self.stores: list[SecretStore] = list(stores) or [EnvSecrets(), DotenvSecrets()]
        # The default chain also asks the managers NBFLOW_SECRETS names, read when a lookup happens
        # (not when the flow was loaded), so setting it in a notebook cell takes effect at the next run.
        self._follow_env = not stores
        self._env_stores: tuple[str, list[SecretStore]] = ("", [])
        self._runs = 0
        self._lock = threading.Lock()

    def chain(self) -> list[SecretStore]:
        """Every store asked, in order: ``stores`` then, for the default chain, ``NBFLOW_SECRETS``'s."""
        if not self._follow_env:
            return self.stores
        spec = os.environ.get(STORES_VAR, "")
        with self._lock:
            if spec != self._env_stores[0]:
                self._env_stores = (spec, stores_from_env(spec))
            return [*self.stores, *self._env_stores[1]]

    def add(self, store: SecretStore) -> None:
        """Append a store (e.g. a Vault client wrapper) to the chain."""
        self.stores.append(store)

    @contextmanager
    def run_scope(self) -> Iterator[None]:
        """Hold what the stores fetch while a run lasts; they forget it when the last run ends."""
        with self._lock:
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                last = self._runs == 0
            if last:
                self.forget()

    def forget(self) -> None:
        """Tell every store to drop what it fetched (secrets managers refetch on next use)."""
        for store in self.chain():
            forget = getattr(store, "forget", None)
            if forget is not None:
                forget()

    def get(self, name: str) -> str | None:
        """The value of ``name`` (the active profile's ``NAME_<ENV>`` first), or None."""
        found = self._lookup(name)
        return found[1] if found else None

    def _lookup(self, name: str) -> tuple[str, str] | None:
        try:
            stores = self.chain()
            for candidate in profile_names(name):
                for store in stores:
                    value = store.get(candidate)
                    if value:
                        return candidate, value
            return None
        finally:
            if self._runs == 0:
                self.forget()

    def require(self, name: str, *, node: str | None = None) -> str:
        """The value of ``name``, or a SecretError naming the node and the variable."""
        value = self.get(name)
        if value is None:
            raise _missing([name], node)
        remember_secret(value)
        return value

    def secret(self, *names: str, node: str | None = None) -> Secret:
        """The first of ``names`` that is set, as a :class:`Secret`; SecretError naming them all if none."""
        for name in names:
            found = self._lookup(name)
            if found is not None:
                return Secret(*found)
        raise _missing(list(names), node)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(type(s).__name__ for s in self.chain())})"


def _missing(names: list[str], node: str | None) -> SecretError:
    where = f"node {node!r}: " if node else ""
    first, rest = names[0], names[1:]
    alt = f" (or {' or '.join(rest)})" if rest else ""
    tried = profile_names(first)
    profile = f" for profile {tried[0][len(first) + 1:].lower()!r}" if len(tried) > 1 else ""
    var = " or ".join(tried)
    return SecretError(f"{where}secret {first}{alt} is not set{profile} (set the environment variable {var}, "
                       "add it to .env, or configure a secrets provider)")
