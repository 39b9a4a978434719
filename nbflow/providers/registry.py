"""Provider lookup by name, with one pooled client per provider, base URL and key per process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbflow.exceptions import NbflowError
from nbflow.providers.base import Provider
from nbflow.providers.secrets import Secrets

__all__ = ["ProviderFactory", "Providers", "register_provider"]

#: ``factory(config, secrets, node_id) -> Provider``; config holds base_url, api_key_env, ...
ProviderFactory = Callable[[dict[str, Any], Secrets, str], Provider]

_FACTORIES: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make provider ``name`` available to node params."""
    _FACTORIES[name] = factory


def _offline(config: dict[str, Any], secrets: Secrets, node_id: str) -> Provider:
    from nbflow.providers.offline import OfflineProvider

    return OfflineProvider()


register_provider("offline", _offline)


def _register_builtins() -> None:
    from nbflow.providers.builtin import register_builtin_providers

    register_builtin_providers(register_provider)


_register_builtins()


class Providers:
    """Resolves provider names to clients, reusing one client per (name, config)."""

    def __init__(self, secrets: Secrets | None = None) -> None:
        self.secrets = secrets or Secrets()
        self._clients: dict[tuple[Any, ...], Provider] = {}
        self.overrides: dict[str, Provider] = {}

    def get(self, name: str, *, node_id: str = "", **config: Any) -> Provider:
        if name in self.overrides:
            return self.overrides[name]
        factory = _FACTORIES.get(name)
        if factory is None:
            known = ", ".join(sorted(_FACTORIES))
            raise NbflowError(f"node {node_id!r}: unknown provider {name!r} (known: {known})")
        cfg = {k: v for k, v in config.items() if v is not None}
        key = (name, tuple(sorted(cfg.items())))
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = factory(cfg, self.secrets, node_id)
        return client

    def known(self) -> list[str]:
        return sorted(_FACTORIES)

    def __repr__(self) -> str:
        return f"<Providers {sorted(_FACTORIES)} clients={len(self._clients)} {self.secrets!r}>"

    async def aclose(self) -> None:
        for c in self._clients.values():
            await c.aclose()
        self._clients.clear()
