"""Secrets by reference: a flow names a secret (an environment variable name), never holds its value.

Resolution order, first hit wins: the process environment, then a ``.env`` file (the working
directory's, or the one ``NBFLOW_DOTENV`` points at), then any providers added with
:func:`add_secrets_provider` (Vault, a cloud secrets manager, ...). A provider is any object with
``get(name) -> str | None``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from nbflow.exceptions import SecretError
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
]

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


class Secrets:
    """A chain of secret stores; the first that knows a name answers."""

    def __init__(self, *stores: SecretStore) -> None:
        self.stores: list[SecretStore] = list(stores) or [EnvSecrets(), DotenvSecrets()]

    def add(self, store: SecretStore) -> None:
        """Append a store (e.g. a Vault client wrapper) to the chain."""
        self.stores.append(store)

    def get(self, name: str) -> str | None:
        for store in self.stores:
            value = store.get(name)
            if value:
                return value
        return None

    def require(self, name: str, *, node: str | None = None) -> str:
        """The value of ``name``, or a SecretError naming the node and the variable."""
        value = self.get(name)
        if value is None:
            where = f"node {node!r}: " if node else ""
            raise SecretError(f"{where}secret {name} is not set (set the environment variable {name}, "
                              "add it to .env, or configure a secrets provider)")
        remember_secret(value)
        return value

    def secret(self, *names: str, node: str | None = None) -> Secret:
        """The first of ``names`` that is set, as a :class:`Secret`; SecretError naming them all if none."""
        for name in names:
            value = self.get(name)
            if value is not None:
                return Secret(name, value)
        where = f"node {node!r}: " if node else ""
        first, rest = names[0], names[1:]
        alt = f" (or {' or '.join(rest)})" if rest else ""
        raise SecretError(f"{where}secret {first}{alt} is not set (set the environment variable {first}, "
                          "add it to .env, or configure a secrets provider)")

    def __repr__(self) -> str:
        return f"Secrets({', '.join(type(s).__name__ for s in self.stores)})"
